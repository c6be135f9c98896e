"""What the test folders share: per-app fixtures and helpers, the Celery worker, the
isolation sweep's factories, migration and storage helpers. Each folder's conftest.py imports
the fixtures its tests use."""
