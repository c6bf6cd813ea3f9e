"""apps/v1 Deployment, ReplicaSet and DaemonSet, and the subresource bodies autoscaling/v1 Scale and
policy/v1 Eviction."""

from __future__ import annotations

from distro.apiserver.schema.dsl import (
    BOOL,
    I32,
    I64,
    IOS,
    META,
    STR,
    TIME_T,
    Component,
    arr,
    f,
    kind,
    named,
    obj,
    opt,
    ref,
    single,
    sub,
)
from distro.apiserver.schema.pod import CONDITION_STATUS

A = "io.k8s.api.apps.v1."
C = "io.k8s.api.core.v1."
_OBSERVED = "The generation of the spec the controller last acted on."
_SELECTOR = "Label query over pods that should be managed; must match the template's labels. Immutable."
_MIN_READY = "Seconds a new pod must be ready without crashing before it counts as available. Defaults to 0."
_HISTORY = "Old revisions kept to allow rollback. Defaults to 10."
_COLLISIONS = "Count of hash collisions, used to name the newest revision."


def _condition(name: str, what: str, *, update_time: bool = False) -> Component:
    fields = dict(
        type=f(named(STR, f"v1.{name}Type"), "The condition type.", required=True),
        status=f(CONDITION_STATUS, "True, False or Unknown.", required=True),
    )
    if update_time:
        fields["lastUpdateTime"] = f(TIME_T, "When the condition was last updated.")
    fields |= dict(
        lastTransitionTime=f(TIME_T, "When the status last changed."),
        reason=f(STR, "A CamelCase reason for the last transition."),
        message=f(STR, "A human-readable explanation of the last transition."),
    )
    return obj(A + name, f"One condition of a {what}.", **fields)


DEPLOYMENT = [
    *kind(
        A + "Deployment",
        "Declarative updates for pods through ReplicaSets.",
        "apps",
        "v1",
        spec=sub(A + "DeploymentSpec", "The desired behavior of the deployment."),
        status=sub(A + "DeploymentStatus", "The most recently observed state of the deployment. Read-only."),
    ),
    obj(
        A + "DeploymentSpec",
        "The desired behavior of a deployment.",
        replicas=f(I32, "Desired number of pods. Defaults to 1."),
        selector=opt(META + "LabelSelector", _SELECTOR, required=True),
        template=sub(
            C + "PodTemplateSpec",
            "Template of the pods to create; restartPolicy must be Always.",
            required=True,
        ),
        strategy=sub(
            A + "DeploymentStrategy", "How old pods are replaced by new ones.", strategy="retainKeys"
        ),
        minReadySeconds=f(I32, _MIN_READY),
        revisionHistoryLimit=f(I32, _HISTORY),
        paused=f(BOOL, "Stop rolling out template changes while true."),
        progressDeadlineSeconds=f(
            I32, "Seconds a rollout may make no progress before it is reported as failed. Defaults to 600."
        ),
    ),
    obj(
        A + "DeploymentStrategy",
        "How a deployment replaces pods.",
        type=f(
            named(STR, "v1.DeploymentStrategyType"),
            "Recreate or RollingUpdate. Defaults to RollingUpdate.",
            enum=("Recreate", "RollingUpdate"),
        ),
        rollingUpdate=opt(A + "RollingUpdateDeployment", "Parameters for RollingUpdate."),
    ),
    obj(
        A + "RollingUpdateDeployment",
        "Pace of a rolling update.",
        maxUnavailable=f(
            IOS,
            "Pods that may be unavailable during the update, as a number or a percentage "
            "of replicas (rounded down). Defaults to 25%.",
        ),
        maxSurge=f(
            IOS,
            "Pods that may exist above the desired count, as a number or a percentage of replicas "
            "(rounded up). Defaults to 25%.",
        ),
    ),
    obj(
        A + "DeploymentStatus",
        "The observed state of a deployment.",
        observedGeneration=f(I64, _OBSERVED),
        replicas=f(I32, "Pods targeted by the deployment."),
        updatedReplicas=f(I32, "Pods running the current template."),
        readyReplicas=f(I32, "Pods that are ready."),
        availableReplicas=f(I32, "Pods ready for at least minReadySeconds."),
        unavailableReplicas=f(I32, "Pods still needed for the deployment to be fully available."),
        conditions=f(arr(ref(A + "DeploymentCondition")), "The deployment's conditions.", merge="type"),
        collisionCount=f(I32, _COLLISIONS),
    ),
    _condition("DeploymentCondition", "deployment", update_time=True),
]

REPLICA_SET = [
    *kind(
        A + "ReplicaSet",
        "Keeps a number of identical pods running.",
        "apps",
        "v1",
        spec=sub(A + "ReplicaSetSpec", "The desired behavior of the replica set."),
        status=sub(A + "ReplicaSetStatus", "The most recently observed state of the replica set. Read-only."),
    ),
    obj(
        A + "ReplicaSetSpec",
        "The desired behavior of a replica set.",
        replicas=f(I32, "Desired number of pods. Defaults to 1."),
        minReadySeconds=f(I32, _MIN_READY),
        selector=opt(META + "LabelSelector", _SELECTOR, required=True),
        template=sub(C + "PodTemplateSpec", "Template of the pods to create."),
    ),
    obj(
        A + "ReplicaSetStatus",
        "The observed state of a replica set.",
        replicas=f(I32, "Pods currently owned.", required=True),
        fullyLabeledReplicas=f(I32, "Pods whose labels match the template's."),
        readyReplicas=f(I32, "Pods that are ready."),
        availableReplicas=f(I32, "Pods ready for at least minReadySeconds."),
        observedGeneration=f(I64, _OBSERVED),
        conditions=f(arr(ref(A + "ReplicaSetCondition")), "The replica set's conditions.", merge="type"),
    ),
    _condition("ReplicaSetCondition", "replica set"),
]

DAEMON_SET = [
    *kind(
        A + "DaemonSet",
        "Runs a copy of a pod on every eligible node.",
        "apps",
        "v1",
        spec=sub(A + "DaemonSetSpec", "The desired behavior of the daemon set."),
        status=sub(A + "DaemonSetStatus", "The most recently observed state of the daemon set. Read-only."),
    ),
    obj(
        A + "DaemonSetSpec",
        "The desired behavior of a daemon set.",
        selector=opt(META + "LabelSelector", _SELECTOR, required=True),
        template=sub(C + "PodTemplateSpec", "Template of the pods to run on each node.", required=True),
        updateStrategy=sub(A + "DaemonSetUpdateStrategy", "How pods are replaced when the template changes."),
        minReadySeconds=f(I32, _MIN_READY),
        revisionHistoryLimit=f(I32, _HISTORY),
    ),
    obj(
        A + "DaemonSetUpdateStrategy",
        "How a daemon set replaces pods.",
        type=f(
            named(STR, "v1.DaemonSetUpdateStrategyType"),
            "RollingUpdate or OnDelete. Defaults to RollingUpdate.",
            enum=("OnDelete", "RollingUpdate"),
        ),
        rollingUpdate=opt(A + "RollingUpdateDaemonSet", "Parameters for RollingUpdate."),
    ),
    obj(
        A + "RollingUpdateDaemonSet",
        "Pace of a daemon set rolling update.",
        maxUnavailable=f(
            IOS,
            "Nodes whose pod may be unavailable during the update, as a number or percentage. Defaults to 1.",
        ),
        maxSurge=f(
            IOS,
            "Nodes that may run an extra updated pod during the update, as a number or "
            "percentage. Defaults to 0.",
        ),
    ),
    obj(
        A + "DaemonSetStatus",
        "The observed state of a daemon set.",
        currentNumberScheduled=f(I32, "Nodes running at least one daemon pod that should.", required=True),
        numberMisscheduled=f(I32, "Nodes running a daemon pod that should not.", required=True),
        desiredNumberScheduled=f(I32, "Nodes that should run the daemon pod.", required=True),
        numberReady=f(I32, "Nodes whose daemon pod is ready.", required=True),
        observedGeneration=f(I64, _OBSERVED),
        updatedNumberScheduled=f(I32, "Nodes running the updated daemon pod."),
        numberAvailable=f(I32, "Nodes whose daemon pod is available."),
        numberUnavailable=f(I32, "Nodes that should run an available daemon pod but do not."),
        collisionCount=f(I32, _COLLISIONS),
        conditions=f(arr(ref(A + "DaemonSetCondition")), "The daemon set's conditions.", merge="type"),
    ),
    _condition("DaemonSetCondition", "daemon set"),
]

SUBRESOURCE_BODIES = [
    single(
        "io.k8s.api.autoscaling.v1.Scale",
        "A request to read or change the replica count of a scalable resource.",
        "autoscaling",
        "v1",
        spec=sub("io.k8s.api.autoscaling.v1.ScaleSpec", "The desired replica count."),
        status=sub("io.k8s.api.autoscaling.v1.ScaleStatus", "The current replica count. Read-only."),
    ),
    obj(
        "io.k8s.api.autoscaling.v1.ScaleSpec",
        "The desired scale.",
        replicas=f(I32, "Desired number of replicas."),
    ),
    obj(
        "io.k8s.api.autoscaling.v1.ScaleStatus",
        "The current scale.",
        replicas=f(I32, "Observed number of replicas.", required=True),
        selector=f(STR, "The pod label selector in query-parameter form."),
    ),
    single(
        "io.k8s.api.policy.v1.Eviction",
        "A request to evict a pod, subject to disruption budgets; posted to the pod's eviction subresource.",
        "policy",
        "v1",
        metadata="The name and namespace of the pod to evict.",
        deleteOptions=opt(META + "DeleteOptions", "Options for the resulting delete."),
    ),
]

APPS: list[Component] = [*DEPLOYMENT, *REPLICA_SET, *DAEMON_SET, *SUBRESOURCE_BODIES]
