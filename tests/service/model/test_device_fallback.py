"""A CUDA build of torch that finds no GPU under LIFTOFF_DEVICE=auto says so in the log; asked-for devices
and GPUs that are found log nothing extra."""

from __future__ import annotations

import logging

import pytest
import torch

from service.model.served import log_cpu_fallback


def test_a_cuda_build_with_no_gpu_warns_that_it_serves_on_the_cpu(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(torch.version, "cuda", "13.0")
    with caplog.at_level(logging.INFO, logger="service.model.served"):
        log_cpu_fallback("auto", torch.device("cpu"))
    [record] = caplog.records
    assert record.levelno == logging.WARNING
    assert "CUDA 13.0" in record.message and "sees no CUDA device, serving on the CPU" in record.message


def test_a_cpu_build_says_it_serves_on_the_cpu_without_a_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(torch.version, "cuda", None)
    with caplog.at_level(logging.INFO, logger="service.model.served"):
        log_cpu_fallback("auto", torch.device("cpu"))
    [record] = caplog.records
    assert record.levelno == logging.INFO and "CPU build" in record.message


@pytest.mark.parametrize(("requested", "target"), [("cpu", "cpu"), ("auto", "cuda"), ("cuda", "cuda")])
def test_no_fallback_no_message(
    requested: str, target: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(torch.version, "cuda", "13.0")
    with caplog.at_level(logging.INFO, logger="service.model.served"):
        log_cpu_fallback(requested, torch.device(target))
    assert caplog.records == []
