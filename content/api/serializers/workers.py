"""A live Celery worker process, as the worker registry reports it."""

from rest_framework import serializers

from ...services import workers


class WorkerSerializer(serializers.Serializer):
    worker_id = serializers.CharField()
    host = serializers.CharField()
    pid = serializers.IntegerField()
    queues = serializers.ListField(child=serializers.CharField())
    pool = serializers.CharField()
    status = serializers.ChoiceField(choices=[workers.ALIVE, workers.BUSY, workers.STALE])
    started_at = serializers.FloatField(help_text="Unix seconds.")
    last_heartbeat = serializers.FloatField(help_text="Unix seconds.")
    seconds_since_heartbeat = serializers.FloatField()
    processing_count = serializers.IntegerField()
    tasks_done = serializers.IntegerField()
    tasks_failed = serializers.IntegerField()
    current_task = serializers.JSONField(allow_null=True)
