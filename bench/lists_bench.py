"""Lists benchmark: the API's list pages (first page and the page its `next` link names) of
scraping results, content tickets and the audit log, and the admin's results changelist, at
1k, 10k and 100k rows per tenant, each beside a bare DRF view reading the same 20 rows with
pymongo; and the database round trips of one list request.

    .venv/bin/python -m bench.lists_bench [--sizes 1000,10000,100000] [--list-requests 30]

Starts its own SecantusDB (a temporary folder unless --storage says) and Redis, migrates,
creates two companies (the second one as large as the first, so tenant scoping matters),
each with a company admin and its API key, and a superuser for the admin. For each size N
(ascending) both companies are topped up to N results, N tickets and N audit log entries:
one document of each is written through the ORM, read back raw and cloned with pymongo
insert_many (1000 at a time) under new ids, with `created_at` (results: `published_at` as
well) spread at random over the last 360 days (inserted newest first; each clone's ObjectId
carries its date); results get a unique content_hash and their sentiment rollups.

Then, in process with django.test.Client and X-API-Key, --list-warmups requests and then
--list-requests timed ones per list, interleaved with its baseline: GET
/api/v1/scraping/results/, /api/v1/content/tickets/, /api/v1/audit-logs/ (page_size=20),
the second page through the response's `next` link (page number or cursor: whichever the
API answers), and /admin/scraping/result/ as a superuser (force_login; it spans both
companies). The baseline (bench/lists_urls.py) is a bare DRF APIView behind the same
authentication, permission and throttles that reads the company's 20 newest rows with one
find on {company_id, <date> in [lo, hi)}, sorted newest first, limit 20 (?page=2: skip 20),
the window [lo, hi) holding the 40 newest seeded rows; both answers are checked to list the
same ids (a CHECK line on stderr when they differ). A page that takes seconds is timed fewer
times (--list-budget); an admin changelist that fails (the server cancels a long query) is
logged and not requested at the larger sizes. Round trips: a pymongo CommandListener,
registered when this module is imported (before Django's MongoClient exists), counts the
commands of a second identical request (hello, ping, buildInfo and endSessions left out).

Prints the rows of the `python -m bench` table and, to stdout before it, the same rows with
a `goal` column (ok/MISS): each p50 within 2x of its bare view, p50 at the largest size
within 1.5x of the p50 at the smallest, at most 2 round trips per list request. And the
results list filtered by a sentiment no result has (no index serves that filter): its p50
beside the same page read without the pages' time budget, within 1.5 x LIST_READ_SECONDS.
And, at the smallest size, the admin's floor without a goal: its companies changelist (the
run's few companies) beside the same bare view, what any admin page costs before its rows.
"""

from __future__ import annotations

import random
import sys
import time
from dataclasses import dataclass

import pymongo.monitoring

from bench import harness
from bench.lists_seed import Tenant, make_tenant, top_up
from bench.seeding import now_ms, wait_idle
from bench.table import Row, number

SIZES = (1_000, 10_000, 100_000)
PAGE = 20
BARE = "bare DRF APIView, pymongo window find"
BARE_SAME_AUTH = "bare DRF APIView (same auth)"
URLCONF = "bench.lists_urls"
LISTS = [  # (label, API path, bare view kind)
    ("results API", "/api/v1/scraping/results/?page_size=20", "results"),
    ("tickets API", "/api/v1/content/tickets/?page_size=20", "tickets"),
    ("audit log API", "/api/v1/audit-logs/?page_size=20", "audit"),
]
ADMIN_URL = "/admin/scraping/result/"
ADMIN_FLOOR_URL = "/admin/tenants/company/"
GOAL_BARE, GOAL_SCALING, GOAL_ROUND_TRIPS = 2.0, 1.5, 2


# --- round trips ---------------------------------------------------------------------------


class RoundTrips(pymongo.monitoring.CommandListener):
    """Counts the commands sent while recording (all commands seen, always)."""

    IGNORED = {"endSessions", "ping", "hello", "isMaster", "ismaster", "buildInfo", "buildinfo"}

    def __init__(self):
        self.seen = 0
        self.recording: list[str] | None = None

    def started(self, event):
        self.seen += 1
        if self.recording is not None and event.command_name not in self.IGNORED:
            target = event.command.get(event.command_name)
            self.recording.append(f"{event.command_name} {target}" if isinstance(target, str) else event.command_name)

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass

    def during(self, function) -> list[str]:
        self.recording = []
        try:
            function()
            return self.recording
        finally:
            self.recording = None


ROUND_TRIPS = RoundTrips()
# Global listeners apply to clients created afterwards: this runs on import, before
# harness.django_stack lets Django open its MongoClient (`python -m bench` imports every bench first).
pymongo.monitoring.register(ROUND_TRIPS)


def listening(log) -> bool:
    """Whether Django's client reports to ROUND_TRIPS; if it was made before the listener
    (this module imported late), it is closed so the next query opens one that does."""
    from django.db import connection

    from tenants.models import Company

    seen = ROUND_TRIPS.seen
    Company.objects.exists()
    if ROUND_TRIPS.seen > seen:
        return True
    log("lists      Django's MongoClient predates the round-trip listener: reopening it")
    connection.close_pool()
    Company.objects.exists()
    return ROUND_TRIPS.seen > seen


# --- measuring --------------------------------------------------------------------------------


def add_arguments(parser):
    parser.add_argument(
        "--sizes",
        default=",".join(str(s) for s in SIZES),
        help="rows per tenant of each list, comma-separated, measured in ascending order (default 1000,10000,100000)",
    )
    parser.add_argument("--list-requests", type=int, default=30, help="timed requests per list page (default 30)")
    parser.add_argument("--list-warmups", type=int, default=3, help="untimed requests first (default 3)")
    parser.add_argument(
        "--list-budget",
        type=float,
        default=60,
        help="seconds of timed requests per page, after which 5 requests are enough "
        "(1 after twice as long; default 60)",
    )


@dataclass(frozen=True)
class GoalRow(Row):
    goal: str = ""  # what is asked, e.g. "<= 2x"
    ok: bool | None = None


def size_label(size: int) -> str:
    return f"{size // 1000}k" if size % 1000 == 0 else str(size)


def rows(args, log=harness.log) -> list[Row]:
    from django.test import Client, override_settings

    from tenants.models import User
    from tenants.roles import Role

    sizes = sorted({int(s) for s in str(args.sizes).split(",") if s.strip()})
    if not sizes or sizes[0] < 1 or args.list_requests < 1:
        raise SystemExit("--sizes and --list-requests must be positive")
    counted = listening(log)
    rnd = random.Random(7)
    tenants = [make_tenant("bench-lists-a", 0), make_tenant("bench-lists-b", 1)]
    root = User.objects.create(
        username="bench-lists-root",
        email="bench-lists-root@example.com",
        role=Role.SUPERADMIN,
        is_superuser=True,
        is_staff=True,
    )
    api = Client(headers={"X-API-Key": tenants[0].key})
    admin = Client()
    admin.force_login(root)
    end = now_ms() - 60_000  # the newest seeded row is a minute old
    table: list[GoalRow] = []
    p50s: dict[str, dict[int, float]] = {}
    admin_failed = False

    for size in sizes:
        started = time.perf_counter()
        inserted = sum(top_up(tenant, size, rnd, end) for tenant in tenants)
        seconds = time.perf_counter() - started
        log(
            f"lists      {size:,} rows per tenant x 3 lists x 2 tenants: {inserted:,} documents cloned in "
            f"{seconds:.1f}s ({inserted / max(seconds, 1e-9):,.0f}/s, rollups and search index included)"
        )
        label = size_label(size)
        with override_settings(ROOT_URLCONF=URLCONF):
            for name, url, kind in LISTS:
                bare_url = f"/bench/lists/{kind}/"
                try:
                    first = fetch(api, url, size)
                except Exception as exc:  # noqa: BLE001 - one list failing at 100k must not lose the run
                    table.append(failed_row(f"{name} page 1", label, exc, log))
                    continue
                same_ids(f"{name} page 1", first, fetch(api, bare_url, size), log)
                pages = [("page 1", url, bare_url)]
                if first.get("next"):
                    same_ids(
                        f"{name} page 2",
                        fetch(api, first["next"], size - PAGE),
                        fetch(api, bare_url + "?page=2", size - PAGE),
                        log,
                    )
                    pages.append(("page 2 (next link)", first["next"], bare_url + "?page=2"))
                else:
                    log(f"  {name}: no `next` link in the first page (keys {sorted(first)})")
                for page, product_url, baseline_url in pages:
                    key = f"{name} {page}"
                    try:
                        product, baseline = measure(api, product_url, api, baseline_url, args)
                    except Exception as exc:  # noqa: BLE001 - one list failing at 100k must not lose the run
                        table.append(failed_row(key, label, exc, log))
                        continue
                    p50s.setdefault(key, {})[size] = harness.ms_p50(product)
                    log(f"  {key:<34} {label:>4}  {harness.p50_p95(product)}   bare {harness.p50_p95(baseline)}")
                    table.append(latency_row(f"lists {key} p50, {label} rows/tenant", product, baseline))
            table.append(unmatched_filter_row(api, tenants[0], label, args, log))
            if counted:
                for name, url, kind in LISTS:
                    try:
                        product = round_trips(api, url)
                    except Exception as exc:  # noqa: BLE001
                        log(
                            f"  round trips {name} {label}: FAILED {type(exc).__name__}; server idle again after "
                            f"{wait_idle():.0f}s"
                        )
                        continue
                    baseline = round_trips(api, f"/bench/lists/{kind}/")
                    log(
                        f"  round trips {name:<22} {label:>4}  {len(product)}: {', '.join(product)}; "
                        f"bare {len(baseline)}: {', '.join(baseline)}"
                    )
                    table.append(
                        GoalRow(
                            f"lists {name} round trips, {label} rows/tenant",
                            len(product),
                            "round trips",
                            BARE_SAME_AUTH,
                            len(baseline),
                            f"<= {GOAL_ROUND_TRIPS}",
                            len(product) <= GOAL_ROUND_TRIPS,
                        )
                    )
            else:
                log("  round trips not counted: the listener sees no commands")
            if admin_failed:
                log(f"  admin results changelist {label}: not requested (it failed at a smaller size)")
            else:
                try:
                    product, baseline = measure(admin, ADMIN_URL, api, "/bench/lists/results/", args, html=True)
                except Exception as exc:  # noqa: BLE001 - a changelist that fails at 100k must not lose the run
                    product, admin_failed = [], True
                    table.append(failed_row("admin results changelist", label, exc, log, who="the admin"))
                if product:
                    p50s.setdefault("admin results changelist", {})[size] = harness.ms_p50(product)
                    log(
                        f"  {'admin results changelist':<34} {label:>4}  {harness.p50_p95(product)}   "
                        f"bare {harness.p50_p95(baseline)}  (superuser: both tenants, {2 * size:,} results)"
                    )
                    table.append(
                        latency_row(f"lists admin results changelist p50, {label} rows/tenant", product, baseline)
                    )
                if counted and product and harness.ms_p50(product) < args.list_budget * 250:
                    commands = round_trips(admin, ADMIN_URL)
                    log(f"  round trips admin results changelist {label:>4}  {len(commands)}: {', '.join(commands)}")
            if size == sizes[0]:
                table.append(admin_floor_row(admin, api, args, log))

    if len(sizes) > 1:
        low, high = sizes[0], sizes[-1]
        for key, by_size in p50s.items():
            if low in by_size and high in by_size:
                ratio = by_size[high] / by_size[low]
                table.append(
                    GoalRow(
                        f"lists {key} p50 at {size_label(high)} / p50 at {size_label(low)}",
                        by_size[high],
                        "ms",
                        f"p50 at {size_label(low)}",
                        by_size[low],
                        f"<= {GOAL_SCALING}x",
                        ratio <= GOAL_SCALING,
                    )
                )
    print(render_goals(table))
    sys.stdout.flush()
    return list(table)


def unmatched_filter_row(api, tenant: Tenant, label: str, args, log) -> GoalRow:
    """The results list filtered by a sentiment no seeded result has (they are clones of one),
    a filter no index serves: its first page, read within LIST_READ_SECONDS, beside the same
    page read without that budget (bench/lists_urls.py), which walks the whole tenant."""
    from django.conf import settings

    seeded = tenant.templates["results"][0]["analysis"]["sentiment"]["label"]
    nobody = next(value for value in ("mixed", "neutral", "negative", "positive") if value != seeded)
    query = f"?page_size=20&sentiment={nobody}"
    product, baseline = measure(
        api, "/api/v1/scraping/results/" + query, api, "/bench/lists/unbudgeted/results/" + query, args
    )
    figure, base = harness.ms_p50(product), harness.ms_p50(baseline)
    goal = 1500 * settings.LIST_READ_SECONDS
    log(
        f"  {'results API, sentiment=' + nobody:<34} {label:>4}  {harness.p50_p95(product)}   unbudgeted "
        f"{harness.p50_p95(baseline)}"
    )
    return GoalRow(
        f"lists results API filtered by a sentiment no row has, p50, {label} rows/tenant",
        figure,
        "ms",
        "the same page without a read budget",
        base,
        f"<= {goal:.0f} ms",
        figure <= goal,
    )


def failed_row(key: str, label: str, exc: Exception, log, who: str = "the API") -> GoalRow:
    """Log a page that failed (then wait until the server is idle again) and its MISS row."""
    cause = exc.__cause__ or exc
    log(
        f"  {key} {label}: FAILED {type(exc).__name__} ({type(cause).__name__}: {str(cause)[:200]}); "
        f"server idle again after {wait_idle():.0f}s"
    )
    return GoalRow(
        f"lists {key} p50, {label} rows/tenant",
        float("nan"),
        "ms",
        f"{BARE} ({who} failed)",
        float("nan"),
        f"<= {GOAL_BARE:g}x",
        False,
    )


def fetch(client, url: str, rows_behind: int) -> dict:
    """GET url; 200 and a page of min(20, rows_behind) results, or RuntimeError."""
    response = client.get(url)
    if response.status_code != 200:
        raise RuntimeError(f"GET {url}: {response.status_code} {response.content[:300]!r}")
    body = response.json()
    if len(body.get("results", ())) != min(PAGE, max(rows_behind, 0)):
        raise RuntimeError(f"GET {url}: {len(body.get('results', ()))} results, expected {min(PAGE, rows_behind)}")
    return body


def same_ids(what: str, product: dict, baseline: dict, log) -> None:
    ours = [row["id"] for row in product["results"]]
    theirs = [row["id"] for row in baseline["results"]]
    if ours != theirs:
        log(
            f"  CHECK {what}: the API and the bare view list different rows ({len(set(ours) & set(theirs))} of "
            f"{len(ours)} in common)"
        )


def measure(client, url: str, baseline_client, baseline_url: str, args, html: bool = False):
    """--list-warmups untimed requests of each, then up to --list-requests timed in turn (as
    harness.interleaved does), so that a page taking seconds does not take hours: once the
    product's timed requests add up to --list-budget seconds 5 are enough, once they add up
    to two budgets 1 is; a first request slower than two budgets is the only sample."""

    def get(some_client, some_url, json_body):
        started = time.perf_counter()
        response = some_client.get(some_url)
        if response.status_code != 200:
            raise RuntimeError(f"GET {some_url}: {response.status_code} {response.content[:300]!r}")
        if json_body:
            response.json()
        return time.perf_counter() - started

    for n in range(max(1, args.list_warmups)):
        first = get(client, url, not html)
        get(baseline_client, baseline_url, True)
        if n == 0 and first > 2 * args.list_budget:
            harness.log(f"  (budget: {url} took {first:.0f}s, timed once)")
            return [first], [get(baseline_client, baseline_url, True)]
        if first > args.list_budget / 10:
            break
    product_times, baseline_times = [], []
    for n in range(args.list_requests):
        spent = sum(product_times)
        if (n >= 5 and spent > args.list_budget) or (n >= 1 and spent > 2 * args.list_budget):
            harness.log(f"  (budget: {n} timed requests of {url}, not {args.list_requests})")
            break
        product_times.append(get(client, url, not html))
        baseline_times.append(get(baseline_client, baseline_url, True))
    return product_times, baseline_times


def round_trips(client, url: str) -> list[str]:
    """The commands of the second of two identical requests (caches warm)."""

    def get():
        response = client.get(url)
        if response.status_code != 200:
            raise RuntimeError(f"GET {url}: {response.status_code}")

    get()
    return ROUND_TRIPS.during(get)


def admin_floor_row(admin, api, args, log) -> GoalRow:
    """Django's admin alone: the companies changelist (the run's few companies, one read) beside
    the same bare view, a figure without a goal. The results changelist is this page plus its
    20 rows' cells and its page read."""
    product, baseline = measure(admin, ADMIN_FLOOR_URL, api, "/bench/lists/results/", args, html=True)
    label = "admin floor (companies changelist)"
    log(f"  {label:<34}       {harness.p50_p95(product)}   bare {harness.p50_p95(baseline)}")
    return GoalRow(
        "lists admin floor: the companies changelist p50",
        harness.ms_p50(product),
        "ms",
        BARE,
        harness.ms_p50(baseline),
        "no goal: what any admin page costs",
    )


def latency_row(name: str, product: list[float], baseline: list[float]) -> GoalRow:
    figure, base = harness.ms_p50(product), harness.ms_p50(baseline)
    return GoalRow(name, figure, "ms", BARE, base, f"<= {GOAL_BARE:g}x", figure <= GOAL_BARE * base)


def render_goals(rows: list[GoalRow]) -> str:
    """The rows as bench.table prints them, plus the goal and whether it is met."""
    header = ("lists (goals)", "figure", "unit", "baseline (same run)", "baseline", "ratio", "goal")
    cells = [header] + [
        (
            r.name,
            number(r.figure),
            r.unit,
            r.baseline,
            number(r.baseline_figure),
            f"{r.ratio:.2f}x",
            r.goal if r.ok is None else f"{'ok' if r.ok else 'MISS'} ({r.goal})",
        )
        for r in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    right = {1, 4, 5}
    lines = [
        "  ".join(
            c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    met, goals = sum(1 for r in rows if r.ok), sum(1 for r in rows if r.ok is not None)
    return (
        "\n".join(lines) + f"\ngoals met: {met} of {goals} (p50 <= {GOAL_BARE:g}x its bare view; p50 at the "
        f"largest size <= {GOAL_SCALING}x the smallest; <= {GOAL_ROUND_TRIPS} round trips per list request)\n"
    )


if __name__ == "__main__":
    harness.main(sys.modules[__name__])
