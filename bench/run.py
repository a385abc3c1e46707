"""Measure Debussy against the budgets of PRODUCT.md §12 and issue 16; write docs/PERFORMANCE.md.

    uv run python bench/run.py                      # the full table, several minutes
    uv run python bench/run.py --before a810ae3     # and a before/after table against that commit
    uv run python bench/run.py --quick              # n = 10 and 100, two runs each: a smoke test
    uv run python bench/run.py --profile            # also write pyinstrument profiles

A sandbox tracker runs in this process (a thread on 127.0.0.1, no internet) with
0, 50 and 100 ms of latency added to every answer. For each size ``n`` a project
links ``n`` issues (half GitHub over two repositories, half Jira; see
``bench/projects.py``). Every measured command is a child process, timed from
spawn to exit, and reported as the median of several runs with the child's peak
RSS (``wait4``) and the requests the sandbox logged while it ran.

Children run as a user's install would: with bytecode. This environment sets
``PYTHONDONTWRITEBYTECODE=1``; the children run without it, with
``PYTHONPYCACHEPREFIX=bench/results/pycache`` so the shared ``.venv`` and ``src/``
are left untouched, and each command runs once unmeasured first, which compiles
everything it imports. A second, smaller pass measures without bytecode, as this
development environment runs.

Rows: ``status --issues`` cold (no cache), warm (all cached and fresh) and with
``--refresh`` over a full cache; plain ``status``; and the ``sync`` plan (a fresh
read of every issue, then the plan), at sizes up to 5,000 issues so the growth
from 2,000 to 5,000 shows whether every path is linear. ``--before REV`` also
measures the issue-16 rows with the source of commit REV (``git archive`` into a
temporary folder, put first on the children's ``PYTHONPATH``; same interpreter,
same projects, same sandbox), interleaved run by run with the current source, so
the before/after table comes from one run on one machine.

The results section of docs/PERFORMANCE.md (between its markers) is replaced;
the rest of that file is prose kept by hand. Raw numbers go to bench/results/.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `python bench/run.py` puts bench/, not the repo, on the path
    sys.path.insert(0, str(ROOT))

from bench.projects import (  # noqa: E402
    CREDENTIALS,
    ScaledProject,
    Split,
    lay_out,
    older_copy,
    seed,
)
from debussy.sandbox import SandboxTracker  # noqa: E402

RESULTS = ROOT / "bench" / "results"
PYCACHE = RESULTS / "pycache"
DOC = ROOT / "docs" / "PERFORMANCE.md"
BEGIN = "<!-- bench:results:begin (written by bench/run.py; edit the prose outside) -->"
END = "<!-- bench:results:end -->"

SIZES = (100, 512, 2000, 5000)
LATENCIES_MS = (0, 100)
RUNS = 7
LARGE_RUNS = 5
"""Runs for n >= LARGE."""
LARGE = 2000

COLD_BUDGET_SECONDS = 0.4
"""Cold ``status --issues`` of 500 issues at 100 ms, above ``python -c pass`` (issue 26)."""
WARM_BUDGET_SECONDS = 0.10
WARM_LARGE_BUDGET_SECONDS = 0.18
STATUS_BUDGET_SECONDS = 0.08
HELP_BUDGET_SECONDS = 0.10
JSON_BUDGET_SECONDS = 0.07
"""Warm ``status --issues --json`` of 500 issues, what scripts and CI jobs poll (issue 26)."""
REFRESH_TOLERANCE = 1.05
"""``--refresh`` over a full cache vs. no cache: equal within the machine's noise (5 %)."""
LINEAR_TOLERANCE = 1.3
"""CPU per issue (above startup) at 5,000 issues at most 1.3x that at 2,000; n² would be 2.5x."""
BUDGET_SIZE = 512
"""The warm budget's size; the cold budget (500 issues) is checked on it too (12 more)."""
LARGE_BUDGET_SIZE = 2000
LINEAR_FROM, LINEAR_TO = 2000, 5000
BUDGET_LATENCY_MS = 100
HEAVY_MODULES = ("httpx", "httpcore", "pydantic", "pydantic_core", "yaml", "rich", "pygments")
"""None of these on the warm path, piped (the table is plain text there, docs/CLI.md)."""

PYINSTRUMENT = (sys.executable, "-m", "pyinstrument", "--interval", "0.0005", "--renderer", "text")
DEBUSSY = Path(sys.executable).parent / "debussy"
"""The console script, as a user's shell runs it."""


# --- one measured child process --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Sample:
    wall_seconds: float
    cpu_seconds: float
    """User + system time of the command (``wait4``): what the shared machine's load hides."""
    peak_rss_mib: float
    requests: dict[str, int]
    kinds: dict[str, int]


@dataclass(slots=True)
class Measurement:
    """One row: a command on one project, at one latency, in one environment."""

    label: str
    mode: str
    """``baseline``, ``help``, ``cold``, ``warm``, ``refresh``, ``status`` or ``sync``."""
    size: int | None
    latency_ms: int | None
    bytecode: bool
    samples: list[Sample] = field(default_factory=list[Sample])
    source: str = "after"
    """``after`` (this tree) or ``before`` (``--before REV``)."""

    @property
    def wall(self) -> float:
        return statistics.median(sample.wall_seconds for sample in self.samples)

    @property
    def cpu(self) -> float:
        return statistics.median(sample.cpu_seconds for sample in self.samples)

    @property
    def fastest(self) -> float:
        return min(sample.wall_seconds for sample in self.samples)

    @property
    def peak_rss_mib(self) -> float:
        return max(sample.peak_rss_mib for sample in self.samples)

    def requests(self, platform_name: str) -> int:
        """Requests per run (the largest count seen, for the budget)."""
        return max(sample.requests.get(platform_name, 0) for sample in self.samples)

    def requests_text(self, platform_name: str) -> str:
        """``3``, or ``3–4`` when runs differed (a retry would show here)."""
        counts = {sample.requests.get(platform_name, 0) for sample in self.samples}
        low, high = min(counts), max(counts)
        return str(low) if low == high else f"{low}–{high}"

    def as_json(self) -> dict[str, object]:
        document = asdict(self)
        document["median_wall_seconds"] = self.wall
        return document


@dataclass(slots=True)
class Variant:
    """One command of an alternation: its row, how to run it, what to do before each run."""

    row: Measurement
    argv: list[str]
    env: dict[str, str]
    before_each: Callable[[], None] | None
    project: ScaledProject | None = None
    """Where it runs (each tree has its own copy of the project); None: the workdir."""


class CommandFailed(RuntimeError):
    pass


LAUNCHER = """
import os, sys, time
out, err, *argv = sys.argv[1:]
flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
started = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
    os.dup2(os.open(out, flags, 0o600), 1)
    os.dup2(os.open(err, flags, 0o600), 2)
    try:
        os.execv(argv[0], argv)
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - started
print(wall, usage.ru_maxrss, os.waitstatus_to_exitcode(status), usage.ru_utime + usage.ru_stime)
"""
"""Forks the measured command from a small interpreter (``-I -S``, about 8 MiB).

Linux reports as a child's peak RSS the larger of its own and that of the
process it was forked from, so forking straight from this process (50 MiB with
the sandbox loaded) would report 50 MiB for ``python -c pass``. The launcher's
start-up is not part of the measured time: it times from fork to exit itself.
"""


def run_child(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    sandbox: SandboxTracker | None,
) -> Sample:
    """Run ``argv`` once through the launcher; count the requests it sent to ``sandbox``."""
    if sandbox is not None:
        sandbox.clear_requests()
    with tempfile.TemporaryDirectory(prefix="debussy-bench-io-") as folder:
        out, err = Path(folder, "stdout"), Path(folder, "stderr")
        done = subprocess.run(
            [sys.executable, "-I", "-S", "-c", LAUNCHER, str(out), str(err), *argv],
            cwd=cwd,
            env=dict(env),
            capture_output=True,
            text=True,
            check=True,
        )
        wall, peak_kib, code, cpu = done.stdout.split()
        if int(code) != 0:
            message = err.read_text(errors="replace").strip()[-2000:]
            raise CommandFailed(f"{' '.join(argv)} exited {code}: {message}")
    records = sandbox.requests if sandbox is not None else []
    return Sample(
        wall_seconds=float(wall),
        cpu_seconds=float(cpu),
        peak_rss_mib=int(peak_kib) / 1024,  # Linux reports KiB
        requests=dict(Counter(record.platform for record in records)),
        kinds=dict(Counter(f"{record.platform}:{record.kind}" for record in records)),
    )


# --- environments ----------------------------------------------------------------------------


def child_env(*, bytecode: bool, source_path: Path | None = None) -> dict[str, str]:
    """The user's environment: the sandbox's credentials and (by default) bytecode on.

    ``source_path``: another tree's ``src/`` to run instead of this one (``--before``).
    """
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX", "NO_COLOR", "PYTHONPATH")
        and not name.startswith(("JIRA_", "COVERAGE_"))
        and name not in ("GITHUB_TOKEN", "GH_TOKEN")
    }
    env.update(CREDENTIALS)
    if source_path is not None:
        env["PYTHONPATH"] = str(source_path)
    if bytecode:
        env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


# --- the plan of measurements ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Options:
    sizes: tuple[int, ...]
    latencies_ms: tuple[int, ...]
    runs: int
    large_runs: int
    no_bytecode: bool
    profile: bool
    write_doc: bool
    before: str | None = None
    writes: bool = True
    """Run bench/writes.py (the lifecycle write budgets) after the read rows."""


class Bench:
    def __init__(
        self,
        options: Options,
        sandbox: SandboxTracker,
        workdir: Path,
        before_source: Path | None = None,
    ) -> None:
        self.options = options
        self.sandbox = sandbox
        self.workdir = workdir
        self.before_source = before_source
        self.results: list[Measurement] = []
        self.projects: dict[int, ScaledProject] = {}
        self.before_projects: dict[int, ScaledProject] = {}

    def runs_for(self, size: int | None) -> int:
        return self.options.large_runs if size is not None and size >= LARGE else self.options.runs

    def project_for(self, source: str, project: ScaledProject) -> ScaledProject:
        """This tree's project, or the ``--before`` tree's own copy of it."""
        if source == "after":
            return project
        size = project.split.total
        if size not in self.before_projects:
            copy = older_copy(project, self.workdir / f"n{size}-before")
            self.before_projects[size] = copy
        return self.before_projects[size]

    def sources(self, compare: bool) -> list[tuple[str, Path | None]]:
        """This tree, and the ``--before`` tree too for the rows of the before/after table."""
        found: list[tuple[str, Path | None]] = [("after", None)]
        if compare and self.before_source is not None:
            found.append(("before", self.before_source))
        return found

    def measure(
        self,
        label: str,
        mode: str,
        argv: Sequence[str],
        *,
        project: ScaledProject | None = None,
        latency_ms: int | None = None,
        bytecode: bool = True,
        before_each: Callable[[ScaledProject], None] | None = None,
        compare: bool = False,
    ) -> list[Measurement]:
        """One row per source; with two sources their runs alternate (same load for both)."""
        size = project.split.total if project is not None else None
        variants: list[Variant] = []
        for name, path in self.sources(compare):
            env = child_env(bytecode=bytecode, source_path=path)
            own = self.project_for(name, project) if project is not None else None
            if mode in ("warm", "refresh", "json") and own is not None:
                self.fill_cache(own, env)  # once: a full cache, fresh
            variants.append(
                Variant(
                    Measurement(label, mode, size, latency_ms, bytecode, source=name),
                    list(argv),
                    env,
                    functools.partial(before_each, own) if before_each and own else None,
                    own,
                )
            )
        return self.alternate(variants, project, latency_ms)

    def alternate(
        self, variants: Sequence[Variant], project: ScaledProject | None, latency_ms: int | None
    ) -> list[Measurement]:
        """Run the variants in turn, run after run: rows compared with each other see the
        same load on this shared machine. The first round is unmeasured (bytecode, caches)."""
        size = project.split.total if project is not None else None
        if latency_ms is not None:
            self.sandbox.latency = latency_ms / 1000
        for _ in range(self.runs_for(size) + 1):
            for variant in variants:
                if variant.before_each is not None:
                    variant.before_each()
                cwd = variant.project.root if variant.project is not None else self.workdir
                variant.row.samples.append(
                    run_child(variant.argv, cwd=cwd, env=variant.env, sandbox=self.sandbox)
                )
        for variant in variants:
            variant.row.samples.pop(0)
            self.results.append(variant.row)
            _progress(variant.row)
        return [variant.row for variant in variants]

    def cold_and_refresh(self, project: ScaledProject, latency_ms: int, *, compare: bool) -> None:
        """Cold (no cache) and ``--refresh`` (the cache the cold run just filled), alternately.

        The budget compares these two rows; measured apart, the load of the
        machine moved either by more than the difference being judged.
        """
        argv = [str(DEBUSSY), "status", "--issues"]
        variants: list[Variant] = []
        for name, path in self.sources(compare):
            env = child_env(bytecode=True, source_path=path)
            size = project.split.total
            own = self.project_for(name, project)
            variants += [
                Variant(
                    Measurement("status --issues", "cold", size, latency_ms, True, source=name),
                    argv,
                    env,
                    own.forget_cache,
                    own,
                ),
                Variant(
                    Measurement(
                        "status --issues --refresh", "refresh", size, latency_ms, True, source=name
                    ),
                    [*argv, "--refresh"],
                    env,
                    None,
                    own,
                ),
            ]
        self.alternate(variants, project, latency_ms)

    def startup(self, *, bytecode: bool) -> None:
        self.measure(
            "python -c pass", "baseline", [sys.executable, "-c", "pass"], bytecode=bytecode
        )
        self.measure("debussy --help", "help", [str(DEBUSSY), "--help"], bytecode=bytecode)

    def status(
        self,
        project: ScaledProject,
        mode: str,
        latency_ms: int,
        *,
        bytecode: bool,
        compare: bool = False,
    ) -> None:
        argv = [str(DEBUSSY), "status", "--issues"]
        if mode == "refresh":
            argv.append("--refresh")
        # cold: no cache before every run; warm and refresh: a full, fresh cache filled once
        # (``measure``), which warm runs only read and refresh runs must ignore.
        before: Callable[[ScaledProject], None] | None = None
        if mode == "cold":
            before = ScaledProject.forget_cache
        label = f"status --issues{' --refresh' if mode == 'refresh' else ''}"
        self.measure(
            label,
            mode,
            argv,
            project=project,
            latency_ms=None if mode == "warm" else latency_ms,
            bytecode=bytecode,
            before_each=before,
            compare=compare,
        )

    def plain_status(self, project: ScaledProject, *, compare: bool) -> None:
        self.measure("status", "status", [str(DEBUSSY), "status"], project=project, compare=compare)

    def warm_json(self, project: ScaledProject, *, compare: bool) -> None:
        """Warm ``status --issues --json``: the document scripts poll (its cache filled once)."""
        argv = [str(DEBUSSY), "status", "--issues", "--json"]
        self.measure("status --issues --json", "json", argv, project=project, compare=compare)

    def sync_plan(self, project: ScaledProject, latency_ms: int) -> None:
        """``sync`` (the plan only): a fresh read of every issue, then the plan."""
        self.measure("sync", "sync", [str(DEBUSSY), "sync"], project=project, latency_ms=latency_ms)

    def fill_cache(self, project: ScaledProject, env: Mapping[str, str] | None = None) -> None:
        """Fill the cache (unmeasured); the next runs find every issue cached and fresh.

        ``env`` says which tree fills it: each tree reads its own cache format.
        """
        self.sandbox.latency = 0
        project.forget_cache()
        run_child(
            [str(DEBUSSY), "status", "--issues"],
            cwd=project.root,
            env=env if env is not None else child_env(bytecode=True),
            sandbox=self.sandbox,
        )

    def run(self) -> None:
        self.startup(bytecode=True)
        for size in self.options.sizes:
            project = self.projects[size] = lay_out(self.workdir / f"n{size}", self.sandbox, size)
            compare = size in (BUDGET_SIZE, LARGE_BUDGET_SIZE)
            self.status(project, "warm", 0, bytecode=True, compare=compare)
            if size == BUDGET_SIZE:
                self.plain_status(project, compare=True)
                self.warm_json(project, compare=True)
            for latency in self.options.latencies_ms:
                if size == LARGE_BUDGET_SIZE:
                    self.cold_and_refresh(project, latency, compare=latency == 0)
                    continue
                budget_row = size == BUDGET_SIZE and latency == BUDGET_LATENCY_MS
                self.status(project, "cold", latency, bytecode=True, compare=budget_row)
                self.status(project, "refresh", latency, bytecode=True)
            if size >= LINEAR_FROM:
                self.sync_plan(project, 0)
        if self.options.no_bytecode:
            self.startup(bytecode=False)
            size = BUDGET_SIZE if BUDGET_SIZE in self.projects else max(self.projects)
            project = self.projects[size]
            self.status(project, "warm", 0, bytecode=False)
            self.status(project, "cold", max(self.options.latencies_ms), bytecode=False)

    def warm_imports(self, size: int) -> list[str]:
        """Which heavy modules the warm path imports (``-X importtime``): should be none."""
        project = self.projects[size]
        self.fill_cache(project)
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "debussy", "status", "--issues"],
            cwd=project.root,
            env=child_env(bytecode=True),
            capture_output=True,
            text=True,
            check=True,
        )
        imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()}
        return sorted(name for name in imported if name.split(".")[0] in HEAVY_MODULES)


def _progress(row: Measurement) -> None:
    where = f"n={row.size} " if row.size is not None else ""
    latency = f"{row.latency_ms} ms " if row.latency_ms is not None else ""
    bytecode = "" if row.bytecode else " (no bytecode)"
    source = " (before)" if row.source == "before" else ""
    print(
        f"  {row.label:<28} {row.mode:<8} {where:<7}{latency:<7}"
        f"{row.wall:6.3f} s (cpu {row.cpu:5.3f})  "
        f"requests {row.requests('github')}+{row.requests('jira')}"
        f"{bytecode}{source}",
        file=sys.stderr,
        flush=True,
    )


# --- verdicts --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Verdict:
    budget: str
    checked_by: str
    measured: str
    met: bool


def find(
    results: Sequence[Measurement],
    mode: str,
    *,
    size: int | None = None,
    latency_ms: int | None = None,
    bytecode: bool = True,
    source: str = "after",
) -> Measurement | None:
    for row in results:
        if (row.mode, row.size, row.latency_ms, row.bytecode, row.source) == (
            mode,
            size,
            latency_ms,
            bytecode,
            source,
        ):
            return row
    return None


def verdicts(results: Sequence[Measurement], warm_heavy_modules: list[str] | None) -> list[Verdict]:
    baseline = find(results, "baseline")
    start = baseline.wall if baseline else 0.0
    found: list[Verdict] = []
    fetching = [
        row
        for row in results
        if row.mode in ("cold", "refresh") and row.bytecode and row.source == "after"
    ]
    over = [
        f"n={row.size} {row.mode} {row.latency_ms} ms: {row.requests(p)} {p}"
        for row in fetching
        for p in ("github", "jira")
        if row.size is not None and row.requests(p) > Split.of(row.size).request_budget(p)
    ]
    found.append(
        Verdict(
            "requests ≤ ceil(issues/100) per platform",
            f"every cold and --refresh row ({len(fetching)})",
            "; ".join(over) if over else "all rows within budget",
            not over,
        )
    )
    for size, budget in (
        (BUDGET_SIZE, WARM_BUDGET_SECONDS),
        (LARGE_BUDGET_SIZE, WARM_LARGE_BUDGET_SECONDS),
    ):
        warm = find(results, "warm", size=size)
        if warm is not None:
            no_requests = warm.requests("github") + warm.requests("jira") == 0
            found.append(
                Verdict(
                    f"warm `status --issues`, {size} issues ≤ {budget:g} s wall, no network",
                    f"warm, n={size}",
                    f"{warm.wall:.3f} s wall, {'no' if no_requests else 'some'} requests",
                    warm.wall <= budget and no_requests,
                )
            )
    document = find(results, "json", size=BUDGET_SIZE)
    if document is not None:
        no_requests = document.requests("github") + document.requests("jira") == 0
        found.append(
            Verdict(
                f"warm `status --issues --json`, {BUDGET_SIZE} issues ≤ "
                f"{JSON_BUDGET_SECONDS:g} s wall, no network",
                f"json, n={BUDGET_SIZE} (its imports: tests/perf/test_warm_path.py)",
                f"{document.wall:.3f} s wall, {'no' if no_requests else 'some'} requests",
                document.wall <= JSON_BUDGET_SECONDS and no_requests,
            )
        )
    plain = find(results, "status", size=BUDGET_SIZE)
    if plain is not None:
        found.append(
            Verdict(
                f"`debussy status` (no --issues) ≤ {STATUS_BUDGET_SECONDS:g} s wall",
                f"status, n={BUDGET_SIZE}",
                f"{plain.wall:.3f} s wall",
                plain.wall <= STATUS_BUDGET_SECONDS,
            )
        )
    cold = find(results, "cold", size=BUDGET_SIZE, latency_ms=BUDGET_LATENCY_MS)
    if cold is not None:
        above = cold.wall - start
        found.append(
            Verdict(
                f"cold 500 issues at {BUDGET_LATENCY_MS} ms ≤ "
                f"{COLD_BUDGET_SECONDS:g} s above startup",
                f"cold, n={BUDGET_SIZE}, {BUDGET_LATENCY_MS} ms, minus `python -c pass`",
                f"{above:.3f} s above ({cold.wall:.3f} s wall)",
                above <= COLD_BUDGET_SECONDS,
            )
        )
    for latency in (0, BUDGET_LATENCY_MS):
        refresh = find(results, "refresh", size=LARGE_BUDGET_SIZE, latency_ms=latency)
        no_cache = find(results, "cold", size=LARGE_BUDGET_SIZE, latency_ms=latency)
        if refresh is not None and no_cache is not None:
            found.append(
                Verdict(
                    f"`--refresh` with a full cache no slower than no cache, "
                    f"{LARGE_BUDGET_SIZE} issues, {latency} ms",
                    f"refresh vs cold, n={LARGE_BUDGET_SIZE}, {latency} ms "
                    f"(within {round((REFRESH_TOLERANCE - 1) * 100)} %)",
                    f"{refresh.wall:.3f} s vs {no_cache.wall:.3f} s "
                    f"(CPU {refresh.cpu:.3f} s vs {no_cache.cpu:.3f} s)",
                    refresh.wall <= no_cache.wall * REFRESH_TOLERANCE,
                )
            )
    growth: list[str] = []
    linear = True
    for mode, latency in (("cold", 0), ("warm", None), ("refresh", 0), ("sync", 0)):
        small = find(results, mode, size=LINEAR_FROM, latency_ms=latency)
        large = find(results, mode, size=LINEAR_TO, latency_ms=latency)
        if small is None or large is None:
            continue
        # CPU time: the work that a quadratic loop would multiply, and what the
        # machine's other load does not add to (the waits on the network are per wave).
        start_cpu = baseline.cpu if baseline else 0.0
        per_small = (small.cpu - start_cpu) / LINEAR_FROM
        per_large = (large.cpu - start_cpu) / LINEAR_TO
        ratio = per_large / per_small if per_small > 0 else math.inf
        linear = linear and ratio <= LINEAR_TOLERANCE
        growth.append(f"{mode} ×{ratio:.2f}")
    if growth:
        found.append(
            Verdict(
                f"every path linear: work (CPU) per issue at {LINEAR_TO} ≤ "
                f"{LINEAR_TOLERANCE:g}× that at {LINEAR_FROM}",
                f"cold, warm, refresh (0 ms), sync plan; n={LINEAR_FROM} vs {LINEAR_TO}; "
                "CPU above `python -c pass`, per issue",
                ", ".join(growth),
                linear,
            )
        )
    if warm_heavy_modules is not None:
        found.append(
            Verdict(
                "warm path (piped) imports no httpx, pydantic, yaml or rich",
                f"warm, n={BUDGET_SIZE}, `-X importtime` (tests/perf/test_warm_path.py)",
                ", ".join(warm_heavy_modules) or "none of them imported",
                not warm_heavy_modules,
            )
        )
    shown = find(results, "help")
    if shown is not None:
        found.append(
            Verdict(
                f"`debussy --help` ≤ {HELP_BUDGET_SECONDS:g} s",
                "help (wall time)",
                f"{shown.wall:.3f} s wall",
                shown.wall <= HELP_BUDGET_SECONDS,
            )
        )
    return found


# --- the document ----------------------------------------------------------------------------


def machine() -> dict[str, str]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        memory = next(
            line.split()[1]
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        )
        ram = f"{int(memory) / 1024 / 1024:.1f} GiB"
    except (OSError, StopIteration, ValueError):
        ram = "unknown"
    system = platform.freedesktop_os_release().get("PRETTY_NAME", "") if _has_os_release() else ""
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "memory": ram,
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "os": f"{system or platform.system()} (kernel {platform.release()})",
        "load": _load(),
    }


def _load() -> str:
    """The 1-minute load average: other work sharing the cores shows in every wall time."""
    return f"{os.getloadavg()[0]:.1f}"


def _has_os_release() -> bool:
    try:
        platform.freedesktop_os_release()
    except OSError:
        return False
    return True


def _seconds(value: float) -> str:
    return f"{value:.3f}"


def results_markdown(
    results: Sequence[Measurement],
    found: Sequence[Verdict],
    info: Mapping[str, str],
    options: Options,
    when: datetime,
) -> str:
    baseline = find(results, "baseline")
    start = baseline.wall if baseline else 0.0
    lines = [
        f"Measured {when:%Y-%m-%d %H:%M} UTC with `uv run python bench/run.py` on: "
        f"{info['cpu']}, {info['cores']} cores, {info['memory']} RAM, {info['os']}, "
        f"{info['python']}. Load average {info['load']} at the start, "
        f"{info.get('load_end', '?')} at the end (2 cores: above 2, other processes were "
        "competing for them; the CPU column is the command's own user + system time).",
        "",
        f"Median of {options.runs} runs ({options.large_runs} for n ≥ {LARGE}) after one "
        "unmeasured run; wall time from spawn to exit of the console script; "
        '"above baseline" subtracts the median `python -c pass` of the same interpreter; '
        "peak RSS is the child's own (`wait4`); requests are those the sandbox logged during "
        "each run. Bytecode compiled (as a user's install) unless marked otherwise.",
        "",
        "### Budgets",
        "",
        "| budget | checked by the row | measured | met |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {verdict.budget} | {verdict.checked_by} | {verdict.measured} | "
        f"{'yes' if verdict.met else '**NO**'} |"
        for verdict in found
    ]
    lines += [
        "",
        "### Startup",
        "",
        "| command | bytecode | wall (s) | above baseline (s) | CPU (s) | peak RSS (MiB) |",
        "|---|---|---|---|---|---|",
    ]
    for row in results:
        if row.mode in ("baseline", "help") and row.source == "after":
            own_start = find(results, "baseline", bytecode=row.bytecode)
            above = row.wall - (own_start.wall if own_start else start)
            lines.append(
                f"| `{row.label}` | {'yes' if row.bytecode else 'no'} | {_seconds(row.wall)} | "
                f"{_seconds(above)} | {_seconds(row.cpu)} | {row.peak_rss_mib:.0f} |"
            )
    lines += [
        "",
        "### `debussy status --issues` by number of linked issues",
        "",
        "n = linked issues in total, half GitHub (two repositories, one query spans both), "
        "half Jira. cold: no cache file; warm: every issue cached and fresh (latency "
        "irrelevant: no request is sent); refresh: `--refresh` with a full cache; "
        "json: warm `status --issues --json`; status: plain `debussy status` "
        "(no `--issues`); sync: `debussy sync` (the plan: a fresh read of every issue, "
        "then the plan).",
        "",
        "| n | mode | latency (ms) | GitHub requests | Jira requests | wall (s) "
        "| above baseline (s) | fastest run (s) | CPU (s) | peak RSS (MiB) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    order = {"cold": 0, "refresh": 1, "warm": 2, "json": 3, "status": 4, "sync": 5}
    rows = sorted(
        (row for row in results if row.mode in order and row.bytecode and row.source == "after"),
        key=lambda row: (row.size or 0, order[row.mode], row.latency_ms or 0),
    )
    for row in rows:
        latency = "—" if row.latency_ms is None else str(row.latency_ms)
        lines.append(
            f"| {row.size} | {row.mode} | {latency} | {row.requests_text('github')} | "
            f"{row.requests_text('jira')} | {_seconds(row.wall)} | {_seconds(row.wall - start)} | "
            f"{_seconds(row.fastest)} | {_seconds(row.cpu)} | {row.peak_rss_mib:.0f} |"
        )
    lines += before_after(results, options)
    without = [row for row in results if not row.bytecode]
    if without:
        own = find(results, "baseline", bytecode=False)
        own_start = own.wall if own else start
        lines += [
            "",
            "### Without bytecode (`PYTHONDONTWRITEBYTECODE=1`, as this dev container runs)",
            "",
            "| command | n | latency (ms) | wall (s) | above baseline (s) | with bytecode (s) |",
            "|---|---|---|---|---|---|",
        ]
        for row in without:
            twin = find(results, row.mode, size=row.size, latency_ms=row.latency_ms, bytecode=True)
            latency = "—" if row.latency_ms is None else str(row.latency_ms)
            lines.append(
                f"| `{row.label}` ({row.mode}) | {row.size or '—'} | {latency} | "
                f"{_seconds(row.wall)} | {_seconds(row.wall - own_start)} | "
                f"{_seconds(twin.wall) if twin else '—'} |"
            )
    return "\n".join(lines) + "\n"


def before_after(results: Sequence[Measurement], options: Options) -> list[str]:
    """The issue-16 rows with ``--before REV`` and with this tree, measured alternately."""
    pairs = [
        (row, find(results, row.mode, size=row.size, latency_ms=row.latency_ms))
        for row in results
        if row.source == "before"
    ]
    if not pairs:
        return []
    lines = [
        "",
        f"### Before / after: `{options.before}` vs. this tree, in the same run",
        "",
        "Same interpreter, sandbox, plan and run; each tree has its own copy of the project "
        "(its own state.db schema, cache and config snapshot). The two trees' runs "
        "alternate, so both see the same load.",
        "",
        "| command | n | latency (ms) | before (s) | after (s) | after / before "
        "| CPU before (s) | CPU after (s) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for before, after in pairs:
        if after is None:
            continue
        latency = "—" if before.latency_ms is None else str(before.latency_ms)
        lines.append(
            f"| `{before.label}` ({before.mode}) | {before.size} | {latency} | "
            f"{_seconds(before.wall)} | {_seconds(after.wall)} | {after.wall / before.wall:.2f} | "
            f"{_seconds(before.cpu)} | {_seconds(after.cpu)} |"
        )
    return lines


DOC_SKELETON = f"""# Performance

Budgets, how they are measured, and what profiling found.

## Results

{BEGIN}
{END}
"""


def write_doc(section: str, path: Path = DOC) -> None:
    """Replace the results between the markers; keep everything else as written by hand."""
    text = path.read_text(encoding="utf-8") if path.exists() else DOC_SKELETON
    if BEGIN not in text or END not in text:
        text = text.rstrip("\n") + f"\n\n## Results\n\n{BEGIN}\n{END}\n"
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    path.write_text(f"{head}{BEGIN}\n{section}{END}{tail}", encoding="utf-8")


# --- profiles --------------------------------------------------------------------------------


def write_profiles(bench: Bench, size: int, latency_ms: int) -> list[Path]:
    """pyinstrument text profiles of one warm and one cold run, and import times."""
    project = bench.projects[size]
    env = child_env(bytecode=True)
    written: list[Path] = []
    for mode in ("warm", "cold"):
        if mode == "warm":
            bench.fill_cache(project)
        else:
            project.forget_cache()
            bench.sandbox.latency = latency_ms / 1000
        target = RESULTS / f"profile-{mode}-n{size}.txt"
        subprocess.run(
            [*PYINSTRUMENT, "-o", str(target), "-m", "debussy", "status", "--issues"],
            cwd=project.root,
            env=env,
            stdout=subprocess.DEVNULL,
            check=True,
        )
        written.append(target)
    bench.fill_cache(project)
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "debussy", "status", "--issues"],
        cwd=project.root,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    target = RESULTS / f"importtime-warm-n{size}.txt"
    target.write_text(done.stderr, encoding="utf-8")
    written.append(target)
    return written


# --- main ------------------------------------------------------------------------------------


def export_source(rev: str, workdir: Path) -> Path:
    """``src/`` of commit ``rev``, unpacked under ``workdir`` (no worktree, no checkout)."""
    target = workdir / "before"
    target.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", rev, "src"],
        capture_output=True,
        check=True,
    )
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    return target / "src"


def parse_args(argv: Sequence[str] | None) -> Options:
    parser = argparse.ArgumentParser(
        prog="bench/run.py", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="numbers of issues")
    parser.add_argument(
        "--latencies", default=",".join(map(str, LATENCIES_MS)), help="latencies in ms"
    )
    parser.add_argument("--runs", type=int, default=RUNS, help="measured runs per row")
    parser.add_argument("--large-runs", type=int, default=LARGE_RUNS, help=f"runs for n ≥ {LARGE}")
    parser.add_argument("--quick", action="store_true", help="n = 10, 100; 2 runs; no doc")
    parser.add_argument("--no-bytecode-pass", action="store_true", help="skip that pass")
    parser.add_argument("--profile", action="store_true", help="write profiles too")
    parser.add_argument("--no-doc", action="store_true", help="print, do not write the doc")
    parser.add_argument(
        "--no-writes", action="store_true", help="skip bench/writes.py (lifecycle writes)"
    )
    parser.add_argument(
        "--before", metavar="REV", help="also measure the issue-16 rows with commit REV's source"
    )
    args = parser.parse_args(argv)
    if args.quick:
        return Options(
            (10, 100), (0, 100), 2, 2, False, args.profile, False, args.before, writes=False
        )
    return Options(
        before=args.before,
        sizes=tuple(int(size) for size in args.sizes.split(",")),
        latencies_ms=tuple(int(value) for value in args.latencies.split(",")),
        runs=max(1, args.runs),
        large_runs=max(1, args.large_runs),
        no_bytecode=not args.no_bytecode_pass,
        profile=args.profile,
        write_doc=not args.no_doc,
        writes=not args.no_writes,
    )


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(argv)
    RESULTS.mkdir(parents=True, exist_ok=True)
    when = datetime.now(UTC)
    info = machine()
    started = time.perf_counter()
    print(f"Benchmarking on {info['cpu']} ({info['cores']} cores), {info['python']}", flush=True)
    with (
        tempfile.TemporaryDirectory(prefix="debussy-bench-") as folder,
        SandboxTracker() as sandbox,
    ):
        workdir = Path(folder)
        seed(sandbox, max(options.sizes))
        before_source = export_source(options.before, workdir) if options.before else None
        bench = Bench(options, sandbox, workdir, before_source)
        bench.run()
        budget_size = BUDGET_SIZE if BUDGET_SIZE in bench.projects else max(bench.projects)
        modules = bench.warm_imports(budget_size)
        profiles = (
            write_profiles(bench, budget_size, max(options.latencies_ms))
            if (options.profile)
            else []
        )
    info["load_end"] = _load()
    found = verdicts(bench.results, modules)
    section = results_markdown(bench.results, found, info, options, when)
    raw = RESULTS / f"bench-{when:%Y%m%dT%H%M%S}.json"
    raw.write_text(
        json.dumps(
            {
                "when": when.isoformat(),
                "machine": info,
                "options": asdict(options),
                "results": [row.as_json() for row in bench.results],
                "warm_heavy_modules": modules,
                "before": options.before,
            },
            indent=1,
        ),
        encoding="utf-8",
    )
    print()
    print(section)
    for verdict in found:
        print(f"{'met    ' if verdict.met else 'NOT MET'}  {verdict.budget}: {verdict.measured}")
    if options.write_doc:
        write_doc(section)
        print(f"\nWrote {DOC.relative_to(ROOT)}; raw data in {raw.relative_to(ROOT)}")
    for path in profiles:
        print(f"Profile: {path.relative_to(ROOT)}")
    writes_ok = True
    if options.writes:
        # The write budgets (PRODUCT.md §12): 250 + 250 issues, 100 ms answers, GitHub paced.
        print("\nLifecycle writes (bench/writes.py):", flush=True)
        done = subprocess.run([sys.executable, str(ROOT / "bench" / "writes.py")], check=False)
        writes_ok = done.returncode == 0
    print(f"Took {math.ceil(time.perf_counter() - started)} s.")
    return 0 if writes_ok and all(verdict.met for verdict in found) else 1


if __name__ == "__main__":
    sys.exit(main())
