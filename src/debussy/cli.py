"""The ``debussy`` command line: thin Click commands over the library.

Commands parse options, call one use case in ``debussy.app`` and render its result
with ``debussy.output``; they import nothing from ``state/`` or ``sync/``
(tests/test_layering.py). Errors from the library are
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

from debussy.errors import (
    EXIT_BROKEN_PIPE,
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    DebussyError,
    redact,
)

if TYPE_CHECKING:
    from debussy.app.plan_follow import Followed
    from debussy.app.project import Project
    from debussy.app.sync_apply import SyncOutcome

F = TypeVar("F", bound=Callable[..., Any])


class DebussyCliError(click.ClickException):
    """A library error on its way out: Click prints ``Error: <message>`` to stderr."""

    def __init__(self, message: str, exit_code: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.code = exit_code

    @property
    def exit_code(self) -> int:  # type: ignore[override]  # click reads it per instance
        return self.code


_SAVED: list[str] = []
"""What the running command has already made permanent, for the Ctrl-C message."""


def note_saved(what: str) -> None:
    """Record that ``what`` is saved, so an interrupt from now on can say so."""
    _SAVED.append(what)


class DebussyGroup(click.Group):
    """Turns every failure into one line and an exit code; tracebacks only with DEBUSSY_DEBUG=1."""

    def invoke(self, ctx: click.Context) -> Any:
        _SAVED.clear()
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            # Exit 130 as shells do for SIGINT, saying what is already safe (and how to
            # finish), instead of Click's bare "Aborted!" and exit 1.
            saved = "; ".join(_SAVED) if _SAVED else "nothing was changed"
            click.echo(f"Interrupted: {saved}.", err=True)
            raise click.exceptions.Exit(EXIT_INTERRUPTED) from None
        except BrokenPipeError:
            # The reader of our output left (`debussy status | head -5`): not an error of
            # ours, nothing to report. `main` ends the process quietly, as git and gh do.
            raise click.exceptions.Exit(EXIT_BROKEN_PIPE) from None
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


def _check_run_id(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    """An empty ``--run ''`` is a slip (an unset shell variable), not "the latest run"."""
    if value is not None and not value.strip():
        raise click.BadParameter("must not be empty (leave --run out to mean the latest run)")
    return value.strip() if value is not None else None


def run_option(func: F) -> F:
    return click.option(
        "--run",
        "run_id",
        metavar="ID",
        callback=_check_run_id,
        help="Act on this run: an id or a unique prefix (default: the latest).",
    )(func)


FORMATS = ("text", "json", "markdown")


def format_option(func: F) -> F:
    """``--format text|json|markdown`` and its ``--json`` shorthand, one ``fmt`` parameter."""

    def resolve(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
        if value:
            chosen = ctx.params.get("fmt")
            if chosen not in (None, "text", "json"):
                raise click.UsageError(f"--json and --format {chosen} contradict each other")
            ctx.params["fmt"] = "json"
        return value

    func = click.option(
        "--json",
        "as_json",
        is_flag=True,
        expose_value=False,
        callback=resolve,
        help="Print one JSON document (same as --format json).",
    )(func)
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(FORMATS),
        default="text",
        show_default=True,
        is_eager=True,
        help="text for people, json for programs, markdown for $GITHUB_STEP_SUMMARY and PRs.",
    )(func)


def dry_run_sync_option(func: F) -> F:
    return click.option(
        "--dry-run-sync",
        is_flag=True,
        help="Print the tracker writes this would send, and send none.",
    )(func)


@click.group(
    cls=DebussyGroup,
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(package_name="debussy", prog_name="debussy")
@click.option(
    "-v",
    "--verbose",
    count=True,
    help="More detail on stderr (-v: each request and cache hit, -vv: debug).",
    is_eager=True,
)
@click.pass_context
def cli(ctx: click.Context, verbose: int) -> None:
    """Track multi-phase plans and keep their GitHub and Jira issues honest.

    \b
    Exit codes: 0 ok, 1 error, 2 usage error, 3 drift found (with --exit-code),
    130 interrupted (Ctrl-C).
    """
    if ctx.invoked_subcommand is None:
        # Asking for nothing is asking for help: on stdout, and not an error.
        click.echo(ctx.get_help())
        ctx.exit(EXIT_OK)
    if verbose:
        from debussy import logs

        logs.configure(verbose)


def _project() -> Project:
    from debussy.app.project import Project

    return Project.find()


def _fail(message: str) -> NoReturn:
    raise DebussyCliError(message)


def _warn(message: str) -> None:
    click.echo(f"Warning: {message}", err=True)


def _follow(project: Project, run_id: str | None, *, reading: bool = False) -> Followed:
    """The run, after it followed its plan; each plan change is printed once, on stderr.

    ``reading``: the command only shows the run, so a phase file gone from disk is a
    warning (the run as last read), not a stop.
    """
    from debussy.app.plan_follow import follow_plan

    followed = follow_plan(project, project.state.get_run(run_id), reading=reading)
    if followed.warning:
        _warn(followed.warning)
    message = followed.message()
    if message:
        click.echo(message, err=True)
    return followed


# --- init ----------------------------------------------------------------------------


@cli.command()
@click.option("--force", is_flag=True, help="Overwrite an existing config.yaml.")
@verbose_option
def init(force: bool) -> None:
    """Create .debussy/ with a commented config.yaml (repo detected from origin)."""
    from debussy.app.scaffold import init_project
    from debussy.config import STATE_DIR, find_project_root

    here = Path.cwd()
    outer = find_project_root(here.parent) if not (here / STATE_DIR).is_dir() else None
    created = init_project(here, force=force)
    for line in created.detected:
        click.echo(line)
    click.echo(f"Wrote {created.path}")
    if outer is not None:
        click.echo(
            f"Warning: {outer / STATE_DIR} already exists in a parent folder; commands run "
            f"under {here} now use this new project instead of that one.",
            err=True,
        )
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
                _warn(
                    f"--force given: starting anyway although {len(check.delivered)} linked "
                    "issues were already delivered"
                )
            elif is_tty(sys.stdin) and is_tty(sys.stderr):
                if not click.confirm("Start it again anyway?", default=False, err=True):
                    _fail("not started: the plan's issues were already delivered")
            else:
                _fail(
                    "not started: the plan's issues were already delivered "
                    "(use --force to start anyway)"
                )
        from debussy.app.runs import still_running

        for earlier in still_running(project, parsed)[:1]:
            what = f"run {earlier.id} of {earlier.plan_path} (started {earlier.started_at})"
            if not force:
                _fail(
                    f"not started: {what} is still running; finish it, or use --force "
                    "to start another run alongside it"
                )
            _warn(f"--force given: starting another run while {what} is still running")
        run = start_run(project, parsed, auto_close=auto_close or project.config.github.auto_close)
        from debussy.output.words import plural

        issues = len(parsed.all_issues())
        click.echo(
            f"Started run {run.id} of '{parsed.title}': {plural(len(parsed.phases), 'phase')}, "
            f"{plural(issues, 'linked issue')}."
        )
        if project.config.github.sub_issues:
            _link_sub_issues(project, run.id, dry_run_sync)


def _link_sub_issues(project: Project, run_id: str, dry_run_sync: bool) -> None:
    """``github.sub_issues``: the new run's phase issues become sub-issues of its plan issue."""
    from debussy.app.lifecycle import link_sub_issues
    from debussy.output.console import make_console
    from debussy.output.lifecycle_view import render_convergence

    run = project.state.get_run(run_id)
    linking = link_sub_issues(project, run, send=not dry_run_sync)
    for warning in linking.warnings:
        _warn(warning)
    outcome = linking.outcome
    if outcome is None:
        return
    render_convergence(make_console(), make_console(stderr=True), outcome)
    if outcome.read_failures or (not dry_run_sync and not outcome.complete):
        _fail(
            f"run {run.id} is started, but its phase issues are not all sub-issues of the "
            "plan issue yet (see above); fix the cause, then run "
            "`debussy sync --direction to-tracker --apply`"
        )


# --- lifecycle -----------------------------------------------------------------------


def _lifecycle(
    phase_id: str,
    status: str,
    reason: str | None,
    run_id: str | None,
    dry_run_sync: bool,
    as_json: bool = False,
) -> None:
    from debussy.app.lifecycle import Recorded, lifecycle_event, replay_command
    from debussy.output.console import make_console
    from debussy.output.lifecycle_view import (
        lifecycle_document,
        push_failure_message,
        render_convergence,
        render_transition,
    )
    from debussy.output.progress import fetching_spinner

    replay = replay_command(phase_id, status)

    def recorded(event: Recorded) -> None:
        note_saved(
            f"phase {phase_id} is recorded as {status}; the tracker update did not finish "
            "(run the same command again to finish it)"
        )
        if not as_json:
            render_transition(make_console(), event.transition)
        for warning in event.warnings():
            _warn(warning)

    with _project() as project:
        run = _follow(project, run_id).run
        result = lifecycle_event(
            project,
            run,
            phase_id,
            status,
            reason,
            send=not dry_run_sync,
            recorded=recorded,
            waiting=lambda message: fetching_spinner(message=message),
        )
        outcome = result.outcome
        if as_json:
            _print_json(lifecycle_document(result.transition, outcome, replay))
        elif outcome is not None:
            render_convergence(make_console(), make_console(stderr=True), outcome)
        if outcome is not None and (
            outcome.read_failures or (not dry_run_sync and not outcome.complete)
        ):
            _fail(push_failure_message(outcome, replay))


REASON_HELP = (
    "Why: recorded (shown by `debussy status`), and written as a comment on the phase's "
    "linked issues."
)


def _lifecycle_command(name: str, status: str, summary: str) -> None:
    @phase.command(name=name, help=summary)
    @click.argument("phase_id", metavar="ID")
    @click.option("--reason", metavar="R", help=REASON_HELP)
    @run_option
    @dry_run_sync_option
    @click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
    @verbose_option
    def command(
        phase_id: str, reason: str | None, run_id: str | None, dry_run_sync: bool, as_json: bool
    ) -> None:
        _lifecycle(phase_id, status, reason, run_id, dry_run_sync, as_json)


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
    help="How the phase ended.",
)
@click.option("--reason", metavar="R", help=REASON_HELP)
@run_option
@dry_run_sync_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@verbose_option
def done(
    phase_id: str,
    status: str,
    reason: str | None,
    run_id: str | None,
    dry_run_sync: bool,
    as_json: bool,
) -> None:
    """Record the end of a phase (same as `phase done|fail|block`)."""
    _lifecycle(phase_id, status, reason, run_id, dry_run_sync, as_json)


# --- status and history ------------------------------------------------------------


@cli.command()
@run_option
@format_option
@click.option("--issues", is_flag=True, help="Show every linked issue against Debussy's state.")
@click.option("--refresh", is_flag=True, help="With --issues: ignore the cache.")
@click.option("--exit-code", is_flag=True, help="With --issues: exit 3 when drift exists.")
@verbose_option
def status(run_id: str | None, fmt: str, issues: bool, refresh: bool, exit_code: bool) -> None:
    """Show the run and its phases; with --issues, the issue dashboard."""
    if issues:
        _issue_dashboard(run_id, fmt=fmt, refresh=refresh, drift_fails=exit_code)
        return
    if refresh or exit_code:
        raise click.UsageError("--refresh and --exit-code only apply with --issues")
    if fmt == "markdown":
        raise click.UsageError("--format markdown applies to `status --issues` and `sync`")
    from debussy.app.reading import run_status
    from debussy.output.console import make_console
    from debussy.output.run_view import render_status, status_document

    with _project() as project:
        shown = run_status(project, _follow(project, run_id, reading=True).run)
        if fmt == "json":
            _print_json(status_document(shown.run, shown.phases, shown.linked, shown.removed))
        else:
            render_status(make_console(), shown.run, shown.phases, shown.linked, shown.removed)


def _issue_dashboard(run_id: str | None, *, fmt: str, refresh: bool, drift_fails: bool) -> None:
    """``status --issues``: render everything that could be read, then exit 1 / 3 / 0."""
    from debussy.app.dashboard import look
    from debussy.output.problems import render_problems
    from debussy.output.progress import fetching_spinner

    with _project() as project:
        _ = project.config  # first: a broken config.yaml is the error, not a missing run
        followed = _follow(project, run_id, reading=True)
        dashboard = look(
            project,
            followed.run.id,
            refresh=refresh,
            waiting=lambda message: fetching_spinner(message=message),
        )
    if fmt == "json":  # the document and nothing of the table (tests/perf/test_warm_path.py)
        from debussy.output.documents import dashboard_document

        _print_json(dashboard_document(dashboard))
    elif fmt == "markdown":
        from debussy.output.markdown import dashboard_markdown

        click.echo(dashboard_markdown(dashboard), nl=False)
    else:
        from debussy.output.console import make_console
        from debussy.output.issues_view import render_dashboard

        render_dashboard(make_console(), dashboard)
    render_problems(dashboard)
    code = dashboard.exit_code(drift_fails=drift_fails)
    if code != EXIT_OK:
        raise click.exceptions.Exit(code)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=20,
    show_default=True,
    help="Show at most this many runs and this many syncs.",
)
@click.option(
    "--events",
    is_flag=True,
    help="Every status change of one run's phases, oldest first (with --run; --phase to pick one).",
)
@click.option("--phase", "phase_id", metavar="ID", help="With --events: only this phase.")
@run_option
@verbose_option
def history(
    as_json: bool, limit: int, events: bool, phase_id: str | None, run_id: str | None
) -> None:
    """Past runs and past syncs; with --events, the event log of a run's phases."""
    from debussy.output.console import make_console
    from debussy.output.run_view import history_document, render_history

    if not events and (phase_id is not None or run_id is not None):
        raise click.UsageError("--run and --phase apply with --events")
    if events:
        _event_log(run_id, phase_id, as_json=as_json)
        return
    from debussy.app.reading import history as read_history

    with _project() as project:
        past = read_history(
            project, limit, follow=lambda run_id: _follow(project, run_id, reading=True)
        )
        if as_json:
            _print_json(history_document(past.runs, past.progress, past.syncs, past.changes))
        else:
            render_history(make_console(), past.runs, past.progress, past.syncs, past.changes)


APPLY_NOW = "\x00now"
"""``--apply`` given without a file: plan and apply now (``--apply FILE``: a saved plan)."""


def _event_log(run_id: str | None, phase_id: str | None, *, as_json: bool) -> None:
    """``history --events``: the phase_events table of one run, as people and programs read it."""
    from debussy.output.console import make_console
    from debussy.output.run_view import events_document, render_events

    with _project() as project:
        run = _follow(project, run_id, reading=True).run
        log = project.state.phase_event_log(run.id)
        if phase_id is not None:
            known = {phase.phase_id for phase in project.state.phases(run.id)}
            known |= {event.phase_id for event in log}
            if phase_id not in known:
                _fail(
                    f"run {run.id} has no phase '{phase_id}' "
                    f"(phases: {', '.join(sorted(known)) or 'none'})"
                )
            log = [event for event in log if event.phase_id == phase_id]
    if as_json:
        _print_json(events_document(run, log))
    else:
        render_events(make_console(), run, log)


@cli.command()
@click.option(
    "--apply",
    "apply_arg",
    is_flag=False,
    flag_value=APPLY_NOW,
    default=None,
    metavar="[FILE]",
    help="Make the changes (default: plan only); with FILE, apply that saved plan exactly.",
)
@click.option(
    "--out",
    "out",
    type=click.Path(path_type=Path, dir_okay=False),
    metavar="FILE",
    help="Also save the plan to FILE (JSON), to review and later apply with --apply FILE.",
)
@click.option(
    "--direction",
    type=click.Choice(["from-tracker", "to-tracker"]),
    default=None,
    help="from-tracker (default): trackers are the truth; to-tracker: push Debussy's state out.",
)
@click.option("--force", is_flag=True, help="Also apply conflicts (Debussy changed last).")
@format_option
@run_option
@verbose_option
def sync(
    apply_arg: str | None,
    out: Path | None,
    direction: str | None,
    force: bool,
    fmt: str,
    run_id: str | None,
) -> None:
    """Reconcile Debussy's state with the trackers (a dry-run plan unless --apply)."""
    from debussy.app.sync_run import run_sync
    from debussy.output.progress import fetching_spinner

    apply_changes = apply_arg is not None
    plan_file = Path(apply_arg) if apply_arg not in (None, APPLY_NOW) else None
    if out is not None and apply_changes:
        raise click.UsageError(
            "--out saves a plan without applying it; drop --apply (apply the file later "
            "with --apply FILE)"
        )
    if plan_file is not None and force:
        raise click.UsageError(
            "--force is decided when the plan is made (`debussy sync --force --out FILE`); "
            "a saved plan is applied as it is"
        )
    with _project() as project:
        _ = project.state, project.config  # a broken state or config is the error to report
        done = run_sync(
            project,
            _follow(project, run_id).run.id,
            direction=direction,
            apply_changes=apply_changes,
            plan_file=plan_file,
            out=out,
            force=force,
            waiting=lambda message: fetching_spinner(message=message),
            note_saved=note_saved,
        )
    outcome, force, failure = done.outcome, done.force, done.failure
    _print_sync(outcome, fmt=fmt, force=force, apply_requested=apply_changes)
    if failure is not None:
        raise failure
    from debussy.output.sync_view import render_fetch_errors

    render_fetch_errors(outcome.fetch.errors)
    if outcome.failed_writes:
        again = (
            "make a new plan (`debussy sync --direction to-tracker --out FILE`) to finish the rest"
            if outcome.saved_plan is not None
            else "run the same command again to finish the rest"
        )
        counts: dict[str, int] = {}
        for result in outcome.failed_writes:
            counts[result.outcome] = counts.get(result.outcome, 0) + 1
        kinds = ", ".join(f"{n} {kind}" for kind, n in counts.items())
        raise DebussyCliError(
            f"{len(outcome.failed_writes)} tracker write"
            f"{'' if len(outcome.failed_writes) == 1 else 's'} did not go through ({kinds}); "
            f"{again}"
        )
    if not outcome.fetch.complete:
        raise click.exceptions.Exit(EXIT_ERROR)


def _print_sync(outcome: SyncOutcome, *, fmt: str, force: bool, apply_requested: bool) -> None:
    """The sync result on stdout, in the format asked for (one model, three renderers)."""
    if fmt == "json":
        from debussy.output.documents import sync_document

        _print_json(sync_document(outcome, force=force))
    elif fmt == "markdown":
        from debussy.output.markdown import sync_markdown

        click.echo(sync_markdown(outcome, force=force, apply_requested=apply_requested), nl=False)
    else:
        from debussy.output.console import make_console
        from debussy.output.sync_view import render_sync

        render_sync(make_console(), outcome, force=force, apply_requested=apply_requested)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@verbose_option
def doctor(as_json: bool) -> None:
    """Check the config, tracker access, token permissions and Jira workflow; change nothing."""
    from debussy.app.doctor import run_doctor
    from debussy.output.console import make_console
    from debussy.output.doctor_view import doctor_document, render_doctor

    checks = run_doctor()
    if as_json:
        _print_json(doctor_document(checks))
    else:
        render_doctor(make_console(), checks)
    if not all(check.ok for check in checks):
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
    if steps and not serve:
        raise click.UsageError("--steps only applies with --serve (the steps run by default)")
    from debussy.demo import run_demo

    code = run_demo(folder, serve=serve, steps=steps or not serve)
    if code != EXIT_OK:
        raise click.exceptions.Exit(code)


def _print_json(document: object) -> None:
    from debussy.output.documents import print_json

    print_json(document)


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
        if code == EXIT_BROKEN_PIPE or not _flushed():
            _end_like_a_closed_pipe()
        if isinstance(code, int):
            _exit_code.append(code)
        raise


def _flushed() -> bool:
    """Whether what is still buffered for stdout reached it (False: its reader is gone).

    Output small enough for the buffer is only written here, after the command; a
    reader that left already (`debussy history | head -2`) shows up now, not before.
    """
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        return False
    except (OSError, ValueError):
        return True  # not a closed pipe: exit as the command decided
    return True


def _end_like_a_closed_pipe() -> NoReturn:
    """End silently, killed by SIGPIPE as git and gh are when their reader leaves.

    The shell then reports 141 (128 + 13), ``set -o pipefail`` sees a failure exactly as
    it would for ``git log | head``, and nothing reaches stderr. stdout is pointed at
    /dev/null first so that nothing buffered is written again on the way out.
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    import signal

    sigpipe = getattr(signal, "SIGPIPE", None)
    if sigpipe is not None:  # not on Windows
        signal.signal(sigpipe, signal.SIG_DFL)
        os.kill(os.getpid(), sigpipe)
    os._exit(EXIT_BROKEN_PIPE)


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
