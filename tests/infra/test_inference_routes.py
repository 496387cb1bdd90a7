"""The autoscaler's and dashboard's idea of an inference route is the server's route table's fast rows."""

from __future__ import annotations

import re

from infra.workload.autoscaling import INFERENCE_ROUTES
from service.api.routes import ROUTES


def test_inference_routes_regex_names_every_fast_route_of_the_table() -> None:
    assert set(INFERENCE_ROUTES.split("|")) == {route.path for route in ROUTES if route.fast}


def test_inference_routes_regex_matches_no_metadata_route() -> None:
    # Prometheus anchors =~ at both ends; the braces of {name} are literal in RE2 and in Python's re alike.
    pattern = re.compile(f"^(?:{INFERENCE_ROUTES})$")
    assert pattern.match("/v1/models/{name}:predict") and pattern.match("/v2/models/{name}/infer")
    for path in ("/v2/models/{name}", "/v2/models/{name}/stats", "/v1/models/{name}", "/metrics"):
        assert not pattern.match(path)
