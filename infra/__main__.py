"""The Liftoff program, the same for every stack: settings -> platform -> image -> add-ons -> service."""

import sys
from datetime import date
from pathlib import Path

# `main: infra/` runs this file as a script from infra/; the package lives one level up.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pulumi

from infra.addons import INGRESS_CLASS, Addons, AddonsArgs
from infra.clouds import create_platform
from infra.costs import program as costs
from infra.image import inference_image
from infra.settings import load_settings
from infra.weights import describe_size
from infra.workload.inference_service import InferenceService, InferenceServiceArgs
from infra.workload.scale_to_zero import keda_http_values

# Sees every resource as it is constructed, so the cost report prices what this run actually creates.
cost_recorder = costs.start()
settings = load_settings()
# Versions go out of support on a calendar: say so at every preview and `make plan`, before it bites.
for warning in settings.cloud_settings.version_warnings(date.today()):
    pulumi.log.warn(warning)
platform = create_platform(settings)
image = inference_image(settings, platform)
addons = Addons(
    "addons",
    AddonsArgs(
        platform,
        settings.monitoring,
        settings.metrics_server,
        settings.grafana_admin_password,
        https_redirect=settings.edge.tls,
        cert_manager=settings.edge.tls_email is not None,
        keda_http_values=keda_http_values(settings) if settings.scales_to_zero else None,
    ),
)
service = InferenceService(
    "inference",
    InferenceServiceArgs(
        settings=settings,
        platform=platform,
        image=image.ref,
        ingress_namespace=addons.ingress_namespace,
        ingress_class=INGRESS_CLASS,
        ingress_address=addons.ingress_address,
        monitoring_namespace=addons.monitoring_namespace,
        prometheus_url=addons.prometheus_url,
        depends_on=addons.custom_resource_owners,
    ),
)

pulumi.export("url", service.url)
if service.api_key is not None:
    pulumi.export("apiKey", service.api_key)
pulumi.export("registry", platform.registry.url if platform.registry else "")
pulumi.export("imageDigest", image.digest)
pulumi.export("image", image.ref)
pulumi.export("kubeconfig", pulumi.Output.secret(platform.kubeconfig))
pulumi.export("clusterName", platform.cluster_name)
if platform.weights is not None:
    # The plan prints these: where the pods fetch the weights from, and how much they fetch.
    pulumi.export("weights", platform.weights.uri)
    pulumi.export("weightsSize", describe_size(platform.weights.total_bytes))
if addons.grafana_admin_password is not None:
    pulumi.export("grafanaAdminPassword", addons.grafana_admin_password)
costs.finish(
    cost_recorder, Path(__file__).resolve().parents[1] / settings.model_dir if settings.model_dir else None
)
