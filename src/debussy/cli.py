"""The ``debussy`` command line: thin Click commands over the library.

Commands parse options, call into ``debussy.app.runs`` / ``debussy.sync`` / the
``StateManager`` and render with ``debussy.output``. Errors from the library are
``DebussyError``s and become one line on stderr with their exit code; nothing
else in the package imports this module.

Imports of anything heavier than click happen inside the commands, so that
``debussy --help`` and the cached ``status --issues`` path start fast.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from debussy.errors import DebussyError, redact

if TYPE_CHECKING:
    from debussy.app.project import Project
    from debussy.state.manager import PhaseTransition
    from debussy.state.status import PhaseStatus

F = TypeVar("F", bound=Callable[..., Any])

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_DRIFT = 3


class DebussyCliError(click.ClickException):
    """A library error on its way out: Click prints ``Error: <message>`` to stderr."""

    def __init__(self, message: str, exit_code: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.code = exit_code

    @property
    def exit_code(self) -> int:  # type: ignore[override]  # click reads it per instance
        return self.code


class DebussyGroup(click.Group):
    """Turns every failure into one line and an exit code; tracebacks only with DEBUSSY_DEBUG=1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DebussyError as exc:
            raise DebussyCliError(exc.message, exc.exit_code) from exc
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:
            if os.environ.get("DEBUSSY_DEBUG"):
                raise
            raise DebussyCliError(
                redact(
                    f"unexpected {type(exc).__name__}: {exc} "
                    "(set DEBUSSY_DEBUG=1 for a traceback and please report it)"
                )
            ) from exc


def verbose_option(func: F) -> F:
    """``-v`` on every command: -v logs cache hits/misses and requests, -vv adds debug detail."""

    def configure(ctx: click.Context, _param: click.Parameter, value: int) -> int:
        total = value + (ctx.find_root().params.get("verbose") or 0)
        if total:
            from debussy import logs

            logs.configure(total)
        return value

    return click.option(
        "-v",
        "--verbose",
        count=True,
        expose_value=False,
        callback=configure,
        help="More detail on stderr (-v: cache and requests, -vv: debug).",
    )(func)


def run_option(func: F) -> F:
    return click.option(
        "--run", "run_id", metavar="ID", help="Act on this run (default: the latest)."
    )(func)


def dry_run_sync_option(func: F) -> F:
    return click.option(
        "--dry-run-sync",
        is_flag=True,
        help="Print the tracker writes this would send, and send none.",
    )(func)


@click.group(cls=DebussyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="debussy", prog_name="debussy")
@click.option("-v", "--verbose", count=True, help="More detail on stderr.", is_eager=True)
def cli(verbose: int) -> None:
    """Track multi-phase plans and keep their GitHub and Jira issues honest.

    \b
    Exit codes: 0 ok, 1 error, 2 usage error, 3 drift found (with --exit-code).
    """
    if verbose:
        from debussy import logs

        logs.configure(verbose)


def _project() -> Project:
    from debussy.app.project import Project

    return Project.find()


def _fail(message: str) -> NoReturn:
    raise DebussyCliError(message)


# --- init ----------------------------------------------------------------------------


@cli.command()
@click.option("--force", is_flag=True, help="Overwrite an existing config.yaml.")
@verbose_option
def init(force: bool) -> None:
    """Create .debussy/ with a commented config.yaml (repo detected from origin)."""
    from debussy.app.scaffold import init_project

    created = init_project(Path.cwd(), force=force)
    click.echo(f"Wrote {created}")
    click.echo("Next: edit it, then `debussy start path/to/MASTER_PLAN.md`.")


# --- start ---------------------------------------------------------------------------


@cli.command()
@click.argument("plan", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--force", is_flag=True, help="Start even if its issues were delivered before.")
@click.option(
    "--auto-close", is_flag=True, help="Close linked GitHub issues when the run completes."
)
@dry_run_sync_option
@verbose_option
def start(plan: Path, force: bool, auto_close: bool, dry_run_sync: bool) -> None:
    """Start a run of PLAN (a MASTER_PLAN.md)."""
    from debussy.app.runs import check_rerun, load_project_plan, start_run
    from debussy.output.console import is_tty, make_console
    from debussy.output.lifecycle_view import render_rerun_matches

    with _project() as project:
        parsed = load_project_plan(project, plan)
        check = check_rerun(project, parsed)
        if check.delivered:
            render_rerun_matches(make_console(stderr=True), check)
            if force:
                import logging

                logging.getLogger("debussy").warning(
                    "starting anyway (--force): %d linked issue(s) were already delivered",
                    len(check.delivered),
                )
                click.echo("Warning: --force given, starting anyway.", err=True)
            elif is_tty(sys.stdin) and is_tty(sys.stderr):
                if not click.confirm("Start it again anyway?", default=False, err=True):
                    _fail("not started: the plan's issues were already delivered")
            else:
                _fail(
                    "not started: the plan's issues were already delivered "
                    "(use --force to start anyway)"
                )
        run = start_run(project, parsed, auto_close=auto_close or project.config.github.auto_close)
        issues = len(parsed.all_issues())
        click.echo(
            f"Started run {run.id} of '{parsed.title}': {len(parsed.phases)} phases, "
            f"{issues} linked issue{'s' if issues != 1 else ''}."
        )


# --- lifecycle -----------------------------------------------------------------------


def _lifecycle(
    phase_id: str,
    status: PhaseStatus,
    reason: str | None,
    run_id: str | None,
    dry_run_sync: bool,
) -> None:
    from debussy.app.lifecycle import plan_lifecycle_writes, push_records, send_lifecycle_writes
    from debussy.output.console import make_console
    from debussy.output.lifecycle_view import (
        render_planned_writes,
        render_transition,
        render_write_results,
    )

    with _project() as project:
        state = project.state
        run = state.get_run(run_id)
        transition: PhaseTransition = state.record_phase_status(run.id, phase_id, status, reason)
        render_transition(make_console(), transition)
        run = state.get_run(run.id)
        push = plan_lifecycle_writes(
            run, state.phases(run.id), state.linked_issues(run.id), transition, project.config
        )
        if dry_run_sync:
            render_planned_writes(make_console(), push.writes)
            return
        if not push.writes:
            return
        from debussy.app.dashboard import cache_path

        results = send_lifecycle_writes(push.writes, project.config, cache_path(project.root))
        state.record_pushes(push_records(run.id, results))
        render_write_results(make_console(), make_console(stderr=True), results)


def _lifecycle_command(name: str, status: PhaseStatus, summary: str) -> None:
    @phase.command(name=name, help=summary)
    @click.argument("phase_id", metavar="ID")
    @click.option("--reason", metavar="R", help="Why (shown in status and on the issues).")
    @run_option
    @dry_run_sync_option
    @verbose_option
    def command(phase_id: str, reason: str | None, run_id: str | None, dry_run_sync: bool) -> None:
        _lifecycle(phase_id, status, reason, run_id, dry_run_sync)


@cli.group()
def phase() -> None:
    """Record a phase lifecycle event (and update its linked issues)."""


_lifecycle_command("start", "running", "Mark phase ID as running.")
_lifecycle_command("done", "completed", "Mark phase ID as completed.")
_lifecycle_command("fail", "failed", "Mark phase ID as failed (--reason R).")
_lifecycle_command("block", "blocked", "Mark phase ID as blocked (--reason R).")


@cli.command()
@click.option("--phase", "phase_id", required=True, metavar="ID", help="The phase.")
@click.option(
    "--status",
    type=click.Choice(["completed", "failed", "blocked"]),
    default="completed",
    show_default=True,
)
@click.option("--reason", metavar="R")
@run_option
@dry_run_sync_option
@verbose_option
def done(
    phase_id: str, status: str, reason: str | None, run_id: str | None, dry_run_sync: bool
) -> None:
    """Record the end of a phase (same as `phase done|fail|block`)."""
    from debussy.state.status import as_phase_status

    _lifecycle(phase_id, as_phase_status(status), reason, run_id, dry_run_sync)


# --- status and history ------------------------------------------------------------


@cli.command()
@run_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.option("--issues", is_flag=True, help="Show every linked issue against Debussy's state.")
@click.option("--refresh", is_flag=True, help="With --issues: ignore the cache.")
@click.option("--exit-code", is_flag=True, help="With --issues: exit 3 when drift exists.")
@verbose_option
def status(run_id: str | None, as_json: bool, issues: bool, refresh: bool, exit_code: bool) -> None:
    """Show the run and its phases; with --issues, the issue dashboard."""
    if issues:
        _issue_dashboard(run_id, as_json=as_json, refresh=refresh, drift_fails=exit_code)
        return
    if refresh or exit_code:
        raise click.UsageError("--refresh and --exit-code only apply with --issues")
    from debussy.output.console import make_console
    from debussy.output.run_view import render_status, status_document

    with _project() as project:
        run = project.state.get_run(run_id)
        phases = project.state.phases(run.id)
        linked = project.state.linked_issues(run.id)
        if as_json:
            _print_json(status_document(run, phases, linked))
        else:
            render_status(make_console(), run, phases, linked)


def _issue_dashboard(
    run_id: str | None, *, as_json: bool, refresh: bool, drift_fails: bool
) -> None:
    """``status --issues``: render everything that could be read, then exit 1 / 3 / 0."""
    from debussy.app.dashboard import build_dashboard, cache_path
    from debussy.output.console import make_console
    from debussy.output.issues_view import (
        fetching_spinner,
        print_document,
        render_dashboard,
        render_problems,
    )
    from debussy.sync.cache import IssueCache

    with _project() as project:
        config = project.read_config  # the snapshot: no YAML, no pydantic while unchanged
        with (
            IssueCache(cache_path(project.root), config.cache.ttl_seconds) as cache,
            fetching_spinner(),
        ):
            dashboard = build_dashboard(project.state, config, run_id, cache=cache, refresh=refresh)
    if as_json:
        print_document(dashboard)
    else:
        render_dashboard(make_console(), dashboard)
    render_problems(dashboard)
    code = dashboard.exit_code(drift_fails=drift_fails)
    if code != EXIT_OK:
        raise click.exceptions.Exit(code)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@verbose_option
def history(as_json: bool, limit: int) -> None:
    """Past runs and past syncs."""
    from debussy.output.console import make_console
    from debussy.output.run_view import history_document, render_history

    with _project() as project:
        runs = project.state.list_runs(limit)
        progress = project.state.run_progress([run.id for run in runs])
        syncs = project.state.sync_history(limit)
        if as_json:
            _print_json(history_document(runs, progress, syncs))
        else:
            render_history(make_console(), runs, progress, syncs)


@cli.command()
@click.option(
    "--apply", "apply_changes", is_flag=True, help="Make the changes (default: plan only)."
)
@click.option(
    "--direction",
    type=click.Choice(["from-tracker", "to-tracker"]),
    default="from-tracker",
    show_default=True,
    help="from-tracker: trackers are the truth; to-tracker: push Debussy's state out.",
)
@click.option("--force", is_flag=True, help="Also apply conflicts (Debussy changed last).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@run_option
@verbose_option
def sync(
    apply_changes: bool, direction: str, force: bool, as_json: bool, run_id: str | None
) -> None:
    """Reconcile Debussy's state with the trackers (a dry-run plan unless --apply)."""
    from debussy.app.dashboard import cache_path
    from debussy.app.sync_apply import apply_from_tracker, apply_to_tracker, prepare_sync
    from debussy.output.console import make_console
    from debussy.output.issues_view import fetching_spinner
    from debussy.output.sync_view import render_sync

    with _project() as project:
        state, config = project.state, project.config
        cache = cache_path(project.root)
        with fetching_spinner():
            outcome = prepare_sync(
                state,
                config,
                cache,
                run_id,
                direction="to-tracker" if direction == "to-tracker" else "from-tracker",
                force=force,
            )
        failure: DebussyError | None = None
        if apply_changes:
            try:
                if outcome.plan.direction == "from-tracker":
                    apply_from_tracker(state, outcome)
                else:
                    apply_to_tracker(state, config, cache, outcome)
            except DebussyError as exc:
                failure = exc
    if as_json:
        _print_json(outcome.document(force=force))
    else:
        render_sync(make_console(), outcome, force=force, apply_requested=apply_changes)
    if failure is not None:
        raise failure
    errors = make_console(stderr=True)
    for problem in outcome.fetch.errors:
        errors.print(f"Error: {problem.platform} could not be read: {problem.message}")
    if outcome.failed_writes:
        raise DebussyCliError(
            f"{len(outcome.failed_writes)} tracker write(s) failed; run the same command again "
            "to finish the rest"
        )
    if not outcome.fetch.complete:
        raise click.exceptions.Exit(EXIT_ERROR)


@cli.command()
@click.option(
    "--dir",
    "folder",
    type=click.Path(path_type=Path, file_okay=False),
    help="Lay the project out here and keep it (a new or empty folder, or a previous demo's).",
)
@click.option(
    "--serve",
    is_flag=True,
    help="Keep the sandbox running until Ctrl-C and print how to point Debussy at it "
    "(the steps are left to you unless --steps).",
)
@click.option("--steps", is_flag=True, help="With --serve: run the steps before serving.")
def demo(folder: Path | None, serve: bool, steps: bool) -> None:
    """Show the whole feature against a local sandbox tracker, with the real commands."""
    from debussy.demo import run_demo

    code = run_demo(folder, serve=serve, steps=steps or not serve)
    if code != EXIT_OK:
        raise click.exceptions.Exit(code)


def _print_json(document: object) -> None:
    import json

    click.echo(json.dumps(document, indent=2))


def main() -> None:
    """Console-script entry point: run the command, and skip the interpreter's teardown.

    ``gc.freeze()`` first: the objects of the imports (hundreds of thousands) are
    never garbage, so the collections that the dashboard's rows trigger skip them.
    And once the command is over, freeing every object one by one only makes the
    user wait (10-20 ms at 500-2,000 issues, docs/PERFORMANCE.md):
    ``_skip_teardown`` is registered with ``atexit`` before anything else the
    command registers, so it runs *last*, after every other exit handler
    (logging, temporary folders, ...), and ends the process with the command's code.
    """
    import atexit
    import gc

    gc.freeze()
    atexit.register(_skip_teardown)
    try:
        cli.main(prog_name="debussy")
    except SystemExit as done:
        code = 0 if done.code is None else done.code
        if isinstance(code, int):
            _exit_code.append(code)
        raise


_exit_code: list[int] = []
"""The code ``main`` exited with, for ``_skip_teardown`` (empty: leave normally)."""


def _skip_teardown() -> None:
    """``os._exit`` when it loses nothing: streams flushed, no coverage data left to save.

    The state database and the cache were closed by the commands' ``with``
    blocks; non-daemon threads were joined before exit handlers run; a
    ``weakref.finalize`` still pending (registered before ``main``) means "leave normally".
    """
    import weakref

    pending = getattr(weakref.finalize, "_registry", None)
    if not _exit_code or pending or "coverage" in sys.modules:
        return
    if os.environ.get("DEBUSSY_NO_FAST_EXIT"):
        return
    if "logging" in sys.modules:
        import logging

        logging.shutdown()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        return
    os._exit(_exit_code[-1])
