"""Cluster add-ons: the pinned Helm releases every stack installs beside the inference service."""

from infra.addons.component import INGRESS_CLASS, Addons, AddonsArgs

__all__ = ["INGRESS_CLASS", "Addons", "AddonsArgs"]
