"""Start, stop or show the embedded services: SecantusDB (when MONGODB_URI is unset) and Redis
(when REDIS_URL does not answer and points at this machine)."""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from requestdesk.embedded import Daemons, ServiceError, mongo_ping, redis_ping


class Command(BaseCommand):
    help = "Start, stop or show the embedded database and Redis for this checkout."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["start", "stop", "status"])

    def handle(self, *args: Any, **options: Any) -> None:
        action: str = options["action"]
        daemons = Daemons(settings.DATA_DIR)
        try:
            getattr(self, action)(daemons)
        except ServiceError as exc:
            raise CommandError(str(exc))

    def start(self, daemons: Daemons) -> None:
        if settings.EMBEDDED_MONGO:
            uri, started = daemons.ensure_mongo(settings.EMBEDDED_MONGO_PORT)
            self.stdout.write(
                f"mongodb  {'started' if started else 'running'}  {uri}  (data in {settings.DATA_DIR / 'mongo'})"
            )
        elif not mongo_ping(settings.MONGODB_URI, 3000):
            raise CommandError("MONGODB_URI is set but the server does not answer")
        else:
            self.stdout.write("mongodb  external  (MONGODB_URI)")
        url, started = daemons.ensure_redis(settings.REDIS_URL)
        self.stdout.write(f"redis    {'started' if started else 'running'}  {url}")

    def stop(self, daemons: Daemons) -> None:
        for name in ("mongo", "redis"):
            stopped = daemons.stop(name)
            self.stdout.write(f"{name:8} {'stopped' if stopped else 'not started here'}")

    def status(self, daemons: Daemons) -> None:
        self.stdout.write(
            f"mongodb  {'up' if mongo_ping(settings.MONGODB_URI) else 'down'}  "
            f"{'embedded' if settings.EMBEDDED_MONGO else 'external'}"
        )
        self.stdout.write(f"redis    {'up' if redis_ping(settings.REDIS_URL) else 'down'}  {settings.REDIS_URL}")
