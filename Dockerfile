FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
# Static files for the admin, served by whitenoise (the build-only keys never run the app).
RUN DEBUG=0 SECRET_KEY=collectstatic-only FIELD_ENCRYPTION_KEY=collectstatic-only \
    python manage.py collectstatic --no-input -v 0
RUN useradd --create-home app && mkdir -p /app/.data && chown app /app/.data
USER app
EXPOSE 8000
CMD ["gunicorn", "requestdesk.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
