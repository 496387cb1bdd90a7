"""The edge's settings: API keys, what the Ingress publishes, TLS, the limits at Traefik, egress.

One nested group of `Settings` (`Settings.edge`), read from the same flat `liftoff:` keys as the rest; each
key is declared in Pulumi.yaml with its type, default and description (a test holds the two together).
"""

from __future__ import annotations

import json
from typing import Annotated, Self

import pulumi
from pydantic import Field, StringConstraints, model_validator

from infra.config_keys import Cidrs, ConfigSource, SettingsError, StackModel
from service.keys import KEY_CHARACTERS, MAX_KEY_LENGTH, is_key

Email = Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
SecretName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")]
MAX_BODY_BYTES = 8 * 1024 * 1024
"""The server's own default (LIFTOFF_MAX_BODY_BYTES): Traefik stops larger bodies before they cost a pod."""
MIN_KEY_LENGTH = 16
"""The stack's own floor on a key's strength; what a key may hold is the server's rule (service/keys.py)."""


class EdgeSettings(StackModel):
    auth: bool = Field(True, alias="auth")
    """Inference and metadata routes require `Authorization: Bearer <key>` (false: open, with a warning)."""
    api_keys: pulumi.Output[list[str]] | None = None
    """Secret keys from `liftoff:apiKeys` (read by `load`); None with auth on: the stack generates one."""
    public_docs: bool = Field(False, alias="publicDocs")
    """The Ingress also routes /docs and /openapi.json."""
    tls_email: Email | None = Field(None, alias="tlsEmail")
    """Let's Encrypt account e-mail: cert-manager obtains the host's certificate by HTTP-01."""
    tls_secret: SecretName | None = Field(None, alias="tlsSecret")
    """A kubernetes.io/tls Secret in the service's namespace, provided by the user, instead."""
    rate_limit_per_s: int = Field(100, ge=1, le=1_000_000, alias="rateLimitPerSecond")
    """Requests per second each client address may average at Traefik."""
    rate_limit_burst: int = Field(200, ge=1, le=1_000_000, alias="rateLimitBurst")
    """Requests a client may send at once above the average."""
    max_body_bytes: int = Field(MAX_BODY_BYTES, ge=1024, le=1024**3, alias="maxBodyBytes")
    """Bodies larger than this get 413 at Traefik, before they reach a pod."""
    egress_cidrs: Cidrs = Field((), alias="egressCidrs")
    """Where the inference pods may open connections besides the cluster DNS (nothing by default)."""

    @property
    def tls(self) -> bool:
        return self.tls_email is not None or self.tls_secret is not None

    @classmethod
    def read_secrets(cls, edge: EdgeSettings, source: ConfigSource) -> EdgeSettings:
        """`edge` with the secret keys of `liftoff:apiKeys` (secrets are not part of the validated model)."""
        if not edge.auth:
            return edge
        secret = source.secret("apiKeys")
        return edge.model_copy(update={"api_keys": None if secret is None else secret.apply(parse_api_keys)})

    @model_validator(mode="after")
    def _one_certificate_source(self) -> Self:
        if self.tls_email and self.tls_secret:
            raise SettingsError(
                "liftoff:tlsSecret",
                "cannot be set together with liftoff:tlsEmail; allowed: one of them "
                "(tlsEmail: a Let's Encrypt certificate; tlsSecret: your own certificate's Secret)",
            )
        return self

    def require_host(self, ingress_host: str | None) -> None:
        """A certificate names a host: TLS without liftoff:ingressHost is refused."""
        if self.tls and not ingress_host:
            key = "liftoff:tlsEmail" if self.tls_email else "liftoff:tlsSecret"
            raise SettingsError(
                key,
                "needs liftoff:ingressHost (a certificate names a host); allowed: set liftoff:ingressHost too",
            )


def parse_api_keys(raw: str) -> list[str]:
    """`liftoff:apiKeys` as a list: a YAML list in the stack file (Pulumi hands it over as JSON) or one
    string of comma-separated keys."""
    text = raw.strip()
    try:
        keys = json.loads(text) if text.startswith("[") else text.split(",")
    except json.JSONDecodeError:
        keys = []
    cleaned = [str(key).strip() for key in keys if str(key).strip()]
    if not cleaned or not all(is_key(key) and len(key) >= MIN_KEY_LENGTH for key in cleaned):
        # The keys themselves never appear in the message: it reaches the terminal and CI logs.
        raise SettingsError(
            "liftoff:apiKeys",
            f"every key must be {MIN_KEY_LENGTH} to {MAX_KEY_LENGTH} characters, {KEY_CHARACTERS} "
            "(e.g. openssl rand -hex 24)",
        )
    return cleaned
