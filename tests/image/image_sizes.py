"""What an inference image weighs, by what it holds and by layer: check_image.py prints both.

The parts are measured inside the image (file sizes, as `du --apparent-size` counts them), so they read
the same however the Dockerfile splits its layers; the layers are `docker history`'s, which is what a node
pulls (uncompressed; a registry stores them gzipped).
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass

# Where each part lives in the image: a path prefix, or a site-packages entry's name prefix. The first
# match wins, so the NVIDIA wheels (nvidia/, cuda/, triton/) are told apart from torch and the rest.
SITE_PACKAGES_PARTS = (
    ("NVIDIA libraries (nvidia-*, cuda-*, triton wheels)", ("nvidia", "cuda", "triton")),
    ("torch", ("torch", "functorch", "torchgen")),
)
PROBE = r"""
import json, os, sys, sysconfig
site = sysconfig.get_path("purelib")
parts = json.loads(sys.argv[1])
sizes = {"base image (OS, Python)": 0, "other Python dependencies": 0, "model (/app/model)": 0,
         "project (/app/service)": 0, **{name: 0 for name, _ in parts}}
def part(path):
    if path.startswith("/app/model/"): return "model (/app/model)"
    if path.startswith("/app/service/"): return "project (/app/service)"
    if path.startswith(site + "/"):
        top = path[len(site) + 1:].split("/", 1)[0].lower()
        for name, prefixes in parts:
            if top.startswith(tuple(prefixes)): return name
        return "other Python dependencies"
    if path.startswith("/opt/venv/"): return "other Python dependencies"
    return "base image (OS, Python)"
for top in os.listdir("/"):
    # bookworm's /bin, /lib, /sbin are links into /usr: walking them would count /usr twice
    if top in ("proc", "sys", "dev") or os.path.islink("/" + top): continue
    for root, dirs, files in os.walk("/" + top):
        for name in files:
            path = os.path.join(root, name)
            try: sizes[part(path)] += os.lstat(path).st_size
            except OSError: pass
print(json.dumps(sizes))
"""


@dataclass(frozen=True)
class Layer:
    size: int
    created_by: str


def content_sizes(image: str) -> dict[str, int]:
    """Bytes per part of the image, measured by walking its filesystem."""
    result = subprocess.run(
        ["docker", "run", "--rm", "--read-only", "--user", "10001", "--entrypoint", "python", image,
         "-c", PROBE, json.dumps(SITE_PACKAGES_PARTS)],
        capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    sizes: dict[str, int] = json.loads(result.stdout)
    return sizes


def layers(image: str) -> list[Layer]:
    """The image's layers, oldest first, with the instruction that made each (empty layers left out)."""
    result = subprocess.run(
        ["docker", "image", "inspect", image], capture_output=True, text=True, timeout=60, check=True
    )
    image_id = json.loads(result.stdout)[0]["Id"]
    history = subprocess.run(
        ["docker", "history", "--no-trunc", "--human=false", "--format", "{{json .}}", image_id],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    rows = [json.loads(line) for line in history.stdout.splitlines()]
    found = [Layer(int(row["Size"]), " ".join(row["CreatedBy"].split())) for row in reversed(rows)]
    return [layer for layer in found if layer.size > 0]


def report(image: str) -> str:
    """Both tables as text, sizes in MB (10^6 bytes)."""
    parts = content_sizes(image)
    lines = [f"  {'MB':>9}  part of {image}"]
    lines += [f"  {size / 1e6:9.1f}  {name}" for name, size in sorted(parts.items(), key=lambda p: -p[1])]
    lines.append(f"  {sum(parts.values()) / 1e6:9.1f}  all files")
    lines.append(f"  {'MB':>9}  layer (docker history, oldest first)")
    for layer in layers(image):
        lines.append(f"  {layer.size / 1e6:9.1f}  {layer.created_by[:100]}")
    return "\n".join(lines)
