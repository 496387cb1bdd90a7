"""The Kubernetes layer every cloud shares: add-ons (Helm releases) and the inference service."""
