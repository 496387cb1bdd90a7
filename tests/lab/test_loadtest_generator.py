"""The load generator against an HAProxy that answers by itself: what it counts, and how fast it can go."""

import asyncio
from collections.abc import Iterator

import pytest

from lab.loadtest import LoadReport, LoadSpec, PreparedRequest, inference_request, plan_for, run_load
from lab.loadtest.generator_ceiling import echo_server
from lab.ports import free_port
from lab.tls import LabCertificate, make_certificate


@pytest.fixture(scope="module")
def echo_url() -> Iterator[str]:
    """An HTTP server that costs next to nothing per request, so the generator is all that is measured."""
    with echo_server() as url:
        yield url


def test_every_answer_is_counted_with_the_replica_that_sent_it(echo_url: str) -> None:
    report = asyncio.run(
        run_load(LoadSpec(echo_url, inference_request(echo_url), plan_for("steady", 8, 1.0)))
    )
    assert report.sent > 100
    assert report.ok == report.sent
    assert report.errors == {}
    assert report.replicas == {"echo": report.ok}
    assert report.p99_ms < 1000


def test_503s_are_failures_and_their_retry_after_is_noticed(echo_url: str) -> None:
    request = PreparedRequest.build(echo_url, "GET", "/full", b"", "text/plain")
    report = asyncio.run(run_load(LoadSpec(echo_url, request, plan_for("steady", 2, 0.5))))
    assert report.ok == 0
    assert report.errors == {"503": report.sent}
    assert report.rejected_with_retry_after == report.sent


def test_a_rate_cap_holds_the_total_request_rate(echo_url: str) -> None:
    spec = LoadSpec(echo_url, inference_request(echo_url), plan_for("steady", 8, 2.0), rate=100.0)
    report = asyncio.run(run_load(spec))
    assert 150 <= report.sent <= 220


def test_a_closed_port_is_a_connection_error_not_a_crash() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    report = asyncio.run(run_load(LoadSpec(url, inference_request(url), plan_for("steady", 2, 0.5))))
    assert report.ok == 0
    assert set(report.errors) == {"connect"}
    assert report.sent > 0


KEY = "lk_generator_test_0123456789abcdef0123456789"


@pytest.fixture(scope="module")
def tls_echo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, LabCertificate]]:
    """The echo server over TLS with the lab's kind of certificate, answering 401 without KEY."""
    certificate = make_certificate(tmp_path_factory.mktemp("echo-tls"))
    with echo_server(certificate, api_key=KEY) as url:
        yield url, certificate


def _short_run(url: str, request: PreparedRequest) -> LoadReport:
    return asyncio.run(run_load(LoadSpec(url, request, plan_for("steady", 2, 0.5))))


def test_over_tls_the_generator_trusts_the_given_certificate_and_sends_the_key(
    tls_echo: tuple[str, LabCertificate],
) -> None:
    url, certificate = tls_echo
    assert url.startswith("https://")
    report = _short_run(url, inference_request(url, api_key=KEY, tls=certificate.client_context()))
    assert report.sent > 50 and report.ok == report.sent, report.errors
    without_key = _short_run(url, inference_request(url, tls=certificate.client_context()))
    assert without_key.errors == {"401": without_key.sent}


def test_a_certificate_the_generator_does_not_trust_fails_every_request_as_tls(
    tls_echo: tuple[str, LabCertificate],
) -> None:
    url, _ = tls_echo
    # No context given for https://: the system's CAs, which do not include the lab's certificate.
    report = _short_run(url, inference_request(url, api_key=KEY))
    assert report.ok == 0 and report.sent > 0
    assert set(report.errors) == {"tls"}
