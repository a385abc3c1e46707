"""Issue references as people write them in plan headers.

One header value holds many references separated by commas and/or whitespace.
Everything here is strict on purpose: a reference that is silently dropped means
a phase whose issue never moves, which nobody notices until the sprint review.
So anything that is not clearly an issue is a ``PlanError`` naming ``where``
(``path:line``), with a hint of the accepted spellings.

Accepted (GitHub): ``#12``, ``gh#12``, ``owner/repo#12``, and issue or pull request URLs
``https://<github.com or the configured web host>/owner/repo/issues/12`` (``/pull/12``).
Issues and pull requests share one number space per repository, so ``#12`` names
either; the read says which (``issueOrPullRequest``).
Accepted (Jira): ``PROJ-12`` (any case, upper-cased) and ``.../browse/PROJ-12`` URLs.
Either kind may be wrapped in a markdown link ``[text](url)`` or ``<url>``.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from urllib.parse import SplitResult, urlsplit

from debussy.errors import PlanError
from debussy.issues import (
    GITHUB_NAME,
    GITHUB_OWNER,
    GitHubRef,
    JiraRef,
    is_jira_key,
    is_repo_name,
)

# GraphQL ``Int`` is 32-bit signed: a larger issue number could never be fetched.
MAX_GITHUB_ISSUE_NUMBER = 2**31 - 1

GITHUB_COM = "github.com"
_GITHUB_COM_HOSTS = frozenset({"github.com", "www.github.com"})

_OWNER = GITHUB_OWNER
_NAME = GITHUB_NAME
_NUMBER = r"[0-9]+"
_SHORT_RE = re.compile(rf"(?:gh)?#(?P<number>{_NUMBER})", re.IGNORECASE)
_CROSS_RE = re.compile(rf"(?P<repo>{_OWNER}/{_NAME})#(?P<number>{_NUMBER})")
# ``[text](url)`` and ``<url>``: editors produce them when a URL is pasted.
_MARKDOWN_LINK_RE = re.compile(r"\[[^\]\n]*\]\(\s*<?(?P<url>[^\s()<>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_AUTOLINK_RE = re.compile(r"<(?P<url>[A-Za-z][A-Za-z0-9+.-]*://[^\s<>]+)>")
_SEPARATORS_RE = re.compile(r"[,\s]+")

# A value that says "nothing linked yet" in words rather than by leaving it empty.
_EXPLICIT_NONE = frozenset({"none", "n/a", "na", "-", "—", "–", "tbd"})

_MAX_SHOWN = 80

GITHUB_FORMS = "#12, gh#12, owner/repo#12 or https://github.com/owner/repo/issues/12"
JIRA_FORMS = "PROJ-12 or https://your-site.atlassian.net/browse/PROJ-12"


def split_references(text: str) -> list[str]:
    """The reference tokens of one header value, markdown links replaced by their URL."""
    text = _MARKDOWN_LINK_RE.sub(lambda m: f" {m['url']} ", text)
    text = _AUTOLINK_RE.sub(lambda m: f" {m['url']} ", text)
    tokens = [token for token in _SEPARATORS_RE.split(text) if token]
    if len(tokens) == 1 and tokens[0].casefold() in _EXPLICIT_NONE:
        return []
    return tokens


def parse_github_refs(
    text: str, *, default_repo: str | None, web_host: str, where: str
) -> list[GitHubRef]:
    """Every GitHub reference in ``text``, in order; ``#N`` and ``gh#N`` use ``default_repo``.

    ``web_host`` is where issue URLs live besides github.com (the Enterprise host).
    """
    return [
        _github_ref(token, default_repo=default_repo, web_host=web_host, where=where)
        for token in split_references(text)
    ]


def parse_jira_refs(text: str, *, where: str, hosts: Collection[str] = ()) -> list[JiraRef]:
    """Every Jira reference in ``text``, in order.

    ``hosts``, when not empty, are the only hosts a ``/browse/KEY`` URL may point at
    (the configured Jira site); an empty collection accepts any host.
    """
    return [_jira_ref(token, where=where, hosts=hosts) for token in split_references(text)]


def parse_github_repo(text: str, *, web_host: str, where: str) -> str:
    """``owner/name`` from a ``GitHub Repo`` value: ``octo/app`` or its web URL."""
    value = text.strip()
    if "://" in value:
        parts = _split_url(value)
        if parts is not None and _is_github_host(parts, web_host):
            path = parts.path.strip("/").removesuffix(".git")
            if is_repo_name(path):
                return path
    elif is_repo_name(value):
        return value
    raise PlanError(
        f"{where}: bad GitHub repository '{_shown(value)}' (expected owner/name, e.g. octo/app)"
    )


def _github_ref(token: str, *, default_repo: str | None, web_host: str, where: str) -> GitHubRef:
    if "://" in token:
        return _github_url_ref(token, web_host=web_host, where=where)
    short = _SHORT_RE.fullmatch(token)
    if short is not None:
        number = _issue_number(short["number"], limit=MAX_GITHUB_ISSUE_NUMBER)
        if number is None:
            raise _bad_github(token, where, "issue numbers are whole numbers from 1")
        if default_repo is None:
            raise PlanError(
                f"{where}: '{_shown(token)}' needs a repository and none is known: add "
                "'**GitHub Repo:** owner/name' to the master plan, set github.repo in "
                f".debussy/config.yaml, or write it as owner/name#{number}"
            )
        return GitHubRef(default_repo, number)
    cross = _CROSS_RE.fullmatch(token)
    if cross is not None and is_repo_name(cross["repo"]):
        number = _issue_number(cross["number"], limit=MAX_GITHUB_ISSUE_NUMBER)
        if number is None:
            raise _bad_github(token, where, "issue numbers are whole numbers from 1")
        return GitHubRef(cross["repo"], number)
    raise _bad_github(token, where, f"use {GITHUB_FORMS}")


def _github_url_ref(token: str, *, web_host: str, where: str) -> GitHubRef:
    parts = _split_url(token)
    if parts is None:
        raise _bad_github(token, where, "not an http(s) URL")
    if parts.username is not None or parts.password is not None:
        raise _bad_github(token, where, "an issue URL must not carry credentials")
    if not _is_github_host(parts, web_host):
        raise _bad_github(token, where, _wrong_host_hint(parts, web_host))
    segments = parts.path.strip("/").split("/")
    # ``/pull/12/files`` and the like are a pull request's tabs: the same pull request.
    page = segments[2] if len(segments) >= 4 else ""
    if (page == "issues" and len(segments) == 4) or page == "pull":
        repo = f"{segments[0]}/{segments[1]}"
        number = _issue_number(segments[3], limit=MAX_GITHUB_ISSUE_NUMBER)
        if is_repo_name(repo) and number is not None:
            return GitHubRef(repo, number)
    raise _bad_github(
        token, where, "not an issue URL (expected .../owner/repo/issues/N or .../pull/N)"
    )


def _wrong_host_hint(parts: SplitResult, web_host: str) -> str:
    host = parts.netloc.rpartition("@")[2]
    if web_host.lower() == GITHUB_COM:
        hint = (
            f"host '{_shown(host)}' is not github.com "
            "(for GitHub Enterprise set github.api_url in .debussy/config.yaml)"
        )
    else:
        hint = f"host '{_shown(host)}' is neither github.com nor the configured {web_host}"
    if "/browse/" in parts.path:
        hint += "; Jira links belong in '**Jira Issues:**'"
    return hint


def _jira_ref(token: str, *, where: str, hosts: Collection[str]) -> JiraRef:
    if "://" in token:
        return _jira_url_ref(token, where=where, hosts=hosts)
    key = _jira_key(token)
    if key is None:
        raise _bad_jira(token, where, f"use {JIRA_FORMS}")
    return JiraRef(key)


def _jira_url_ref(token: str, *, where: str, hosts: Collection[str]) -> JiraRef:
    parts = _split_url(token)
    if parts is None:
        raise _bad_jira(token, where, "not an http(s) URL")
    if parts.username is not None or parts.password is not None:
        raise _bad_jira(token, where, "an issue URL must not carry credentials")
    allowed = {host.lower() for host in hosts}
    if allowed and parts.netloc.lower() not in allowed and parts.hostname not in allowed:
        shown_hosts = ", ".join(sorted(allowed))
        raise _bad_jira(token, where, f"host is not the configured Jira site ({shown_hosts})")
    segments = parts.path.rstrip("/").split("/")
    key = _jira_key(segments[-1]) if len(segments) >= 2 and segments[-2] == "browse" else None
    if key is None:
        raise _bad_jira(token, where, "not an issue URL (expected .../browse/PROJ-12)")
    return JiraRef(key)


def _jira_key(token: str) -> str | None:
    """``PROJ-12`` upper-cased, or None; Jira itself treats keys case-insensitively."""
    key = token.upper()
    return key if token.isascii() and is_jira_key(key) else None


def _issue_number(digits: str, *, limit: int | None = None) -> int | None:
    """The number if it is one a tracker could have issued: from 1, without leading zeros."""
    if not digits.isascii() or not digits.isdigit() or digits.startswith("0"):
        return None
    number = int(digits)
    if limit is not None and number > limit:
        return None
    return number


def _split_url(token: str) -> SplitResult | None:
    try:
        parts = urlsplit(token)
        _ = parts.port  # raises ValueError on a port that is not a number
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return parts


def _is_github_host(parts: SplitResult, web_host: str) -> bool:
    hostname = parts.hostname or ""
    netloc = parts.netloc.rpartition("@")[2].lower()
    wanted = web_host.lower()
    return hostname in _GITHUB_COM_HOSTS or wanted in (netloc, hostname)


def _bad_github(token: str, where: str, hint: str) -> PlanError:
    return PlanError(f"{where}: bad GitHub issue reference '{_shown(token)}': {hint}")


def _bad_jira(token: str, where: str, hint: str) -> PlanError:
    return PlanError(f"{where}: bad Jira issue reference '{_shown(token)}': {hint}")


def _shown(token: str) -> str:
    """The token as it may appear in a message: no credentials, printable, bounded."""
    if "://" in token and "@" in token:
        scheme, _, rest = token.partition("://")
        authority, slash, path = rest.partition("/")
        token = f"{scheme}://{authority.rpartition('@')[2]}{slash}{path}"
    if not token.isprintable():
        token = token.encode("unicode_escape").decode("ascii")
    if len(token) > _MAX_SHOWN:
        token = token[: _MAX_SHOWN - 1] + "…"
    return token
