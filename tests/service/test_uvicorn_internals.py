"""The uvicorn internals the connection guard (service/connections.py) and the drain (service/drain.py)
build on, each by name: an upgrade that renames or drops one fails here, saying which and where it is used,
rather than in a hostile client's hands. uvicorn is pinned exactly for the same reason."""

from __future__ import annotations

import inspect
import re
import tomllib
from pathlib import Path

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

REPO = Path(__file__).parents[2]

PROTOCOL_METHODS = {
    "connection_made": "GuardedProtocol wraps the transport to send each turn's writes as one",
    "connection_lost": "the guard forgets the connection",
    "data_received": "the head counted across reads",
    "on_message_begin": "a request's head count starts",
    "on_url": "the request line counted in the head",
    "on_header": "each header counted (size, number)",
    "on_headers_complete": "the body phase starts; a draining connection answers with Connection: close",
    "on_message_complete": "the busy phase starts",
    "on_response_complete": "the idle phase starts",
    "send_400_response": "a head refused from a parser callback answers 431 here",
    "pause_writing": "the send timeout starts",
    "resume_writing": "the send timeout ends",
    "shutdown": "a connection whose request is not in yet is answered, not closed",
}
PROTOCOL_ATTRIBUTES = {
    "cycle": "the request being answered (evictable, refuse)",
    "pipeline": "requests queued behind it (evictable, idle phase)",
    "scope": "the body-timeout flag for the app",
    "app": "swapped for the at-capacity answer",
    "loop": "deadlines",
    "transport": "replaced by the single-write transport",
}
CYCLE_ATTRIBUTES = {
    "keep_alive": "Connection: close while draining",
    "response_complete": "whether a connection waits on its client",
    "response_started": "whether a refusal may still answer",
    "disconnected": "the app's receive() says http.disconnect after a refusal",
    "message_event": "set to wake the app's receive() after a refusal",
}
SERVER_ATTRIBUTES = {
    "servers": "drain.py: the listening sockets taken before uvicorn closes them",
    "server_state": "drain.py: protocols built for connections accepted at SIGTERM",
    "lifespan": "drain.py: the app state those protocols get",
    "config": "drain.py: config.http_protocol_class",
}


def _assigned(cls: type, name: str) -> bool:
    return re.search(rf"self\.{name}\b\s*(:[^=]*)?=", inspect.getsource(cls)) is not None


def test_uvicorn_is_pinned_exactly_to_the_version_these_names_were_checked_against() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    pins = [dep for dep in project if dep.startswith("uvicorn")]
    locked = re.search(r"^uvicorn==(\S+)$", (REPO / "requirements/constraints.txt").read_text(), re.M)
    assert pins and pins[0].startswith("uvicorn=="), "pyproject.toml must pin uvicorn exactly (uvicorn==X)"
    assert locked is not None and pins[0] == f"uvicorn=={locked.group(1)}", (
        f"pyproject.toml's {pins[0]} and requirements/constraints.txt's uvicorn differ"
    )
    assert uvicorn.__version__ == locked.group(1), (
        f"uvicorn {uvicorn.__version__} is installed, {locked.group(1)} is pinned: service/connections.py "
        "and service/drain.py use uvicorn internals; check each name in this file against the new version, "
        "then move the pin"
    )


def test_each_protocol_method_the_guard_overrides_exists() -> None:
    missing = {
        name: why
        for name, why in PROTOCOL_METHODS.items()
        if not callable(getattr(HttpToolsProtocol, name, None))
    }
    assert not missing, (
        f"uvicorn's HttpToolsProtocol no longer has {missing}: service/connections.py needs them"
    )


def test_each_protocol_attribute_the_guard_reads_is_still_set_by_uvicorn() -> None:
    missing = {
        name: why for name, why in PROTOCOL_ATTRIBUTES.items() if not _assigned(HttpToolsProtocol, name)
    }
    assert not missing, (
        f"uvicorn's HttpToolsProtocol no longer sets {missing}: service/connections.py reads them"
    )


def test_each_request_cycle_attribute_the_guard_reads_is_still_set_by_uvicorn() -> None:
    missing = {
        name: why for name, why in CYCLE_ATTRIBUTES.items() if not _assigned(RequestResponseCycle, name)
    }
    assert not missing, (
        f"uvicorn's RequestResponseCycle no longer sets {missing}: service/connections.py uses them"
    )


def test_each_server_attribute_the_drain_reads_is_still_set_by_uvicorn() -> None:
    missing = {name: why for name, why in SERVER_ATTRIBUTES.items() if not _assigned(uvicorn.Server, name)}
    assert not missing, f"uvicorn.Server no longer sets {missing}"
    assert "sockets" in inspect.signature(uvicorn.Server.shutdown).parameters, (
        "uvicorn.Server.shutdown(sockets) changed: service/drain.py overrides it"
    )
    assert _assigned(uvicorn.Config, "http_protocol_class"), "uvicorn.Config.http_protocol_class is gone"
