from django.db import models
from django_mongodb_backend.fields import ArrayField

from plugins.base import PluginModel


class Task(PluginModel):
    """One task of one user (collection task_manager_tasks)."""

    TODO, IN_PROGRESS, DONE = "todo", "in_progress", "done"
    STATUSES = [(TODO, "To do"), (IN_PROGRESS, "In progress"), (DONE, "Done")]
    LOW, MEDIUM, HIGH = "low", "medium", "high"
    PRIORITIES = [(LOW, "Low"), (MEDIUM, "Medium"), (HIGH, "High")]

    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=20, choices=STATUSES, default=TODO)
    priority = models.CharField(max_length=10, choices=PRIORITIES, default=MEDIUM)
    due_date = models.DateTimeField(null=True, blank=True)
    tags = ArrayField(models.CharField(max_length=50), default=list, blank=True)

    class Meta:
        db_table = "task_manager_tasks"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["user"], name="task_manager_user"),
            models.Index(fields=["user", "status"], name="task_manager_user_status"),
            models.Index(fields=["user", "due_date"], name="task_manager_user_due"),
        ]

    def __str__(self):
        return self.title
