"""Loading the served model: TorchScript file, its JSON metadata, the device and dtype it runs in."""
