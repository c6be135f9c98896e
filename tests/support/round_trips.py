"""Database round trips counted with a pymongo CommandListener: every command the driver
sends (aggregate, find, update, getMore, ...) is one round trip, whichever code path sent it.

`round_trips` (a fixture): `with round_trips() as seen:` records in `seen.commands` the
(command name, collection) of every command sent inside the block."""

import pytest
from django.db import connection
from pymongo import monitoring

from tenants.models import User


class _CommandCounter(monitoring.CommandListener):
    """Records the commands started while `active` (registered once, process-wide)."""

    def __init__(self):
        self.active = False
        self.commands: list[tuple[str, str]] = []  # (command, collection)
        self.sent: list[dict] = []  # the commands themselves

    def started(self, event):
        if self.active:
            self.commands.append((event.command_name, str(event.command.get(event.command_name))))
            self.sent.append(dict(event.command))

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass


_COUNTER = _CommandCounter()
monitoring.register(_COUNTER)  # applies to MongoClients created from now on


class _Counting:
    def __enter__(self):
        self.commands = _COUNTER.commands = []
        self.sent = _COUNTER.sent = []
        _COUNTER.active = True
        return self

    def __exit__(self, *exc):
        _COUNTER.active = False


@pytest.fixture
def round_trips(db):
    """`with round_trips() as seen:` records every command sent: `seen.commands` as (command,
    collection), `seen.sent` the commands themselves."""
    connection.close_pool()  # the next query opens a client that has the listener
    User.objects.exists()
    yield _Counting
    _COUNTER.active = False
