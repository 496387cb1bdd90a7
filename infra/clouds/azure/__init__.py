"""The `azure` cloud: AKS with a system pool and an autoscaled GPU pool, ACR, in one resource group.

Like every cloud folder: component.py, settings.py, mocks.py, tags.py; the other files each build one part
of the component (the registry with its push-token exchange, the kubeconfig). Nothing is imported here, so
reading the settings never loads pulumi_azure_native.
"""
