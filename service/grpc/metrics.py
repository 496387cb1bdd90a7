"""gRPC calls in the same Prometheus series as HTTP requests: `liftoff_requests_total` and
`liftoff_request_duration_seconds` with route `grpc:<Method>`, method `gRPC` and the HTTP status the call's
code stands for, so the dashboard's error ratios, the latency panels and Triton's statistics read one set of
series whichever protocol a client speaks. The counting is done by service/grpc/guard.py, which sees every
call, refused or served; a health Watch stream is counted when it ends, with no latency.
"""

from __future__ import annotations

import grpc

METHOD = "gRPC"
SERVED = frozenset(
    {
        "ServerLive",
        "ServerReady",
        "ServerMetadata",
        "ModelReady",
        "ModelMetadata",
        "ModelInfer",
        "ModelConfig",
        "ModelStatistics",
        "Check",
        "Watch",
    }
)
"""The methods Liftoff serves, each its own route label. Any other name (Triton's methods refused
UNIMPLEMENTED, whatever a client makes up) is `grpc:unmatched`, so a client cannot grow the label set."""
CLIENT_CLOSED = 499  # as service/middleware.py labels an HTTP client that went away
STATUS = {
    grpc.StatusCode.OK: 200,
    grpc.StatusCode.CANCELLED: CLIENT_CLOSED,
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 503,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.UNIMPLEMENTED: 501,
}
"""A gRPC code as the HTTP status the REST route answers for the same outcome; anything else is a 500."""
