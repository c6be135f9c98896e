"""Serializers of the content API. Bad input is a 400 with field messages and stores nothing:
status changes are checked against the workflows, template structures, component configs
and pipeline steps against content.services (the same checks the admin and runner use)."""
