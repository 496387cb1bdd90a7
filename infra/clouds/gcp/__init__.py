"""The `gcp` cloud: GKE with a system pool and an autoscaled GPU pool, and Artifact Registry.

Like every cloud folder: component.py, settings.py, mocks.py, tags.py (GCP calls them labels); the other
files each build one part of the component. Nothing is imported here, so reading the settings never loads
pulumi_gcp.
"""
