"""Task Manager, the first plugin (seed 004): a user's tasks with status, priority, due date and tags."""
