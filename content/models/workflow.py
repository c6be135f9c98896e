"""Status workflows: which status may follow which. Tickets and campaigns each declare one
table; services check every change against it and the API answers 400 on `status`."""

from __future__ import annotations


class InvalidTransition(ValueError):
    """A status change the workflow does not allow; the message says what is allowed."""

    field = "status"


class Workflow:
    def __init__(self, transitions: dict[str, tuple[str, ...]]):
        self.transitions = transitions

    def allowed(self, old: str) -> tuple[str, ...]:
        return self.transitions.get(old, ())

    def check(self, old: str, new: str) -> None:
        """Raise InvalidTransition unless `new` may follow `old` (staying put is allowed)."""
        if new == old:
            return
        if new not in self.transitions:
            raise InvalidTransition(f"“{new}” is not a status.")
        allowed = self.allowed(old)
        if new not in allowed:
            options = ", ".join(allowed) or "none (final)"
            raise InvalidTransition(f"Cannot change status from “{old}” to “{new}”; allowed: {options}.")
