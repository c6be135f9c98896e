"""Where the tests find the project and their data files, wherever a test module sits."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the project: manage.py, README.md, bench/
FIXTURES = ROOT / "tests" / "fixtures"  # pages, feeds and samples the tests read
