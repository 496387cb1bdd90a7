"""Loading fetched weights in a handler's `setup` without reading whole files into memory first."""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors import safe_open


def load_safetensors(path: Path, device: torch.device | str = "cpu") -> dict[str, torch.Tensor]:
    """A state dict from a `.safetensors` file. The file is memory-mapped and each tensor is copied once,
    straight onto `device`: on a GPU the host never holds more than one tensor of it, and on the CPU the
    page cache is shared with the mapping, not duplicated into a bytes object first (as `torch.load` of a
    pickle does)."""
    tensors: dict[str, torch.Tensor] = {}
    with safe_open(str(path), framework="pt", device=str(device)) as f:
        for name in f.keys():  # noqa: SIM118 - safe_open has keys(), not iteration
            tensors[name] = f.get_tensor(name)
    return tensors


def load_into(module: torch.nn.Module, folder: Path, device: torch.device | str = "cpu") -> torch.nn.Module:
    """Every `*.safetensors` file in `folder` (a sharded model's parts) loaded into `module`, strictly:
    a missing or unexpected key fails here, in `setup`, never on a request."""
    files = sorted(folder.glob("*.safetensors"))
    if not files:
        raise FileNotFoundError(f"no .safetensors file in {folder}")
    state: dict[str, torch.Tensor] = {}
    for file in files:
        state.update(load_safetensors(file, device))
    module.load_state_dict(state, strict=True)
    return module.to(device)
