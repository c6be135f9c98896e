"""The migrated test database's template (tests/db_template.py) is built again when what
`migrate` writes may have changed, and only then."""

from tests import db_template


def _sources() -> set[str]:
    return {str(path.relative_to(db_template.ROOT)) for path in db_template._sources()}


def test_the_template_follows_the_migrations_and_what_they_import():
    sources = _sources()
    assert "scraping/migrations/0004_search_postings_sentiment_rollups.py" in sources
    assert "scraping/services/rollups.py" in sources  # imported inside a RunPython function
    assert "migrations_mongo/auth/0001_initial.py" in sources  # MIGRATION_MODULES of contrib apps
    assert "requestdesk/db/base.py" in sources  # the ENGINE, named in the settings as a string
    assert {"requestdesk/settings.py", "scraping/apps.py", "tenants/models/__init__.py"} <= sources
    assert "scraping/api/views.py" not in sources
    assert "scraping/management/commands/rebuild_sentiment_rollups.py" not in sources
    assert not any(source.startswith(("tests/", "bench/")) for source in sources)


def test_relative_imports_are_followed_from_modules_and_packages(tmp_path, monkeypatch):
    files = {
        "requestdesk/__init__.py": "",
        "requestdesk/settings.py": "",
        "requestdesk/db/__init__.py": "",
        "shop/__init__.py": "",
        "shop/apps.py": "",
        "shop/migrations/__init__.py": "from ..helpers import tidy\n",
        "shop/migrations/0001_initial.py": "def forwards(apps, editor):\n    from ..services import prices\n",
        "shop/services/__init__.py": "from . import prices\n",
        "shop/services/prices.py": "from .. import helpers\n",
        "shop/helpers.py": "",
        "shop/views.py": "from .services import prices\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    monkeypatch.setattr(db_template, "ROOT", tmp_path)

    assert _sources() == set(files) - {"requestdesk/__init__.py", "shop/views.py"}
