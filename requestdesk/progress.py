"""Progress bars for management commands on long work."""

from collections.abc import Callable

from django.core.management.base import OutputWrapper

# A progress callback: (name, done, total).
Progress = Callable[[str, int, int], None]


def progress_printer(stream: OutputWrapper) -> Progress:
    """A progress callback drawing `name [#####-----] done/total` on a Django OutputWrapper:
    redrawn in place on a terminal, one line per collection otherwise."""
    interactive = getattr(stream, "isatty", lambda: False)()
    finished: set[str] = set()

    def show(name: str, done: int, total: int) -> None:
        last = done >= total
        if name in finished or not (interactive or last):
            return
        filled = 20 * done // total if total else 20
        line = f"  {name:<32} [{'#' * filled}{'-' * (20 - filled)}] {done}/{total}"
        stream.write(("\r" if interactive else "") + line, ending="\n" if last else "")
        stream.flush()
        if last:
            finished.add(name)

    return show
