"""The edge's settings: API keys, what the Ingress publishes, TLS, the limits at Traefik, egress.

One group of `Settings` (`Settings.edge`), read from the same flat `liftoff:` keys as the rest; each key is
declared in Pulumi.yaml with its type, default and description.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from infra.config_keys import ConfigSource, SettingsError

if TYPE_CHECKING:
    import pulumi

_EMAIL = r"[^@\s]+@[^@\s]+\.[^@\s]+"
_SECRET_NAME = r"[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?"  # noqa: S105 (a pattern for a name)
MAX_BODY_BYTES = 8 * 1024 * 1024
"""The server's own default (LIFTOFF_MAX_BODY_BYTES): Traefik stops larger bodies before they cost a pod."""


@dataclass(frozen=True)
class EdgeSettings:
    auth: bool
    """Inference and metadata routes require `Authorization: Bearer <key>` (false: open, with a warning)."""
    api_keys: pulumi.Output[list[str]] | None
    """Secret keys from `liftoff:apiKeys`; None with auth on: the stack generates one (pulumi-random)."""
    public_docs: bool
    """The Ingress also routes /docs and /openapi.json."""
    tls_email: str | None
    """Let's Encrypt account e-mail: cert-manager obtains the host's certificate by HTTP-01."""
    tls_secret: str | None
    """A kubernetes.io/tls Secret in the service's namespace, provided by the user, instead."""
    rate_limit_per_s: int
    """Requests per second each client address may average at Traefik."""
    rate_limit_burst: int
    """Requests a client may send at once above the average."""
    max_body_bytes: int
    """Bodies larger than this get 413 at Traefik, before they reach a pod."""
    egress_cidrs: tuple[str, ...]
    """Where the inference pods may open connections besides the cluster DNS (nothing by default)."""

    @property
    def tls(self) -> bool:
        return self.tls_email is not None or self.tls_secret is not None


def load_edge(source: ConfigSource, ingress_host: str | None) -> EdgeSettings:
    auth = source.boolean("auth", True)
    tls_email = source.string("tlsEmail", pattern=_EMAIL)
    tls_secret = source.string("tlsSecret", pattern=_SECRET_NAME)
    if tls_email and tls_secret:
        raise SettingsError(
            source.key("tlsSecret"),
            "cannot be set together with liftoff:tlsEmail; allowed: one of them "
            "(tlsEmail: a Let's Encrypt certificate; tlsSecret: your own certificate's Secret)",
        )
    if (tls_email or tls_secret) and not ingress_host:
        key = "tlsEmail" if tls_email else "tlsSecret"
        raise SettingsError(
            source.key(key),
            "needs liftoff:ingressHost (a certificate names a host); allowed: set liftoff:ingressHost too",
        )
    rate = source.integer("rateLimitPerSecond", 100, minimum=1, maximum=1_000_000)
    return EdgeSettings(
        auth=auth,
        api_keys=_api_keys(source) if auth else None,
        public_docs=source.boolean("publicDocs", False),
        tls_email=tls_email,
        tls_secret=tls_secret,
        rate_limit_per_s=rate,
        rate_limit_burst=source.integer("rateLimitBurst", 200, minimum=1, maximum=1_000_000),
        max_body_bytes=source.integer(
            "maxBodyBytes", MAX_BODY_BYTES, minimum=1024, maximum=1024 * 1024 * 1024
        ),
        egress_cidrs=source.cidrs("egressCidrs"),
    )


def _api_keys(source: ConfigSource) -> pulumi.Output[list[str]] | None:
    secret = source.secret("apiKeys")
    return None if secret is None else secret.apply(parse_api_keys)


def parse_api_keys(raw: str) -> list[str]:
    """`liftoff:apiKeys` as a list: a YAML list in the stack file (Pulumi hands it over as JSON) or one
    string of comma-separated keys. A key is what `Authorization: Bearer` can carry: no spaces or commas."""
    text = raw.strip()
    keys = json.loads(text) if text.startswith("[") else text.split(",")
    cleaned = [str(key).strip() for key in keys if str(key).strip()]
    if not cleaned or not all(
        re.fullmatch(r"[\x21-\x7e]{16,512}", key) and "," not in key for key in cleaned
    ):
        # The keys themselves never appear in the message: it reaches the terminal and CI logs.
        raise SettingsError(
            "liftoff:apiKeys",
            "every key must be 16 to 512 printable characters without spaces or commas "
            "(e.g. openssl rand -hex 24)",
        )
    return cleaned
