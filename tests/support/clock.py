"""`memo_clock` (a fixture): requestdesk.memo's time.monotonic, moved on by hand
(`clock.now += 31`), so a test asks for an entry before and after it expires without racing
the seconds on a loaded machine."""

import time

import pytest

from requestdesk import memo


class Clock:
    def __init__(self):
        self.now = time.monotonic()

    def monotonic(self):
        return self.now


@pytest.fixture
def memo_clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(memo, "time", clock)
    return clock
