"""The `local` cloud: an existing cluster from the kubeconfig (kind, minikube, k3d, Docker Desktop).

Like every cloud folder: component.py, settings.py, mocks.py; no tags.py, as it creates no cloud resources.
"""
