"""A half precision this CPU cannot run in hardware is named in the log at load, with the setting to change;
float32, a GPU, and a CPU that has the hardware log nothing."""

from __future__ import annotations

import logging

import pytest
import torch

from service.model import cpu_precision, served


@pytest.mark.parametrize(
    ("dtype", "check"),
    [(torch.bfloat16, "_is_mkldnn_bf16_supported"), (torch.float16, "_is_mkldnn_fp16_supported")],
)
def test_the_answer_is_onednns(dtype: torch.dtype, check: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # The op is private to torch: if an upgrade drops it, the warning would go quiet, so this fails first.
    assert isinstance(getattr(torch.ops.mkldnn, check)(), bool)
    for supported in (False, True):
        monkeypatch.setattr(torch.ops.mkldnn, check, lambda supported=supported: supported)
        assert cpu_precision.runs_natively_on_cpu(dtype) is supported


def test_float32_always_runs_natively(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: False)
    assert cpu_precision.runs_natively_on_cpu(torch.float32)


def test_an_emulated_half_precision_on_the_cpu_warns_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(served, "runs_natively_on_cpu", lambda dtype: dtype == torch.float32)
    with caplog.at_level(logging.INFO, logger="service.model.served"):
        served.log_emulated_precision("bfloat16", torch.device("cpu"))
    [record] = caplog.records
    assert record.levelno == logging.WARNING
    assert "LIFTOFF_DTYPE=bfloat16" in record.message and "LIFTOFF_DTYPE=float32" in record.message


@pytest.mark.parametrize(("dtype", "device"), [("float32", "cpu"), ("bfloat16", "cuda"), ("float16", "cuda")])
def test_nothing_is_logged_where_the_precision_runs_natively(
    dtype: str, device: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(served, "runs_natively_on_cpu", lambda dtype: dtype == torch.float32)
    with caplog.at_level(logging.INFO, logger="service.model.served"):
        served.log_emulated_precision(dtype, torch.device(device))
    assert caplog.records == []


def test_a_cpu_with_the_hardware_logs_nothing(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(served, "runs_natively_on_cpu", lambda dtype: True)
    with caplog.at_level(logging.INFO, logger="service.model.served"):
        served.log_emulated_precision("bfloat16", torch.device("cpu"))
    assert caplog.records == []
