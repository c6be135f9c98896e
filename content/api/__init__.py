"""The content app's REST API under /api/v1/content/: views, serializers and filters."""
