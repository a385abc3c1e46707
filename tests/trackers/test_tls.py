"""Which TLS context a tracker client gets: the CA bundle for https, nothing to trust for http.

Plain http is only allowed to loopback hosts (the sandbox); such a client never
does TLS, and loading the CA bundle for it cost 20-40 ms per process (issue 16).
"""

from __future__ import annotations

import ssl

import pytest

from debussy.errors import ConfigError
from debussy.sync.trackers.http import TrackerHttp, shared_ssl_context, ssl_context_for


@pytest.mark.parametrize(
    "url",
    ["https://api.github.com", "https://ghe.example.com/api/v3", "https://acme.atlassian.net"],
)
def test_https_trackers_verify_against_the_ca_bundle(url: str) -> None:
    context = ssl_context_for(url)
    assert context is shared_ssl_context(), "one bundle load per process"
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    assert context.cert_store_stats()["x509_ca"] > 0


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080", "http://localhost:9000/rest"])
def test_a_plain_http_loopback_tracker_trusts_no_certificate_at_all(url: str) -> None:
    """Fails closed: were an https URL ever reached from it, no certificate would verify."""
    context = ssl_context_for(url)
    assert context is not shared_ssl_context()
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    assert context.cert_store_stats()["x509_ca"] == 0
    assert context.get_ca_certs() == []


def test_plain_http_elsewhere_is_still_refused_before_any_context() -> None:
    with pytest.raises(ConfigError, match=r"over plain http to example\.com; use https"):
        TrackerHttp("github", "http://example.com/api")
