"""Where the stack keeps a model's weights, and how the dev stack reaches its own store.

One nested group of `Settings` (`Settings.weights`), read from the flat `liftoff:weights*` keys; each key is
declared in Pulumi.yaml beside its type, default and description. The model directory's model.json says
where the weights are (`weights`); these keys say where the stack puts them and how big a URI's are.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from infra.config_keys import Memory, StackModel, memory_bytes

BucketName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9/][A-Za-z0-9._/:\-]{1,1023}$")]
KeyPrefix = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._\-/]{0,255}$")]
Endpoint = Annotated[str, StringConstraints(pattern=r"^https?://[A-Za-z0-9.\-\[\]:]+(:\d{1,5})?/?$")]
SecretName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")]


class WeightsSettings(StackModel):
    bucket: BucketName | None = Field(None, alias="weightsBucket")
    """An existing bucket (Azure: the container's resource id) to upload into or grant on; None: the stack
    creates a private, encrypted one."""
    prefix: KeyPrefix | None = Field(None, alias="weightsPrefix")
    """Key prefix of an upload; None: the model's name."""
    size: Memory | None = Field(None, alias="weightsSize")
    """Total size of the files at a model.json URI (e.g. 15Gi): sizes the pod's volume and startup probe."""
    endpoint: Endpoint | None = Field(None, alias="weightsEndpoint")
    """The dev stack: an S3-compatible endpoint (AWS_ENDPOINT_URL in the pod)."""
    credentials_secret: SecretName | None = Field(None, alias="weightsCredentialsSecret")
    """The dev stack: a Secret of yours in the namespace with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY."""

    @property
    def size_bytes(self) -> int | None:
        return None if self.size is None else memory_bytes(self.size)

    def key_prefix(self, model_name: str) -> str:
        """Where an upload goes in the bucket, ending in "/"."""
        return (self.prefix or model_name).strip("/") + "/"
