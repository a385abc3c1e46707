"""Measure Debussy against the budgets of PRODUCT.md §12 and write docs/PERFORMANCE.md.

    uv run python bench/run.py                 # the full table, a few minutes
    uv run python bench/run.py --quick         # n = 10 and 100, two runs each: a smoke test
    uv run python bench/run.py --profile       # also write pyinstrument profiles to bench/results/

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

The results section of docs/PERFORMANCE.md (between its markers) is replaced;
the rest of that file is prose kept by hand. Raw numbers go to bench/results/.
"""

from __future__ import annotations

import argparse
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

from bench.projects import CREDENTIALS, ScaledProject, Split, lay_out, seed  # noqa: E402
from debussy.sandbox import SandboxTracker  # noqa: E402

RESULTS = ROOT / "bench" / "results"
PYCACHE = RESULTS / "pycache"
DOC = ROOT / "docs" / "PERFORMANCE.md"
BEGIN = "<!-- bench:results:begin (written by bench/run.py; edit the prose outside) -->"
END = "<!-- bench:results:end -->"

SIZES = (10, 100, 500, 1000)
LATENCIES_MS = (0, 50, 100)
RUNS = 5
LARGE_RUNS = 3
"""Runs for n >= LARGE: a cold 1000-issue run at 100 ms is the slowest thing measured."""
LARGE = 1000

COLD_BUDGET_SECONDS = 1.0
WARM_BUDGET_SECONDS = 0.3
HELP_BUDGET_SECONDS = 0.25
BUDGET_SIZE = 500
BUDGET_LATENCY_MS = 100
HEAVY_MODULES = ("httpx", "httpcore")

PYINSTRUMENT = (sys.executable, "-m", "pyinstrument", "--interval", "0.0005", "--renderer", "text")
DEBUSSY = Path(sys.executable).parent / "debussy"
"""The console script, as a user's shell runs it."""


# --- one measured child process --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Sample:
    wall_seconds: float
    peak_rss_mib: float
    requests: dict[str, int]
    kinds: dict[str, int]


@dataclass(slots=True)
class Measurement:
    """One row: a command on one project, at one latency, in one environment."""

    label: str
    mode: str
    """``baseline``, ``help``, ``cold``, ``warm`` or ``refresh``."""
    size: int | None
    latency_ms: int | None
    bytecode: bool
    samples: list[Sample] = field(default_factory=list[Sample])

    @property
    def wall(self) -> float:
        return statistics.median(sample.wall_seconds for sample in self.samples)

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
print(wall, usage.ru_maxrss, os.waitstatus_to_exitcode(status))
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
        wall, peak_kib, code = done.stdout.split()
        if int(code) != 0:
            message = err.read_text(errors="replace").strip()[-2000:]
            raise CommandFailed(f"{' '.join(argv)} exited {code}: {message}")
    records = sandbox.requests if sandbox is not None else []
    return Sample(
        wall_seconds=float(wall),
        peak_rss_mib=int(peak_kib) / 1024,  # Linux reports KiB
        requests=dict(Counter(record.platform for record in records)),
        kinds=dict(Counter(f"{record.platform}:{record.kind}" for record in records)),
    )


# --- environments ----------------------------------------------------------------------------


def child_env(*, bytecode: bool) -> dict[str, str]:
    """The user's environment: the sandbox's credentials and (by default) bytecode on."""
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX", "NO_COLOR")
        and not name.startswith(("JIRA_", "COVERAGE_"))
        and name not in ("GITHUB_TOKEN", "GH_TOKEN")
    }
    env.update(CREDENTIALS)
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


class Bench:
    def __init__(self, options: Options, sandbox: SandboxTracker, workdir: Path) -> None:
        self.options = options
        self.sandbox = sandbox
        self.workdir = workdir
        self.results: list[Measurement] = []
        self.projects: dict[int, ScaledProject] = {}

    def runs_for(self, size: int | None) -> int:
        return self.options.large_runs if size is not None and size >= LARGE else self.options.runs

    def measure(
        self,
        label: str,
        mode: str,
        argv: Sequence[str],
        *,
        project: ScaledProject | None = None,
        latency_ms: int | None = None,
        bytecode: bool = True,
        before_each: Callable[[], None] | None = None,
    ) -> Measurement:
        size = project.split.total if project is not None else None
        row = Measurement(label, mode, size, latency_ms, bytecode)
        cwd = project.root if project is not None else self.workdir
        env = child_env(bytecode=bytecode)
        if latency_ms is not None:
            self.sandbox.latency = latency_ms / 1000
        for _ in range(
            self.runs_for(size) + 1
        ):  # the first run compiles bytecode / primes the sandbox
            if before_each is not None:
                before_each()
            row.samples.append(run_child(argv, cwd=cwd, env=env, sandbox=self.sandbox))
        row.samples.pop(0)
        self.results.append(row)
        _progress(row)
        return row

    def startup(self, *, bytecode: bool) -> None:
        self.measure(
            "python -c pass", "baseline", [sys.executable, "-c", "pass"], bytecode=bytecode
        )
        self.measure("debussy --help", "help", [str(DEBUSSY), "--help"], bytecode=bytecode)

    def status(self, project: ScaledProject, mode: str, latency_ms: int, *, bytecode: bool) -> None:
        argv = [str(DEBUSSY), "status", "--issues"]
        if mode == "refresh":
            argv.append("--refresh")
        before: Callable[[], None] | None = None
        if mode == "cold":
            before = project.forget_cache  # before every run
        elif mode == "warm":
            self.fill_cache(project)  # once: the warm runs read and never write it
        label = f"status --issues{' --refresh' if mode == 'refresh' else ''}"
        self.measure(
            label,
            mode,
            argv,
            project=project,
            latency_ms=None if mode == "warm" else latency_ms,
            bytecode=bytecode,
            before_each=before,
        )

    def fill_cache(self, project: ScaledProject) -> None:
        """Fill the cache (unmeasured); the next runs find every issue cached and fresh."""
        self.sandbox.latency = 0
        project.forget_cache()
        run_child(
            [str(DEBUSSY), "status", "--issues"],
            cwd=project.root,
            env=child_env(bytecode=True),
            sandbox=self.sandbox,
        )

    def run(self) -> None:
        self.startup(bytecode=True)
        for size in self.options.sizes:
            project = self.projects[size] = lay_out(self.workdir / f"n{size}", self.sandbox, size)
            self.status(project, "warm", 0, bytecode=True)
            for latency in self.options.latencies_ms:
                self.status(project, "cold", latency, bytecode=True)
                self.status(project, "refresh", latency, bytecode=True)
        if self.options.no_bytecode:
            self.startup(bytecode=False)
            size = BUDGET_SIZE if BUDGET_SIZE in self.projects else max(self.projects)
            project = self.projects[size]
            self.status(project, "warm", 0, bytecode=False)
            self.status(project, "cold", max(self.options.latencies_ms), bytecode=False)

    def warm_imports(self, size: int) -> list[str]:
        """Which HTTP modules the warm path imports (``-X importtime``): should be none."""
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
    print(
        f"  {row.label:<28} {row.mode:<8} {where:<7}{latency:<7}"
        f"{row.wall:6.3f} s  requests {row.requests('github')}+{row.requests('jira')}{bytecode}",
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
) -> Measurement | None:
    for row in results:
        if (row.mode, row.size, row.latency_ms, row.bytecode) == (
            mode,
            size,
            latency_ms,
            bytecode,
        ):
            return row
    return None


def verdicts(results: Sequence[Measurement], warm_http_modules: list[str] | None) -> list[Verdict]:
    baseline = find(results, "baseline")
    start = baseline.wall if baseline else 0.0
    found: list[Verdict] = []
    fetching = [row for row in results if row.mode in ("cold", "refresh") and row.bytecode]
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
    cold = find(results, "cold", size=BUDGET_SIZE, latency_ms=BUDGET_LATENCY_MS)
    if cold is not None:
        above = cold.wall - start
        found.append(
            Verdict(
                f"cold {BUDGET_SIZE} issues at {BUDGET_LATENCY_MS} ms ≤ "
                f"{COLD_BUDGET_SECONDS:g} s above startup",
                f"cold, n={BUDGET_SIZE}, {BUDGET_LATENCY_MS} ms, minus `python -c pass`",
                f"{above:.3f} s above ({cold.wall:.3f} s wall)",
                above <= COLD_BUDGET_SECONDS,
            )
        )
    warm = find(results, "warm", size=BUDGET_SIZE)
    if warm is not None:
        no_requests = warm.requests("github") + warm.requests("jira") == 0
        found.append(
            Verdict(
                f"warm {BUDGET_SIZE} issues ≤ {WARM_BUDGET_SECONDS:g} s wall, no network",
                f"warm, n={BUDGET_SIZE}",
                f"{warm.wall:.3f} s wall, {'no' if no_requests else 'some'} requests",
                warm.wall <= WARM_BUDGET_SECONDS and no_requests,
            )
        )
    if warm_http_modules is not None:
        found.append(
            Verdict(
                "warm path imports no httpx",
                f"warm, n={BUDGET_SIZE}, `-X importtime` (tests/app/dashboard/test_process.py)",
                ", ".join(warm_http_modules) or "no httpx/httpcore module imported",
                not warm_http_modules,
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
    }


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
        f"{info['python']}.",
        "",
        f"Median of {options.runs} runs ({options.large_runs} for n ≥ {LARGE}) after one "
        "unmeasured run; wall time from spawn to exit of the console script; "
        '"above baseline" subtracts the median `python -c pass` of the same interpreter; '
        "peak RSS is the child's own (`wait4`); requests are those the sandbox logged during "
        "each run. Bytecode compiled (as a user's install) unless marked otherwise.",
        "",
        "### Budgets (PRODUCT.md §12)",
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
        "| command | bytecode | wall (s) | above baseline (s) | peak RSS (MiB) |",
        "|---|---|---|---|---|",
    ]
    for row in results:
        if row.mode in ("baseline", "help"):
            own_start = find(results, "baseline", bytecode=row.bytecode)
            above = row.wall - (own_start.wall if own_start else start)
            lines.append(
                f"| `{row.label}` | {'yes' if row.bytecode else 'no'} | {_seconds(row.wall)} | "
                f"{_seconds(above)} | {row.peak_rss_mib:.0f} |"
            )
    lines += [
        "",
        "### `debussy status --issues` by number of linked issues",
        "",
        "n = linked issues in total, half GitHub (two repositories, one query spans both), "
        "half Jira. cold: no cache file; warm: every issue cached and fresh (latency "
        "irrelevant: no request is sent); refresh: `--refresh` with a full cache.",
        "",
        "| n | mode | latency (ms) | GitHub requests | Jira requests | wall (s) "
        "| above baseline (s) | fastest run (s) | peak RSS (MiB) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    order = {"cold": 0, "refresh": 1, "warm": 2}
    rows = sorted(
        (row for row in results if row.mode in order and row.bytecode),
        key=lambda row: (row.size or 0, order[row.mode], row.latency_ms or 0),
    )
    for row in rows:
        latency = "—" if row.latency_ms is None else str(row.latency_ms)
        lines.append(
            f"| {row.size} | {row.mode} | {latency} | {row.requests_text('github')} | "
            f"{row.requests_text('jira')} | {_seconds(row.wall)} | {_seconds(row.wall - start)} | "
            f"{_seconds(row.fastest)} | {row.peak_rss_mib:.0f} |"
        )
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
    args = parser.parse_args(argv)
    if args.quick:
        return Options((10, 100), (0, 100), 2, 2, False, args.profile, False)
    return Options(
        sizes=tuple(int(size) for size in args.sizes.split(",")),
        latencies_ms=tuple(int(value) for value in args.latencies.split(",")),
        runs=max(1, args.runs),
        large_runs=max(1, args.large_runs),
        no_bytecode=not args.no_bytecode_pass,
        profile=args.profile,
        write_doc=not args.no_doc,
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
        bench = Bench(options, sandbox, workdir)
        bench.run()
        budget_size = BUDGET_SIZE if BUDGET_SIZE in bench.projects else max(bench.projects)
        modules = bench.warm_imports(budget_size)
        profiles = (
            write_profiles(bench, budget_size, max(options.latencies_ms))
            if (options.profile)
            else []
        )
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
                "warm_http_modules": modules,
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
    print(f"Took {math.ceil(time.perf_counter() - started)} s.")
    return 0 if all(verdict.met for verdict in found) else 1


if __name__ == "__main__":
    sys.exit(main())
