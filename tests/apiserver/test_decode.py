"""Request-body checks: Go's type-error wording, strict unknown/duplicate field paths, special scalars."""

from __future__ import annotations

import copy
import json

import pytest
import yaml

from distro.apiserver import decode
from distro.apiserver.status import StatusError

POD = "io.k8s.api.core.v1.Pod"
DEPLOYMENT = "io.k8s.api.apps.v1.Deployment"

FULL_POD = yaml.safe_load("""
apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: default
  labels: {app: web}
  annotations: {note: x}
  ownerReferences:
  - {apiVersion: apps/v1, kind: ReplicaSet, name: web-1, uid: u1, controller: true, blockOwnerDeletion: true}
  finalizers: [example.com/keep]
  creationTimestamp: null
spec:
  initContainers:
  - {name: init, image: busybox, command: [sh, -c, "true"], restartPolicy: Always}
  containers:
  - name: app
    image: nginx:1.27
    imagePullPolicy: IfNotPresent
    args: [--port, "8080"]
    workingDir: /srv
    ports: [{name: http, containerPort: 8080, protocol: TCP}]
    env:
    - {name: A, value: "1"}
    - {name: POD_IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}
    - {name: PASS, valueFrom: {secretKeyRef: {name: s, key: pass, optional: true}}}
    - {name: CPU, valueFrom: {resourceFieldRef: {resource: limits.cpu, divisor: 1m}}}
    envFrom: [{prefix: CFG_, configMapRef: {name: cfg}}]
    resources:
      requests: {cpu: 100m, memory: 64Mi}
      limits: {cpu: 1, memory: 1.5Gi}
    volumeMounts: [{name: data, mountPath: /data, readOnly: true, subPath: x}]
    livenessProbe:
      httpGet: {path: /healthz, port: http, scheme: HTTP, httpHeaders: [{name: X, value: y}]}
      initialDelaySeconds: 3
      periodSeconds: 10
      failureThreshold: 3
    readinessProbe: {tcpSocket: {port: 8080}, timeoutSeconds: 2}
    startupProbe: {exec: {command: [cat, /ready]}, successThreshold: 1}
    lifecycle:
      preStop: {sleep: {seconds: 5}}
      postStart: {exec: {command: ["true"]}}
    securityContext:
      runAsNonRoot: true
      runAsUser: 1000
      readOnlyRootFilesystem: true
      allowPrivilegeEscalation: false
      capabilities: {drop: [ALL]}
      seccompProfile: {type: RuntimeDefault}
    terminationMessagePath: /dev/termination-log
    terminationMessagePolicy: FallbackToLogsOnError
    stdin: false
    tty: false
  volumes:
  - {name: data, emptyDir: {medium: Memory, sizeLimit: 64Mi}}
  - {name: cfg, configMap: {name: cfg, items: [{key: a, path: a.txt, mode: 420}], defaultMode: 420}}
  - {name: sec, secret: {secretName: s, optional: true}}
  - {name: host, hostPath: {path: /var/log, type: Directory}}
  - {name: claim, persistentVolumeClaim: {claimName: pvc, readOnly: true}}
  - {name: info, downwardAPI: {items: [{path: labels, fieldRef: {fieldPath: metadata.labels}}]}}
  - name: token
    projected:
      sources:
      - serviceAccountToken: {path: token, expirationSeconds: 3600, audience: api}
      - configMap: {name: kube-root-ca.crt, items: [{key: ca.crt, path: ca.crt}]}
      - downwardAPI: {items: [{path: namespace, fieldRef: {apiVersion: v1, fieldPath: metadata.namespace}}]}
  - {name: nfs, nfs: {server: 10.0.0.1, path: /export}}
  restartPolicy: Always
  terminationGracePeriodSeconds: 30
  dnsPolicy: ClusterFirst
  nodeSelector: {kubernetes.io/os: linux}
  serviceAccountName: default
  automountServiceAccountToken: true
  nodeName: edge-1
  hostNetwork: false
  priority: 0
  securityContext: {fsGroup: 2000, supplementalGroups: [3000], sysctls: [{name: a, value: b}]}
  imagePullSecrets: [{name: regcred}]
  affinity:
    nodeAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
        nodeSelectorTerms: [{matchExpressions: [{key: zone, operator: In, values: [a]}]}]
    podAntiAffinity:
      preferredDuringSchedulingIgnoredDuringExecution:
      - weight: 100
        podAffinityTerm: {topologyKey: kubernetes.io/hostname, labelSelector: {matchLabels: {app: web}}}
  tolerations:
  - {key: node.kubernetes.io/not-ready, operator: Exists, effect: NoExecute, tolerationSeconds: 300}
  topologySpreadConstraints:
  - maxSkew: 1
    topologyKey: zone
    whenUnsatisfiable: DoNotSchedule
    labelSelector: {matchLabels: {app: web}}
  readinessGates: [{conditionType: example.com/ready}]
  dnsConfig: {nameservers: [1.1.1.1], options: [{name: ndots, value: "2"}]}
  hostAliases: [{ip: 127.0.0.1, hostnames: [foo.local]}]
status:
  phase: Running
  conditions: [{type: Ready, status: "True", lastTransitionTime: "2024-05-06T07:08:09Z"}]
  podIP: 10.42.0.5
  podIPs: [{ip: 10.42.0.5}]
  hostIPs: [{ip: 192.168.1.10}]
  startTime: "2024-05-06T07:08:00+02:00"
  qosClass: Burstable
  containerStatuses:
  - name: app
    ready: true
    restartCount: 0
    image: nginx:1.27
    imageID: sha256:abc
    containerID: containerd://123
    started: true
    state: {running: {startedAt: "2024-05-06T07:08:05Z"}}
    lastState: {terminated: {exitCode: 137, reason: OOMKilled, finishedAt: "2024-05-06T07:08:04.123456Z"}}
""")

DEPLOY = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web"},
    "spec": {
        "replicas": 3,
        "selector": {"matchLabels": {"app": "web"}},
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "app", "image": "nginx", "ports": [{"containerPort": 80}]}]},
        },
    },
}


def _pod_error(body: dict) -> str:
    with pytest.raises(StatusError) as caught:
        decode.check(body, POD, kind="Pod", group_version="v1")
    assert caught.value.code == 400 and caught.value.reason == "BadRequest"
    return caught.value.message


def _pod_go_error(body: dict) -> str:
    prefix = 'Pod in version "v1" cannot be handled as a Pod: '
    message = _pod_error(body)
    assert message.startswith(prefix)
    return message.removeprefix(prefix)


def _deployment(**spec_changes) -> dict:
    body = copy.deepcopy(DEPLOY)
    body["spec"].update(spec_changes)
    return body


def test_a_realistic_pod_passes_with_no_unknown_fields():
    assert decode.check(FULL_POD, POD, kind="Pod", group_version="v1") == []


def test_a_deployment_with_typos_deep_inside_reports_their_paths_in_body_order():
    body = copy.deepcopy(DEPLOY)
    container = body["spec"]["template"]["spec"]["containers"][0]
    container["livenessProbe"] = {"httpGet": {"port": 80, "pathh": "/"}}
    container["imagee"] = "typo"
    body["spec"]["template"]["metadata"]["labelz"] = {}
    unknown = decode.check(body, DEPLOYMENT, kind="Deployment", group_version="apps/v1")
    assert unknown == [
        'unknown field "spec.template.metadata.labelz"',
        'unknown field "spec.template.spec.containers[0].livenessProbe.httpGet.pathh"',
        'unknown field "spec.template.spec.containers[0].imagee"',
    ]


def test_field_names_are_case_sensitive_and_repeats_are_reported_once():
    body = {"spec": {"containers": [{"name": "a", "Image": "x"}], "Volumes": [], "Extra": 1}, "extra": 1}
    body["spec"]["containers"].append({"name": "b", "Image": "y"})
    assert decode.check(body, POD, kind="Pod", group_version="v1") == [
        'unknown field "spec.containers[0].Image"',
        'unknown field "spec.containers[1].Image"',
        'unknown field "spec.Volumes"',
        'unknown field "spec.Extra"',
        'unknown field "extra"',
    ]


def test_type_mismatches_use_go_wording_and_field_paths_without_indices():
    assert _pod_error({"spec": {"containers": "nginx"}}) == (
        'Pod in version "v1" cannot be handled as a Pod: json: cannot unmarshal string into Go struct field '
        "PodSpec.spec.containers of type []v1.Container"
    )
    assert _pod_go_error({"spec": {"containers": [{"name": "a", "ports": [{"containerPort": "80"}]}]}}) == (
        "json: cannot unmarshal string into Go struct field "
        "ContainerPort.spec.containers.ports.containerPort of type int32"
    )
    assert _pod_go_error({"metadata": {"labels": {"a": 1}}}) == (
        "json: cannot unmarshal number into Go struct field ObjectMeta.metadata.labels of type string"
    )
    assert _pod_go_error({"spec": {"containers": [{"name": "a", "args": [1]}]}}) == (
        "json: cannot unmarshal number into Go struct field Container.spec.containers.args of type string"
    )
    assert _pod_go_error({"spec": []}) == (
        "json: cannot unmarshal array into Go struct field Pod.spec of type v1.PodSpec"
    )
    assert _pod_go_error({"spec": {"hostNetwork": "true"}}) == (
        "json: cannot unmarshal string into Go struct field PodSpec.spec.hostNetwork of type bool"
    )
    assert _pod_go_error({"spec": {"containers": [{"name": "a", "imagePullPolicy": 1}]}}) == (
        "json: cannot unmarshal number into Go struct field Container.spec.containers.imagePullPolicy "
        "of type v1.PullPolicy"
    )
    assert _pod_go_error({"spec": {"volumes": {"name": "x"}}}) == (
        "json: cannot unmarshal object into Go struct field PodSpec.spec.volumes of type []v1.Volume"
    )
    assert _pod_go_error([]) == "json: cannot unmarshal array into Go value of type v1.Pod"


def test_integers_out_of_range_or_with_fractions_quote_the_number():
    with pytest.raises(StatusError) as caught:
        decode.check(_deployment(replicas=1.5), DEPLOYMENT, kind="Deployment", group_version="apps/v1")
    assert caught.value.message == (
        'Deployment in version "v1" cannot be handled as a Deployment: '
        "json: cannot unmarshal number 1.5 into Go struct field DeploymentSpec.spec.replicas of type int32"
    )
    assert _pod_go_error({"spec": {"priority": 2**31}}) == (
        "json: cannot unmarshal number 2147483648 into Go struct field PodSpec.spec.priority of type int32"
    )
    assert decode.check({"spec": {"activeDeadlineSeconds": 2**40}}, POD, kind="Pod", group_version="v1") == []


def test_the_first_type_mismatch_wins_and_hides_unknown_fields():
    body = {"bogus": 1, "spec": {"hostPID": "yes", "hostIPC": "no"}, "metadata": {"name": 5}}
    assert _pod_go_error(body) == (
        "json: cannot unmarshal string into Go struct field PodSpec.spec.hostPID of type bool"
    )


def test_errors_from_custom_unmarshalers_stop_decoding_and_win():
    body = {
        "spec": {
            "hostPID": "yes",
            "containers": [{"name": "a", "livenessProbe": {"tcpSocket": {"port": 1.5}}}],
        },
    }
    assert _pod_go_error(body) == (
        "json: cannot unmarshal number 1.5 into Go struct field "
        "TCPSocketAction.spec.containers.livenessProbe.tcpSocket.port of type int32"
    )
    assert _pod_go_error({"metadata": {"creationTimestamp": 5}}) == (
        "json: cannot unmarshal number into Go struct field "
        "ObjectMeta.metadata.creationTimestamp of type string"
    )


def test_null_is_accepted_anywhere():
    body = {
        "metadata": None,
        "spec": {
            "containers": [None, {"name": None, "ports": None}],
            "priority": None,
            "volumes": [{"name": "x", "emptyDir": None}],
        },
        "status": {"startTime": None},
    }
    assert decode.check(body, POD, kind="Pod", group_version="v1") == []


def test_int_or_string_accepts_both_and_rejects_the_rest():
    def port(value) -> dict:
        return {"spec": {"containers": [{"name": "a", "readinessProbe": {"httpGet": {"port": value}}}]}}

    assert decode.check(port(8080), POD, kind="Pod", group_version="v1") == []
    assert decode.check(port("http"), POD, kind="Pod", group_version="v1") == []
    field = "HTTPGetAction.spec.containers.readinessProbe.httpGet.port"
    assert (
        _pod_go_error(port(True)) == f"json: cannot unmarshal bool into Go struct field {field} of type int32"
    )
    assert (
        _pod_go_error(port({})) == f"json: cannot unmarshal object into Go struct field {field} of type int32"
    )
    assert _pod_go_error(port(2**32)) == (
        f"json: cannot unmarshal number 4294967296 into Go struct field {field} of type int32"
    )


@pytest.mark.parametrize(
    "good", ["100m", "1.5Gi", 2, 0.5, "1e3", "0", "+1", "5E-3", "12Ki", ".5", "1.", " 1 "]
)
def test_quantities_resource_parse_quantity_accepts(good):
    body = {"spec": {"containers": [{"name": "a", "resources": {"limits": {"cpu": good}}}]}}
    assert decode.check(body, POD, kind="Pod", group_version="v1") == []


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (
            "abc",
            "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
        ),
        (
            "1Qi",
            "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
        ),
        ("", "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"),
        (True, "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"),
        ("5ki", "unable to parse quantity's suffix"),
        ("1e", "unable to parse quantity's suffix"),
    ],
)
def test_quantities_resource_parse_quantity_rejects(bad, message):
    body = {"spec": {"containers": [{"name": "a", "resources": {"requests": {"memory": bad}}}]}}
    assert _pod_go_error(body) == message


@pytest.mark.parametrize(
    "good",
    [
        "2024-01-02T03:04:05Z",
        "2024-01-02T03:04:05+02:00",
        "2024-02-29T23:59:59.123Z",
        "2024-01-02T03:04:05,5Z",
    ],
)
def test_times_in_rfc3339_pass(good):
    assert decode.check({"metadata": {"creationTimestamp": good}}, POD, kind="Pod", group_version="v1") == []


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("2024-01-02", 'parsing time "2024-01-02" as "2006-01-02T15:04:05Z07:00": cannot parse "" as "T"'),
        ("2024-13-02T00:00:00Z", 'parsing time "2024-13-02T00:00:00Z": month out of range'),
        ("2023-02-29T00:00:00Z", 'parsing time "2023-02-29T00:00:00Z": day out of range'),
        ("2024-01-02T25:00:00Z", 'parsing time "2024-01-02T25:00:00Z": hour out of range'),
        (
            "2024-01-02T03:04:05",
            'parsing time "2024-01-02T03:04:05" as "2006-01-02T15:04:05Z07:00": cannot parse "" as "Z07:00"',
        ),
        ("2024-01-02T03:04:05Zjunk", 'parsing time "2024-01-02T03:04:05Zjunk": extra text: "junk"'),
        (
            "24-01-02T03:04:05Z",
            'parsing time "24-01-02T03:04:05Z" as "2006-01-02T15:04:05Z07:00": cannot parse '
            '"24-01-02T03:04:05Z" as "2006"',
        ),
        (
            "yesterday",
            'parsing time "yesterday" as "2006-01-02T15:04:05Z07:00": cannot parse "yesterday" as "2006"',
        ),
    ],
)
def test_times_report_go_time_parse_errors(bad, message):
    assert _pod_go_error({"metadata": {"creationTimestamp": bad}}) == message


def test_micro_time_needs_six_fractional_digits():
    lease = "io.k8s.api.coordination.v1.Lease"

    def body(value: str) -> dict:
        return {"spec": {"holderIdentity": "edge-1", "renewTime": value, "leaseDurationSeconds": 40}}

    assert (
        decode.check(
            body("2024-01-02T03:04:05.123456Z"), lease, kind="Lease", group_version="coordination.k8s.io/v1"
        )
        == []
    )
    with pytest.raises(StatusError) as caught:
        decode.check(
            body("2024-01-02T03:04:05Z"), lease, kind="Lease", group_version="coordination.k8s.io/v1"
        )
    assert caught.value.message == (
        'Lease in version "v1" cannot be handled as a Lease: parsing time "2024-01-02T03:04:05Z" as '
        '"2006-01-02T15:04:05.000000Z07:00": cannot parse "Z" as ".000000"'
    )


@pytest.mark.parametrize(
    ("value", "offset"),
    [
        ("aGVsbG8=", None),
        ("aGVs\nbG8=", None),
        ("", None),
        ("hello world", 5),
        ("YWJ", 0),
        ("YQ=", 3),
        ("YQ==x", 4),
        ("=", 0),
        ("YQ=a", 2),
    ],
)
def test_secret_data_must_be_base64_as_go_decodes_it(value, offset):
    secret = "io.k8s.api.core.v1.Secret"
    body = {"data": {"k": value}, "stringData": {"plain": "not base64 at all"}}
    if offset is None:
        assert decode.check(body, secret, kind="Secret", group_version="v1") == []
        return
    with pytest.raises(StatusError) as caught:
        decode.check(body, secret, kind="Secret", group_version="v1")
    assert caught.value.message == (
        f'Secret in version "v1" cannot be handled as a Secret: illegal base64 data at input byte {offset}'
    )


def test_duplicates_are_found_in_the_raw_body_with_full_paths():
    raw = (
        b'{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a","name":"b","labels":{"x":"1","x":"2"}},'
        b'"spec":{"containers":[{"name":"c","image":"i","image":"j","bogus":1,"bogus":2}]}}'
    )
    parsed = json.loads(raw)
    assert decode.check(parsed, POD, kind="Pod", group_version="v1", raw=raw) == [
        'duplicate field "metadata.name"',
        'duplicate field "metadata.labels.x"',
        'duplicate field "spec.containers[0].image"',
        'unknown field "spec.containers[0].bogus"',
    ]
    assert decode.check(parsed, POD, kind="Pod", group_version="v1") == [
        'unknown field "spec.containers[0].bogus"'
    ]


def test_number_literals_from_the_raw_body_are_quoted_as_written():
    raw = b'{"spec":{"replicas":3.0,"selector":{},"template":{}}}'
    with pytest.raises(StatusError) as caught:
        decode.check(json.loads(raw), DEPLOYMENT, kind="Deployment", group_version="apps/v1", raw=raw)
    assert (
        "cannot unmarshal number 3.0 into Go struct field DeploymentSpec.spec.replicas"
        in caught.value.message
    )
    raw = b'{"spec":{"replicas":1e2}}'
    with pytest.raises(StatusError) as caught:
        decode.check(json.loads(raw), DEPLOYMENT, kind="Deployment", group_version="apps/v1", raw=raw)
    assert "cannot unmarshal number 1e2 into" in caught.value.message


def test_other_kinds_decode_cleanly():
    cases = [
        (
            "io.k8s.api.discovery.v1.EndpointSlice",
            "discovery.k8s.io/v1",
            {
                "addressType": "IPv4",
                "endpoints": [
                    {
                        "addresses": ["10.0.0.1"],
                        "conditions": {"ready": True},
                        "nodeName": "n",
                        "targetRef": {"kind": "Pod", "name": "p"},
                        "hints": {"forZones": [{"name": "a"}]},
                    }
                ],
                "ports": [{"name": "http", "port": 80, "protocol": "TCP"}],
            },
        ),
        (
            "io.k8s.api.rbac.v1.ClusterRoleBinding",
            "rbac.authorization.k8s.io/v1",
            {
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
                "subjects": [{"kind": "ServiceAccount", "name": "sa", "namespace": "ns"}],
            },
        ),
        (
            "io.k8s.api.core.v1.Service",
            "v1",
            {
                "spec": {
                    "type": "NodePort",
                    "selector": {"app": "web"},
                    "ports": [{"port": 80, "targetPort": "http", "nodePort": 30080}],
                }
            },
        ),
        (
            "io.k8s.api.core.v1.Node",
            "v1",
            {
                "spec": {"podCIDR": "10.42.0.0/24", "taints": [{"key": "k", "effect": "NoSchedule"}]},
                "status": {
                    "capacity": {"cpu": "4", "memory": "8Gi", "pods": "110"},
                    "addresses": [{"type": "InternalIP", "address": "192.168.1.2"}],
                    "nodeInfo": {"kubeletVersion": "v1.32.0", "architecture": "arm64"},
                    "conditions": [
                        {"type": "Ready", "status": "True", "lastHeartbeatTime": "2024-01-01T00:00:00Z"}
                    ],
                },
            },
        ),
        (
            "io.k8s.api.authorization.v1.SelfSubjectAccessReview",
            "authorization.k8s.io/v1",
            {"spec": {"resourceAttributes": {"verb": "get", "resource": "pods", "namespace": "default"}}},
        ),
        (
            "io.k8s.api.policy.v1.Eviction",
            "policy/v1",
            {"metadata": {"name": "p"}, "deleteOptions": {"gracePeriodSeconds": 0}},
        ),
    ]
    for schema_name, group_version, body in cases:
        kind = schema_name.rpartition(".")[2]
        assert decode.check(body, schema_name, kind=kind, group_version=group_version) == [], schema_name
