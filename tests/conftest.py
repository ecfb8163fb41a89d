"""Shared test helpers: a finops project in a temp folder, the CLI run in the test process (or as a real subprocess
where a test needs one), warehouse queries."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
import time_machine

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = ROOT / "finops" / "bundled"
FIXTURES = ROOT / "tests" / "fixtures"
FINOPS = Path(sys.executable).parent / "finops"

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
# a CLI run records its Dagster history beside its own warehouse (orchestration/history.py), a few seconds a day:
# only the tests of it do (history_on)
os.environ.pop("DAGSTER_HOME", None)
os.environ["FINOPS_DAGSTER_HISTORY"] = "0"

# what libraries set in os.environ themselves, the same in every process: polars on import, GX on each SQL engine,
# PySpark when it starts the process's SparkSession
LIBRARY_SET = {"_RJEM_MALLOC_CONF", "SF_PARTNER", "SPARK_AUTH_SOCKET_TIMEOUT", "SPARK_BUFFER_SIZE"}

# The modules that take minutes of one worker (the Spark one: about 5; test_publish: about 4), collected first: the
# workers take whole files in collection order (`--dist loadfile`), so one started last ends the suite alone.
SLOW_MODULES = ("test_spark.py", "test_publish.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.path.name not in SLOW_MODULES)  # (a stable sort: each file keeps its order)


def run_cli(args: list[str], cwd: Path, check: bool = False) -> subprocess.CompletedProcess:
    """`finops ARGS` as the console script runs it (finops.cli.main), but in this process: the imports (Great
    Expectations, dbt, Dagster: about 10 s a process) are paid once per pytest worker. The working folder is `cwd`
    for the call, stdout and stderr are captured, stdin is empty; the result is the subprocess's (returncode, stdout,
    stderr). A run that leaves os.environ changed or a DuckDB file open fails the test: the next run would not start as
    in a new process."""
    from finops.cli import main

    stdout, stderr = io.StringIO(), io.StringIO()
    environ, opened = dict(os.environ), open_duckdb_files()
    here = os.getcwd()
    os.chdir(cwd)
    try:
        with (
            contextlib.redirect_stdout(stdout),
            contextlib.redirect_stderr(stderr),
            _stdin(io.StringIO()),
        ):
            try:
                code = main(args)
            except SystemExit as exc:  # argparse: --help, a bad option
                code = _exit_status(exc, stderr)
    finally:
        os.chdir(here)
    proc = subprocess.CompletedProcess(["finops", *args], code, stdout.getvalue(), stderr.getvalue())
    leaked = {k for k in (environ.keys() | os.environ.keys()) - LIBRARY_SET if environ.get(k) != os.environ.get(k)}
    if leaked:
        raise AssertionError(f"finops {' '.join(args)} left os.environ changed: {sorted(leaked)}")
    left_open = {target for fd, target in open_duckdb_files().items() if fd not in opened}
    if left_open:
        raise AssertionError(f"finops {' '.join(args)} left DuckDB files open: {sorted(left_open)}")
    if check and proc.returncode != 0:
        raise AssertionError(f"finops {args} exited {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}")
    return proc


def open_duckdb_files() -> dict[str, str]:
    """The DuckDB files (database, write-ahead log) this process has open, by file descriptor (Linux: /proc/self/fd;
    a file open before a run and replaced by it reads "<path> (deleted)" after it)."""
    found = {}
    for fd in Path("/proc/self/fd").iterdir():
        with contextlib.suppress(OSError):  # the folder's own descriptor, gone when read
            target = os.readlink(fd)
            if ".duckdb" in target:
                found[fd.name] = target
    return found


@contextlib.contextmanager
def _stdin(stream: io.StringIO):
    before, sys.stdin = sys.stdin, stream
    try:
        yield
    finally:
        sys.stdin = before


def _exit_status(exc: SystemExit, stderr: io.StringIO) -> int:
    """The status a process exits with on `exc` (a message instead of a number: printed, status 1)."""
    if exc.code is None or isinstance(exc.code, int):
        return exc.code or 0
    print(exc.code, file=stderr)
    return 1


@pytest.fixture
def history_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FINOPS_DAGSTER_HISTORY")


def event(
    event_id: str,
    occurred_at: str,
    *,
    tenant: str = "acme",
    feature: str = "search",
    provider: str = "anthropic",
    model: str = "claude-sonnet-4-6",
    input_tokens: int = 1000,
    output_tokens: int = 100,
    **extra,
) -> dict:
    """A canonical usage record (docs/spec.md#usage-record)."""
    return {
        "event_id": event_id,
        "occurred_at": occurred_at,
        "tenant_id": tenant,
        "feature": feature,
        "provider": provider,
        "model": model,
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        **extra,
    }


def write_jsonl(path: Path, records: list[dict | str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records))
    return path


# The self-hosted deployment of the bundled sample config (the sample data's self-hosted calls name it).
SAMPLE_DEPLOYMENT = """
[[deployments]]
id = "llama-70b-prod"
gpu = "H100 SXM"
gpu_count = 2
pricing = "on_demand"
output_weight = 4
"""


class Project:
    """A config, its price and GPU sheets (the bundled ones by default) and a usage folder."""

    def __init__(self, root: Path):
        self.root = root
        self.usage = root / "usage"
        self.usage.mkdir(parents=True, exist_ok=True)
        (root / "prices").mkdir(exist_ok=True)
        (root / "gpus").mkdir(exist_ok=True)
        # the reference articles' 2026 figures (the tests' hand-computed costs use them; some are not today's list
        # prices: gpt-5 at $5 / $20 where OpenAI lists $1.25 / $10)
        shutil.copy(FIXTURES / "prices" / "article_prices.csv", root / "prices" / "list_prices.csv")
        shutil.copy(BUNDLED / "gpus" / "offers.csv", root / "gpus" / "offers.csv")
        self.config = root / "finops.toml"
        self.warehouse = root / "warehouse" / "finops.duckdb"
        self.write_config()

    def write_config(
        self,
        extra: str = "",
        deployments: str | None = None,
        quality: str | None = None,
        usage: str = '[[usage.sources]]\nkind = "canonical"\npath = "usage/*"\n',
        warehouse: str = 'path = "warehouse/finops.duckdb"',
        to: Path | None = None,
    ) -> Path:
        """The test config (to: another file than finops.toml); `quality` replaces the [quality] keys (default:
        limits that small test data meets), `warehouse` the body of [warehouse]."""
        if quality is None:
            quality = "max_unpriced_share = 0.2\nmax_quarantined_share = 0.5"
        if deployments is None:
            deployments = """
[[deployments]]
id = "llama-fixed"
hourly_cost_usd = 10.0
output_weight = 4

[[deployments]]
id = "llama-h100"
gpu = "H100 SXM"
gpu_count = 8
pricing = "on_demand"
output_weight = 1
"""
        path = to or self.config
        path.write_text(f"""
[warehouse]
{warehouse}

[[prices.sources]]
kind = "price_sheet"
path = "prices/*.csv"

[[gpu.sources]]
kind = "gpu_sheet"
path = "gpus/offers.csv"

{usage}
{deployments}
[quality]
{quality}
{extra}
""")
        return path

    def finops(self, *args: str, check: bool = False) -> subprocess.CompletedProcess:
        """`finops ARGS` with this project's config, run in this process (run_cli)."""
        return run_cli(self._with_config(args), self.root, check=check)

    def finops_at(self, when: str, *args: str, check: bool = False) -> subprocess.CompletedProcess:
        """`finops` as run at `when` (an ISO UTC time, e.g. the day after a partial day): the clock time-machine moves
        there for the run (and keeps ticking)."""
        with time_machine.travel(when, tick=True):
            return run_cli(self._with_config(args), self.root, check=check)

    def finops_subprocess(self, *args: str, check: bool = False) -> subprocess.CompletedProcess:
        """The real `finops` console script in a process of its own: for what a run in this process cannot show
        (the script itself, an exit on a signal, runs and readers at the same time)."""
        cmd = [str(FINOPS), *self._with_config(args)]
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=self.root, timeout=600)
        if check and proc.returncode != 0:
            raise AssertionError(f"{cmd} exited {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}")
        return proc

    def _with_config(self, args: tuple[str, ...]) -> list[str]:
        if args and args[0] in ("run", "backfill", "report", "sql", "quarantine", "docs", "export"):
            return [*args, "--config", str(self.config)]
        return list(args)

    def query(self, sql: str, params: list | None = None) -> list[tuple]:
        """Rows of a query on the published warehouse (money, a DECIMAL there, as float)."""
        with duckdb.connect(str(self.warehouse), read_only=True) as con:
            rows = con.execute(sql, params or []).fetchall()
        return [tuple(float(v) if isinstance(v, Decimal) else v for v in row) for row in rows]

    def table(self, name: str, order_by: str) -> list[tuple]:
        return self.query(f"select * from finance.{name} order by {order_by}")


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return Project(tmp_path / "project")


class Prebuilt:
    """A project built once (`build` runs the CLI on it), then restored as built for each test that starts from
    it: the tests of a module that each ran the same pipeline first share one run. Restored at its own path, as the
    published catalog names its Parquet files by absolute path (a copy elsewhere would read the original's), with
    the files' mtimes (shutil.copytree), so the staged usage files read as unchanged, as in the project as built. A
    test may change the project as it likes: the next restore starts over."""

    def __init__(self, root: Path, build: Callable[[Project], object]):
        self._project = Project(root)
        build(self._project)
        self._built = root.with_name(f"{root.name}.built")
        shutil.copytree(root, self._built, symlinks=True)

    def restore(self) -> Project:
        shutil.rmtree(self._project.root)
        shutil.copytree(self._built, self._project.root, symlinks=True)
        return self._project
