"""The inference image: built from the repository's Dockerfile and pushed to the platform's registry.

The Deployment runs `repository@sha256:...`, the digest the push returned, so a pod never runs anything but
what this update built. `liftoff:image` skips the build for CI that builds and pushes images itself;
`liftoff:imageSource` copies an image CI built once (by digest) into this stack's private registry, so every
cloud runs the same bytes from its own registry.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_docker_build as docker_build

from infra import model_directory
from infra.clouds.platform import Platform, Registry
from infra.settings import Settings, SettingsError
from infra.weights import context as weights_context

REPO_ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class InferenceImageArgs:
    registry: Registry
    """Where to push; credentials, when set, are used for the push only."""
    variant: str
    """The Dockerfile's VARIANT build argument: cpu | cuda."""
    base_image: str | None
    """The Dockerfile's BASE_IMAGE build argument; None keeps its default."""
    platform: str
    """The nodes' OS/architecture, e.g. linux/amd64."""
    source: str | None = None
    """An image already built, by digest: copied (a `FROM` of it) instead of building the Dockerfile."""
    model_dir: str | None = None
    """`liftoff:model`: the model directory (anywhere) the Dockerfile's `model` stage takes."""


class InferenceImage(pulumi.ComponentResource):
    """Build and push; `ref` is `repository@sha256:<digest>`."""

    ref: pulumi.Output[str]
    digest: pulumi.Output[str]

    def __init__(
        self, name: str, args: InferenceImageArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("liftoff:image:InferenceImage", name, None, opts)
        repository = pulumi.Output.from_input(args.registry.url)
        build_args = {"VARIANT": args.variant}
        if args.base_image:
            build_args["BASE_IMAGE"] = args.base_image
        credentials = (
            [
                docker_build.RegistryArgs(
                    address=repository.apply(lambda url: url.split("/", 1)[0]),
                    username=args.registry.username,
                    password=args.registry.password,
                )
            ]
            if args.registry.username is not None
            else None
        )
        if args.source:
            # Only the FROM line: BuildKit fetches no build context for it, and the layers are the source's.
            dockerfile = docker_build.DockerfileArgs(inline=f"FROM {args.source}\n")
            version = "ci-" + args.source.rsplit("@sha256:", 1)[1][:12]
        else:
            dockerfile = docker_build.DockerfileArgs(location=os.path.relpath(REPO_ROOT / "Dockerfile"))
            version = f"{args.variant}-{source_fingerprint()}"
            if args.model_dir:  # model files are often git-ignored, so the source fingerprint misses them
                version += f"-{model_directory.fingerprint(args.model_dir)}"
        image = docker_build.Image(
            name,
            context=docker_build.BuildContextArgs(
                location=os.path.relpath(REPO_ROOT),
                named=None if args.source or not args.model_dir else _model_context(args.model_dir),
            ),
            dockerfile=dockerfile,
            build_args=None if args.source else build_args,
            platforms=[docker_build.Platform(args.platform)],
            # A tag per source: registries with immutable tags (ECR) refuse to move a tag.
            tags=[repository.apply(lambda url: f"{url}:{version}")],
            # `push` is a registry export over TLS; a plain-HTTP local registry needs an explicit one.
            push=not args.registry.insecure,
            exports=[docker_build.ExportArgs(registry=docker_build.ExportRegistryArgs(insecure=True))]
            if args.registry.insecure
            else None,
            registries=credentials,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.digest = image.digest
        self.ref = pulumi.Output.concat(repository, "@", image.digest)
        self.register_outputs({"ref": self.ref, "digest": self.digest})


@dataclass(frozen=True)
class ImageRef:
    ref: pulumi.Input[str]
    """What the Deployment runs."""
    digest: pulumi.Input[str]
    """sha256:...; "" when `liftoff:image` names a tag only."""


def inference_image(settings: Settings, platform: Platform) -> ImageRef:
    if settings.image:
        if "@sha256:" not in settings.image:
            pulumi.log.warn(f"liftoff:image {settings.image} has no digest: pods may run different builds")
        return ImageRef(ref=settings.image, digest=settings.image.partition("@")[2])
    if platform.registry is None:
        raise SettingsError(
            "liftoff:image",
            f"is required: the {platform.name} platform has no registry to push a build to "
            "(on the local cloud, set liftoff:localRegistry instead)",
        )
    built = InferenceImage(
        "inference",
        InferenceImageArgs(
            registry=platform.registry,
            variant=settings.image_variant,
            base_image=settings.base_image,
            platform=platform.image_platform,
            source=settings.image_source,
            model_dir=settings.model_dir,
        ),
    )
    return ImageRef(ref=built.ref, digest=built.digest)


def _model_context(model_dir: str) -> dict[str, docker_build.ContextArgs]:
    """The Dockerfile's `model` stage, replaced by the user's directory (Dockerfile, docs/your-model.md)."""
    location = weights_context.build_context(model_dir)
    return {"model": docker_build.ContextArgs(location=location)}


def source_fingerprint() -> str:
    """12 hex digits over the files git would put in the build context (tracked and untracked, not ignored);
    "untracked" outside a git checkout."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
            cwd=REPO_ROOT,
            capture_output=True,
            check=True,
            timeout=30,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return "untracked"
    digest = hashlib.sha256()
    for name in sorted(listed.decode().split("\0")):
        path = REPO_ROOT / name
        if name and path.is_file():
            digest.update(name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]
