"""The API keys the server checks: a Secret the pods mount as LIFTOFF_API_KEYS_FILE.

The Secret is mounted as a directory, not with subPath, so the kubelet swaps in new contents when the Secret
changes (within its sync period, about a minute) and the server re-reads the file: a key rotates with
`pulumi config set --secret --path 'apiKeys[1]' <new>; pulumi up`, then the old one is removed the same way,
and no pod restarts.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

SECRET_NAME = "inference-api-keys"  # noqa: S105 (the Secret's name)
FILE_NAME = "keys"
"""The key in the Secret, and so the file's name in the mounted directory."""
MOUNT_DIR = "/etc/liftoff/keys"
KEYS_FILE = f"{MOUNT_DIR}/{FILE_NAME}"
GENERATED_KEY_LENGTH = 48


def keys_or_generated(
    keys: pulumi.Output[list[str]] | None, parent: pulumi.Resource
) -> pulumi.Output[list[str]]:
    """The configured keys, or one generated once and kept in the stack's state."""
    if keys is not None:
        return pulumi.Output.secret(keys)
    generated = random.RandomPassword(
        "inference-api-key",
        length=GENERATED_KEY_LENGTH,
        special=False,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return pulumi.Output.secret(generated.result.apply(lambda key: [key]))


def keys_secret(
    name: str,
    namespace: str,
    labels: dict[str, str],
    keys: pulumi.Output[list[str]],
    opts: pulumi.ResourceOptions,
) -> k8s.core.v1.Secret:
    return k8s.core.v1.Secret(
        name,
        metadata={"name": SECRET_NAME, "namespace": namespace, "labels": labels},
        type="Opaque",
        # `keys` is a secret, so what is derived from it is one too.
        string_data={FILE_NAME: keys.apply(lambda found: "\n".join(found) + "\n")},
        opts=opts,
    )
