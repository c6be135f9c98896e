"""Static files with DEBUG=0: hashed, compressed names once `manage.py collectstatic` has run
(the Docker image does); before that, the plain names, which WhiteNoise serves from the apps'
own folders (WHITENOISE_USE_FINDERS), so the admin and the API docs work in a checkout started
with DEBUG=0 by hand instead of answering 500 on a missing manifest."""

from whitenoise.storage import CompressedManifestStaticFilesStorage


# WhiteNoise ships no types: its storage is Any to mypy.
class StaticFilesStorage(CompressedManifestStaticFilesStorage):  # type: ignore[misc]
    def stored_name(self, name: str) -> str:
        if not self.hashed_files:  # no manifest: nothing was collected
            return name
        stored: str = super().stored_name(name)
        return stored
