from rest_framework import serializers

from plugins.registry import PluginConfig


class TaskManagerSettings(serializers.Serializer):
    default_view = serializers.ChoiceField(choices=["list", "kanban", "calendar"], default="list")
    notifications = serializers.BooleanField(default=True)


class TaskManagerConfig(PluginConfig):
    default = True  # PluginConfig, imported here too, is not the app's config
    name = "plugins.task_manager"
    label = "task_manager"
    verbose_name = "Task Manager"
    plugin_name = "task_manager"
    settings_serializer = TaskManagerSettings

    def get_routes(self):
        from .api import TaskViewSet

        return [("tasks", TaskViewSet, "task-manager-task")]
