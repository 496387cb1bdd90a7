"""Stack configuration as typed models whose aliases are the Pulumi keys, with errors that name the key.

A settings model is a `StackModel`: each field's alias is its key (`gpu` for `liftoff:gpu`, or a full key of
another namespace such as `gcp:project`), its type and `Field` constraints are the allowed values, its default
is the default (tests/infra/test_pulumi_yaml.py holds Pulumi.yaml's `config:` block to these), and a rule
between fields is a model validator. `Model.load(source)` reads every key the model declares from a
`ConfigSource` (Pulumi's config at deploy time, a dict in tests) and turns any validation failure into one
`SettingsError` that names the full key and the allowed values or format.

A field without an alias is derived (from other keys or from the validation context), never read.
"""

from __future__ import annotations

import ipaddress
import json
import re
import typing
from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Protocol, Self, TypeVar

import annotated_types
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
)
from pydantic.fields import FieldInfo

if TYPE_CHECKING:
    import pulumi

PROJECT = "liftoff"


class SettingsError(ValueError):
    """A stack configuration value is missing or wrong; the message names the key and what is allowed."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key


def full_key(name: str) -> str:
    """`gpu` -> `liftoff:gpu`; a key of another namespace (`gcp:project`) stays as it is."""
    return name if ":" in name else f"{PROJECT}:{name}"


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


class ConfigSource:
    """Raw values by key, as Pulumi keeps them (strings); an empty value counts as unset."""

    def __init__(self, raw: RawConfig) -> None:
        self._raw = raw

    @classmethod
    def from_dict(cls, values: Mapping[str, object]) -> ConfigSource:
        """Keys are full (`liftoff:gpu`); short keys (`gpu`) are taken to be in the project namespace."""
        return cls(DictConfig({full_key(key): value for key, value in values.items()}))

    @classmethod
    def from_pulumi(cls) -> ConfigSource:
        return cls(PulumiConfig())

    def get(self, name: str) -> str | None:
        value = self._raw.get(full_key(name))
        return None if value is None or value.strip() == "" else value.strip()

    def secret(self, name: str) -> pulumi.Output[str] | None:
        """A secret (`pulumi config set --secret`), as a secret Output; None when unset."""
        return self._raw.get_secret(full_key(name))


class StackModel(BaseModel):
    """A frozen group of settings read from stack keys (the fields' aliases)."""

    model_config = ConfigDict(frozen=True, extra="ignore", arbitrary_types_allowed=True)
    nested: ClassVar[tuple[str, ...]] = ()
    """Fields holding another StackModel read from the same keys (the before-validator hands them the lot)."""

    @classmethod
    def declared_keys(cls) -> dict[str, FieldInfo]:
        """Every key this model reads, its own and its nested models', with the field that declares it."""
        found: dict[str, FieldInfo] = {}
        for name, info in cls.model_fields.items():
            if name in cls.nested:
                nested = _model_class(info)
                found |= nested.declared_keys()
            elif info.alias is not None:
                found[info.alias] = info
        return found

    @classmethod
    def raw_values(cls, source: ConfigSource) -> dict[str, str]:
        return {key: value for key in cls.declared_keys() if (value := source.get(key)) is not None}

    @classmethod
    def load(cls, source: ConfigSource, *, context: Mapping[str, object] | None = None) -> Self:
        raw = cls.raw_values(source)
        try:
            return cls.model_validate(raw, context=dict(context or {}))
        except ValidationError as failed:
            raise settings_error(failed, raw, cls.declared_keys()) from None


_Model = TypeVar("_Model", bound=StackModel)


def _model_class(info: FieldInfo) -> type[StackModel]:
    annotation = info.annotation
    if isinstance(annotation, type) and issubclass(annotation, StackModel):
        return annotation
    raise TypeError(f"a nested settings field must hold a StackModel, not {annotation!r}")


def settings_error(
    failed: ValidationError, raw: Mapping[str, str], fields: Mapping[str, FieldInfo]
) -> SettingsError:
    """The first failure, as a SettingsError naming its key and what is allowed."""
    error = failed.errors()[0]
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, SettingsError):
        return cause
    keys = [part for part in error["loc"] if isinstance(part, str) and part in fields]
    key = keys[-1] if keys else str(error["loc"][-1]) if error["loc"] else "?"
    info = fields.get(key)
    value = raw.get(key, error.get("input"))
    kind = error["type"]
    bounds = _bounds_text(info)
    if kind == "missing":
        choices = _choices(info)
        return SettingsError(full_key(key), "is required" + (f"; allowed: {choices}" if choices else ""))
    if kind in ("int_parsing", "int_from_float", "int_type"):
        return SettingsError(full_key(key), f"{value!r} is not a whole number; allowed: {bounds}")
    if kind in ("float_parsing", "float_type"):
        return SettingsError(full_key(key), f"{value!r} is not a number; allowed: {bounds}")
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        return SettingsError(full_key(key), f"{error['input']} is out of range; allowed: {bounds}")
    if kind in ("bool_parsing", "bool_type"):
        return SettingsError(full_key(key), f"{value!r} is not a boolean; allowed: true, false")
    if kind == "literal_error":
        return SettingsError(full_key(key), f"{value!r} is not allowed; allowed: {_choices(info)}")
    if kind == "string_pattern_mismatch":
        pattern = (error.get("ctx") or {}).get("pattern")
        return SettingsError(full_key(key), f"{value!r} must match the pattern {pattern}")
    if kind == "value_error" and cause is not None:
        return SettingsError(full_key(key), str(cause))
    return SettingsError(full_key(key), f"{value!r} is not valid ({error['msg']})")


def _choices(info: FieldInfo | None) -> str:
    annotation = info.annotation if info is not None else None
    args = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
    if typing.get_origin(annotation) is typing.Literal:
        return ", ".join(map(str, args))
    literals = [a for arg in args if typing.get_origin(arg) is typing.Literal for a in typing.get_args(arg)]
    return ", ".join(map(str, literals))


def bounds(info: FieldInfo | None) -> tuple[float | None, float | None]:
    """A field's `ge`/`le` constraints."""
    low = high = None
    for item in info.metadata if info is not None else ():
        if isinstance(item, annotated_types.Ge):
            low = item.ge
        if isinstance(item, annotated_types.Le):
            high = item.le
    return low, high  # type: ignore[return-value]


def _bounds_text(info: FieldInfo | None) -> str:
    minimum, maximum = bounds(info)
    if minimum is not None and maximum is not None:
        return f"{minimum:g} to {maximum:g}"
    if minimum is not None:
        return f"{minimum:g} or more"
    if maximum is not None:
        return f"{maximum:g} or less"
    return "any"


# --- value types shared by the settings models: each parses Pulumi's string and says what it wants ---

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


def _memory(value: str) -> str:
    try:
        memory_bytes(value)
    except ValueError:
        raise ValueError(
            f"{value!r} is not a memory size; use a number with Ki, Mi, Gi, Ti (or k, M, G, T)"
        ) from None
    return value


def _cpu(value: str) -> str:
    try:
        cpu_millis(value)
    except ValueError:
        raise ValueError(
            f"{value!r} is not a CPU amount; use millicores (`500m`) or cores (`1`, `1.5`)"
        ) from None
    return value


def _dns_label(value: str) -> str:
    if not _DNS_LABEL.match(value):
        raise ValueError(
            f"{value!r} is not a DNS label (lower-case letters, digits and '-', 1 to 63 characters, "
            "starting and ending with a letter or digit)"
        )
    return value


def _cidr(value: str) -> str:
    try:
        return str(ipaddress.ip_network(value, strict=True))
    except ValueError:
        raise ValueError(
            f"{value!r} is not a network in CIDR notation (e.g. 10.0.0.0/16, no host bits)"
        ) from None


def _strings(value: object) -> object:
    """A YAML list in the stack file (JSON as Pulumi hands it over), or one comma-separated string."""
    if not isinstance(value, str):
        return value
    if value.startswith("["):
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            parsed = None
        if not isinstance(parsed, list) or not all(isinstance(item, str) for item in parsed):
            raise ValueError(f"{value!r} is not a list of strings")
        return tuple(item.strip() for item in parsed if item.strip())
    return tuple(item.strip() for item in value.split(",") if item.strip())


def _cidrs(values: tuple[str, ...]) -> tuple[str, ...]:
    checked = []
    for value in values:
        try:
            checked.append(str(ipaddress.ip_network(value, strict=True)))
        except ValueError:
            raise ValueError(f"{value!r} is not a network in CIDR notation (e.g. 10.0.0.0/16)") from None
    return tuple(checked)


def _mapping(value: object) -> object:
    """A YAML map, or a list of `key=value` strings (Pulumi.yaml can type a key as an array of strings, not as
    a map)."""
    if not isinstance(value, str):
        return value
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError:
        parsed = None
    if isinstance(parsed, list) and all(isinstance(item, str) and "=" in item for item in parsed):
        parsed = dict(item.split("=", 1) for item in parsed)
    if not isinstance(parsed, dict) or not all(
        isinstance(k, str) and isinstance(v, str | int | bool) for k, v in parsed.items()
    ):
        raise ValueError(f"{value!r} is not a map of strings to strings (or a list of key=value strings)")
    return {k: _as_config_string(v) for k, v in parsed.items()}


Memory = Annotated[str, AfterValidator(_memory)]
Cpu = Annotated[str, AfterValidator(_cpu)]
DnsLabel = Annotated[str, AfterValidator(_dns_label)]
Cidr = Annotated[str, AfterValidator(_cidr)]
Strings = Annotated[tuple[str, ...], BeforeValidator(_strings)]
Cidrs = Annotated[tuple[str, ...], BeforeValidator(_strings), AfterValidator(_cidrs)]
StringMap = Annotated[dict[str, str], BeforeValidator(_mapping)]


class CloudContext(StackModel):
    """Core keys a cloud's rules read, declared once: the core settings extend this, and `load_cloud` hands
    the validated values to the cloud's validators as their validation context."""

    gpu: int = Field(0, ge=0, le=16, alias="gpu")
    """GPUs per inference pod; 0 runs on CPU nodes."""
    allow_extended_support: bool = Field(False, alias="allowExtendedSupport")
    """Accept a cluster minor past its end of standard support (EKS bills extended support per hour)."""

    def context(self, today: date | None = None) -> dict[str, object]:
        return {
            "pod_gpus": self.gpu,
            "allow_extended_support": self.allow_extended_support,
            "today": today or date.today(),
        }


def pod_gpus(context: Any) -> int:
    """GPUs per pod, from the validation context of a cloud's settings (0 when validated on their own)."""
    return int((context or {}).get("pod_gpus", 0))


def allow_extended_support(context: Any) -> bool:
    return bool((context or {}).get("allow_extended_support", False))


def today(context: Any) -> date:
    """The day the settings are judged on (tests fix it; the program uses the real one)."""
    value = (context or {}).get("today")
    return value if isinstance(value, date) else date.today()


def load_cloud(model: type[_Model], source: ConfigSource, today: date | None = None) -> _Model:
    """One cloud's settings, with the core keys they depend on (validated first) as validation context."""
    return model.load(source, context=CloudContext.load(source).context(today))


class GpuFloor(typing.NamedTuple):
    """The GPU nodes a cloud's pool keeps with no pod asking, and the key that sets them: a stack that
    scales to zero (liftoff:minReplicas 0) must let this reach 0, or a GPU node runs while idle."""

    key: str
    nodes: int
