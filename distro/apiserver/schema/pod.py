"""core/v1 Pod: PodSpec, containers, probes, security contexts, scheduling, and PodStatus."""

from __future__ import annotations

from distro.apiserver.schema.dsl import (
    BOOL,
    I32,
    I64,
    IOS,
    META,
    RESOURCES,
    STR,
    STRMAP,
    TIME_T,
    Component,
    arr,
    f,
    kind,
    named,
    obj,
    opt,
    ref,
    sub,
)

C = "io.k8s.api.core.v1."

PULL_POLICY = named(STR, "v1.PullPolicy")
PULL_POLICIES = ("Always", "IfNotPresent", "Never")
PROTOCOL = named(STR, "v1.Protocol")
PROTOCOLS = ("SCTP", "TCP", "UDP")
CONDITION_STATUS = named(STR, "v1.ConditionStatus")
TAINT_EFFECTS = ("NoExecute", "NoSchedule", "PreferNoSchedule")
PROFILE_TYPES = ("Localhost", "RuntimeDefault", "Unconfined")
_PROFILE_UNION = [
    {"discriminator": "type", "fields-to-discriminateBy": {"localhostProfile": "LocalhostProfile"}}
]


def _container_fields(ephemeral: bool) -> dict:
    """Container and EphemeralContainer share every field but targetContainerName."""
    what = "ephemeral container" if ephemeral else "container"
    fields = dict(
        name=f(
            STR, f"Name of the {what}, a DNS label unique within the pod. Cannot be updated.", required=True
        ),
        image=f(STR, "The container image to run, as a registry reference."),
        command=f(
            arr(STR),
            "The entrypoint, run without a shell; replaces the image's ENTRYPOINT. $(VAR) "
            "references to container environment variables are expanded.",
        ),
        args=f(
            arr(STR), "Arguments to the entrypoint; replace the image's CMD. $(VAR) references are expanded."
        ),
        workingDir=f(STR, "The working directory; defaults to the image's."),
        ports=f(
            arr(ref(C + "ContainerPort")),
            "Ports the container exposes; informational, a process listening "
            "on 0.0.0.0 is reachable whether or not it is listed.",
            merge="containerPort",
            keys=("containerPort", "protocol"),
        ),
        envFrom=f(
            arr(ref(C + "EnvFromSource")),
            "Sources whose keys all become environment variables; explicit env entries take precedence.",
        ),
        env=f(arr(ref(C + "EnvVar")), "Environment variables to set in the container.", merge="name"),
        resources=sub(
            C + "ResourceRequirements", "Compute resources the container requests and is limited to."
        ),
        resizePolicy=f(arr(ref(C + "ContainerResizePolicy")), "How each resource may be resized in place."),
        restartPolicy=f(
            named(STR, "v1.ContainerRestartPolicy"),
            "Only for init containers: Always makes it a "
            "sidecar that starts before and runs alongside the regular containers.",
        ),
        volumeMounts=f(
            arr(ref(C + "VolumeMount")),
            "Pod volumes to mount into the container's filesystem.",
            merge="mountPath",
        ),
        volumeDevices=f(
            arr(ref(C + "VolumeDevice")),
            "Block devices from pod volumes to expose to the container.",
            merge="devicePath",
        ),
        livenessProbe=opt(
            C + "Probe", "Periodic check of liveness; the container is restarted when it fails."
        ),
        readinessProbe=opt(
            C + "Probe",
            "Periodic check of readiness; the pod is removed from service endpoints while it fails.",
        ),
        startupProbe=opt(C + "Probe", "Check that must succeed once before the other probes start."),
        lifecycle=opt(C + "Lifecycle", "Actions the kubelet runs right after start and right before stop."),
        terminationMessagePath=f(
            STR,
            "File whose contents become the container's termination message. "
            "Defaults to /dev/termination-log.",
        ),
        terminationMessagePolicy=f(
            named(STR, "v1.TerminationMessagePolicy"),
            "Where the termination message "
            "comes from: File, or FallbackToLogsOnError to use the log tail when the "
            "file is empty.",
            enum=("FallbackToLogsOnError", "File"),
        ),
        imagePullPolicy=f(
            PULL_POLICY,
            "When to pull the image: Always, Never or IfNotPresent. Defaults to "
            "Always for :latest tags, IfNotPresent otherwise.",
            enum=PULL_POLICIES,
        ),
        securityContext=opt(
            C + "SecurityContext", "Security options for the container, overriding the pod's."
        ),
        stdin=f(BOOL, "Allocate a buffer for stdin; reads return EOF when false."),
        stdinOnce=f(BOOL, "Close stdin after the first attach session ends."),
        tty=f(BOOL, "Allocate a TTY; requires stdin."),
    )
    if ephemeral:
        fields["targetContainerName"] = f(
            STR, "The container whose namespaces (process, IPC...) the ephemeral container joins."
        )
    return fields


CONTAINERS = [
    obj(C + "Container", "A single application container in a pod.", **_container_fields(False)),
    obj(
        C + "EphemeralContainer",
        "A temporary container added to a running pod for debugging; it has no "
        "resource guarantees and is never restarted.",
        **_container_fields(True),
    ),
    obj(
        C + "ContainerPort",
        "A network port in a single container.",
        name=f(STR, "An IANA_SVC_NAME unique within the pod, referable by services."),
        hostPort=f(I32, "Port to expose on the host; most containers do not need it."),
        containerPort=f(I32, "Port number on the pod's IP address, 1-65535.", required=True),
        protocol=f(PROTOCOL, "UDP, TCP or SCTP. Defaults to TCP.", default="TCP", enum=PROTOCOLS),
        hostIP=f(STR, "Host IP to bind the host port to."),
    ),
    obj(
        C + "EnvVar",
        "An environment variable in a container.",
        name=f(STR, "Name of the variable.", required=True),
        value=f(STR, "Literal value; $(VAR) references to earlier variables are expanded."),
        valueFrom=opt(C + "EnvVarSource", "Where the value comes from, when value is empty."),
    ),
    obj(
        C + "EnvVarSource",
        "A source for an environment variable's value; exactly one field may be set.",
        fieldRef=opt(C + "ObjectFieldSelector", "A field of the pod, such as metadata.name or status.podIP."),
        resourceFieldRef=opt(C + "ResourceFieldSelector", "A resource limit or request of a container."),
        configMapKeyRef=opt(C + "ConfigMapKeySelector", "A key of a ConfigMap in the pod's namespace."),
        secretKeyRef=opt(C + "SecretKeySelector", "A key of a Secret in the pod's namespace."),
    ),
    obj(
        C + "ObjectFieldSelector",
        "Selects a field of the pod.",
        atomic=True,
        apiVersion=f(STR, "Version the fieldPath is written in; defaults to v1."),
        fieldPath=f(STR, "Path of the field to select.", required=True),
    ),
    obj(
        C + "ResourceFieldSelector",
        "Selects a container resource (limits.cpu, requests.memory...).",
        atomic=True,
        containerName=f(STR, "The container; required for volumes, optional for environment variables."),
        resource=f(STR, "The resource to select.", required=True),
        divisor=f(
            ref("io.k8s.apimachinery.pkg.api.resource.Quantity", struct=False),
            "Unit the value is divided by; defaults to 1.",
        ),
    ),
    obj(
        C + "ConfigMapKeySelector",
        "Selects a key of a ConfigMap.",
        atomic=True,
        name=f(STR, "Name of the ConfigMap.", default=""),
        key=f(STR, "The key to select.", required=True),
        optional=f(BOOL, "Whether the ConfigMap or key may be missing."),
    ),
    obj(
        C + "SecretKeySelector",
        "Selects a key of a Secret.",
        atomic=True,
        name=f(STR, "Name of the Secret.", default=""),
        key=f(STR, "The key to select.", required=True),
        optional=f(BOOL, "Whether the Secret or key may be missing."),
    ),
    obj(
        C + "EnvFromSource",
        "A ConfigMap or Secret whose keys all become environment variables.",
        prefix=f(STR, "A prefix added to every key; must form a valid variable name."),
        configMapRef=opt(C + "ConfigMapEnvSource", "The ConfigMap to read."),
        secretRef=opt(C + "SecretEnvSource", "The Secret to read."),
    ),
    obj(
        C + "ConfigMapEnvSource",
        "A ConfigMap whose keys become environment variables.",
        name=f(STR, "Name of the ConfigMap.", default=""),
        optional=f(BOOL, "Whether the ConfigMap may be missing."),
    ),
    obj(
        C + "SecretEnvSource",
        "A Secret whose keys become environment variables.",
        name=f(STR, "Name of the Secret.", default=""),
        optional=f(BOOL, "Whether the Secret may be missing."),
    ),
    obj(
        C + "ResourceRequirements",
        "Compute resource requests and limits.",
        limits=f(RESOURCES, "The most of each resource the container may use."),
        requests=f(
            RESOURCES,
            "The amount of each resource the container is guaranteed; used for scheduling. "
            "Defaults to the limits when omitted.",
        ),
        claims=f(
            arr(ref(C + "ResourceClaim")),
            "Dynamically allocated resources, by claim name from spec.resourceClaims.",
            list_type="map",
            keys=("name",),
        ),
    ),
    obj(
        C + "ResourceClaim",
        "A reference to one entry of the pod's spec.resourceClaims.",
        name=f(STR, "The claim's name in spec.resourceClaims.", required=True),
        request=f(STR, "A single request of the claim; the whole claim when empty."),
    ),
    obj(
        C + "ContainerResizePolicy",
        "How one resource of a container may be resized.",
        resourceName=f(named(STR, "v1.ResourceName"), "The resource: cpu or memory.", required=True),
        restartPolicy=f(
            named(STR, "v1.ResourceResizeRestartPolicy"), "NotRequired or RestartContainer.", required=True
        ),
    ),
    obj(
        C + "VolumeMount",
        "A pod volume mounted into a container.",
        name=f(STR, "Name of the volume in spec.volumes.", required=True),
        readOnly=f(BOOL, "Mount read-only when true."),
        recursiveReadOnly=f(
            named(STR, "v1.RecursiveReadOnlyMode"),
            "Whether a read-only mount is read-only recursively: Disabled, IfPossible or Enabled.",
        ),
        mountPath=f(STR, "Path inside the container; must not contain ':'.", required=True),
        subPath=f(STR, "A path inside the volume to mount instead of its root."),
        mountPropagation=f(
            named(STR, "v1.MountPropagationMode"),
            "How mounts propagate between host and container: None, HostToContainer or Bidirectional.",
            enum=("Bidirectional", "HostToContainer", "None"),
        ),
        subPathExpr=f(STR, "Like subPath but with $(VAR) expansion from the container environment."),
    ),
    obj(
        C + "VolumeDevice",
        "A raw block volume exposed as a device in the container.",
        name=f(STR, "Name of a persistentVolumeClaim volume of the pod.", required=True),
        devicePath=f(STR, "Path of the device inside the container.", required=True),
    ),
]

PROBES = [
    obj(
        C + "Probe",
        "A health check the kubelet runs against a container.",
        exec=opt(C + "ExecAction", "Run a command inside the container."),
        httpGet=opt(C + "HTTPGetAction", "Make an HTTP GET request."),
        tcpSocket=opt(C + "TCPSocketAction", "Open a TCP connection."),
        grpc=opt(C + "GRPCAction", "Call the gRPC health checking protocol."),
        initialDelaySeconds=f(I32, "Seconds after start before the first probe."),
        timeoutSeconds=f(I32, "Seconds before a probe attempt times out. Defaults to 1."),
        periodSeconds=f(I32, "Seconds between probes. Defaults to 10."),
        successThreshold=f(
            I32,
            "Consecutive successes needed after a failure. Defaults to 1; must be 1 for "
            "liveness and startup.",
        ),
        failureThreshold=f(I32, "Consecutive failures before the probe counts as failed. Defaults to 3."),
        terminationGracePeriodSeconds=f(
            I64, "Grace period when a failed probe kills the container, overriding the pod's."
        ),
    ),
    obj(
        C + "ExecAction",
        "Runs a command in the container.",
        command=f(arr(STR), "The command line, run without a shell; exit status 0 is success."),
    ),
    obj(
        C + "HTTPGetAction",
        "An HTTP GET request.",
        path=f(STR, "Path to request."),
        port=f(IOS, "Port number or named container port.", required=True),
        host=f(STR, "Host to connect to; defaults to the pod IP."),
        scheme=f(named(STR, "v1.URIScheme"), "HTTP or HTTPS. Defaults to HTTP.", enum=("HTTP", "HTTPS")),
        httpHeaders=f(arr(ref(C + "HTTPHeader")), "Extra request headers."),
    ),
    obj(
        C + "HTTPHeader",
        "One HTTP header.",
        name=f(STR, "Header field name.", required=True),
        value=f(STR, "Header field value.", required=True),
    ),
    obj(
        C + "TCPSocketAction",
        "A TCP connection attempt.",
        port=f(IOS, "Port number or named container port.", required=True),
        host=f(STR, "Host to connect to; defaults to the pod IP."),
    ),
    obj(
        C + "GRPCAction",
        "A gRPC health check.",
        port=f(I32, "Port number of the gRPC service.", required=True),
        service=f(STR, "Service name sent in the health check request.", default=""),
    ),
    obj(
        C + "Lifecycle",
        "Actions run on container lifecycle events.",
        postStart=opt(
            C + "LifecycleHandler",
            "Runs right after the container is created; on failure the container is restarted.",
        ),
        preStop=opt(
            C + "LifecycleHandler",
            "Runs before the container is terminated; the grace period keeps counting while it runs.",
        ),
    ),
    obj(
        C + "LifecycleHandler",
        "One lifecycle action; exactly one field may be set.",
        exec=opt(C + "ExecAction", "Run a command inside the container."),
        httpGet=opt(C + "HTTPGetAction", "Make an HTTP GET request."),
        tcpSocket=opt(C + "TCPSocketAction", "Deprecated; kept for compatibility and never run."),
        sleep=opt(C + "SleepAction", "Sleep for a while."),
    ),
    obj(
        C + "SleepAction",
        "Sleeps for a number of seconds.",
        seconds=f(I64, "Seconds to sleep.", required=True),
    ),
]

SECURITY = [
    obj(
        C + "SecurityContext",
        "Security settings of one container; fields set here override the pod's security context.",
        capabilities=opt(C + "Capabilities", "Linux capabilities to add or drop."),
        privileged=f(BOOL, "Run as privileged: equivalent to root on the host."),
        seLinuxOptions=opt(C + "SELinuxOptions", "SELinux context for the container."),
        windowsOptions=opt(C + "WindowsSecurityContextOptions", "Windows-specific settings."),
        runAsUser=f(I64, "UID to run the entrypoint as."),
        runAsGroup=f(I64, "GID to run the entrypoint as."),
        runAsNonRoot=f(BOOL, "Refuse to start the container if it would run as UID 0."),
        readOnlyRootFilesystem=f(BOOL, "Mount the root filesystem read-only."),
        allowPrivilegeEscalation=f(
            BOOL, "Whether a process may gain more privileges than its parent (no_new_privs)."
        ),
        procMount=f(
            named(STR, "v1.ProcMountType"), "Default or Unmasked /proc.", enum=("Default", "Unmasked")
        ),
        seccompProfile=opt(C + "SeccompProfile", "The seccomp profile to apply."),
        appArmorProfile=opt(C + "AppArmorProfile", "The AppArmor profile to apply."),
    ),
    obj(
        C + "PodSecurityContext",
        "Security settings applied to every container of a pod.",
        seLinuxOptions=opt(C + "SELinuxOptions", "SELinux context for all containers."),
        windowsOptions=opt(C + "WindowsSecurityContextOptions", "Windows-specific settings."),
        runAsUser=f(I64, "UID to run container entrypoints as."),
        runAsGroup=f(I64, "GID to run container entrypoints as."),
        runAsNonRoot=f(BOOL, "Refuse to start containers that would run as UID 0."),
        supplementalGroups=f(arr(I64), "Extra groups for the first process of each container."),
        supplementalGroupsPolicy=f(
            named(STR, "v1.SupplementalGroupsPolicy"),
            "Merge or Strict: whether groups from the image's /etc/group are added.",
            enum=("Merge", "Strict"),
        ),
        fsGroup=f(I64, "A group that owns supported volumes and is added to every container's groups."),
        sysctls=f(arr(ref(C + "Sysctl")), "Namespaced kernel parameters to set."),
        fsGroupChangePolicy=f(
            named(STR, "v1.PodFSGroupChangePolicy"),
            "When volume ownership is changed: OnRootMismatch or Always.",
            enum=("Always", "OnRootMismatch"),
        ),
        seccompProfile=opt(C + "SeccompProfile", "The seccomp profile for all containers."),
        appArmorProfile=opt(C + "AppArmorProfile", "The AppArmor profile for all containers."),
        seLinuxChangePolicy=f(
            named(STR, "v1.PodSELinuxChangePolicy"),
            "How the SELinux label is applied to volumes: Recursive or MountOption.",
        ),
    ),
    obj(
        C + "Capabilities",
        "Linux capabilities to add to or drop from the container's default set.",
        add=f(named(arr(STR), "[]v1.Capability"), "Capabilities to add."),
        drop=f(named(arr(STR), "[]v1.Capability"), "Capabilities to drop."),
    ),
    obj(
        C + "SELinuxOptions",
        "An SELinux label.",
        user=f(STR, "SELinux user."),
        role=f(STR, "SELinux role."),
        type=f(STR, "SELinux type."),
        level=f(STR, "SELinux level."),
    ),
    obj(
        C + "WindowsSecurityContextOptions",
        "Windows-specific container settings.",
        gmsaCredentialSpecName=f(STR, "Name of the GMSA credential spec to use."),
        gmsaCredentialSpec=f(STR, "The GMSA credential spec contents, inlined by the admission webhook."),
        runAsUserName=f(STR, "Windows user to run the entrypoint as."),
        hostProcess=f(BOOL, "Run as a Windows host process container."),
    ),
    obj(
        C + "SeccompProfile",
        "A seccomp profile; type selects it, localhostProfile names a file on the node.",
        unions=_PROFILE_UNION,
        type=f(
            named(STR, "v1.SeccompProfileType"),
            "Localhost, RuntimeDefault or Unconfined.",
            required=True,
            enum=PROFILE_TYPES,
        ),
        localhostProfile=f(
            STR, "Profile file relative to the kubelet's seccomp directory; only for Localhost."
        ),
    ),
    obj(
        C + "AppArmorProfile",
        "An AppArmor profile; type selects it, localhostProfile names one loaded on the node.",
        unions=_PROFILE_UNION,
        type=f(
            named(STR, "v1.AppArmorProfileType"),
            "Localhost, RuntimeDefault or Unconfined.",
            required=True,
            enum=PROFILE_TYPES,
        ),
        localhostProfile=f(STR, "Name of a profile loaded on the node; only for Localhost."),
    ),
    obj(
        C + "Sysctl",
        "A kernel parameter to set.",
        name=f(STR, "Name of the parameter.", required=True),
        value=f(STR, "Value to set.", required=True),
    ),
]

NODE_SELECTOR_OPS = ("DoesNotExist", "Exists", "Gt", "In", "Lt", "NotIn")

SCHEDULING = [
    obj(
        C + "Affinity",
        "Scheduling constraints relative to nodes and other pods.",
        nodeAffinity=opt(C + "NodeAffinity", "Rules about which nodes the pod may run on."),
        podAffinity=opt(C + "PodAffinity", "Rules to co-locate the pod with other pods."),
        podAntiAffinity=opt(C + "PodAntiAffinity", "Rules to keep the pod away from other pods."),
    ),
    obj(
        C + "NodeAffinity",
        "Node affinity rules.",
        requiredDuringSchedulingIgnoredDuringExecution=opt(
            C + "NodeSelector", "Nodes the pod must be placed on; not re-checked once the pod runs."
        ),
        preferredDuringSchedulingIgnoredDuringExecution=f(
            arr(ref(C + "PreferredSchedulingTerm")),
            "Weighted preferences; nodes matching more weight score higher.",
        ),
    ),
    obj(
        C + "NodeSelector",
        "A node query: the terms are ORed.",
        atomic=True,
        nodeSelectorTerms=f(
            arr(ref(C + "NodeSelectorTerm")), "The terms; a node matching any term matches.", required=True
        ),
    ),
    obj(
        C + "NodeSelectorTerm",
        "A node query term: its requirements are ANDed; an empty term matches nothing.",
        atomic=True,
        matchExpressions=f(arr(ref(C + "NodeSelectorRequirement")), "Requirements on node labels."),
        matchFields=f(arr(ref(C + "NodeSelectorRequirement")), "Requirements on node fields."),
    ),
    obj(
        C + "NodeSelectorRequirement",
        "One requirement on a node label or field.",
        key=f(STR, "The label or field key.", required=True),
        operator=f(
            named(STR, "v1.NodeSelectorOperator"),
            "In, NotIn, Exists, DoesNotExist, Gt or Lt.",
            required=True,
            enum=NODE_SELECTOR_OPS,
        ),
        values=f(arr(STR), "Values for In/NotIn; a single integer for Gt/Lt; empty for Exists/DoesNotExist."),
    ),
    obj(
        C + "PreferredSchedulingTerm",
        "A weighted node preference.",
        weight=f(I32, "Weight added to a matching node's score, 1-100.", required=True),
        preference=sub(C + "NodeSelectorTerm", "The node query.", required=True),
    ),
    obj(
        C + "PodAffinity",
        "Rules to co-locate a pod with other pods.",
        requiredDuringSchedulingIgnoredDuringExecution=f(
            arr(ref(C + "PodAffinityTerm")), "Terms that must all hold when scheduling."
        ),
        preferredDuringSchedulingIgnoredDuringExecution=f(
            arr(ref(C + "WeightedPodAffinityTerm")), "Weighted preferences."
        ),
    ),
    obj(
        C + "PodAntiAffinity",
        "Rules to keep a pod away from other pods.",
        requiredDuringSchedulingIgnoredDuringExecution=f(
            arr(ref(C + "PodAffinityTerm")), "Terms that must all hold when scheduling."
        ),
        preferredDuringSchedulingIgnoredDuringExecution=f(
            arr(ref(C + "WeightedPodAffinityTerm")), "Weighted preferences."
        ),
    ),
    obj(
        C + "PodAffinityTerm",
        "Pods matching a selector in some namespaces, and the topology domain to (not) share with them.",
        labelSelector=opt(META + "LabelSelector", "The pods to consider."),
        namespaces=f(arr(STR), "Namespaces to look in; defaults to the pod's own."),
        topologyKey=f(
            STR,
            "Node label whose value defines the shared domain, such as kubernetes.io/hostname.",
            required=True,
        ),
        namespaceSelector=opt(
            META + "LabelSelector", "Namespaces to look in, by label; added to namespaces."
        ),
        matchLabelKeys=f(arr(STR), "Label keys whose values from this pod are added to the selector as In."),
        mismatchLabelKeys=f(
            arr(STR), "Label keys whose values from this pod are added to the selector as NotIn."
        ),
    ),
    obj(
        C + "WeightedPodAffinityTerm",
        "A weighted pod affinity term.",
        weight=f(I32, "Weight added to a matching node's score, 1-100.", required=True),
        podAffinityTerm=sub(C + "PodAffinityTerm", "The term.", required=True),
    ),
    obj(
        C + "Toleration",
        "Allows the pod onto nodes with a matching taint.",
        key=f(STR, "Taint key to match; empty with Exists matches every taint."),
        operator=f(
            named(STR, "v1.TolerationOperator"),
            "Exists or Equal. Defaults to Equal.",
            enum=("Equal", "Exists"),
        ),
        value=f(STR, "Taint value to match for Equal."),
        effect=f(
            named(STR, "v1.TaintEffect"),
            "Taint effect to match; empty matches all effects.",
            enum=TAINT_EFFECTS,
        ),
        tolerationSeconds=f(I64, "For NoExecute: how long the pod stays bound after the taint appears."),
    ),
    obj(
        C + "TopologySpreadConstraint",
        "How to spread matching pods across a topology.",
        maxSkew=f(I32, "The largest allowed difference in matching pods between two domains.", required=True),
        topologyKey=f(STR, "Node label whose values define the domains.", required=True),
        whenUnsatisfiable=f(
            named(STR, "v1.UnsatisfiableConstraintAction"),
            "DoNotSchedule or ScheduleAnyway.",
            required=True,
            enum=("DoNotSchedule", "ScheduleAnyway"),
        ),
        labelSelector=opt(META + "LabelSelector", "The pods counted in each domain."),
        minDomains=f(I32, "Minimum number of eligible domains; fewer count as having zero pods."),
        nodeAffinityPolicy=f(
            named(STR, "v1.NodeInclusionPolicy"),
            "Honor or Ignore the pod's node affinity when counting.",
            enum=("Honor", "Ignore"),
        ),
        nodeTaintsPolicy=f(
            named(STR, "v1.NodeInclusionPolicy"),
            "Honor or Ignore node taints when counting.",
            enum=("Honor", "Ignore"),
        ),
        matchLabelKeys=f(arr(STR), "Label keys whose values from this pod narrow the selector."),
    ),
    obj(
        C + "HostAlias",
        "An entry added to the pod's /etc/hosts.",
        ip=f(STR, "IP address of the entry.", required=True),
        hostnames=f(arr(STR), "Hostnames for the IP address."),
    ),
    obj(
        C + "PodDNSConfig",
        "DNS settings merged into the pod's resolv.conf.",
        nameservers=f(arr(STR), "Name server addresses."),
        searches=f(arr(STR), "Search domains."),
        options=f(arr(ref(C + "PodDNSConfigOption")), "Resolver options."),
    ),
    obj(
        C + "PodDNSConfigOption",
        "One resolver option.",
        name=f(STR, "Option name."),
        value=f(STR, "Option value."),
    ),
    obj(
        C + "PodReadinessGate",
        "An extra pod condition that must be True for the pod to be ready.",
        conditionType=f(named(STR, "v1.PodConditionType"), "The condition type.", required=True),
    ),
    obj(
        C + "PodOS",
        "The operating system the pod is meant to run on.",
        name=f(named(STR, "v1.OSName"), "linux or windows.", required=True),
    ),
    obj(
        C + "PodSchedulingGate",
        "A gate that keeps the pod from being scheduled while present.",
        name=f(STR, "Name of the gate.", required=True),
    ),
    obj(
        C + "PodResourceClaim",
        "A named resource claim the pod's containers can use.",
        name=f(STR, "Name of the claim inside the pod.", required=True),
        resourceClaimName=f(STR, "An existing ResourceClaim in the pod's namespace."),
        resourceClaimTemplateName=f(STR, "A ResourceClaimTemplate to create a per-pod claim from."),
    ),
]

POD_SPEC = obj(
    C + "PodSpec",
    "The desired state of a pod.",
    volumes=f(
        arr(ref(C + "Volume")),
        "Volumes the pod's containers can mount.",
        merge="name",
        strategy="merge,retainKeys",
    ),
    initContainers=f(
        arr(ref(C + "Container")),
        "Containers run to completion in order before the regular "
        "containers start; with restartPolicy Always they run as sidecars.",
        merge="name",
    ),
    containers=f(
        arr(ref(C + "Container")),
        "The pod's application containers; at least one. Cannot be added or removed.",
        required=True,
        merge="name",
    ),
    ephemeralContainers=f(
        arr(ref(C + "EphemeralContainer")),
        "Debugging containers added to a running pod through the ephemeralcontainers subresource.",
        merge="name",
    ),
    restartPolicy=f(
        named(STR, "v1.RestartPolicy"),
        "Restart policy for all containers: Always, OnFailure or Never. Defaults to Always.",
        enum=("Always", "Never", "OnFailure"),
    ),
    terminationGracePeriodSeconds=f(
        I64, "Seconds between the termination signal and the kill signal. Defaults to 30."
    ),
    activeDeadlineSeconds=f(I64, "Seconds the pod may be active before the kubelet fails it."),
    dnsPolicy=f(
        named(STR, "v1.DNSPolicy"),
        "How DNS is configured: ClusterFirst, ClusterFirstWithHostNet, "
        "Default or None. Defaults to ClusterFirst.",
        enum=("ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"),
    ),
    nodeSelector=f(STRMAP, "Labels a node must have for the pod to be scheduled on it.", map_type="atomic"),
    serviceAccountName=f(STR, "The ServiceAccount the pod runs as."),
    serviceAccount=f(STR, "Deprecated alias of serviceAccountName."),
    automountServiceAccountToken=f(BOOL, "Whether a service account token is mounted automatically."),
    nodeName=f(STR, "The node the pod is bound to; set by the scheduler, or directly to skip scheduling."),
    hostNetwork=f(BOOL, "Use the node's network namespace."),
    hostPID=f(BOOL, "Use the node's process namespace."),
    hostIPC=f(BOOL, "Use the node's IPC namespace."),
    shareProcessNamespace=f(BOOL, "Share one process namespace between all containers of the pod."),
    securityContext=opt(C + "PodSecurityContext", "Pod-level security settings."),
    imagePullSecrets=f(
        arr(ref(C + "LocalObjectReference")),
        "Secrets in the pod's namespace with registry credentials for pulling images.",
        merge="name",
    ),
    hostname=f(STR, "The pod's hostname; defaults to the pod name."),
    subdomain=f(STR, "With hostname, gives the pod the FQDN <hostname>.<subdomain>.<namespace>.svc."),
    affinity=opt(C + "Affinity", "Scheduling constraints."),
    schedulerName=f(STR, "The scheduler that places the pod; defaults to default-scheduler."),
    tolerations=f(arr(ref(C + "Toleration")), "Taints the pod tolerates."),
    hostAliases=f(arr(ref(C + "HostAlias")), "Entries added to the pod's /etc/hosts.", merge="ip"),
    priorityClassName=f(STR, "The PriorityClass that sets the pod's priority."),
    priority=f(I32, "The pod's priority, filled in from priorityClassName by admission."),
    dnsConfig=opt(C + "PodDNSConfig", "DNS settings merged with those from dnsPolicy."),
    readinessGates=f(arr(ref(C + "PodReadinessGate")), "Extra conditions required for readiness."),
    runtimeClassName=f(STR, "The RuntimeClass used to run the pod."),
    enableServiceLinks=f(
        BOOL, "Whether service addresses are injected as environment variables. Defaults to true."
    ),
    preemptionPolicy=f(
        named(STR, "v1.PreemptionPolicy"),
        "Whether the pod may preempt lower-priority pods: PreemptLowerPriority or Never.",
        enum=("Never", "PreemptLowerPriority"),
    ),
    overhead=f(RESOURCES, "Resources consumed by the pod sandbox, added to the containers' requests."),
    topologySpreadConstraints=f(
        arr(ref(C + "TopologySpreadConstraint")),
        "How the pod spreads across topology domains.",
        merge="topologyKey",
        keys=("topologyKey", "whenUnsatisfiable"),
    ),
    setHostnameAsFQDN=f(BOOL, "Set the kernel hostname to the pod's FQDN."),
    os=opt(C + "PodOS", "The operating system the pod needs."),
    hostUsers=f(BOOL, "Use the host's user namespace; false gives the pod its own. Defaults to true."),
    schedulingGates=f(
        arr(ref(C + "PodSchedulingGate")),
        "Gates that must all be removed before the pod is scheduled.",
        merge="name",
    ),
    resourceClaims=f(
        arr(ref(C + "PodResourceClaim")),
        "Dynamically allocated resources the pod needs.",
        merge="name",
        strategy="merge,retainKeys",
    ),
    resources=opt(
        C + "ResourceRequirements", "Pod-level resource requests and limits shared by all containers."
    ),
)

POD_STATUS = [
    obj(
        C + "PodStatus",
        "The observed state of a pod, reported by the kubelet.",
        phase=f(
            named(STR, "v1.PodPhase"),
            "Pending, Running, Succeeded, Failed or Unknown.",
            enum=("Failed", "Pending", "Running", "Succeeded", "Unknown"),
        ),
        conditions=f(arr(ref(C + "PodCondition")), "The pod's conditions.", merge="type"),
        message=f(STR, "Why the pod is in its current state."),
        reason=f(STR, "A CamelCase reason for the pod's state, such as Evicted."),
        nominatedNodeName=f(STR, "The node the scheduler intends for this pod after preempting others."),
        hostIP=f(STR, "Primary IP of the node the pod runs on."),
        hostIPs=f(arr(ref(C + "HostIP")), "IPs of the node the pod runs on.", merge="ip", list_type="atomic"),
        podIP=f(STR, "Primary IP of the pod."),
        podIPs=f(arr(ref(C + "PodIP")), "The pod's IPs, one per address family.", merge="ip"),
        startTime=f(TIME_T, "When the kubelet acknowledged the pod."),
        initContainerStatuses=f(arr(ref(C + "ContainerStatus")), "Status of each init container."),
        containerStatuses=f(arr(ref(C + "ContainerStatus")), "Status of each container."),
        qosClass=f(
            named(STR, "v1.PodQOSClass"),
            "Quality of service class from the resource requests.",
            enum=("BestEffort", "Burstable", "Guaranteed"),
        ),
        ephemeralContainerStatuses=f(arr(ref(C + "ContainerStatus")), "Status of each ephemeral container."),
        resize=f(named(STR, "v1.PodResizeStatus"), "Progress of an in-place resize."),
        resourceClaimStatuses=f(
            arr(ref(C + "PodResourceClaimStatus")),
            "Names of the generated ResourceClaims.",
            merge="name",
            strategy="merge,retainKeys",
        ),
    ),
    obj(
        C + "PodCondition",
        "One condition of a pod.",
        type=f(
            named(STR, "v1.PodConditionType"),
            "The condition type, such as Ready or PodScheduled.",
            required=True,
        ),
        status=f(CONDITION_STATUS, "True, False or Unknown.", required=True),
        lastProbeTime=f(TIME_T, "When the condition was last probed."),
        lastTransitionTime=f(TIME_T, "When the status last changed."),
        reason=f(STR, "A CamelCase reason for the last transition."),
        message=f(STR, "A human-readable explanation of the last transition."),
    ),
    obj(C + "HostIP", "An IP address of the pod's node.", ip=f(STR, "The IP address.")),
    obj(C + "PodIP", "An IP address of the pod.", ip=f(STR, "The IP address.")),
    obj(
        C + "PodResourceClaimStatus",
        "The ResourceClaim generated for one pod resource claim.",
        name=f(STR, "The claim's name in spec.resourceClaims.", required=True),
        resourceClaimName=f(STR, "Name of the generated ResourceClaim."),
    ),
    obj(
        C + "ContainerStatus",
        "The observed state of one container.",
        name=f(STR, "Name of the container.", required=True),
        state=sub(C + "ContainerState", "Current state."),
        lastState=sub(C + "ContainerState", "State of the previous run, such as why it terminated."),
        ready=f(BOOL, "Whether the container passes its readiness probe.", required=True),
        restartCount=f(I32, "Times the container has been restarted.", required=True),
        image=f(STR, "The image the container runs.", required=True),
        imageID=f(STR, "The image's ID as reported by the runtime.", required=True),
        containerID=f(STR, "The runtime's container ID, as <type>://<id>."),
        started=f(BOOL, "Whether the startup probe has succeeded."),
        allocatedResources=f(RESOURCES, "Resources the node allocated to the container."),
        resources=opt(C + "ResourceRequirements", "Resources the runtime applied to the running container."),
        volumeMounts=f(arr(ref(C + "VolumeMountStatus")), "Status of the volume mounts.", merge="mountPath"),
        user=opt(C + "ContainerUser", "Identity the first process runs with."),
        allocatedResourcesStatus=f(
            arr(ref(C + "ResourceStatus")), "Health of allocated devices.", merge="name"
        ),
    ),
    obj(
        C + "ContainerState",
        "A container's state; at most one field is set.",
        waiting=opt(C + "ContainerStateWaiting", "The container is not running yet."),
        running=opt(C + "ContainerStateRunning", "The container is running."),
        terminated=opt(C + "ContainerStateTerminated", "The container has exited."),
    ),
    obj(
        C + "ContainerStateWaiting",
        "A waiting container.",
        reason=f(STR, "Why it is waiting, such as ContainerCreating or CrashLoopBackOff."),
        message=f(STR, "Details about why it is waiting."),
    ),
    obj(
        C + "ContainerStateRunning",
        "A running container.",
        startedAt=f(TIME_T, "When the container last started."),
    ),
    obj(
        C + "ContainerStateTerminated",
        "An exited container.",
        exitCode=f(I32, "Exit status of the last termination.", required=True),
        signal=f(I32, "Signal that ended the container, if any."),
        reason=f(STR, "Why it terminated, such as Completed or OOMKilled."),
        message=f(STR, "Details about the termination."),
        startedAt=f(TIME_T, "When the run started."),
        finishedAt=f(TIME_T, "When the run ended."),
        containerID=f(STR, "The runtime's container ID, as <type>://<id>."),
    ),
    obj(
        C + "VolumeMountStatus",
        "The state of one volume mount.",
        name=f(STR, "Name of the volume.", required=True),
        mountPath=f(STR, "Path of the mount.", required=True),
        readOnly=f(BOOL, "Whether the mount is read-only."),
        recursiveReadOnly=f(named(STR, "v1.RecursiveReadOnlyMode"), "Whether read-only applies recursively."),
    ),
    obj(
        C + "ContainerUser",
        "The identity of a container's first process.",
        linux=opt(C + "LinuxContainerUser", "Linux user and groups."),
    ),
    obj(
        C + "LinuxContainerUser",
        "Linux identity of a process.",
        uid=f(I64, "User ID.", required=True),
        gid=f(I64, "Primary group ID.", required=True),
        supplementalGroups=f(arr(I64), "Supplementary group IDs."),
    ),
    obj(
        C + "ResourceStatus",
        "Health of the devices allocated for one resource.",
        name=f(named(STR, "v1.ResourceName"), "The resource name.", required=True),
        resources=f(
            arr(ref(C + "ResourceHealth")), "Health of each device.", list_type="map", keys=("resourceID",)
        ),
    ),
    obj(
        C + "ResourceHealth",
        "Health of one allocated device.",
        resourceID=f(named(STR, "v1.ResourceID"), "The device's ID.", required=True),
        health=f(named(STR, "v1.ResourceHealthStatus"), "Healthy, Unhealthy or Unknown."),
    ),
]

POD: list[Component] = [
    *kind(
        C + "Pod",
        "A group of containers that share storage and network and run together on a node.",
        "",
        "v1",
        spec=sub(C + "PodSpec", "The desired behavior of the pod."),
        status=sub(C + "PodStatus", "The most recently observed state of the pod. Read-only."),
    ),
    obj(
        C + "PodTemplateSpec",
        "A pod template: metadata and spec of pods a controller creates.",
        metadata=sub(META + "ObjectMeta", "Metadata given to created pods."),
        spec=sub(C + "PodSpec", "Spec given to created pods."),
    ),
    POD_SPEC,
    *CONTAINERS,
    *PROBES,
    *SECURITY,
    *SCHEDULING,
    *POD_STATUS,
]
