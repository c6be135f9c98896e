"""Task Manager, the first plugin: a user's tasks with status, priority, due date and tags."""
