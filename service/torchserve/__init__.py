"""TorchServe's model archives, handlers and inference API, served by Liftoff.

`archive.py` turns a `.mar` into a Liftoff model directory; `handler.py` runs the archive's handler unchanged
behind Liftoff's batcher, with the `context` and request shapes TorchServe documents (`context.py`);
service/api/torchserve.py answers TorchServe's `/predictions` and `/ping`. Nothing here is named `ts`: a
handler that imports TorchServe's own base classes needs the real `torchserve` package, which the importer
adds to the model's requirements.
"""
