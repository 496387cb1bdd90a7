"""Push credentials for ACR from the deployer's own Entra ID login, never the registry's admin account.

ACR trades an Entra ID access token for an ACR refresh token at `https://<registry>/oauth2/exchange`
(the same exchange `az acr login --expose-token` makes). Docker then logs in with the fixed user name
`00000000-0000-0000-0000-000000000000` and that refresh token as the password; what it may do is decided
by the deployer's roles on the registry (AcrPush). The token lives about three hours.

The exchange is a Pulumi dynamic resource rather than code in an `apply`: it shows in the plan, the mocks
answer it offline like any other resource, and its `diff` asks for a new token only when the stored one is
about to expire, so a rerun of `pulumi up` never pushes with a stale token.
"""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import pulumi
import pulumi.dynamic

ACR_TOKEN_USERNAME = "00000000-0000-0000-0000-000000000000"  # noqa: S105 - a fixed user name, not a secret
# A stored token with less life left than this is replaced, so a push in this run never outlives it.
MIN_REMAINING_S = 3600
# When the token's expiry cannot be read, assume ACR's documented lifetime of three hours.
DEFAULT_LIFETIME_S = 3 * 3600
_ATTEMPTS = 4


def exchange_url(login_server: str) -> str:
    return f"https://{login_server}/oauth2/exchange"


def exchange_form(login_server: str, tenant_id: str, aad_token: str) -> bytes:
    """The form body ACR expects: grant the Entra ID access token for this registry's service."""
    return urllib.parse.urlencode(
        {
            "grant_type": "access_token",
            "service": login_server,
            "tenant": tenant_id,
            "access_token": aad_token,
        }
    ).encode()


def token_expiry(token: str, now: float) -> float:
    """The `exp` claim of a JWT (seconds since the epoch), read without verifying: only for renewal."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return float(claims["exp"])
    except (IndexError, ValueError, KeyError, TypeError):
        return now + DEFAULT_LIFETIME_S


def exchange(login_server: str, tenant_id: str, aad_token: str) -> str:
    """POST the exchange; retries transient failures (a fresh registry's DNS name, 5xx, throttling)."""
    request = urllib.request.Request(  # noqa: S310 - the URL is always https, built from the registry's name
        exchange_url(login_server),
        data=exchange_form(login_server, tenant_id, aad_token),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        method="POST",
    )
    last_error: Exception | None = None
    for attempt in range(_ATTEMPTS):
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                token = json.load(response)["refresh_token"]
                if not isinstance(token, str) or not token:
                    raise ValueError("the exchange answered without a refresh_token")
                return token
        except urllib.error.HTTPError as error:
            if error.code in (400, 401, 403):
                detail = error.read().decode(errors="replace")[:500]
                raise RuntimeError(
                    f"ACR {login_server} refused the Entra ID token ({error.code}): {detail}. "
                    "Is `az login` current, and does the deployer hold AcrPush on the registry?"
                ) from None
            last_error = error
        except (urllib.error.URLError, TimeoutError, KeyError, ValueError) as error:
            last_error = error
        time.sleep(5 * 2**attempt)
    raise RuntimeError(f"ACR token exchange at {exchange_url(login_server)} failed: {last_error}")


class _AcrTokenExchange(pulumi.dynamic.ResourceProvider):
    """Runs in Pulumi's dynamic-provider host at `pulumi up`; never at import, never under the mocks."""

    def _outputs(self, props: dict[str, Any]) -> dict[str, Any]:
        token = exchange(props["login_server"], props["tenant_id"], props["aad_token"])
        return {
            "login_server": props["login_server"],
            "tenant_id": props["tenant_id"],
            "refresh_token": token,
            "expires_on": token_expiry(token, time.time()),
        }

    def create(self, props: dict[str, Any]) -> pulumi.dynamic.CreateResult:
        return pulumi.dynamic.CreateResult(id_=props["login_server"], outs=self._outputs(props))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.DiffResult:
        # The Entra ID token is new on every run; only the registry, the tenant or expiry call for a new one.
        moved = [key for key in ("login_server", "tenant_id") if olds.get(key) != news.get(key)]
        expiring = float(olds.get("expires_on") or 0) - time.time() < MIN_REMAINING_S
        return pulumi.dynamic.DiffResult(changes=bool(moved) or expiring, delete_before_replace=False)

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.UpdateResult:
        return pulumi.dynamic.UpdateResult(outs=self._outputs(news))


class AcrPushToken(pulumi.dynamic.Resource, module="liftoff", name="AcrPushToken"):
    """An ACR refresh token for the deployer: the password docker pushes with (a secret)."""

    refresh_token: pulumi.Output[str]
    expires_on: pulumi.Output[float]

    def __init__(
        self,
        name: str,
        *,
        login_server: pulumi.Input[str],
        tenant_id: pulumi.Input[str],
        aad_token: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = {
            "login_server": login_server,
            "tenant_id": tenant_id,
            "aad_token": pulumi.Output.secret(aad_token),
            "refresh_token": None,
            "expires_on": None,
        }
        secret_opts = pulumi.ResourceOptions(additional_secret_outputs=["refresh_token", "aad_token"])
        super().__init__(_AcrTokenExchange(), name, props, pulumi.ResourceOptions.merge(opts, secret_opts))
