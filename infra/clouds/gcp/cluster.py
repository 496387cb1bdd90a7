"""The GKE control plane: VPC-native, private nodes, Workload Identity, Dataplane V2, on a release channel.

The default node pool is created (GKE requires one) and removed at once: the pools in node_pools.py
replace it, so their settings can change without recreating the cluster.
"""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from infra.clouds.children import Children
from infra.clouds.gcp.network import PODS_RANGE, SERVICES_RANGE, Network
from infra.clouds.gcp.settings import GcpSettings

C = gcp.container


def create_cluster(
    name: str,
    settings: GcpSettings,
    *,
    network: Network,
    children: Children,
    depends_on: list[pulumi.Resource],
    node_account_email: pulumi.Input[str],
) -> C.Cluster:
    return C.Cluster(
        f"{name}-gke",
        project=settings.project,
        location=settings.location,
        description="Liftoff: GPU inference",
        network=network.network.id,
        subnetwork=network.subnetwork.id,
        networking_mode="VPC_NATIVE",
        ip_allocation_policy=C.ClusterIpAllocationPolicyArgs(
            cluster_secondary_range_name=PODS_RANGE, services_secondary_range_name=SERVICES_RANGE
        ),
        remove_default_node_pool=True,
        initial_node_count=1,
        # The temporary default pool runs as the stack's node account too, never the Compute Engine default
        # account (Editor on the project) for the minutes it exists.
        node_config=C.ClusterNodeConfigArgs(
            service_account=node_account_email,
            oauth_scopes=["https://www.googleapis.com/auth/cloud-platform"],
        ),
        release_channel=C.ClusterReleaseChannelArgs(channel=settings.release_channel),
        min_master_version=settings.kubernetes_version,
        workload_identity_config=C.ClusterWorkloadIdentityConfigArgs(
            workload_pool=f"{settings.project}.svc.id.goog"
        ),
        # The DNS-based endpoint: reachable from any network (CI runners included), and IAM checks every
        # request's Google token (container.clusters.connect) before Kubernetes RBAC; only IAM tokens, no
        # Kubernetes service-account tokens or client certificates, are accepted on it. The kubeconfig uses it
        # when on (liftoff:gcpDnsEndpoint); the IP endpoint below stays behind the authorised networks.
        control_plane_endpoints_config=C.ClusterControlPlaneEndpointsConfigArgs(
            dns_endpoint_config=C.ClusterControlPlaneEndpointsConfigDnsEndpointConfigArgs(
                allow_external_traffic=settings.dns_endpoint
            )
        ),
        # Nodes get internal addresses only. No master_ipv4_cidr_block: GKE then reaches the nodes through
        # Private Service Connect, with no /28 to plan and no VPC peering. The public endpoint stays on,
        # limited to the authorised networks (none: no one), for kubectl by IP when the DNS endpoint is off.
        private_cluster_config=C.ClusterPrivateClusterConfigArgs(
            enable_private_nodes=True, enable_private_endpoint=False
        ),
        master_authorized_networks_config=C.ClusterMasterAuthorizedNetworksConfigArgs(
            cidr_blocks=[
                C.ClusterMasterAuthorizedNetworksConfigCidrBlockArgs(
                    cidr_block=cidr, display_name=f"allowed-{i}"
                )
                for i, cidr in enumerate(settings.master_authorized_networks)
            ],
            gcp_public_cidrs_access_enabled=False,
        ),
        # Dataplane V2 (eBPF): enforces NetworkPolicy itself; the legacy Calico add-on must stay off with it.
        datapath_provider="ADVANCED_DATAPATH",
        enable_shielded_nodes=True,
        enable_legacy_abac=False,
        master_auth=C.ClusterMasterAuthArgs(
            client_certificate_config=C.ClusterMasterAuthClientCertificateConfigArgs(
                issue_client_certificate=False
            )
        ),
        addons_config=C.ClusterAddonsConfigArgs(
            http_load_balancing=C.ClusterAddonsConfigHttpLoadBalancingArgs(disabled=False),
            horizontal_pod_autoscaling=C.ClusterAddonsConfigHorizontalPodAutoscalingArgs(disabled=False),
        ),
        # Cloud Logging and Managed Prometheus bill per GiB and per sample: workloads' logs and GPU metrics
        # only when the stack asks (gcpWorkloadLogs, gcpManagedGpuMetrics).
        logging_config=C.ClusterLoggingConfigArgs(
            enable_components=["SYSTEM_COMPONENTS", *(["WORKLOADS"] if settings.workload_logs else [])]
        ),
        # GPU metrics from GKE's own DCGM collection (managed Prometheus): on COS nodes the driver lives
        # where only GKE's tooling looks, so a self-installed DCGM exporter would find no GPU.
        monitoring_config=C.ClusterMonitoringConfigArgs(
            enable_components=["SYSTEM_COMPONENTS", *(["DCGM"] if settings.managed_gpu_metrics else [])],
            managed_prometheus=C.ClusterMonitoringConfigManagedPrometheusArgs(
                enabled=settings.managed_gpu_metrics
            ),
        ),
        resource_labels=dict(children.tags),
        # The provider's default is true, which makes `pulumi destroy` fail; the stack turns it on by choice.
        deletion_protection=settings.deletion_protection,
        opts=children.opts(depends_on=depends_on),
    )
