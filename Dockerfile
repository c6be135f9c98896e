FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY requirements.txt .
# torch from the CPU index first: from PyPI it would bring several GB of CUDA packages.
RUN pip install --no-cache-dir --index-url https://download.pytorch.org/whl/cpu \
        "$(grep -E '^torch==' requirements.txt)" \
 && pip install --no-cache-dir -r requirements.txt
COPY . .
# Static files for the admin, served by whitenoise (the build-only keys never run the app).
RUN DEBUG=0 SECRET_KEY=collectstatic-only FIELD_ENCRYPTION_KEY=collectstatic-only \
    python manage.py collectstatic --no-input -v 0
# /archives: the mount point of the `archives` volume (docker-compose); a new volume takes its owner.
RUN useradd --create-home app && mkdir -p /app/.data /archives && chown app /app/.data /archives
USER app
EXPOSE 8000
# gunicorn.conf.py: sync workers, four per core (WEB_CONCURRENCY overrides), on 0.0.0.0:8000.
CMD ["gunicorn", "requestdesk.wsgi", "--access-logfile", "-"]
