# The Liftoff inference image: service/ with one model directory, one Dockerfile for two variants.
#
#   make image        CPU:  docker build --build-arg VARIANT=cpu  -t liftoff:cpu .
#   make image-cuda   CUDA: docker build --build-arg VARIANT=cuda -t liftoff:cuda .
#   make image MODEL_DIR=examples/image-classifier ... --build-context model=examples/image-classifier .
#
# The model: by default the bundled digits model, trained in the build. A named build context `model` (a
# model directory: docs/your-model.md; `liftoff:model` passes it) replaces the `model` stage below: its
# requirements.txt is installed under the project's pins, and its files land in a layer of their own after
# the dependencies, so changing the model never re-installs torch. The build's last step runs the model
# check in the final image (python -m service check), so a model that would not serve never becomes one.
#
# Needs BuildKit (cache and secret mounts). Build arguments:
#   BASE_IMAGE    any Debian-based image with python3 3.11 and venv (see scripts/offline-base-image.sh)
#   VARIANT       cpu | cuda: which torch build to install
#   PIP_FROM      index (PyPI + PyTorch's index for the variant) | wheelhouse (./wheelhouse only, no index;
#                 fill it with `make wheelhouse`)
# Secret:
#   --secret id=ca,src=corp-ca.pem   a corporate CA (PEM) added to the trust store of the install steps only;
#                                    it never lands in a layer.

# python:3.11.14-slim-bookworm by its multi-architecture index digest. No registry is reachable where this
# was written, so the digest comes from public references and was not pulled here; the offline test
# builds on the debootstrap image instead. torch's CUDA wheels bring their own CUDA libraries, so the same
# slim base serves the CUDA variant: no nvidia/cuda runtime image is needed.
ARG BASE_IMAGE=python:3.11.14-slim-bookworm@sha256:65a93d69fa75478d554f4ad27c85c1e69fa184956261b4301ebaf6dbb0a3543d
# The stage or image that holds the model directory to serve: see the `model` stage below.
ARG MODEL_SOURCE=model-digits

# ---- requirements: what to install, derived from the project. A stage of its own, so that a change to
# pyproject.toml or the lock that leaves these files as they were (a new dev tool) keeps the install cached.
FROM ${BASE_IMAGE} AS requirements
WORKDIR /src
COPY pyproject.toml requirements/constraints.txt ./
# The runtime requirements are pyproject's [project.dependencies], never the extras. The lock's CUDA
# companions (cuda-*, nvidia-*, triton) belong to PyPI's default torch build, which no variant installs:
# each variant's torch wheel pins its own.
RUN python3 -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; \
print('\n'.join(p['dependencies']), file=open('runtime.txt', 'w')); \
print('\n'.join(p['optional-dependencies']['train']), file=open('train.txt', 'w')); \
print('\n'.join(p['optional-dependencies']['grpc-stubs']), file=open('grpc-stubs.txt', 'w'))" \
 && grep -vE '^(cuda-|nvidia-|triton)' constraints.txt >constraints-image.txt

# ---- builder: a venv with the runtime dependencies only, pinned by the project's constraints ----------
FROM ${BASE_IMAGE} AS builder
ARG VARIANT=cpu
ARG PIP_FROM=index
ARG TORCH_INDEX_CPU=https://download.pytorch.org/whl/cpu
# cu126: torch 2.13 is published for CUDA 12.6 and 13.0 only (no 12.8). CUDA 12.x wheels run on any driver
# >= 525.60.13 (CUDA minor-version compatibility), which the drivers the clouds install all meet: the EKS
# AL2023 NVIDIA AMI (570 and newer), GKE's DEFAULT driver (R535 or newer, by GKE version) and AKS's (535 or
# newer). cu130 would need a 580 driver. cu126 also keeps the T4's Turing kernels (sm_75).
# Empty: no torch index, so torch comes from PyPI, whose Linux torch 2.13.0 is a CUDA 13.0 build with its
# NVIDIA libraries as wheels (driver >= 580). make image-test-cuda builds that way, where PyTorch's index
# cannot be reached; production keeps cu126.
ARG TORCH_INDEX_CUDA=https://download.pytorch.org/whl/cu126
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# As ENV, not only ARG, so that the trainer stage (FROM builder) sees the same choices.
ENV VARIANT=${VARIANT} \
    PIP_FROM=${PIP_FROM} \
    TORCH_INDEX_CPU=${TORCH_INDEX_CPU} \
    TORCH_INDEX_CUDA=${TORCH_INDEX_CUDA} \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src

# The tool venv holds pip; the runtime venv gets none, so the final image carries no installer.
RUN python3 -m venv /opt/pip \
 && python3 -m venv --without-pip /opt/venv

COPY scripts/pip-install.sh /usr/local/bin/pip-install
COPY --from=requirements /src/runtime.txt /src/constraints-image.txt ./

RUN --mount=type=cache,target=/root/.cache/pip,sharing=locked \
    --mount=type=secret,id=ca \
    --mount=type=bind,source=wheelhouse,target=/wheelhouse \
    pip-install /opt/venv -r runtime.txt

# torch's C++ headers, its own C++ test programs and protoc are for building extensions and testing torch,
# never for serving: about 190 MB the final image need not carry (torch_shm_manager stays: torch uses it).
RUN torch_dir=$(/opt/venv/bin/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))')/torch \
 && rm -rf "$torch_dir/include" "$torch_dir/test" \
 && find "$torch_dir/bin" -mindepth 1 -maxdepth 1 ! -name torch_shm_manager -exec rm -rf {} +

# The NVIDIA wheels (CUDA variant) carry more than torch ever loads. Measured on PyPI's CUDA 13.0 build
# (docs/image.md): triton (about 690 MB) is torch.compile's GPU code generator, which serving TorchScript
# and exported programs never loads; headers, static libraries and device bitcode are for compiling; and
# these libraries are neither linked by torch's libraries nor opened by a library that is: cuSOLVER's
# multi-GPU libcusolverMg, the FFTW and BLAS drop-ins (libcufftw, libnvblas), NVRTC's `.alt` copies,
# CUPTI's target-side and PC-sampling helpers and libcheckpoint. By name, so cu126's layout (one wheel
# per library) is trimmed the same way. check_image.py proves that every library left finds what it links.
RUN site=$(/opt/venv/bin/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))') \
 && rm -rf "$site"/triton "$site"/triton-*.dist-info \
 && if [ -d "$site/nvidia" ]; then \
      find "$site/nvidia" -depth -type d -name include -exec rm -rf {} + \
      && find "$site/nvidia" -type f \( -name '*.a' -o -name '*.bc' -o -name 'libcusolverMg.so*' \
           -o -name 'libcufftw.so*' -o -name 'libnvblas.so*' -o -name 'libnvrtc*.alt.so*' \
           -o -name 'libnvperf_target.so' -o -name 'libpcsamplingutil.so' -o -name 'libcheckpoint.so' \) \
           -delete; \
    fi

# ---- trainer: the default model, trained where scikit-learn lives (never in the final image) --------
FROM builder AS trainer
COPY --from=requirements /src/train.txt ./
RUN --mount=type=cache,target=/root/.cache/pip,sharing=locked \
    --mount=type=secret,id=ca \
    --mount=type=bind,source=wheelhouse,target=/wheelhouse \
    pip-install /opt/venv -r train.txt
# Only the model package: a change elsewhere in service/ does not retrain.
COPY service/__init__.py service/
COPY service/model/ service/model/
RUN /opt/venv/bin/python -m service.model.train_digits --out /out/models/digits

# ---- grpc-stubs: service/grpc/'s stubs, compiled by the pinned grpcio-tools in a venv of its own, so the
# final image carries the compiled modules (its root is read-only) but neither protoc nor grpcio-tools.
FROM builder AS grpc-stubs
COPY --from=requirements /src/grpc-stubs.txt ./
RUN --mount=type=cache,target=/root/.cache/pip,sharing=locked \
    --mount=type=secret,id=ca \
    --mount=type=bind,source=wheelhouse,target=/wheelhouse \
    python3 -m venv --without-pip /opt/protoc \
 && pip-install /opt/protoc -r grpc-stubs.txt
COPY service/__init__.py service/
COPY service/grpc/ service/grpc/
RUN /opt/protoc/bin/python -m service.grpc.stubs

# ---- model: the model directory to serve. By default the digits model (model-digits). A build given
# `--build-context model=<dir>` (buildx, and pulumi-docker-build for `liftoff:model`) takes that directory
# instead; a client without named contexts (Debian's docker.io 20.10) gets the directory as an image of its
# own, named by MODEL_SOURCE (scripts/image-build.sh). Either way the trainer is never built.
FROM scratch AS model-digits
COPY --from=trainer /out/models/digits/ /

FROM ${MODEL_SOURCE} AS model

# ---- model-files: the directory as the image holds it: without the local weights folder model.json's
# `weights` names (`pulumi up` uploads that to object storage; the server fetches it before loading).
FROM ${BASE_IMAGE} AS model-files
COPY --from=model / /model/
RUN python3 -c "import json, pathlib, shutil; root = pathlib.Path('/model'); \
weights = json.loads((root / 'model.json').read_text()).get('weights'); \
folder = (root / weights).resolve() if isinstance(weights, str) and '://' not in weights else None; \
shutil.rmtree(folder) if folder is not None and folder.is_relative_to(root) and folder.is_dir() else None"

# ---- model-requirements: only the model's requirements.txt (empty without one), so that a change to its
# other files leaves the install below cached.
FROM ${BASE_IMAGE} AS model-requirements
RUN --mount=type=bind,from=model,target=/model \
    if [ -f /model/requirements.txt ]; then cp /model/requirements.txt /requirements.txt; \
    else : >/requirements.txt; fi

# ---- model-deps: the runtime venv plus the model's own requirements, under the project's pins -----------
FROM builder AS model-deps
COPY --from=model-requirements /requirements.txt model-requirements.txt
# A line that conflicts with constraints-image.txt (torch==2.0, say) stops the build: pip names the package.
RUN --mount=type=cache,target=/root/.cache/pip,sharing=locked \
    --mount=type=secret,id=ca \
    --mount=type=bind,source=wheelhouse,target=/wheelhouse \
    if grep -qvE '^[[:space:]]*(#|$)' model-requirements.txt; then \
      pip-install /opt/venv -r model-requirements.txt \
      || { echo "the model's requirements.txt could not be installed under the project's pins (requirements/constraints.txt): pip said why above (a version conflict, or no matching distribution: with PIP_FROM=wheelhouse, add the model's requirements with make wheelhouse MODEL_DIR=...)" >&2; exit 1; }; \
    fi

# ---- venv-layers: the venv cut into the image's layers, those that change least first: the NVIDIA
# libraries (new only with a torch release), torch, then the other dependencies (the model's own among
# them). A node that pulled an earlier image keeps the layers that did not change, so a new model or a new
# server pulls megabytes, not gigabytes.
FROM model-deps AS venv-layers
RUN site=$(/opt/venv/bin/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))') \
 && mkdir -p "/layers/nvidia$site" "/layers/torch$site" \
 && for entry in "$site"/nvidia "$site"/nvidia_* "$site"/cuda "$site"/cuda_*; do \
      if [ -e "$entry" ]; then mv "$entry" "/layers/nvidia$site/"; fi; \
    done \
 && mv "$site"/torch "$site"/torch-*.dist-info "$site"/functorch "$site"/torchgen "/layers/torch$site/"

# ---- runtime: venv + model + code; no compilers, no pip, no scikit-learn --------------------------------
FROM ${BASE_IMAGE} AS runtime
ARG VARIANT=cpu
LABEL org.opencontainers.image.title="liftoff" \
      org.opencontainers.image.description="Liftoff inference server (${VARIANT})" \
      org.opencontainers.image.licenses="Apache-2.0"

# UID/GID 10001 as docs/server.md says; HOME under /tmp because the root filesystem is read-only.
RUN groupadd --gid 10001 liftoff \
 && useradd --uid 10001 --gid 10001 --no-log-init --no-create-home --home-dir /tmp \
      --shell /usr/sbin/nologin liftoff

# LD_LIBRARY_PATH: GKE mounts the NVIDIA driver libraries at /usr/local/nvidia, outside the loader's
# default path; elsewhere the directories do not exist and the setting is inert.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    TMPDIR=/tmp \
    LIFTOFF_HOST=0.0.0.0 \
    LIFTOFF_PORT=8080 \
    LIFTOFF_GRPC_PORT=8081 \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility \
    LD_LIBRARY_PATH=/usr/local/nvidia/lib64:/usr/local/nvidia/lib

# Owned by root and not writable by the server: it writes only to /tmp. Three layers, least changed first.
COPY --from=venv-layers /layers/nvidia/ /
COPY --from=venv-layers /layers/torch/ /
COPY --from=venv-layers /opt/venv /opt/venv
WORKDIR /app
# The model in its own layer, after the dependencies and before the code.
COPY --from=model-files /model/ model/
ENV LIFTOFF_MODEL_PATH=/app/model
COPY service/ service/
COPY --from=grpc-stubs /src/service/grpc/generated/ service/grpc/generated/
# Bytecode now, since the read-only root lets Python write none at start-up.
RUN python -m compileall -q service

# The last step: the model check the server runs at start-up (python -m service check), here in the final
# image as the server's user, so a requirement missing from the model's requirements.txt or a model that
# cannot load fails the build with its reason, not the pod. Weights kept out of the image are not here to
# load: with a `weights` in model.json the check stops after importing the handler (--without-weights).
USER 10001:10001
RUN LIFTOFF_DEVICE=cpu LIFTOFF_LOG_LEVEL=warning python -m service check --without-weights /app/model

# HTTP, and the Open Inference Protocol over gRPC (h2c).
EXPOSE 8080 8081
# Docker and Compose use this; Kubernetes uses the Deployment's probes on the same /readyz.
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request as u; u.urlopen('http://127.0.0.1:%s/readyz' % os.environ.get('LIFTOFF_PORT', '8080'), timeout=2)"]
# Exec form: python is PID 1 and gets SIGTERM itself; the server drains (see docs/server.md).
ENTRYPOINT ["python", "-m", "service"]
