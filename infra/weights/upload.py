"""What the stack uploads for a local weights folder: one object per distinct content, and the manifest.

Every resource's name and inputs derive from the content's sha256 (and the prefix), never from a time or a
path on this machine: running the program again with the same files registers exactly the same resources,
so `pulumi up` finds nothing to change and uploads nothing; a changed file is a new object under a new name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pulumi

from infra.clouds.children import Children
from infra.weights.manifest import Manifest, WeightsFile
from service.weights.manifest import MANIFEST_FILE


@dataclass(frozen=True)
class UploadPlan:
    prefix: str
    """Key prefix in the bucket, ending in "/"."""
    blobs: tuple[WeightsFile, ...]
    """One per distinct content: two files with the same bytes share an object, at `key(blob)`."""
    manifest_key: str
    manifest_json: str
    digest: str
    """The manifest's sha256: one version of the weights."""
    total_bytes: int
    """Of the files as the pod stores them (duplicates counted each time)."""

    def key(self, blob: WeightsFile) -> str:
        """The full object key: `<prefix>blobs/<sha256>`."""
        return f"{self.prefix}{blob.object}"


def plan_upload(manifest: Manifest, prefix: str) -> UploadPlan:
    seen: dict[str, WeightsFile] = {}
    for file in manifest.files:
        seen.setdefault(file.sha256, file)
    return UploadPlan(
        prefix=prefix,
        blobs=tuple(sorted(seen.values(), key=lambda blob: blob.sha256)),
        manifest_key=f"{prefix}{MANIFEST_FILE}",
        manifest_json=manifest.to_json(),
        digest=manifest.digest,
        total_bytes=manifest.total_bytes,
    )


def upload(
    name: str,
    plan: UploadPlan,
    children: Children,
    new_object: Callable[..., pulumi.Resource],
    *,
    key: str,
    text: str | None,
    **blob_only: object,
) -> list[pulumi.Resource]:
    """Each distinct file once, named by its hash; the manifest last, so it never names a missing blob.

    `new_object` is the cloud's object resource with its bucket bound; `key`, its argument for the object key;
    `text`, its argument for the manifest's text (None: the text goes as a `StringAsset` source); `blob_only`,
    arguments the blobs take and the manifest does not.
    """
    blobs = [
        new_object(
            f"weights-blob-{blob.sha256[:32]}",  # the content's hash (128 bits): the same bytes keep one name
            **{key: plan.key(blob)},
            source=pulumi.FileAsset(str(blob.source)),
            content_type="application/octet-stream",
            metadata={"sha256": blob.sha256},
            opts=children.opts(),
            **blob_only,
        )
        for blob in plan.blobs
    ]
    body = {text: plan.manifest_json} if text else {"source": pulumi.StringAsset(plan.manifest_json)}
    manifest = new_object(
        f"{name}-manifest",
        **{key: plan.manifest_key},
        **body,
        content_type="application/json",
        metadata={"sha256": plan.digest},
        opts=children.opts(depends_on=blobs),
    )
    return [*blobs, manifest]
