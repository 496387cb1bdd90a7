"""The inference workload every cloud shares: the Deployment, its autoscaling, Ingress and dashboard."""
