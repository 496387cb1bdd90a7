"""Typed access to stack configuration, with errors that name the key and what is allowed.

`ConfigSource` wraps a raw key/value store: Pulumi's config at deploy time (`from_pulumi`), a plain dict in
tests (`from_dict`). Every getter takes the short key (`gpu`) for the project namespace (`liftoff:gpu`) or a
full key (`aws:region`) for another namespace, and reports errors with the full key.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import pulumi

PROJECT = "liftoff"


class SettingsError(ValueError):
    """A stack configuration value is missing or wrong; the message names the key and what is allowed."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key


class RawConfig(Protocol):
    """The store under a `ConfigSource`: full key -> the value as Pulumi keeps it (a string), or None."""

    def get(self, key: str) -> str | None: ...

    def get_secret(self, key: str) -> pulumi.Output[str] | None: ...


class DictConfig:
    """Configuration from a dict (tests, the offline plan). Non-string values are stored as Pulumi would:
    booleans and numbers as their YAML spelling, lists and maps as JSON."""

    def __init__(self, values: Mapping[str, object]) -> None:
        self._values = {key: _as_config_string(value) for key, value in values.items()}

    def get(self, key: str) -> str | None:
        return self._values.get(key)

    def get_secret(self, key: str) -> pulumi.Output[str] | None:
        import pulumi

        value = self._values.get(key)
        return None if value is None else pulumi.Output.secret(value)


class PulumiConfig:
    """Configuration from the running Pulumi stack: the only code in the program touching pulumi.Config."""

    def get(self, key: str) -> str | None:
        import pulumi

        namespace, name = key.split(":", 1)
        return pulumi.Config(namespace).get(name)

    def get_secret(self, key: str) -> pulumi.Output[str] | None:
        import pulumi

        namespace, name = key.split(":", 1)
        return pulumi.Config(namespace).get_secret(name)


def _as_config_string(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)


_MEMORY = re.compile(r"^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$")
_MEMORY_FACTORS = {
    None: 1,
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "P": 10**15,
    "E": 10**18,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "Pi": 2**50,
    "Ei": 2**60,
}
_CPU = re.compile(r"^(?:(\d+)m|(\d+(?:\.\d{1,3})?))$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


def memory_bytes(quantity: str) -> int:
    """Bytes in a Kubernetes memory quantity such as `4Gi` or `512M`; ValueError when malformed."""
    match = _MEMORY.match(quantity)
    if not match:
        raise ValueError(quantity)
    return int(float(match.group(1)) * _MEMORY_FACTORS[match.group(2)])


def cpu_millis(quantity: str) -> int:
    """Millicores in a Kubernetes CPU quantity such as `500m` or `1.5`; ValueError when malformed."""
    match = _CPU.match(quantity)
    if not match:
        raise ValueError(quantity)
    if match.group(1) is not None:
        return int(match.group(1))
    return round(float(match.group(2)) * 1000)


class ConfigSource:
    """Typed getters over a `RawConfig`. Each returns the default when the key is unset, and raises
    `SettingsError` naming the full key and the allowed values or format when the value is wrong."""

    def __init__(self, raw: RawConfig, project: str = PROJECT) -> None:
        self._raw = raw
        self._project = project

    @classmethod
    def from_dict(cls, values: Mapping[str, object]) -> ConfigSource:
        """Keys are full (`liftoff:gpu`); short keys (`gpu`) are taken to be in the project namespace."""
        full = {key if ":" in key else f"{PROJECT}:{key}": value for key, value in values.items()}
        return cls(DictConfig(full))

    @classmethod
    def from_pulumi(cls) -> ConfigSource:
        return cls(PulumiConfig())

    def key(self, name: str) -> str:
        """The full key for `name`: `gpu` -> `liftoff:gpu`; `aws:region` stays as it is."""
        return name if ":" in name else f"{self._project}:{name}"

    def _get(self, name: str) -> str | None:
        value = self._raw.get(self.key(name))
        return None if value is None or value.strip() == "" else value.strip()

    def string(self, name: str, default: str | None = None, *, pattern: str | None = None) -> str | None:
        """A string; `pattern` (a regex the whole value must match) is named in the error."""
        value = self._get(name)
        if value is None:
            return default
        if pattern is not None and not re.fullmatch(pattern, value):
            raise SettingsError(self.key(name), f"{value!r} must match the pattern {pattern}")
        return value

    def require_string(self, name: str, *, pattern: str | None = None) -> str:
        value = self.string(name, pattern=pattern)
        if value is None:
            raise SettingsError(self.key(name), "is required")
        return value

    def dns_label(self, name: str, default: str) -> str:
        """A Kubernetes name: lower-case letters, digits and '-', at most 63 characters."""
        value = self._get(name) or default
        if not _DNS_LABEL.match(value):
            raise SettingsError(
                self.key(name),
                f"{value!r} is not a DNS label (lower-case letters, digits and '-', 1 to 63 characters, "
                "starting and ending with a letter or digit)",
            )
        return value

    def integer(
        self, name: str, default: int, *, minimum: int | None = None, maximum: int | None = None
    ) -> int:
        raw = self._get(name)
        bounds = _bounds_text(minimum, maximum)
        if raw is None:
            value = default
        else:
            try:
                value = int(raw)
            except ValueError:
                raise SettingsError(
                    self.key(name), f"{raw!r} is not a whole number; allowed: {bounds}"
                ) from None
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            raise SettingsError(self.key(name), f"{value} is out of range; allowed: {bounds}")
        return value

    def number(
        self, name: str, default: float, *, minimum: float | None = None, maximum: float | None = None
    ) -> float:
        raw = self._get(name)
        bounds = _bounds_text(minimum, maximum)
        if raw is None:
            value = default
        else:
            try:
                value = float(raw)
            except ValueError:
                raise SettingsError(self.key(name), f"{raw!r} is not a number; allowed: {bounds}") from None
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            raise SettingsError(self.key(name), f"{value:g} is out of range; allowed: {bounds}")
        return value

    def boolean(self, name: str, default: bool) -> bool:
        raw = self._get(name)
        if raw is None:
            return default
        lowered = raw.lower()
        if lowered in ("true", "yes", "on", "1"):
            return True
        if lowered in ("false", "no", "off", "0"):
            return False
        raise SettingsError(self.key(name), f"{raw!r} is not a boolean; allowed: true, false")

    def choice(self, name: str, allowed: Sequence[str], default: str | None = None) -> str:
        raw = self._get(name)
        if raw is None:
            if default is None:
                raise SettingsError(self.key(name), f"is required; allowed: {', '.join(allowed)}")
            return default
        if raw not in allowed:
            raise SettingsError(self.key(name), f"{raw!r} is not allowed; allowed: {', '.join(allowed)}")
        return raw

    def memory(self, name: str, default: str) -> str:
        """A memory quantity (`512Mi`, `4Gi`, `1G`, a plain number of bytes)."""
        value = self._get(name) or default
        try:
            memory_bytes(value)
        except ValueError:
            raise SettingsError(
                self.key(name),
                f"{value!r} is not a memory size; use a number with Ki, Mi, Gi, Ti (or k, M, G, T)",
            ) from None
        return value

    def cpu(self, name: str, default: str) -> str:
        """A CPU quantity (`500m`, `1`, `1.5`)."""
        value = self._get(name) or default
        try:
            cpu_millis(value)
        except ValueError:
            raise SettingsError(
                self.key(name),
                f"{value!r} is not a CPU amount; use millicores (`500m`) or cores (`1`, `1.5`)",
            ) from None
        return value

    def strings(self, name: str, default: Sequence[str] = ()) -> tuple[str, ...]:
        """A list of strings: a YAML list in the stack file, or one comma-separated string."""
        raw = self._get(name)
        if raw is None:
            return tuple(default)
        if raw.startswith("["):
            try:
                parsed = json.loads(raw)
            except json.JSONDecodeError:
                parsed = None
            if not isinstance(parsed, list) or not all(isinstance(item, str) for item in parsed):
                raise SettingsError(self.key(name), f"{raw!r} is not a list of strings")
            return tuple(item.strip() for item in parsed if item.strip())
        return tuple(item.strip() for item in raw.split(",") if item.strip())

    def mapping(self, name: str, default: Mapping[str, str] | None = None) -> dict[str, str]:
        """A map of strings to strings: a YAML map, or a list of `key=value` strings (Pulumi.yaml can type
        a key as an array of strings, not as a map)."""
        raw = self._get(name)
        if raw is None:
            return dict(default or {})
        try:
            parsed = json.loads(raw)
        except json.JSONDecodeError:
            parsed = None
        if isinstance(parsed, list) and all(isinstance(item, str) and "=" in item for item in parsed):
            parsed = dict(item.split("=", 1) for item in parsed)
        if not isinstance(parsed, dict) or not all(
            isinstance(k, str) and isinstance(v, str | int | bool) for k, v in parsed.items()
        ):
            raise SettingsError(
                self.key(name), f"{raw!r} is not a map of strings to strings (or a list of key=value strings)"
            )
        return {k: _as_config_string(v) for k, v in parsed.items()}

    def cidr(self, name: str, default: str) -> str:
        """An IPv4 or IPv6 network in CIDR notation (`10.0.0.0/16`), with no host bits set."""
        value = self._get(name) or default
        try:
            return str(ipaddress.ip_network(value, strict=True))
        except ValueError:
            raise SettingsError(
                self.key(name),
                f"{value!r} is not a network in CIDR notation (e.g. 10.0.0.0/16, no host bits)",
            ) from None

    def cidrs(self, name: str, default: Sequence[str] = ()) -> tuple[str, ...]:
        values = self.strings(name, default)
        checked = []
        for value in values:
            try:
                checked.append(str(ipaddress.ip_network(value, strict=True)))
            except ValueError:
                raise SettingsError(
                    self.key(name), f"{value!r} is not a network in CIDR notation (e.g. 10.0.0.0/16)"
                ) from None
        return tuple(checked)

    def secret(self, name: str) -> pulumi.Output[str] | None:
        """A secret (`pulumi config set --secret`), as a secret Output; None when unset."""
        return self._raw.get_secret(self.key(name))

    def require_secret(self, name: str) -> pulumi.Output[str]:
        value = self.secret(name)
        if value is None:
            raise SettingsError(self.key(name), "is required (set it with `pulumi config set --secret`)")
        return value


def _bounds_text(minimum: float | None, maximum: float | None) -> str:
    if minimum is not None and maximum is not None:
        return f"{minimum:g} to {maximum:g}"
    if minimum is not None:
        return f"{minimum:g} or more"
    if maximum is not None:
        return f"{maximum:g} or less"
    return "any"
