"""HTTP routes: Open Inference Protocol v2, a plain JSON /predict, health and metrics."""
