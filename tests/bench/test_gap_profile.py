"""A py-spy sample goes to the category of its innermost frame that names one; the source line decides
between the forward pass and a copy in the same function."""

from __future__ import annotations

from pathlib import Path

from bench.gap_profile import BATCHING, COPIES, DECODE, FORWARD, HTTP, classify, shares, table

ROOT = Path(__file__).resolve().parents[2]
SERVED = ROOT / "service" / "model" / "served.py"
BATCHING_PY = ROOT / "service" / "batching.py"
HEAD = ['process 7:"python -m service"', "thread (9): liftoff-inference_0"]
POOL = [
    "Thread.run (/usr/lib/python3.11/threading.py:982)",
    "_worker (/usr/lib/python3.11/concurrent/futures/thread.py:83)",
]


def line_of(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def frame(func: str, path: Path | str, line: int) -> str:
    return f"{func} ({path}:{line})"


def inference(*frames: str) -> list[str]:
    return [*HEAD, *POOL, frame("Batcher._forward_batch", BATCHING_PY, 1), *frames]


def test_the_same_function_is_a_copy_or_the_forward_pass_by_its_source_line() -> None:
    to_tensor = frame("ServedModel.forward", SERVED, line_of(SERVED, "torch.from_numpy(array)"))
    call = frame("ServedModel.forward", SERVED, line_of(SERVED, "raw = self._predict(*tensors)"))
    assert classify(inference(to_tensor)) == ("liftoff-inference_0", COPIES)
    assert classify(inference(call)) == ("liftoff-inference_0", FORWARD)
    module = frame("Module._call_impl", "/venv/lib/python3.11/site-packages/torch/nn/modules/module.py", 1789)
    assert classify(inference(call, module))[1] == FORWARD
    stacking = frame("Batcher._forward_batch", BATCHING_PY, line_of(BATCHING_PY, "np.concatenate(parts)"))
    assert classify([*HEAD, *POOL, stacking])[1] == COPIES


def test_an_inference_thread_in_nothing_but_pool_machinery_is_waiting_for_a_batch() -> None:
    assert classify([*HEAD, *POOL]) == ("liftoff-inference_0", BATCHING)
    decode_pool = ["thread (10): uvloop_0", *POOL]
    assert classify(decode_pool)[1] != BATCHING


def test_decoding_on_a_route_is_decode_and_the_rest_of_the_route_is_http() -> None:
    main = ["thread (7): MainThread", "Server.run (/venv/lib/python3.11/site-packages/uvicorn/server.py:86)"]
    route = frame("model_infer", ROOT / "service/api/oip.py", 97)
    decode = frame("decode_inputs", ROOT / "service/api/oip.py", 151)
    b64 = frame("b64decode", "/usr/lib/python3.11/base64.py", 88)
    assert classify([*main, route]) == ("MainThread", HTTP)
    assert classify([*main, route, decode])[1] == DECODE
    assert classify([*main, b64])[1] == DECODE


def test_shares_weigh_each_stack_by_its_count_and_keep_only_the_threads_asked_for(tmp_path: Path) -> None:
    call = frame("ServedModel.forward", SERVED, line_of(SERVED, "raw = self._predict(*tensors)"))
    main = ["thread (7): MainThread", "Server.run (/venv/lib/python3.11/site-packages/uvicorn/server.py:86)"]
    raw = tmp_path / "raw.txt"
    raw.write_text(
        f"{';'.join(inference(call))} 30\n{';'.join([*HEAD, *POOL])} 10\n{';'.join(main)} 60\n",
        encoding="utf-8",
    )
    assert shares(raw) == {FORWARD: 0.3, BATCHING: 0.1, HTTP: 0.6}
    assert shares(raw, "liftoff-inference") == {FORWARD: 0.75, BATCHING: 0.25}
    rows = table(shares(raw), shares(raw, "liftoff-inference"))
    assert f"| {FORWARD} | 30% | 75% |" in rows and f"| {HTTP} | 60% | 0% |" in rows
