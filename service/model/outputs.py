"""What a forward pass returned (a tensor, a tuple or list of them, a dict of them) as numpy arrays."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch


def as_numpy(value: Any) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        if value.dtype in (torch.float16, torch.bfloat16):
            value = value.float()  # numpy has no bfloat16; the wire datatype decides the final type
        return value.detach().cpu().numpy()
    if isinstance(value, np.ndarray):
        return value
    array = np.asarray(value)
    return array if array.dtype.kind not in "US" else np.asarray(value, dtype=object)


def named_outputs(raw: Any, names: Sequence[str], numbered: bool = False) -> dict[str, np.ndarray]:
    """A dict keeps its own keys; a tensor or a tuple takes `names` in order. When the count differs, a
    mismatch raises, or with `numbered` (a handler's encode maps them) the values are output0, output1..."""
    if isinstance(raw, Mapping):  # Hugging Face style (logits=..., hidden_states=...)
        return {str(key): as_numpy(value) for key, value in raw.items()}
    values = list(raw) if isinstance(raw, tuple | list) else [raw]
    if len(values) != len(names) and numbered:
        return {f"output{index}": as_numpy(value) for index, value in enumerate(values)}
    if len(values) != len(names):
        raise ValueError(
            f"the forward pass returned {len(values)} value(s) but model.json declares {len(names)} output(s)"
        )
    return {name: as_numpy(value) for name, value in zip(names, values, strict=True)}


def in_declared_order(outputs: Mapping[str, np.ndarray], names: Sequence[str]) -> list[np.ndarray]:
    """The outputs model.json names, in its order; a missing one is an error naming both sides."""
    missing = [name for name in names if name not in outputs]
    if missing:
        raise ValueError(
            f"the model gave outputs {sorted(outputs)} but model.json declares {list(names)}: "
            f"{missing} missing (name the dict's keys like model.json's outputs, or map them in encode)"
        )
    return [outputs[name] for name in names]
