"""The Open Inference Protocol v2 over gRPC: the .proto, its compiled stubs.

Importing this package imports no grpc: the route labels below are read by code that serves HTTP only."""

ROUTE_PREFIX = "grpc:"
"""A gRPC method's `route` label in the HTTP request metrics: `grpc:ModelInfer`."""
INFER_ROUTE = ROUTE_PREFIX + "ModelInfer"
