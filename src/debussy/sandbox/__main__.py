"""``python -m debussy.sandbox``: serve the sandbox tracker in the foreground until Ctrl-C.

Credentials come from the same environment variables Debussy reads
(``GITHUB_TOKEN``, ``JIRA_EMAIL``, ``JIRA_API_TOKEN``), so one shell setup serves
both sides; without them the sandbox's defaults apply. Values are never printed.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from types import FrameType
from typing import Any

from debussy.sandbox.server import (
    DEFAULT_GITHUB_TOKEN,
    DEFAULT_JIRA_EMAIL,
    DEFAULT_JIRA_TOKEN,
    SandboxTracker,
)

SEEDS = {"demo": "debussy.demo:seed_demo"}
"""``--seed NAME`` shortcuts; anything else is taken as ``module:function``."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m debussy.sandbox",
        description="Serve a loopback GitHub + Jira sandbox tracker until interrupted.",
    )
    parser.add_argument(
        "--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)"
    )
    parser.add_argument(
        "--seed",
        metavar="NAME",
        help="seed data first: 'demo', or module:function taking the sandbox",
    )
    parser.add_argument(
        "--latency", type=float, default=0.0, help="seconds added to every response"
    )
    parser.add_argument(
        "--no-auth", action="store_true", help="accept requests without (or with any) credentials"
    )
    parser.add_argument(
        "--scene",
        action="append",
        default=[],
        choices=sorted(SCENES),
        help="behave as the real service does (repeatable): "
        + "; ".join(f"{name}: {what}" for name, what in sorted(SCENES.items())),
    )
    parser.add_argument(
        "--saml-sso",
        action="append",
        default=[],
        metavar="ORG",
        help="this GitHub organisation enforces SAML SSO the token is not authorised for",
    )
    return parser


SCENES = {
    "jira-anonymous-search": "failed credentials get anonymous search answers "
    "(X-Seraph-LoginReason)",
    "jira-search-lag": "transitions reach search only through reconcileIssues",
    "jira-resolution-required": "moving to a done status needs a resolution",
}
"""``--scene`` names: real Jira Cloud behaviour the default sandbox leaves out (issue #15)."""


def apply_scenes(sandbox: SandboxTracker, scenes: Sequence[str], saml_orgs: Sequence[str]) -> None:
    """Switch on the ``--scene`` and ``--saml-sso`` behaviours."""
    sandbox.jira_scene(
        anonymous_search=True if "jira-anonymous-search" in scenes else None,
        search_lag=True if "jira-search-lag" in scenes else None,
        resolution_required=True if "jira-resolution-required" in scenes else None,
    )
    for org in saml_orgs:
        sandbox.require_saml_sso(org)


def _seeder(name: str) -> Callable[[SandboxTracker], Any]:
    target = SEEDS.get(name, name)
    module_name, sep, function_name = target.partition(":")
    if not sep or not module_name or not function_name:
        raise SystemExit(f"--seed: expected 'demo' or module:function, not {name!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise SystemExit(f"--seed {name}: cannot import {module_name} ({exc})") from None
    seeder = getattr(module, function_name, None)
    if not callable(seeder):
        raise SystemExit(f"--seed {name}: {module_name} has no function {function_name}")
    return seeder


def _from_env(*names: str) -> tuple[str, str] | None:
    """The first of ``names`` set in the environment, with its value."""
    for name in names:
        value = os.environ.get(name, "").strip()
        if value:
            return name, value
    return None


def _banner(sandbox: SandboxTracker, credentials: str) -> None:
    print(f"Sandbox tracker on {sandbox.url}", flush=True)
    print(f"  GitHub API: {sandbox.github_api_url} (GraphQL: {sandbox.url}/api/graphql)")
    print(f"  Jira:       {sandbox.jira_url} (/rest/api/3 cloud, /rest/api/2 server)")
    print(f"  Credentials: {credentials}")
    print("Press Ctrl-C to stop.", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    options = _parser().parse_args(argv)
    seed = _seeder(options.seed) if options.seed else None
    github_token = _from_env("GITHUB_TOKEN", "GH_TOKEN")
    jira_email = _from_env("JIRA_EMAIL")
    jira_token = _from_env("JIRA_API_TOKEN")
    sandbox = SandboxTracker(
        latency=options.latency,
        require_auth=not options.no_auth,
        port=options.port,
        github_token=github_token[1] if github_token else DEFAULT_GITHUB_TOKEN,
        jira_email=jira_email[1] if jira_email else DEFAULT_JIRA_EMAIL,
        jira_token=jira_token[1] if jira_token else DEFAULT_JIRA_TOKEN,
    )
    taken = [found[0] for found in (github_token, jira_email, jira_token) if found]
    if options.no_auth:
        credentials = "not required"
    elif taken:
        credentials = f"{', '.join(taken)} from the environment, sandbox defaults for the rest"
    else:
        credentials = "sandbox defaults"
    if seed is not None:
        seed(sandbox)
    apply_scenes(sandbox, options.scene, options.saml_sso)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = signal.signal(signal.SIGTERM, on_signal)
    with sandbox:
        _banner(sandbox, credentials)
        try:
            while not stop.wait(0.2):
                pass
        except KeyboardInterrupt:
            pass
    signal.signal(signal.SIGTERM, previous)
    print("Sandbox tracker stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
