"""The Open Inference Protocol v2 over gRPC (issue 19): the .proto, its compiled stubs."""
