from rest_framework import serializers

from requestdesk.api.serializers import MongoModelSerializer

from .models import Task


class TaskSerializer(MongoModelSerializer):
    tags = serializers.ListField(child=serializers.CharField(max_length=50), required=False, max_length=50)

    class Meta:
        model = Task
        fields = ["id", "title", "description", "status", "priority", "due_date", "tags", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]
