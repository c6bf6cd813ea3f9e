"""core/v1 kinds other than Pod: Namespace, Node, Service, Endpoints, ConfigMap, Secret, ServiceAccount,
Event and Binding."""

from __future__ import annotations

from distro.apiserver.schema.dsl import (
    BOOL,
    BYTES,
    I32,
    I64,
    IOS,
    META,
    MICRO_T,
    RESOURCES,
    STR,
    STRMAP,
    TIME_T,
    UID,
    Component,
    arr,
    f,
    kind,
    mapof,
    named,
    obj,
    opt,
    ref,
    single,
    sub,
)
from distro.apiserver.schema.pod import CONDITION_STATUS, PROTOCOL, PROTOCOLS, TAINT_EFFECTS

C = "io.k8s.api.core.v1."
_REASON = "A CamelCase reason for the last transition."
_MESSAGE = "A human-readable explanation of the last transition."

NAMESPACE = [
    *kind(
        C + "Namespace",
        "A scope for names: most objects live in exactly one namespace.",
        "",
        "v1",
        spec=sub(C + "NamespaceSpec", "The desired state of the namespace."),
        status=sub(C + "NamespaceStatus", "The observed state of the namespace. Read-only."),
    ),
    obj(
        C + "NamespaceSpec",
        "The desired state of a namespace.",
        finalizers=f(
            named(arr(STR), "[]v1.FinalizerName"),
            "Finalizers that must be removed before the namespace is deleted from storage.",
        ),
    ),
    obj(
        C + "NamespaceStatus",
        "The observed state of a namespace.",
        phase=f(
            named(STR, "v1.NamespacePhase"),
            "Active, or Terminating while its contents are deleted.",
            enum=("Active", "Terminating"),
        ),
        conditions=f(arr(ref(C + "NamespaceCondition")), "The namespace's conditions.", merge="type"),
    ),
    obj(
        C + "NamespaceCondition",
        "One condition of a namespace.",
        type=f(named(STR, "v1.NamespaceConditionType"), "The condition type.", required=True),
        status=f(CONDITION_STATUS, "True, False or Unknown.", required=True),
        lastTransitionTime=f(TIME_T, "When the status last changed."),
        reason=f(STR, _REASON),
        message=f(STR, _MESSAGE),
    ),
]

NODE = [
    *kind(
        C + "Node",
        "A worker machine that runs pods.",
        "",
        "v1",
        spec=sub(C + "NodeSpec", "How the node is configured."),
        status=sub(C + "NodeStatus", "The most recently observed state of the node. Read-only."),
    ),
    obj(
        C + "NodeSpec",
        "How a node is configured.",
        podCIDR=f(STR, "The pod IP range assigned to the node."),
        podCIDRs=f(
            arr(STR),
            "The pod IP ranges assigned to the node, one per address family.",
            list_type="set",
            strategy="merge",
        ),
        providerID=f(STR, "The node's ID from the cloud provider, as <provider>://<id>."),
        unschedulable=f(BOOL, "Keep new pods off the node; set by kubectl cordon."),
        taints=f(arr(ref(C + "Taint")), "Taints that repel pods which do not tolerate them."),
        configSource=opt(C + "NodeConfigSource", "Deprecated: dynamic kubelet configuration."),
        externalID=f(STR, "Deprecated and unused."),
    ),
    obj(
        C + "Taint",
        "Marks a node so that pods without a matching toleration are repelled.",
        key=f(STR, "The taint key.", required=True),
        value=f(STR, "The taint value."),
        effect=f(
            named(STR, "v1.TaintEffect"),
            "NoSchedule, PreferNoSchedule or NoExecute.",
            required=True,
            enum=TAINT_EFFECTS,
        ),
        timeAdded=f(TIME_T, "When a NoExecute taint was added."),
    ),
    obj(
        C + "NodeConfigSource",
        "Deprecated: where dynamic kubelet configuration comes from.",
        configMap=opt(C + "ConfigMapNodeConfigSource", "A ConfigMap holding the configuration."),
    ),
    obj(
        C + "ConfigMapNodeConfigSource",
        "Deprecated: a ConfigMap with kubelet configuration.",
        namespace=f(STR, "Namespace of the ConfigMap.", required=True),
        name=f(STR, "Name of the ConfigMap.", required=True),
        uid=f(UID, "UID of the ConfigMap."),
        resourceVersion=f(STR, "resourceVersion of the ConfigMap."),
        kubeletConfigKey=f(STR, "The key holding the configuration.", required=True),
    ),
    obj(
        C + "NodeStatus",
        "The observed state of a node.",
        capacity=f(RESOURCES, "Total resources of the node."),
        allocatable=f(RESOURCES, "Resources available to pods: capacity minus system reservations."),
        phase=f(
            named(STR, "v1.NodePhase"),
            "Deprecated: Pending, Running or Terminated.",
            enum=("Pending", "Running", "Terminated"),
        ),
        conditions=f(arr(ref(C + "NodeCondition")), "The node's conditions, such as Ready.", merge="type"),
        addresses=f(arr(ref(C + "NodeAddress")), "Addresses the node is reachable at.", merge="type"),
        daemonEndpoints=sub(C + "NodeDaemonEndpoints", "Ports of daemons running on the node."),
        nodeInfo=sub(C + "NodeSystemInfo", "Identity and versions of the node's software."),
        images=f(arr(ref(C + "ContainerImage")), "Images present on the node."),
        volumesInUse=f(named(arr(STR), "[]v1.UniqueVolumeName"), "Volumes attached and mounted on the node."),
        volumesAttached=f(arr(ref(C + "AttachedVolume")), "Volumes attached to the node."),
        config=opt(C + "NodeConfigStatus", "Deprecated: dynamic kubelet configuration status."),
        runtimeHandlers=f(arr(ref(C + "NodeRuntimeHandler")), "Runtime handlers the node offers."),
        features=opt(C + "NodeFeatures", "Optional features the node supports."),
    ),
    obj(
        C + "NodeCondition",
        "One condition of a node.",
        type=f(
            named(STR, "v1.NodeConditionType"),
            "The condition type, such as Ready or MemoryPressure.",
            required=True,
        ),
        status=f(CONDITION_STATUS, "True, False or Unknown.", required=True),
        lastHeartbeatTime=f(TIME_T, "When the condition was last reported."),
        lastTransitionTime=f(TIME_T, "When the status last changed."),
        reason=f(STR, _REASON),
        message=f(STR, _MESSAGE),
    ),
    obj(
        C + "NodeAddress",
        "One address of a node.",
        type=f(
            named(STR, "v1.NodeAddressType"),
            "Hostname, InternalIP, ExternalIP, InternalDNS or ExternalDNS.",
            required=True,
        ),
        address=f(STR, "The address.", required=True),
    ),
    obj(
        C + "NodeDaemonEndpoints",
        "Ports of daemons running on a node.",
        kubeletEndpoint=sub(C + "DaemonEndpoint", "Where the kubelet listens."),
    ),
    obj(C + "DaemonEndpoint", "A daemon's port.", Port=f(I32, "Port number.", required=True)),
    obj(
        C + "NodeSystemInfo",
        "Identity and software versions of a node.",
        machineID=f(STR, "The machine ID from /etc/machine-id.", required=True),
        systemUUID=f(STR, "The system UUID reported by the hardware.", required=True),
        bootID=f(STR, "ID of the current boot.", required=True),
        kernelVersion=f(STR, "Kernel version from uname -r.", required=True),
        osImage=f(STR, "Operating system name from /etc/os-release.", required=True),
        containerRuntimeVersion=f(STR, "Container runtime as <name>://<version>.", required=True),
        kubeletVersion=f(STR, "Kubelet version.", required=True),
        kubeProxyVersion=f(STR, "Deprecated: kube-proxy version; not reliable.", required=True),
        operatingSystem=f(STR, "The OS the kubelet reports, such as linux.", required=True),
        architecture=f(STR, "The CPU architecture the kubelet reports, such as amd64.", required=True),
    ),
    obj(
        C + "ContainerImage",
        "An image present on a node.",
        names=f(arr(STR), "Names and digests the image is known by."),
        sizeBytes=f(I64, "Size of the image in bytes."),
    ),
    obj(
        C + "AttachedVolume",
        "A volume attached to a node.",
        name=f(named(STR, "v1.UniqueVolumeName"), "Unique name of the volume.", required=True),
        devicePath=f(STR, "Where the device is available on the node.", required=True),
    ),
    obj(
        C + "NodeConfigStatus",
        "Deprecated: status of dynamic kubelet configuration.",
        assigned=opt(C + "NodeConfigSource", "The configuration the node should use."),
        active=opt(C + "NodeConfigSource", "The configuration the node uses."),
        lastKnownGood=opt(C + "NodeConfigSource", "The fallback configuration."),
        error=f(STR, "Problems applying the configuration."),
    ),
    obj(
        C + "NodeRuntimeHandler",
        "A runtime handler offered by a node.",
        name=f(STR, "Handler name; empty for the default handler.", default=""),
        features=opt(C + "NodeRuntimeHandlerFeatures", "Features the handler supports."),
    ),
    obj(
        C + "NodeRuntimeHandlerFeatures",
        "Features of a runtime handler.",
        recursiveReadOnlyMounts=f(BOOL, "Supports recursive read-only mounts."),
        userNamespaces=f(BOOL, "Supports user namespaces for pods."),
    ),
    obj(
        C + "NodeFeatures",
        "Optional features a node supports.",
        supplementalGroupsPolicy=f(BOOL, "Supports the pod supplementalGroupsPolicy field."),
    ),
]

SERVICE = [
    *kind(
        C + "Service",
        "A stable virtual address and DNS name that load-balances to a set of pods.",
        "",
        "v1",
        spec=sub(C + "ServiceSpec", "The desired behavior of the service."),
        status=sub(C + "ServiceStatus", "The most recently observed state of the service. Read-only."),
    ),
    obj(
        C + "ServiceSpec",
        "The desired behavior of a service.",
        ports=f(
            arr(ref(C + "ServicePort")),
            "The ports the service exposes.",
            merge="port",
            keys=("port", "protocol"),
        ),
        selector=f(
            STRMAP,
            "Pods with these labels receive the traffic; without a selector endpoints are "
            "managed externally.",
            map_type="atomic",
        ),
        clusterIP=f(
            STR,
            "The virtual IP, allocated at random when empty; None makes a headless service. "
            "Cannot be changed.",
        ),
        clusterIPs=f(arr(STR), "The virtual IPs, one per address family; the first equals clusterIP."),
        type=f(
            named(STR, "v1.ServiceType"),
            "ClusterIP, NodePort, LoadBalancer or ExternalName. Defaults to ClusterIP.",
            enum=("ClusterIP", "ExternalName", "LoadBalancer", "NodePort"),
        ),
        externalIPs=f(arr(STR), "Extra IPs on which nodes also accept traffic for the service."),
        sessionAffinity=f(
            named(STR, "v1.ServiceAffinity"),
            "ClientIP keeps a client on one endpoint; None does not. Defaults to None.",
            enum=("ClientIP", "None"),
        ),
        loadBalancerIP=f(STR, "Deprecated: a requested load balancer IP."),
        loadBalancerSourceRanges=f(arr(STR), "Client CIDRs allowed through the load balancer."),
        externalName=f(STR, "The DNS name an ExternalName service aliases."),
        externalTrafficPolicy=f(
            named(STR, "v1.ServiceExternalTrafficPolicy"),
            "Cluster or Local routing for traffic from outside the cluster.",
            enum=("Cluster", "Local"),
        ),
        healthCheckNodePort=f(I32, "The node port for load balancer health checks with the Local policy."),
        publishNotReadyAddresses=f(BOOL, "Publish endpoints of pods that are not ready."),
        sessionAffinityConfig=opt(C + "SessionAffinityConfig", "Session affinity settings."),
        ipFamilies=f(named(arr(STR), "[]v1.IPFamily"), "Address families of the service: IPv4 and/or IPv6."),
        ipFamilyPolicy=f(
            named(STR, "v1.IPFamilyPolicy"),
            "SingleStack, PreferDualStack or RequireDualStack.",
            enum=("PreferDualStack", "RequireDualStack", "SingleStack"),
        ),
        allocateLoadBalancerNodePorts=f(
            BOOL, "Allocate node ports for LoadBalancer services. Defaults to true."
        ),
        loadBalancerClass=f(STR, "The load balancer implementation to use."),
        internalTrafficPolicy=f(
            named(STR, "v1.ServiceInternalTrafficPolicy"),
            "Cluster or Local routing for traffic from inside the cluster.",
            enum=("Cluster", "Local"),
        ),
        trafficDistribution=f(STR, "A preference for how traffic is distributed, such as PreferClose."),
    ),
    obj(
        C + "ServicePort",
        "One port of a service.",
        name=f(STR, "Name of the port; required and unique when there are several."),
        protocol=f(PROTOCOL, "TCP, UDP or SCTP. Defaults to TCP.", default="TCP", enum=PROTOCOLS),
        appProtocol=f(STR, "The application protocol, such as http or kubernetes.io/h2c."),
        port=f(I32, "The port the service listens on.", required=True),
        targetPort=f(IOS, "Number or name of the port on the pods; defaults to port."),
        nodePort=f(I32, "The port on every node for NodePort and LoadBalancer services."),
    ),
    obj(
        C + "SessionAffinityConfig",
        "Session affinity settings.",
        clientIP=opt(C + "ClientIPConfig", "Settings for ClientIP affinity."),
    ),
    obj(
        C + "ClientIPConfig",
        "ClientIP affinity settings.",
        timeoutSeconds=f(I32, "How long affinity lasts, 1-86400 seconds. Defaults to 10800."),
    ),
    obj(
        C + "ServiceStatus",
        "The observed state of a service.",
        loadBalancer=sub(C + "LoadBalancerStatus", "The load balancer's status, if any."),
        conditions=f(arr(ref(META + "Condition")), "The service's conditions.", merge="type"),
    ),
    obj(
        C + "LoadBalancerStatus",
        "The status of a load balancer.",
        ingress=f(arr(ref(C + "LoadBalancerIngress")), "The load balancer's addresses."),
    ),
    obj(
        C + "LoadBalancerIngress",
        "One address of a load balancer.",
        ip=f(STR, "An IP address."),
        hostname=f(STR, "A DNS name."),
        ipMode=f(named(STR, "v1.LoadBalancerIPMode"), "VIP or Proxy: how traffic reaches the IP."),
        ports=f(arr(ref(C + "PortStatus")), "Status of each service port."),
    ),
    obj(
        C + "PortStatus",
        "The status of one service port.",
        port=f(I32, "Port number.", required=True),
        protocol=f(PROTOCOL, "TCP, UDP or SCTP.", required=True, enum=PROTOCOLS),
        error=f(STR, "A CamelCase problem with the port, empty when there is none."),
    ),
]

ENDPOINTS = [
    *kind(
        C + "Endpoints",
        "The network endpoints behind a service.",
        "",
        "v1",
        subsets=f(arr(ref(C + "EndpointSubset")), "Groups of addresses sharing the same ports."),
    ),
    obj(
        C + "EndpointSubset",
        "Addresses that share a set of ports.",
        addresses=f(arr(ref(C + "EndpointAddress")), "Addresses that are ready."),
        notReadyAddresses=f(arr(ref(C + "EndpointAddress")), "Addresses that are not ready yet."),
        ports=f(arr(ref(C + "EndpointPort")), "Ports available on all addresses."),
    ),
    obj(
        C + "EndpointAddress",
        "One endpoint address.",
        atomic=True,
        ip=f(STR, "The IP address.", required=True),
        hostname=f(STR, "The hostname of the endpoint."),
        nodeName=f(STR, "The node hosting the endpoint."),
        targetRef=opt(C + "ObjectReference", "The object behind the address, usually a pod."),
    ),
    obj(
        C + "EndpointPort",
        "One endpoint port.",
        atomic=True,
        name=f(STR, "Name matching the service port's name."),
        port=f(I32, "Port number.", required=True),
        protocol=f(PROTOCOL, "TCP, UDP or SCTP.", enum=PROTOCOLS),
        appProtocol=f(STR, "The application protocol."),
    ),
    obj(
        C + "ObjectReference",
        "A reference to any object.",
        atomic=True,
        kind=f(STR, "Kind of the referent."),
        namespace=f(STR, "Namespace of the referent."),
        name=f(STR, "Name of the referent."),
        uid=f(UID, "UID of the referent."),
        apiVersion=f(STR, "API version of the referent."),
        resourceVersion=f(STR, "A specific resourceVersion of the referent."),
        fieldPath=f(STR, "A part of the referent, such as spec.containers{name}."),
    ),
]

CONFIG = [
    *kind(
        C + "ConfigMap",
        "Non-confidential key/value data for pods to consume.",
        "",
        "v1",
        immutable=f(BOOL, "When true, data cannot be changed, only the object deleted."),
        data=f(STRMAP, "UTF-8 values by key; keys may contain alphanumerics, '-', '_' and '.'."),
        binaryData=f(mapof(BYTES), "Binary values by key, base64-encoded in JSON."),
    ),
    *kind(
        C + "Secret",
        "Confidential key/value data such as passwords, tokens or keys.",
        "",
        "v1",
        immutable=f(BOOL, "When true, data cannot be changed, only the object deleted."),
        data=f(mapof(BYTES), "Values by key, base64-encoded in JSON."),
        stringData=f(STRMAP, "Write-only plain-text values, merged into data on write."),
        type=f(named(STR, "v1.SecretType"), "How the data is used, such as Opaque or kubernetes.io/tls."),
    ),
    *kind(
        C + "ServiceAccount",
        "An identity for processes that run in pods.",
        "",
        "v1",
        secrets=f(
            arr(ref(C + "ObjectReference")),
            "Deprecated: secrets holding tokens for this account.",
            merge="name",
        ),
        imagePullSecrets=f(
            arr(ref(C + "LocalObjectReference")), "Registry credentials added to pods that use this account."
        ),
        automountServiceAccountToken=f(BOOL, "Whether pods using this account get a token mounted."),
    ),
]

EVENT = [
    *kind(
        C + "Event",
        "A report of something that happened to an object.",
        "",
        "v1",
        involvedObject=sub(C + "ObjectReference", "The object the event is about.", required=True),
        reason=f(STR, "A short CamelCase reason for the event."),
        message=f(STR, "A human-readable description."),
        source=sub(C + "EventSource", "The component that reported the event."),
        firstTimestamp=f(TIME_T, "When the event was first seen."),
        lastTimestamp=f(TIME_T, "When the event was last seen."),
        count=f(I32, "How many times the event occurred."),
        type=f(STR, "Normal or Warning."),
        eventTime=f(MICRO_T, "When the event first occurred, with microseconds."),
        series=opt(C + "EventSeries", "Data about a repeating event."),
        action=f(STR, "What action was taken or failed."),
        related=opt(C + "ObjectReference", "A secondary object involved."),
        reportingComponent=f(STR, "The controller that emitted the event.", default=""),
        reportingInstance=f(STR, "The instance of the controller.", default=""),
    ),
    obj(
        C + "EventSource",
        "Where an event came from.",
        component=f(STR, "The reporting component."),
        host=f(STR, "The node name the event came from."),
    ),
    obj(
        C + "EventSeries",
        "Data about a series of repeating events.",
        count=f(I32, "Occurrences since the last heartbeat."),
        lastObservedTime=f(MICRO_T, "When the last occurrence was seen."),
    ),
]

BINDING = [
    single(
        C + "Binding",
        "Binds a pod to a node; sent by the scheduler to the binding subresource.",
        "",
        "v1",
        target=sub(C + "ObjectReference", "The node to bind to.", required=True),
    ),
]

CORE: list[Component] = [*NAMESPACE, *NODE, *SERVICE, *ENDPOINTS, *CONFIG, *EVENT, *BINDING]
