"""Request bodies in Kubernetes protobuf (`application/vnd.kubernetes.protobuf`), as client-go's typed
clients send them (kubectl create, auth can-i, debug; Go controllers), turned into the JSON object Go's
encoding/json would print for the same Go struct, so every later stage only ever sees JSON.

Wire format: the magic `k8s\\0`, then a `runtime.Unknown` whose `raw` is the object's message. Field
numbers, JSON names and Go pointer/omitempty shapes are those of k8s.io/api and apimachinery v0.32
(types.go / generated.proto).
gogo-protobuf writes non-pointer scalars even when zero while encoding/json drops `omitempty` zeros,
so each field carries a flag that says which Go JSON rule applies:

  ``?`` omitempty non-pointer scalar, list or map: zero / empty is left out
  ``*`` pointer with omitempty: present exactly when it was on the wire, zero included
  ``~`` pointer without omitempty: absent becomes null
  ``^`` embedded struct inlined into the parent (Volume's VolumeSource, Probe's ProbeHandler)
  no flag: always printed (absent scalar as its zero, absent list or map as null); non-pointer
  structs are always printed because encoding/json never treats a struct as empty.

Types: str, bool, i32, i64, bytes (base64 in JSON), Time, MicroTime, Quantity, IntOrString, FieldsV1,
a message name, ``[T]`` repeated, ``{T}`` map with string keys (entries key=1 value=2).
"""

from __future__ import annotations

import base64
import datetime
import functools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from distro.apiserver import status
from distro.apiserver.strategies import quantity

PROTOBUF = "application/vnd.kubernetes.protobuf"

_MAGIC = b"k8s\x00"
_VARINT, _FIXED64, _LENGTH, _START_GROUP, _END_GROUP, _FIXED32 = 0, 1, 2, 3, 4, 5
_U64 = (1 << 64) - 1
_SCALARS = {"str": _LENGTH, "bytes": _LENGTH, "bool": _VARINT, "i32": _VARINT, "i64": _VARINT}
# the special types whose Go Unmarshal replaces rather than merges when a field repeats
_REPLACED_ON_REPEAT = frozenset({"Time", "MicroTime", "Quantity", "FieldsV1"})
_GO_ZERO_TIME = -62135596800  # time.Time{}.Unix(): 0001-01-01T00:00:00Z
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
_OMIT = object()

_CORE = (
    "Namespace",
    "Node",
    "ConfigMap",
    "Secret",
    "ServiceAccount",
    "Service",
    "Endpoints",
    "Pod",
    "Binding",
    "Event",
)
_KINDS: dict[str, tuple[str, ...]] = {
    "v1": _CORE,
    "apps/v1": ("Deployment", "ReplicaSet", "DaemonSet"),
    "rbac.authorization.k8s.io/v1": ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"),
    "authorization.k8s.io/v1": ("SelfSubjectAccessReview", "SelfSubjectRulesReview"),
    "policy/v1": ("Eviction",),
    "autoscaling/v1": ("Scale",),
    "coordination.k8s.io/v1": ("Lease",),
    "discovery.k8s.io/v1": ("EndpointSlice",),
    "meta.k8s.io/v1": (),
}
# upstream registers the options types in every group version, so a typed client's DELETE body says
# e.g. `apps/v1 DeleteOptions`
_EVERYWHERE = ("DeleteOptions",)

_MESSAGES: dict[str, str] = {
    "Namespace": "1:metadata:ObjectMeta 2:spec:NamespaceSpec 3:status:NamespaceStatus",
    "ConfigMap": "1:metadata:ObjectMeta 4:immutable:bool* 2:data:{str}? 3:binaryData:{bytes}?",
    "Secret": "1:metadata:ObjectMeta 5:immutable:bool* 2:data:{bytes}? 4:stringData:{str}? 3:type:str?",
    "ServiceAccount": (
        "1:metadata:ObjectMeta 2:secrets:[ObjectReference]? "
        "3:imagePullSecrets:[LocalObjectReference]? 4:automountServiceAccountToken:bool*"
    ),
    "Service": "1:metadata:ObjectMeta 2:spec:ServiceSpec 3:status:ServiceStatus",
    "Endpoints": "1:metadata:ObjectMeta 2:subsets:[EndpointSubset]?",
    "Pod": "1:metadata:ObjectMeta 2:spec:PodSpec 3:status:PodStatus",
    "Binding": "1:metadata:ObjectMeta 2:target:ObjectReference",
    "Event": (
        "1:metadata:ObjectMeta 2:involvedObject:ObjectReference 3:reason:str? 4:message:str? "
        "5:source:EventSource 6:firstTimestamp:Time 7:lastTimestamp:Time 8:count:i32? 9:type:str? "
        "10:eventTime:MicroTime 11:series:EventSeries* 12:action:str? 13:related:ObjectReference* "
        "14:reportingComponent:str 15:reportingInstance:str"
    ),
    "Deployment": "1:metadata:ObjectMeta 2:spec:DeploymentSpec 3:status:DeploymentStatus",
    "ReplicaSet": "1:metadata:ObjectMeta 2:spec:ReplicaSetSpec 3:status:ReplicaSetStatus",
    "DaemonSet": "1:metadata:ObjectMeta 2:spec:DaemonSetSpec 3:status:DaemonSetStatus",
    "Role": "1:metadata:ObjectMeta 2:rules:[PolicyRule]",
    "ClusterRole": "1:metadata:ObjectMeta 2:rules:[PolicyRule] 3:aggregationRule:AggregationRule*",
    "RoleBinding": "1:metadata:ObjectMeta 2:subjects:[Subject]? 3:roleRef:RoleRef",
    "ClusterRoleBinding": "1:metadata:ObjectMeta 2:subjects:[Subject]? 3:roleRef:RoleRef",
    "SelfSubjectAccessReview": (
        "1:metadata:ObjectMeta 2:spec:SelfSubjectAccessReviewSpec 3:status:SubjectAccessReviewStatus"
    ),
    "SelfSubjectRulesReview": (
        "1:metadata:ObjectMeta 2:spec:SelfSubjectRulesReviewSpec 3:status:SubjectRulesReviewStatus"
    ),
    "Eviction": "1:metadata:ObjectMeta 2:deleteOptions:DeleteOptions*",
    "Scale": "1:metadata:ObjectMeta 2:spec:ScaleSpec 3:status:ScaleStatus",
    "Lease": "1:metadata:ObjectMeta 2:spec:LeaseSpec",
    "EndpointSlice": (
        "1:metadata:ObjectMeta 4:addressType:str 2:endpoints:[Endpoint] 3:ports:[discovery.EndpointPort]"
    ),
    "DeleteOptions": (
        "1:gracePeriodSeconds:i64* 2:preconditions:Preconditions* 3:orphanDependents:bool* "
        "4:propagationPolicy:str* 5:dryRun:[str]? "
        "6:ignoreStoreReadErrorWithClusterBreakingPotential:bool*"
    ),
    "Node": "1:metadata:ObjectMeta 2:spec:NodeSpec 3:status:NodeStatus",
    "ObjectMeta": (
        "1:name:str? 2:generateName:str? 3:namespace:str? 4:selfLink:str? 5:uid:str? "
        "6:resourceVersion:str? 7:generation:i64? 8:creationTimestamp:Time 9:deletionTimestamp:Time* "
        "10:deletionGracePeriodSeconds:i64* 11:labels:{str}? 12:annotations:{str}? "
        "13:ownerReferences:[OwnerReference]? 14:finalizers:[str]? "
        "17:managedFields:[ManagedFieldsEntry]?"
    ),
    "NamespaceSpec": "1:finalizers:[str]?",
    "NamespaceStatus": "1:phase:str? 2:conditions:[NamespaceCondition]?",
    "ObjectReference": (
        "1:kind:str? 2:namespace:str? 3:name:str? 4:uid:str? 5:apiVersion:str? 6:resourceVersion:str? "
        "7:fieldPath:str?"
    ),
    "LocalObjectReference": "1:name:str?",
    "ServiceSpec": (
        "1:ports:[ServicePort]? 2:selector:{str}? 3:clusterIP:str? 18:clusterIPs:[str]? 4:type:str? "
        "5:externalIPs:[str]? 7:sessionAffinity:str? 8:loadBalancerIP:str? "
        "9:loadBalancerSourceRanges:[str]? 10:externalName:str? 11:externalTrafficPolicy:str? "
        "12:healthCheckNodePort:i32? 13:publishNotReadyAddresses:bool? "
        "14:sessionAffinityConfig:SessionAffinityConfig* 19:ipFamilies:[str]? 17:ipFamilyPolicy:str* "
        "20:allocateLoadBalancerNodePorts:bool* 21:loadBalancerClass:str* "
        "22:internalTrafficPolicy:str* 23:trafficDistribution:str*"
    ),
    "ServiceStatus": "1:loadBalancer:LoadBalancerStatus 2:conditions:[Condition]?",
    "EndpointSubset": (
        "1:addresses:[EndpointAddress]? 2:notReadyAddresses:[EndpointAddress]? 3:ports:[core.EndpointPort]?"
    ),
    "PodSpec": (
        "1:volumes:[Volume]? 20:initContainers:[Container]? 2:containers:[Container] "
        "34:ephemeralContainers:[EphemeralContainer]? 3:restartPolicy:str? "
        "4:terminationGracePeriodSeconds:i64* 5:activeDeadlineSeconds:i64* 6:dnsPolicy:str? "
        "7:nodeSelector:{str}? 8:serviceAccountName:str? 9:serviceAccount:str? "
        "21:automountServiceAccountToken:bool* 10:nodeName:str? 11:hostNetwork:bool? 12:hostPID:bool? "
        "13:hostIPC:bool? 27:shareProcessNamespace:bool* 14:securityContext:PodSecurityContext* "
        "15:imagePullSecrets:[LocalObjectReference]? 16:hostname:str? 17:subdomain:str? "
        "18:affinity:Affinity* 19:schedulerName:str? 22:tolerations:[Toleration]? "
        "23:hostAliases:[HostAlias]? 24:priorityClassName:str? 25:priority:i32* "
        "26:dnsConfig:PodDNSConfig* 28:readinessGates:[PodReadinessGate]? 29:runtimeClassName:str* "
        "30:enableServiceLinks:bool* 31:preemptionPolicy:str* 32:overhead:{Quantity}? "
        "33:topologySpreadConstraints:[TopologySpreadConstraint]? 35:setHostnameAsFQDN:bool* "
        "36:os:PodOS* 37:hostUsers:bool* 38:schedulingGates:[PodSchedulingGate]? "
        "39:resourceClaims:[PodResourceClaim]? 40:resources:ResourceRequirements*"
    ),
    "PodStatus": (
        "1:phase:str? 2:conditions:[PodCondition]? 3:message:str? 4:reason:str? "
        "11:nominatedNodeName:str? 5:hostIP:str? 16:hostIPs:[HostIP]? 6:podIP:str? 12:podIPs:[PodIP]? "
        "7:startTime:Time* 10:initContainerStatuses:[ContainerStatus]? "
        "8:containerStatuses:[ContainerStatus]? 9:qosClass:str? "
        "13:ephemeralContainerStatuses:[ContainerStatus]? 14:resize:str? "
        "15:resourceClaimStatuses:[PodResourceClaimStatus]?"
    ),
    "EventSource": "1:component:str? 2:host:str?",
    "EventSeries": "1:count:i32? 2:lastObservedTime:MicroTime",
    "DeploymentSpec": (
        "1:replicas:i32* 2:selector:LabelSelector~ 3:template:PodTemplateSpec "
        "4:strategy:DeploymentStrategy 5:minReadySeconds:i32? 6:revisionHistoryLimit:i32* "
        "7:paused:bool? 9:progressDeadlineSeconds:i32*"
    ),
    "DeploymentStatus": (
        "1:observedGeneration:i64? 2:replicas:i32? 3:updatedReplicas:i32? 7:readyReplicas:i32? "
        "4:availableReplicas:i32? 5:unavailableReplicas:i32? 6:conditions:[DeploymentCondition]? "
        "8:collisionCount:i32*"
    ),
    "ReplicaSetSpec": (
        "1:replicas:i32* 4:minReadySeconds:i32? 2:selector:LabelSelector~ 3:template:PodTemplateSpec"
    ),
    "ReplicaSetStatus": (
        "1:replicas:i32 2:fullyLabeledReplicas:i32? 4:readyReplicas:i32? 5:availableReplicas:i32? "
        "3:observedGeneration:i64? 6:conditions:[ReplicaSetCondition]?"
    ),
    "DaemonSetSpec": (
        "1:selector:LabelSelector~ 2:template:PodTemplateSpec "
        "3:updateStrategy:DaemonSetUpdateStrategy 4:minReadySeconds:i32? 6:revisionHistoryLimit:i32*"
    ),
    "DaemonSetStatus": (
        "1:currentNumberScheduled:i32 2:numberMisscheduled:i32 3:desiredNumberScheduled:i32 "
        "4:numberReady:i32 5:observedGeneration:i64? 6:updatedNumberScheduled:i32? "
        "7:numberAvailable:i32? 8:numberUnavailable:i32? 9:collisionCount:i32* "
        "10:conditions:[DaemonSetCondition]?"
    ),
    "PolicyRule": (
        "1:verbs:[str] 2:apiGroups:[str]? 3:resources:[str]? 4:resourceNames:[str]? 5:nonResourceURLs:[str]?"
    ),
    "AggregationRule": "1:clusterRoleSelectors:[LabelSelector]?",
    "Subject": "1:kind:str 2:apiGroup:str? 3:name:str 4:namespace:str?",
    "RoleRef": "1:apiGroup:str 2:kind:str 3:name:str",
    "SelfSubjectAccessReviewSpec": (
        "1:resourceAttributes:ResourceAttributes* 2:nonResourceAttributes:NonResourceAttributes*"
    ),
    "SubjectAccessReviewStatus": "1:allowed:bool 4:denied:bool? 2:reason:str? 3:evaluationError:str?",
    "SelfSubjectRulesReviewSpec": "1:namespace:str?",
    "SubjectRulesReviewStatus": (
        "1:resourceRules:[ResourceRule] 2:nonResourceRules:[NonResourceRule] 3:incomplete:bool "
        "4:evaluationError:str?"
    ),
    "ScaleSpec": "1:replicas:i32?",
    "ScaleStatus": "1:replicas:i32 2:selector:str?",
    "LeaseSpec": (
        "1:holderIdentity:str* 2:leaseDurationSeconds:i32* 3:acquireTime:MicroTime* "
        "4:renewTime:MicroTime* 5:leaseTransitions:i32* 6:strategy:str* 7:preferredHolder:str*"
    ),
    "Endpoint": (
        "1:addresses:[str] 2:conditions:EndpointConditions 3:hostname:str* "
        "4:targetRef:ObjectReference* 5:deprecatedTopology:{str}? 6:nodeName:str* 7:zone:str* "
        "8:hints:EndpointHints*"
    ),
    "discovery.EndpointPort": "1:name:str* 2:protocol:str* 3:port:i32* 4:appProtocol:str*",
    "Preconditions": "1:uid:str* 2:resourceVersion:str*",
    "NodeSpec": (
        "1:podCIDR:str? 7:podCIDRs:[str]? 3:providerID:str? 4:unschedulable:bool? 5:taints:[Taint]? "
        "6:configSource:NodeConfigSource* 2:externalID:str?"
    ),
    "NodeStatus": (
        "1:capacity:{Quantity}? 2:allocatable:{Quantity}? 3:phase:str? 4:conditions:[NodeCondition]? "
        "5:addresses:[NodeAddress]? 6:daemonEndpoints:NodeDaemonEndpoints 7:nodeInfo:NodeSystemInfo "
        "8:images:[ContainerImage]? 9:volumesInUse:[str]? 10:volumesAttached:[AttachedVolume]? "
        "11:config:NodeConfigStatus* 12:runtimeHandlers:[NodeRuntimeHandler]? "
        "13:features:NodeFeatures*"
    ),
    "OwnerReference": (
        "5:apiVersion:str 1:kind:str 3:name:str 4:uid:str 6:controller:bool* 7:blockOwnerDeletion:bool*"
    ),
    "ManagedFieldsEntry": (
        "1:manager:str? 2:operation:str? 3:apiVersion:str? 4:time:Time* 6:fieldsType:str? "
        "7:fieldsV1:FieldsV1* 8:subresource:str?"
    ),
    "NamespaceCondition": "1:type:str 2:status:str 4:lastTransitionTime:Time 5:reason:str? 6:message:str?",
    "ServicePort": (
        "1:name:str? 2:protocol:str? 6:appProtocol:str* 3:port:i32 4:targetPort:IntOrString 5:nodePort:i32?"
    ),
    "SessionAffinityConfig": "1:clientIP:ClientIPConfig*",
    "LoadBalancerStatus": "1:ingress:[LoadBalancerIngress]?",
    "Condition": (
        "1:type:str 2:status:str 3:observedGeneration:i64? 4:lastTransitionTime:Time 5:reason:str "
        "6:message:str"
    ),
    "EndpointAddress": "1:ip:str 3:hostname:str? 4:nodeName:str* 2:targetRef:ObjectReference*",
    "core.EndpointPort": "1:name:str? 2:port:i32 3:protocol:str? 4:appProtocol:str*",
    "Volume": "1:name:str 2::VolumeSource^",
    "Container": (
        "1:name:str 2:image:str? 3:command:[str]? 4:args:[str]? 5:workingDir:str? "
        "6:ports:[ContainerPort]? 19:envFrom:[EnvFromSource]? 7:env:[EnvVar]? "
        "8:resources:ResourceRequirements 23:resizePolicy:[ContainerResizePolicy]? "
        "24:restartPolicy:str* 9:volumeMounts:[VolumeMount]? 21:volumeDevices:[VolumeDevice]? "
        "10:livenessProbe:Probe* 11:readinessProbe:Probe* 22:startupProbe:Probe* "
        "12:lifecycle:Lifecycle* 13:terminationMessagePath:str? 20:terminationMessagePolicy:str? "
        "14:imagePullPolicy:str? 15:securityContext:SecurityContext* 16:stdin:bool? "
        "17:stdinOnce:bool? 18:tty:bool?"
    ),
    "EphemeralContainer": "1::EphemeralContainerCommon^ 2:targetContainerName:str?",
    "PodSecurityContext": (
        "1:seLinuxOptions:SELinuxOptions* 8:windowsOptions:WindowsSecurityContextOptions* "
        "2:runAsUser:i64* 6:runAsGroup:i64* 3:runAsNonRoot:bool* 4:supplementalGroups:[i64]? "
        "12:supplementalGroupsPolicy:str* 5:fsGroup:i64* 7:sysctls:[Sysctl]? "
        "9:fsGroupChangePolicy:str* 10:seccompProfile:SeccompProfile* "
        "11:appArmorProfile:AppArmorProfile* 13:seLinuxChangePolicy:str*"
    ),
    "Affinity": (
        "1:nodeAffinity:NodeAffinity* 2:podAffinity:PodAffinity* 3:podAntiAffinity:PodAntiAffinity*"
    ),
    "Toleration": "1:key:str? 2:operator:str? 3:value:str? 4:effect:str? 5:tolerationSeconds:i64*",
    "HostAlias": "1:ip:str 2:hostnames:[str]?",
    "PodDNSConfig": "1:nameservers:[str]? 2:searches:[str]? 3:options:[PodDNSConfigOption]?",
    "PodReadinessGate": "1:conditionType:str",
    "TopologySpreadConstraint": (
        "1:maxSkew:i32 2:topologyKey:str 3:whenUnsatisfiable:str 4:labelSelector:LabelSelector* "
        "5:minDomains:i32* 6:nodeAffinityPolicy:str* 7:nodeTaintsPolicy:str* 8:matchLabelKeys:[str]?"
    ),
    "PodOS": "1:name:str",
    "PodSchedulingGate": "1:name:str",
    "PodResourceClaim": "1:name:str 3:resourceClaimName:str* 4:resourceClaimTemplateName:str*",
    "ResourceRequirements": "1:limits:{Quantity}? 2:requests:{Quantity}? 3:claims:[ResourceClaim]?",
    "PodCondition": (
        "1:type:str 2:status:str 3:lastProbeTime:Time 4:lastTransitionTime:Time 5:reason:str? 6:message:str?"
    ),
    "HostIP": "1:ip:str",
    "PodIP": "1:ip:str",
    "ContainerStatus": (
        "1:name:str 2:state:ContainerState 3:lastState:ContainerState 4:ready:bool 5:restartCount:i32 "
        "6:image:str 7:imageID:str 8:containerID:str? 9:started:bool* "
        "10:allocatedResources:{Quantity}? 11:resources:ResourceRequirements* "
        "12:volumeMounts:[VolumeMountStatus]? 13:user:ContainerUser* "
        "14:allocatedResourcesStatus:[ResourceStatus]?"
    ),
    "PodResourceClaimStatus": "1:name:str 2:resourceClaimName:str*",
    "LabelSelector": "1:matchLabels:{str}? 2:matchExpressions:[LabelSelectorRequirement]?",
    "PodTemplateSpec": "1:metadata:ObjectMeta 2:spec:PodSpec",
    "DeploymentStrategy": "1:type:str? 2:rollingUpdate:RollingUpdateDeployment*",
    "DeploymentCondition": (
        "1:type:str 2:status:str 6:lastUpdateTime:Time 7:lastTransitionTime:Time 4:reason:str? 5:message:str?"
    ),
    "ReplicaSetCondition": "1:type:str 2:status:str 3:lastTransitionTime:Time 4:reason:str? 5:message:str?",
    "DaemonSetUpdateStrategy": "1:type:str? 2:rollingUpdate:RollingUpdateDaemonSet*",
    "DaemonSetCondition": "1:type:str 2:status:str 3:lastTransitionTime:Time 4:reason:str? 5:message:str?",
    "ResourceAttributes": (
        "1:namespace:str? 2:verb:str? 3:group:str? 4:version:str? 5:resource:str? 6:subresource:str? "
        "7:name:str? 8:fieldSelector:FieldSelectorAttributes* "
        "9:labelSelector:LabelSelectorAttributes*"
    ),
    "NonResourceAttributes": "1:path:str? 2:verb:str?",
    "ResourceRule": "1:verbs:[str] 2:apiGroups:[str]? 3:resources:[str]? 4:resourceNames:[str]?",
    "NonResourceRule": "1:verbs:[str] 2:nonResourceURLs:[str]?",
    "EndpointConditions": "1:ready:bool* 2:serving:bool* 3:terminating:bool*",
    "EndpointHints": "1:forZones:[ForZone]?",
    "Taint": "1:key:str 2:value:str? 3:effect:str 4:timeAdded:Time*",
    "NodeConfigSource": "2:configMap:ConfigMapNodeConfigSource*",
    "NodeCondition": (
        "1:type:str 2:status:str 3:lastHeartbeatTime:Time 4:lastTransitionTime:Time 5:reason:str? "
        "6:message:str?"
    ),
    "NodeAddress": "1:type:str 2:address:str",
    "NodeDaemonEndpoints": "1:kubeletEndpoint:DaemonEndpoint",
    "NodeSystemInfo": (
        "1:machineID:str 2:systemUUID:str 3:bootID:str 4:kernelVersion:str 5:osImage:str "
        "6:containerRuntimeVersion:str 7:kubeletVersion:str 8:kubeProxyVersion:str "
        "9:operatingSystem:str 10:architecture:str"
    ),
    "ContainerImage": "1:names:[str] 2:sizeBytes:i64?",
    "AttachedVolume": "1:name:str 2:devicePath:str",
    "NodeConfigStatus": (
        "1:assigned:NodeConfigSource* 2:active:NodeConfigSource* 3:lastKnownGood:NodeConfigSource* "
        "4:error:str?"
    ),
    "NodeRuntimeHandler": "1:name:str 2:features:NodeRuntimeHandlerFeatures*",
    "NodeFeatures": "1:supplementalGroupsPolicy:bool*",
    "ClientIPConfig": "1:timeoutSeconds:i32*",
    "LoadBalancerIngress": "1:ip:str? 2:hostname:str? 3:ipMode:str* 4:ports:[PortStatus]?",
    "VolumeSource": (
        "1:hostPath:HostPathVolumeSource* 2:emptyDir:EmptyDirVolumeSource* "
        "3:gcePersistentDisk:GCEPersistentDiskVolumeSource* "
        "4:awsElasticBlockStore:AWSElasticBlockStoreVolumeSource* 5:gitRepo:GitRepoVolumeSource* "
        "6:secret:SecretVolumeSource* 7:nfs:NFSVolumeSource* 8:iscsi:ISCSIVolumeSource* "
        "9:glusterfs:GlusterfsVolumeSource* "
        "10:persistentVolumeClaim:PersistentVolumeClaimVolumeSource* 11:rbd:RBDVolumeSource* "
        "12:flexVolume:FlexVolumeSource* 13:cinder:CinderVolumeSource* 14:cephfs:CephFSVolumeSource* "
        "15:flocker:FlockerVolumeSource* 16:downwardAPI:DownwardAPIVolumeSource* "
        "17:fc:FCVolumeSource* 18:azureFile:AzureFileVolumeSource* "
        "19:configMap:ConfigMapVolumeSource* 20:vsphereVolume:VsphereVirtualDiskVolumeSource* "
        "21:quobyte:QuobyteVolumeSource* 22:azureDisk:AzureDiskVolumeSource* "
        "23:photonPersistentDisk:PhotonPersistentDiskVolumeSource* "
        "26:projected:ProjectedVolumeSource* 24:portworxVolume:PortworxVolumeSource* "
        "25:scaleIO:ScaleIOVolumeSource* 27:storageos:StorageOSVolumeSource* 28:csi:CSIVolumeSource* "
        "29:ephemeral:EphemeralVolumeSource* 30:image:ImageVolumeSource*"
    ),
    "ContainerPort": "1:name:str? 2:hostPort:i32? 3:containerPort:i32 4:protocol:str? 5:hostIP:str?",
    "EnvFromSource": "1:prefix:str? 2:configMapRef:ConfigMapEnvSource* 3:secretRef:SecretEnvSource*",
    "EnvVar": "1:name:str 2:value:str? 3:valueFrom:EnvVarSource*",
    "ContainerResizePolicy": "1:resourceName:str 2:restartPolicy:str",
    "VolumeMount": (
        "1:name:str 2:readOnly:bool? 7:recursiveReadOnly:str* 3:mountPath:str 4:subPath:str? "
        "5:mountPropagation:str* 6:subPathExpr:str?"
    ),
    "VolumeDevice": "1:name:str 2:devicePath:str",
    "Probe": (
        "1::ProbeHandler^ 2:initialDelaySeconds:i32? 3:timeoutSeconds:i32? 4:periodSeconds:i32? "
        "5:successThreshold:i32? 6:failureThreshold:i32? 7:terminationGracePeriodSeconds:i64*"
    ),
    "Lifecycle": "1:postStart:LifecycleHandler* 2:preStop:LifecycleHandler*",
    "SecurityContext": (
        "1:capabilities:Capabilities* 2:privileged:bool* 3:seLinuxOptions:SELinuxOptions* "
        "10:windowsOptions:WindowsSecurityContextOptions* 4:runAsUser:i64* 8:runAsGroup:i64* "
        "5:runAsNonRoot:bool* 6:readOnlyRootFilesystem:bool* 7:allowPrivilegeEscalation:bool* "
        "9:procMount:str* 11:seccompProfile:SeccompProfile* 12:appArmorProfile:AppArmorProfile*"
    ),
    "EphemeralContainerCommon": (
        "1:name:str 2:image:str? 3:command:[str]? 4:args:[str]? 5:workingDir:str? "
        "6:ports:[ContainerPort]? 19:envFrom:[EnvFromSource]? 7:env:[EnvVar]? "
        "8:resources:ResourceRequirements 23:resizePolicy:[ContainerResizePolicy]? "
        "24:restartPolicy:str* 9:volumeMounts:[VolumeMount]? 21:volumeDevices:[VolumeDevice]? "
        "10:livenessProbe:Probe* 11:readinessProbe:Probe* 22:startupProbe:Probe* "
        "12:lifecycle:Lifecycle* 13:terminationMessagePath:str? 20:terminationMessagePolicy:str? "
        "14:imagePullPolicy:str? 15:securityContext:SecurityContext* 16:stdin:bool? "
        "17:stdinOnce:bool? 18:tty:bool?"
    ),
    "SELinuxOptions": "1:user:str? 2:role:str? 3:type:str? 4:level:str?",
    "WindowsSecurityContextOptions": (
        "1:gmsaCredentialSpecName:str* 2:gmsaCredentialSpec:str* 3:runAsUserName:str* 4:hostProcess:bool*"
    ),
    "Sysctl": "1:name:str 2:value:str",
    "SeccompProfile": "1:type:str 2:localhostProfile:str*",
    "AppArmorProfile": "1:type:str 2:localhostProfile:str*",
    "NodeAffinity": (
        "1:requiredDuringSchedulingIgnoredDuringExecution:NodeSelector* "
        "2:preferredDuringSchedulingIgnoredDuringExecution:[PreferredSchedulingTerm]?"
    ),
    "PodAffinity": (
        "1:requiredDuringSchedulingIgnoredDuringExecution:[PodAffinityTerm]? "
        "2:preferredDuringSchedulingIgnoredDuringExecution:[WeightedPodAffinityTerm]?"
    ),
    "PodAntiAffinity": (
        "1:requiredDuringSchedulingIgnoredDuringExecution:[PodAffinityTerm]? "
        "2:preferredDuringSchedulingIgnoredDuringExecution:[WeightedPodAffinityTerm]?"
    ),
    "PodDNSConfigOption": "1:name:str? 2:value:str*",
    "ResourceClaim": "1:name:str 2:request:str?",
    "ContainerState": (
        "1:waiting:ContainerStateWaiting* 2:running:ContainerStateRunning* "
        "3:terminated:ContainerStateTerminated*"
    ),
    "VolumeMountStatus": "1:name:str 2:mountPath:str 3:readOnly:bool? 4:recursiveReadOnly:str*",
    "ContainerUser": "1:linux:LinuxContainerUser*",
    "ResourceStatus": "1:name:str 2:resources:[ResourceHealth]?",
    "LabelSelectorRequirement": "1:key:str 2:operator:str 3:values:[str]?",
    "RollingUpdateDeployment": "1:maxUnavailable:IntOrString* 2:maxSurge:IntOrString*",
    "RollingUpdateDaemonSet": "1:maxUnavailable:IntOrString* 2:maxSurge:IntOrString*",
    "FieldSelectorAttributes": "1:rawSelector:str? 2:requirements:[FieldSelectorRequirement]?",
    "LabelSelectorAttributes": "1:rawSelector:str? 2:requirements:[LabelSelectorRequirement]?",
    "ForZone": "1:name:str",
    "ConfigMapNodeConfigSource": (
        "1:namespace:str 2:name:str 3:uid:str? 4:resourceVersion:str? 5:kubeletConfigKey:str"
    ),
    "DaemonEndpoint": "1:Port:i32",
    "NodeRuntimeHandlerFeatures": "1:recursiveReadOnlyMounts:bool* 2:userNamespaces:bool*",
    "PortStatus": "1:port:i32 2:protocol:str 3:error:str*",
    "HostPathVolumeSource": "1:path:str 2:type:str*",
    "EmptyDirVolumeSource": "1:medium:str? 2:sizeLimit:Quantity*",
    "GCEPersistentDiskVolumeSource": "1:pdName:str 2:fsType:str? 3:partition:i32? 4:readOnly:bool?",
    "AWSElasticBlockStoreVolumeSource": "1:volumeID:str 2:fsType:str? 3:partition:i32? 4:readOnly:bool?",
    "GitRepoVolumeSource": "1:repository:str 2:revision:str? 3:directory:str?",
    "SecretVolumeSource": "1:secretName:str? 2:items:[KeyToPath]? 3:defaultMode:i32* 4:optional:bool*",
    "NFSVolumeSource": "1:server:str 2:path:str 3:readOnly:bool?",
    "ISCSIVolumeSource": (
        "1:targetPortal:str 2:iqn:str 3:lun:i32 4:iscsiInterface:str? 5:fsType:str? 6:readOnly:bool? "
        "7:portals:[str]? 8:chapAuthDiscovery:bool? 11:chapAuthSession:bool? "
        "10:secretRef:LocalObjectReference* 12:initiatorName:str*"
    ),
    "GlusterfsVolumeSource": "1:endpoints:str 2:path:str 3:readOnly:bool?",
    "PersistentVolumeClaimVolumeSource": "1:claimName:str 2:readOnly:bool?",
    "RBDVolumeSource": (
        "1:monitors:[str] 2:image:str 3:fsType:str? 4:pool:str? 5:user:str? 6:keyring:str? "
        "7:secretRef:LocalObjectReference* 8:readOnly:bool?"
    ),
    "FlexVolumeSource": (
        "1:driver:str 2:fsType:str? 3:secretRef:LocalObjectReference* 4:readOnly:bool? 5:options:{str}?"
    ),
    "CinderVolumeSource": "1:volumeID:str 2:fsType:str? 3:readOnly:bool? 4:secretRef:LocalObjectReference*",
    "CephFSVolumeSource": (
        "1:monitors:[str] 2:path:str? 3:user:str? 4:secretFile:str? 5:secretRef:LocalObjectReference* "
        "6:readOnly:bool?"
    ),
    "FlockerVolumeSource": "1:datasetName:str? 2:datasetUUID:str?",
    "DownwardAPIVolumeSource": "1:items:[DownwardAPIVolumeFile]? 2:defaultMode:i32*",
    "FCVolumeSource": "1:targetWWNs:[str]? 2:lun:i32* 3:fsType:str? 4:readOnly:bool? 5:wwids:[str]?",
    "AzureFileVolumeSource": "1:secretName:str 2:shareName:str 3:readOnly:bool?",
    "ConfigMapVolumeSource": (
        "1::LocalObjectReference^ 2:items:[KeyToPath]? 3:defaultMode:i32* 4:optional:bool*"
    ),
    "VsphereVirtualDiskVolumeSource": (
        "1:volumePath:str 2:fsType:str? 3:storagePolicyName:str? 4:storagePolicyID:str?"
    ),
    "QuobyteVolumeSource": (
        "1:registry:str 2:volume:str 3:readOnly:bool? 4:user:str? 5:group:str? 6:tenant:str?"
    ),
    "AzureDiskVolumeSource": (
        "1:diskName:str 2:diskURI:str 3:cachingMode:str* 4:fsType:str* 5:readOnly:bool* 6:kind:str*"
    ),
    "PhotonPersistentDiskVolumeSource": "1:pdID:str 2:fsType:str?",
    "ProjectedVolumeSource": "1:sources:[VolumeProjection] 2:defaultMode:i32*",
    "PortworxVolumeSource": "1:volumeID:str 2:fsType:str? 3:readOnly:bool?",
    "ScaleIOVolumeSource": (
        "1:gateway:str 2:system:str 3:secretRef:LocalObjectReference~ 4:sslEnabled:bool? "
        "5:protectionDomain:str? 6:storagePool:str? 7:storageMode:str? 8:volumeName:str? "
        "9:fsType:str? 10:readOnly:bool?"
    ),
    "StorageOSVolumeSource": (
        "1:volumeName:str? 2:volumeNamespace:str? 3:fsType:str? 4:readOnly:bool? "
        "5:secretRef:LocalObjectReference*"
    ),
    "CSIVolumeSource": (
        "1:driver:str 2:readOnly:bool* 3:fsType:str* 4:volumeAttributes:{str}? "
        "5:nodePublishSecretRef:LocalObjectReference*"
    ),
    "EphemeralVolumeSource": "1:volumeClaimTemplate:PersistentVolumeClaimTemplate*",
    "ImageVolumeSource": "1:reference:str? 2:pullPolicy:str?",
    "ConfigMapEnvSource": "1::LocalObjectReference^ 2:optional:bool*",
    "SecretEnvSource": "1::LocalObjectReference^ 2:optional:bool*",
    "EnvVarSource": (
        "1:fieldRef:ObjectFieldSelector* 2:resourceFieldRef:ResourceFieldSelector* "
        "3:configMapKeyRef:ConfigMapKeySelector* 4:secretKeyRef:SecretKeySelector*"
    ),
    "ProbeHandler": (
        "1:exec:ExecAction* 2:httpGet:HTTPGetAction* 3:tcpSocket:TCPSocketAction* 4:grpc:GRPCAction*"
    ),
    "LifecycleHandler": (
        "1:exec:ExecAction* 2:httpGet:HTTPGetAction* 3:tcpSocket:TCPSocketAction* 4:sleep:SleepAction*"
    ),
    "Capabilities": "1:add:[str]? 2:drop:[str]?",
    "NodeSelector": "1:nodeSelectorTerms:[NodeSelectorTerm]",
    "PreferredSchedulingTerm": "1:weight:i32 2:preference:NodeSelectorTerm",
    "PodAffinityTerm": (
        "1:labelSelector:LabelSelector* 2:namespaces:[str]? 3:topologyKey:str "
        "4:namespaceSelector:LabelSelector* 5:matchLabelKeys:[str]? 6:mismatchLabelKeys:[str]?"
    ),
    "WeightedPodAffinityTerm": "1:weight:i32 2:podAffinityTerm:PodAffinityTerm",
    "ContainerStateWaiting": "1:reason:str? 2:message:str?",
    "ContainerStateRunning": "1:startedAt:Time",
    "ContainerStateTerminated": (
        "1:exitCode:i32 2:signal:i32? 3:reason:str? 4:message:str? 5:startedAt:Time 6:finishedAt:Time "
        "7:containerID:str?"
    ),
    "LinuxContainerUser": "1:uid:i64 2:gid:i64 3:supplementalGroups:[i64]?",
    "ResourceHealth": "1:resourceID:str 2:health:str?",
    "FieldSelectorRequirement": "1:key:str 2:operator:str 3:values:[str]?",
    "KeyToPath": "1:key:str 2:path:str 3:mode:i32*",
    "DownwardAPIVolumeFile": (
        "1:path:str 2:fieldRef:ObjectFieldSelector* 3:resourceFieldRef:ResourceFieldSelector* 4:mode:i32*"
    ),
    "VolumeProjection": (
        "1:secret:SecretProjection* 2:downwardAPI:DownwardAPIProjection* "
        "3:configMap:ConfigMapProjection* 4:serviceAccountToken:ServiceAccountTokenProjection* "
        "5:clusterTrustBundle:ClusterTrustBundleProjection*"
    ),
    "PersistentVolumeClaimTemplate": "1:metadata:ObjectMeta 2:spec:PersistentVolumeClaimSpec",
    "ObjectFieldSelector": "1:apiVersion:str? 2:fieldPath:str",
    "ResourceFieldSelector": "1:containerName:str? 2:resource:str 3:divisor:Quantity",
    "ConfigMapKeySelector": "1::LocalObjectReference^ 2:key:str 3:optional:bool*",
    "SecretKeySelector": "1::LocalObjectReference^ 2:key:str 3:optional:bool*",
    "ExecAction": "1:command:[str]?",
    "HTTPGetAction": "1:path:str? 2:port:IntOrString 3:host:str? 4:scheme:str? 5:httpHeaders:[HTTPHeader]?",
    "TCPSocketAction": "1:port:IntOrString 2:host:str?",
    "GRPCAction": "1:port:i32 2:service:str~",
    "SleepAction": "1:seconds:i64",
    "NodeSelectorTerm": (
        "1:matchExpressions:[NodeSelectorRequirement]? 2:matchFields:[NodeSelectorRequirement]?"
    ),
    "SecretProjection": "1::LocalObjectReference^ 2:items:[KeyToPath]? 4:optional:bool*",
    "DownwardAPIProjection": "1:items:[DownwardAPIVolumeFile]?",
    "ConfigMapProjection": "1::LocalObjectReference^ 2:items:[KeyToPath]? 4:optional:bool*",
    "ServiceAccountTokenProjection": "1:audience:str? 2:expirationSeconds:i64* 3:path:str",
    "ClusterTrustBundleProjection": (
        "1:name:str* 2:signerName:str* 3:labelSelector:LabelSelector* 5:optional:bool* 4:path:str"
    ),
    "PersistentVolumeClaimSpec": (
        "1:accessModes:[str]? 4:selector:LabelSelector* 2:resources:VolumeResourceRequirements "
        "3:volumeName:str? 5:storageClassName:str* 6:volumeMode:str* "
        "7:dataSource:TypedLocalObjectReference* 8:dataSourceRef:TypedObjectReference* "
        "9:volumeAttributesClassName:str*"
    ),
    "HTTPHeader": "1:name:str 2:value:str",
    "NodeSelectorRequirement": "1:key:str 2:operator:str 3:values:[str]?",
    "VolumeResourceRequirements": "1:limits:{Quantity}? 2:requests:{Quantity}?",
    "TypedLocalObjectReference": "1:apiGroup:str~ 2:kind:str 3:name:str",
    "TypedObjectReference": "1:apiGroup:str~ 2:kind:str 3:name:str 4:namespace:str*",
}


def decode(raw: bytes) -> dict[str, Any]:
    """The JSON object for a protobuf request body; StatusError 400 for anything else."""
    if not raw:
        raise status.bad_request("empty data")
    if not raw.startswith(_MAGIC):
        raise status.bad_request(
            "provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]"
        )
    if len(raw) == len(_MAGIC):
        raise status.bad_request("empty body")
    api_version, kind, body = _unknown(bytes(raw[len(_MAGIC) :]))
    if not kind:
        raise status.bad_request("Object 'Kind' is missing in protobuf body")
    if not api_version:
        raise status.bad_request("Object 'apiVersion' is missing in protobuf body")
    if api_version not in _KINDS or (kind not in _KINDS[api_version] and kind not in _EVERYWHERE):
        raise status.bad_request(f'no kind "{kind}" is registered for version "{api_version}" in protobuf')
    return {"kind": kind, "apiVersion": api_version, **_message(kind, body)}


# --- wire reader ---


def _wire_error(message: str) -> status.StatusError:
    return status.bad_request(f"proto: {message}")


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise _wire_error("unexpected EOF")
        if shift >= 64:
            raise _wire_error("integer overflow")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result & _U64, pos
        shift += 7


def _take(buf: bytes, pos: int, size: int) -> tuple[bytes, int]:
    if size > len(buf) - pos:
        raise _wire_error("unexpected EOF")
    return buf[pos : pos + size], pos + size


def _next(buf: bytes, pos: int) -> tuple[int, int, int | bytes | None, int]:
    """One field: (number, wire type, value, next position); group markers carry no value."""
    key, pos = _varint(buf, pos)
    # gogo's generated code reads the number as int32(key >> 3) and refuses only what is not positive
    number, wire_type = _signed(key >> 3, 32), key & 7
    if number <= 0:
        raise _wire_error(f"illegal tag {number} (wire type {wire_type})")
    if wire_type == _VARINT:
        value, pos = _varint(buf, pos)
        return number, wire_type, value, pos
    if wire_type in (_FIXED64, _FIXED32):
        data, pos = _take(buf, pos, 8 if wire_type == _FIXED64 else 4)
        return number, wire_type, int.from_bytes(data, "little"), pos
    if wire_type == _LENGTH:
        size, pos = _varint(buf, pos)
        data, pos = _take(buf, pos, size)
        return number, wire_type, data, pos
    if wire_type in (_START_GROUP, _END_GROUP):
        return number, wire_type, None, pos
    raise _wire_error(f"illegal wireType {wire_type}")


def _skip_group(buf: bytes, pos: int, number: int) -> int:
    # iterative, so deeply nested groups in hostile input cannot exhaust the Python stack
    open_groups = [number]
    while open_groups:
        inner, wire_type, _, pos = _next(buf, pos)
        if wire_type == _START_GROUP:
            open_groups.append(inner)
        elif wire_type == _END_GROUP and open_groups.pop() != inner:
            raise _wire_error("end group does not match its start")
    return pos


def _fields(buf: bytes) -> Iterator[tuple[int, int, int | bytes | None]]:
    """Every field of one message in wire order; groups (never used by Kubernetes) are skipped whole."""
    pos = 0
    while pos < len(buf):
        number, wire_type, value, pos = _next(buf, pos)
        if wire_type == _END_GROUP:
            raise _wire_error("wiretype end group for non-group")
        if wire_type == _START_GROUP:
            pos = _skip_group(buf, pos, number)
        yield number, wire_type, value


def _packed_varints(data: bytes) -> list[int]:
    values, pos = [], 0
    while pos < len(data):
        value, pos = _varint(data, pos)
        values.append(value)
    return values


# --- field tables ---


@dataclass(frozen=True, slots=True)
class _Field:
    number: int
    name: str
    type: str
    repeated: bool = False
    map: bool = False
    omitempty: bool = False
    pointer: bool = False
    inline: bool = False

    @property
    def null_when_absent(self) -> bool:
        return not self.omitempty and not self.inline


def _parse_field(spec: str) -> _Field:
    number, name, rest = spec.split(":", 2)
    type_ = rest.rstrip("?*~^")
    flags = rest[len(type_) :]
    repeated, is_map = type_.startswith("["), type_.startswith("{")
    return _Field(
        number=int(number),
        name=name,
        type=type_.strip("[]{}"),
        repeated=repeated,
        map=is_map,
        omitempty="?" in flags or "*" in flags,
        pointer="*" in flags or "~" in flags,
        inline="^" in flags,
    )


@functools.cache
def _table(message: str) -> dict[int, _Field]:
    """Fields by number, in Go struct order (the order encoding/json prints them)."""
    return {f.number: f for f in map(_parse_field, _MESSAGES[message].split())}


# --- messages ---


def _unknown(buf: bytes) -> tuple[str, str, bytes]:
    """runtime.Unknown's (apiVersion, kind, raw); as upstream, contentEncoding and contentType go unused."""
    type_meta: dict[int, str] = {}
    body = b""
    for number, wire_type, value in _fields(buf):
        if number == 1:
            type_meta |= _strings(_expect(wire_type, _LENGTH, value, "TypeMeta"))
        elif number == 2:
            body = _expect(wire_type, _LENGTH, value, "Raw")
    return type_meta.get(1, ""), type_meta.get(2, ""), body


def _strings(buf: bytes, numbers: tuple[int, ...] = (1, 2)) -> dict[int, str]:
    """The string fields `numbers` of a message; other fields are skipped."""
    return {
        number: _text(_expect(wire_type, _LENGTH, value, str(number)))
        for number, wire_type, value in _fields(buf)
        if number in numbers
    }


def _expect(wire_type: int, want: int, value: Any, field: str) -> Any:
    if wire_type != want:
        raise _wire_error(f"wrong wireType = {wire_type} for field {field}")
    return value


def _collect(field: _Field, wire_type: int, value: Any) -> list[Any]:
    """The wire values one occurrence contributes; packed repeated varints contribute several."""
    want = _SCALARS.get(field.type, _LENGTH)
    if field.repeated and want == _VARINT and wire_type == _LENGTH:
        return _packed_varints(value)
    return [_expect(wire_type, want, value, field.name or field.type)]


def _message(name: str, buf: bytes) -> dict[str, Any]:
    table = _table(name)
    found: dict[int, list[Any]] = {}
    for number, wire_type, value in _fields(buf):
        field = table.get(number)
        if field is not None:
            found.setdefault(number, []).extend(_collect(field, wire_type, value))
    out: dict[str, Any] = {}
    for field in table.values():
        rendered = _render(field, found.get(field.number, []))
        if rendered is _OMIT:
            continue
        if field.inline:
            out.update(rendered)
        else:
            out[field.name] = rendered
    return out


def _render(field: _Field, values: list[Any]) -> Any:
    if field.map:
        entries = dict(_map_entry(field.type, entry) for entry in values)
        return dict(sorted(entries.items())) if entries else _absent(field)
    if field.repeated:
        items = [_value(field.type, value) for value in values]
        return items if items else _absent(field)
    if field.type not in _SCALARS:
        if not values and field.pointer:
            return _absent(field)
        return _value(field.type, _merged(field.type, values))
    if not values:
        return _absent(field) if field.pointer or field.omitempty else _value(field.type, _zero(field.type))
    value = _value(field.type, values[-1])
    if field.omitempty and not field.pointer and not value:
        return _OMIT
    return value


def _absent(field: _Field) -> Any:
    return None if field.null_when_absent else _OMIT


def _zero(type_: str) -> int | bytes:
    return b"" if _SCALARS[type_] == _LENGTH else 0


def _merged(type_: str, occurrences: list[bytes]) -> bytes:
    # protobuf merges a repeated embedded message exactly as if its encodings were concatenated
    if type_ in _REPLACED_ON_REPEAT:
        return occurrences[-1] if occurrences else b""
    return b"".join(occurrences)


def _map_entry(value_type: str, entry: bytes) -> tuple[str, Any]:
    key, value = "", None
    for number, wire_type, data in _fields(entry):
        if number == 1:
            key = _text(_expect(wire_type, _LENGTH, data, "key"))
        elif number == 2:
            value = _expect(wire_type, _SCALARS.get(value_type, _LENGTH), data, "value")
    if value is None:
        value = _zero(value_type) if value_type in _SCALARS else b""
    return key, _value(value_type, value)


def _value(type_: str, raw: Any) -> Any:
    convert = _CONVERTERS.get(type_)
    if convert is not None:
        return convert(raw)
    return _message(type_, raw)


def _text(data: bytes) -> str:
    # encoding/json prints invalid UTF-8 as U+FFFD
    return data.decode("utf-8", errors="replace")


def _signed(value: int, bits: int) -> int:
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


def _timestamp(buf: bytes) -> tuple[int, int]:
    seconds = nanos = 0
    for number, wire_type, value in _fields(buf):
        if number == 1:
            seconds = _signed(_expect(wire_type, _VARINT, value, "Seconds"), 64)
        elif number == 2:
            nanos = _signed(_expect(wire_type, _VARINT, value, "Nanos"), 32)
    return seconds, nanos


def _format_time(microseconds: int, timespec: str) -> str | None:
    """RFC 3339 in UTC; null for Go's zero time, as metav1.Time's MarshalJSON prints it."""
    if microseconds == _GO_ZERO_TIME * 1_000_000:
        return None
    try:
        moment = _EPOCH + datetime.timedelta(microseconds=microseconds)
    except OverflowError:
        raise status.bad_request("protobuf time is outside the years 1-9999") from None
    # isoformat, unlike strftime's %Y, pads years below 1000 to four digits as Go does
    return moment.replace(tzinfo=None).isoformat(timespec=timespec) + "Z"


def _time(buf: bytes) -> str | None:
    # metav1.Time keeps whole seconds only, like its JSON form
    if not buf:
        return None
    seconds, _ = _timestamp(buf)
    return _format_time(seconds * 1_000_000, "seconds")


def _micro_time(buf: bytes) -> str | None:
    if not buf:
        return None
    seconds, nanos = _timestamp(buf)
    micros = abs(nanos) // 1000 * (1 if nanos >= 0 else -1)  # Go truncates toward zero
    return _format_time(seconds * 1_000_000 + micros, "microseconds")


def _quantity(buf: bytes) -> str:
    """The text as sent; the JSON path canonicalises it, but like Go's Unmarshal we refuse bad ones."""
    text: str | None = None
    for number, wire_type, value in _fields(buf):
        if number == 1:
            text = _text(_expect(wire_type, _LENGTH, value, "String"))
    if text is None:
        return "0"
    if quantity.parse(text) is None:
        raise status.bad_request(f"quantities must match the regular expression '{quantity.QUANTITY_REGEX}'")
    return text


def _int_or_string(buf: bytes) -> int | str:
    kind, int_val, str_val = 0, 0, ""
    for number, wire_type, value in _fields(buf):
        if number == 1:
            kind = _signed(_expect(wire_type, _VARINT, value, "Type"), 64)
        elif number == 2:
            int_val = _signed(_expect(wire_type, _VARINT, value, "IntVal"), 32)
        elif number == 3:
            str_val = _text(_expect(wire_type, _LENGTH, value, "StrVal"))
    if kind == 0:
        return int_val
    if kind == 1:
        return str_val
    raise status.bad_request("impossible IntOrString.Type")


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _fields_v1(buf: bytes) -> Any:
    """managedFields' fieldsV1 is raw JSON carried in bytes field 1."""
    raw = b""
    for number, wire_type, value in _fields(buf):
        if number == 1:
            raw = _expect(wire_type, _LENGTH, value, "Raw")
    if not raw:
        return None
    try:
        return json.loads(raw, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        raise status.bad_request("fieldsV1 does not hold valid JSON") from None


_CONVERTERS: dict[str, Any] = {
    "str": _text,
    "bytes": lambda data: base64.b64encode(data).decode("ascii"),
    "bool": lambda value: value != 0,
    "i32": lambda value: _signed(value, 32),
    "i64": lambda value: _signed(value, 64),
    "Time": _time,
    "MicroTime": _micro_time,
    "Quantity": _quantity,
    "IntOrString": _int_or_string,
    "FieldsV1": _fields_v1,
}
