"""The benchmark's own database, never the development one.

``configure()`` runs before ``django.setup()``: it points the test-database machinery at a
fresh file under ``var/bench/`` (SQLite) or at ``<name>_bench_<pid>`` (PostgreSQL, when
``DATABASE_URL`` names one), and keeps the benchmark's mail, texts and cache keys apart.
``create()`` makes and migrates that database and switches the connection to it;
``destroy()`` removes it. Nothing touches the configured database itself: Django opens
no connection before ``create()`` switches the name.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


@dataclass
class BenchDatabase:
    vendor: str = ""
    description: str = ""
    original_name: str = ""
    work_dir: Path | None = None
    created: bool = False


def configure() -> BenchDatabase:
    """Call before django.setup()."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    work_dir = Path(tempfile.mkdtemp(prefix="bench-", dir=_var_dir()))
    # Alerts raised by the authorization benchmark go to files in the work folder.
    os.environ["OUTBOX_DIR"] = str(work_dir / "outbox")
    os.environ["EMAIL_BACKEND"] = "django.core.mail.backends.locmem.EmailBackend"
    os.environ.setdefault("LOG_LEVEL", "WARNING")

    from django.conf import settings

    database = settings.DATABASES["default"]
    bench = BenchDatabase(work_dir=work_dir, original_name=str(database["NAME"]))
    if database["ENGINE"] == "django.db.backends.sqlite3":
        bench.vendor = "SQLite"
        database["TEST"] = {"NAME": str(work_dir / "bench.sqlite3")}
        shown = work_dir.relative_to(BASE_DIR) if work_dir.is_relative_to(BASE_DIR) else work_dir
        bench.description = f"SQLite file {shown}/bench.sqlite3"
    elif database["ENGINE"] == "django.db.backends.postgresql":
        bench.vendor = "PostgreSQL"
        # One database per run: two runs at once must not drop each other's.
        database["TEST"] = {"NAME": f"{database['NAME']}_bench_{os.getpid()}"}
        bench.description = f"PostgreSQL database {database['TEST']['NAME']} on {database.get('HOST') or 'localhost'}"
    else:
        raise SystemExit(f"Benchmarks run on SQLite or PostgreSQL, not {database['ENGINE']}.")
    # Sessions live in the cache: keep the benchmark's keys apart from a shared Redis.
    settings.CACHES["default"]["KEY_PREFIX"] = "bench"
    return bench


def _var_dir() -> Path:
    path = Path(os.environ.get("VAR_DIR", BASE_DIR / "var")) / "bench"
    path.mkdir(parents=True, exist_ok=True)
    return path


def create(bench: BenchDatabase) -> None:
    """Create and migrate the benchmark database; the connection then uses it."""
    from django.db import connection

    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False, keepdb=False)
    bench.created = True
    # The table the committing trivial POST (benchmarks.urls) writes to.
    key = "INTEGER PRIMARY KEY AUTOINCREMENT" if bench.vendor == "SQLite" else "BIGSERIAL PRIMARY KEY"
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE bench_post (id {key}, event_id VARCHAR(100) NOT NULL)")


def destroy(bench: BenchDatabase) -> None:
    import shutil

    from django.db import connection

    try:
        if bench.created:  # never drop a database this run did not make
            connection.creation.destroy_test_db(bench.original_name, verbosity=0, keepdb=False)
    finally:
        if bench.work_dir is not None:
            shutil.rmtree(bench.work_dir, ignore_errors=True)
