"""Liftoff's inference server: `python -m service` serves one TorchScript model over HTTP."""
