"""Label and field selectors against upstream apimachinery's grammar, canonical strings and messages."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from distro.apiserver import registry
from distro.apiserver.selectors import (
    FieldSelector,
    LabelSelector,
    label_selector_from_dict,
    object_fields,
    parse_field_selector,
    parse_label_selector,
)
from distro.apiserver.status import StatusError

NAME_RULE = (
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric "
    "character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
    "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)
VALUE_RULE = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used "
    "for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)
SUBDOMAIN_RULE = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
OPERATORS = "in, notin, =, ==, !=, gt, lt"
META = ("metadata.name", "metadata.namespace")


def parse_error(text: str) -> StatusError:
    with pytest.raises(StatusError) as caught:
        parse_label_selector(text)
    return caught.value


# --- label selector grammar ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("", ""),
        ("x=a,y=b,z=c", "x=a,y=b,z=c"),
        ("x!=a,y=b", "x!=a,y=b"),
        ("x=", "x="),
        ("x= ", "x="),
        ("x=,z= ", "x=,z="),
        ("!x", "!x"),
        ("x>1", "x>1"),
        ("x>1,z<5", "x>1,z<5"),
        ("x==a", "x==a"),
        ("x=a,a=x", "a=x,x=a"),
        ("\rx", "x"),
        ("a ", "a"),
        ("foo  in\t (abc)", "foo in (abc)"),
        ("x notin\n (abc)", "x notin (abc)"),
        ("x in (def,abc,def)", "x in (abc,def)"),
        ("x in (abc,)", "x in (,abc)"),
        ("x in ()", "x in ()"),
        ("x notin ( )", "x notin ()"),
        ("x notin (, a)", "x notin (,a)"),
        ("x notin (abc,,def),bar,z in (),w", "bar,w,x notin (,abc,def),z in ()"),
        ("a in (x,y,notin, z,in)", "a in (in,notin,x,y,z)"),
        ("in in (notin),notin=in", "in in (notin),notin=in"),
        ("this-is-a-dns.domain.com/key-with-dash", "this-is-a-dns.domain.com/key-with-dash"),
        (
            "0.1.2.domain/99 notin (10.10.100.1, tick.tack.clock)",
            "0.1.2.domain/99 notin (10.10.100.1,tick.tack.clock)",
        ),
        ("z,z!=a,z", "z,z!=a,z"),
        ("a \0after a NUL between tokens nothing is read", "a"),
    ],
)
def test_valid_label_selectors_print_in_upstreams_canonical_form(text: str, canonical: str) -> None:
    assert str(parse_label_selector(text)) == canonical


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x==a==b", "found '==', expected: ',' or 'end of string'"),
        ("!x=a", "found '=', expected: ',' or 'end of string'"),
        ("x,,y", "found ',', expected: identifier after ','"),
        (",x,y", "found ',', expected: !, identifier, or 'end of string'"),
        ("a in (xyz),", "found '', expected: identifier after ','"),
        ("a in (xyz)b notin ()", "found 'b', expected: ',' or 'end of string'"),
        ("a=b c", "found 'c', expected: ',' or 'end of string'"),
        ("(", "found '(', expected: !, identifier, or 'end of string'"),
        (
            "a\0b",
            f"unable to parse requirement: found 'b', expected: {OPERATORS}",
        ),  # NUL inside a word splits it
        ("x nott in (y)", f"unable to parse requirement: found 'nott', expected: {OPERATORS}"),
        ("a (", f"unable to parse requirement: found '(', expected: {OPERATORS}"),
        ("x in a", "unable to parse requirement: found 'a' expected: '('"),
        ("a notin(", "unable to parse requirement: found '', expected: ',', ')' or identifier"),
        ("a in (xyz abc)", "unable to parse requirement: found 'abc', expected: ',' or ')'"),
        ("a in (x=", "unable to parse requirement: found '=', expected: ',' or ')'"),
        ("a in (,=", "unable to parse requirement: found '=', expected: ',', or identifier"),
        ("!", "unable to parse requirement: found '', expected: identifier"),
        ("x=(", "unable to parse requirement: found '(', expected: identifier"),
        (
            "x<a",
            'unable to parse requirement: values[0]: Invalid value: "a": '
            "for 'Gt', 'Lt' operators, the value must be an integer",
        ),
        (
            "x>",
            'unable to parse requirement: values[0]: Invalid value: "": '
            "for 'Gt', 'Lt' operators, the value must be an integer",
        ),
        (
            "x>99999999999999999999",
            'unable to parse requirement: values[0]: Invalid value: "99999999999999999999": '
            "for 'Gt', 'Lt' operators, the value must be an integer",
        ),
        ("x=a||y=b", f'unable to parse requirement: values[0][x]: Invalid value: "a||y": {VALUE_RULE}'),
        (
            "x=" + "a" * 64,
            f'unable to parse requirement: values[0][x]: Invalid value: "{"a" * 64}": '
            "must be no more than 63 characters",
        ),
        (
            "x>a/b",
            "unable to parse requirement: [values[0]: Invalid value: \"a/b\": for 'Gt', 'Lt' operators, "
            f'the value must be an integer, values[0][x]: Invalid value: "a/b": {VALUE_RULE}]',
        ),
        ("-a=b", f'unable to parse requirement: <nil>: Invalid value: "-a": name part {NAME_RULE}'),
        (
            "a/b/c",
            f'unable to parse requirement: <nil>: Invalid value: "a/b/c": a qualified name {NAME_RULE} '
            "with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
        ),
        (
            "Example.com/x",
            'unable to parse requirement: <nil>: Invalid value: "Example.com/x": '
            f"prefix part {SUBDOMAIN_RULE}",
        ),
        (
            "/x",
            'unable to parse requirement: <nil>: Invalid value: "/x": prefix part must be non-empty',
        ),
        (
            "example.com/",
            'unable to parse requirement: <nil>: Invalid value: "example.com/": '
            f"name part must be non-empty; name part {NAME_RULE}",
        ),
        (
            # 64 bytes in 32 characters: upstream counts bytes
            "é" * 32,
            f'unable to parse requirement: <nil>: Invalid value: "{"é" * 32}": '
            f"name part must be no more than 63 characters; name part {NAME_RULE}",
        ),
        ("\x01", f'unable to parse requirement: <nil>: Invalid value: "\\x01": name part {NAME_RULE}'),
        ('"q"', f'unable to parse requirement: <nil>: Invalid value: "\\"q\\"": name part {NAME_RULE}'),
    ],
)
def test_invalid_label_selectors_are_bad_requests_with_upstreams_message(text: str, message: str) -> None:
    error = parse_error(text)
    assert (error.code, error.reason, error.message) == (400, "BadRequest", message)


# --- label selector matching --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "labels", "expected"),
    [
        ("", {"x": "y"}, True),
        ("", None, True),
        ("x=y", {"x": "y"}, True),
        ("x==y", {"x": "y"}, True),
        ("x=y,z=w", {"x": "y", "z": "w"}, True),
        ("x=y,z=w", {"x": "w", "z": "w"}, False),
        ("x=z", {}, False),
        ("x=", {}, False),
        ("x=", {"x": ""}, True),
        ("x!=y,z!=w", {"x": "z", "z": "a"}, True),
        ("x!=y,z!=w", {"x": "z", "z": "w"}, False),
        ("x!=y", {}, True),
        ("x!=y", None, True),
        ("notin=in", {"notin": "in"}, True),
        ("x", {"x": "z"}, True),
        ("x", {"x": ""}, True),
        ("x", {"y": "z"}, False),
        ("!x", {"y": "z"}, True),
        ("!x", {"x": ""}, False),
        ("x in (a,b)", {"x": "b"}, True),
        ("x in (a,b)", {"x": "c"}, False),
        ("x in (a,b)", {}, False),
        ("x in ()", {"x": ""}, True),
        ("x notin (a)", {}, True),
        ("x notin (a)", {"x": "a"}, False),
        ("x notin (a)", {"x": "b"}, True),
        ("x notin (),y", {"y": ""}, True),
        ("x notin (),!y", {"y": ""}, False),
        ("foo=bar,foobar=bar,baz=blah", {"foo": "bar", "baz": "blah"}, False),
    ],
)
def test_label_matching(text: str, labels: dict[str, str] | None, expected: bool) -> None:
    assert parse_label_selector(text).matches(labels) is expected


@pytest.mark.parametrize(
    ("text", "value", "expected"),
    [
        ("x>1", "2", True),
        ("x>1", "1", False),
        ("x>1", "0", False),
        ("x<1", "0", True),
        ("x<1", "2", False),
        ("x>9", "10", True),  # numeric, not lexical
        ("x<10", "9", True),
        ("x>1", "v2", False),  # a label that is not an integer never matches
        ("x>1", "", False),
        ("x<1", "-5", True),
        ("x>1", "+5", True),
        ("x>1", "007", True),
        ("x>1", "99999999999999999999", False),  # out of int64 range
        ("x>1", "1_0", False),
        ("x<1", " 0", False),
    ],
)
def test_gt_lt_compare_as_int64(text: str, value: str, expected: bool) -> None:
    assert parse_label_selector(text).matches({"x": value}) is expected


def test_gt_lt_need_the_label() -> None:
    assert not parse_label_selector("x>1").matches({})
    assert not parse_label_selector("x<1").matches({"y": "0"})


def test_empty_means_everything() -> None:
    assert parse_label_selector("").empty
    assert parse_label_selector("  ").empty
    assert not parse_label_selector("x").empty
    assert LabelSelector().empty


# --- metav1.LabelSelector ------------------------------------------------------------------------------


def test_none_selects_nothing_and_empty_selects_everything() -> None:
    nothing = label_selector_from_dict(None)
    assert not nothing.matches({})
    assert not nothing.matches({"a": "b"})
    assert not nothing.empty
    assert str(nothing) == ""

    everything = label_selector_from_dict({})
    assert everything.empty
    assert everything.matches({}) and everything.matches({"a": "b"})
    assert label_selector_from_dict({"matchLabels": {}, "matchExpressions": []}).empty


def test_match_labels_and_expressions_are_anded_and_sorted_by_key() -> None:
    selector = label_selector_from_dict(
        {
            "matchLabels": {"tier": "web", "app": "shop"},
            "matchExpressions": [
                {"key": "env", "operator": "In", "values": ["prod", "canary"]},
                {"key": "legacy", "operator": "DoesNotExist"},
                {"key": "zone", "operator": "NotIn", "values": ["b"]},
                {"key": "owner", "operator": "Exists", "values": []},
            ],
        }
    )
    assert str(selector) == "app=shop,env in (canary,prod),!legacy,owner,tier=web,zone notin (b)"
    good = {"app": "shop", "tier": "web", "env": "canary", "owner": "x"}
    assert selector.matches(good)
    assert selector.matches({**good, "zone": "a"})
    assert not selector.matches({**good, "zone": "b"})
    assert not selector.matches({**good, "legacy": ""})
    assert not selector.matches({**good, "env": "dev"})
    assert not selector.matches({k: v for k, v in good.items() if k != "owner"})


@pytest.mark.parametrize(
    ("selector", "message"),
    [
        (
            {"matchExpressions": [{"key": "a", "operator": "Gt", "values": ["1"]}]},
            '"Gt" is not a valid label selector operator',
        ),
        ({"matchExpressions": [{"key": "a"}]}, '"" is not a valid label selector operator'),
        (
            {"matchExpressions": [{"key": "a", "operator": "In", "values": []}]},
            "values: Invalid value: []string(nil): for 'in', 'notin' operators, values set can't be empty",
        ),
        (
            {"matchExpressions": [{"key": "a", "operator": "NotIn"}]},
            "values: Invalid value: []string(nil): for 'in', 'notin' operators, values set can't be empty",
        ),
        (
            {"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x", "y"]}]},
            'values: Invalid value: []string{"x", "y"}: '
            "values set must be empty for exists and does not exist",
        ),
        ({"matchLabels": {"a": "b c"}}, f'values[0][a]: Invalid value: "b c": {VALUE_RULE}'),
        ({"matchLabels": {"a b": "c"}}, f'key: Invalid value: "a b": name part {NAME_RULE}'),
        (
            {"matchExpressions": [{"operator": "Exists"}]},
            f'key: Invalid value: "": name part must be non-empty; name part {NAME_RULE}',
        ),
        (
            {"matchExpressions": [{"key": "-k", "operator": "Exists", "values": ["a b"]}]},
            f'[key: Invalid value: "-k": name part {NAME_RULE}, values: Invalid value: []string{{"a b"}}: '
            "values set must be empty for exists and does not exist, "
            f'values[0][-k]: Invalid value: "a b": {VALUE_RULE}]',
        ),
    ],
)
def test_bad_label_selector_objects_raise_value_error_with_upstreams_text(
    selector: dict, message: str
) -> None:
    with pytest.raises(ValueError) as caught:
        label_selector_from_dict(selector)
    assert str(caught.value) == message


# --- field selectors -----------------------------------------------------------------------------------

POD_FIELDS = (*META, "spec.nodeName", "status.phase")


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("", ""),
        ("spec.nodeName=n1", "spec.nodeName=n1"),
        ("spec.nodeName==n1", "spec.nodeName=n1"),
        ("status.phase!=Running,spec.nodeName=n1", "spec.nodeName=n1,status.phase!=Running"),
        (",,metadata.name=x,", "metadata.name=x"),
        ("spec.nodeName=", "spec.nodeName="),
        ("metadata.name=a\\,b", "metadata.name=a\\,b"),
        ("metadata.name=a\\=b\\\\c", "metadata.name=a\\=b\\\\c"),
        ("metadata.name=é ü", "metadata.name=é ü"),
    ],
)
def test_field_selector_grammar(text: str, canonical: str) -> None:
    assert str(parse_field_selector(text, POD_FIELDS, "Pod")) == canonical


def test_field_selector_unescapes_values() -> None:
    selector = parse_field_selector("metadata.name=a\\,b\\=c\\\\d", META)
    assert selector.exact("metadata.name") == "a,b=c\\d"
    assert selector.matches({"metadata.name": "a,b=c\\d"})
    assert not selector.matches({"metadata.name": "a\\,b\\=c\\\\d"})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x", "invalid selector: 'x'; can't understand 'x'"),
        ("zzz=1,aaa", "invalid selector: 'zzz=1,aaa'; can't understand 'aaa'"),
        ("metadata.name=a=b", "invalid field selector: unescaped character in value: 61"),
        ("metadata.name=a\\q", "invalid field selector: invalid escape sequence: \\q"),
        ("metadata.name=a\\", "invalid field selector: invalid escape sequence: \\"),
        # every term is parsed before any field is checked
        ("foo=bar,x", "invalid selector: 'foo=bar,x'; can't understand 'x'"),
    ],
)
def test_malformed_field_selectors(text: str, message: str) -> None:
    with pytest.raises(StatusError) as caught:
        parse_field_selector(text, POD_FIELDS, "Pod")
    assert (caught.value.code, caught.value.reason, caught.value.message) == (400, "BadRequest", message)


@pytest.mark.parametrize(
    ("text", "allowed", "kind", "message"),
    [
        ("foo=bar", POD_FIELDS, "Pod", "field label not supported: foo"),
        (
            "metadata.namespace=x",
            ("metadata.name", "spec.unschedulable"),
            "Node",
            "field label not supported: metadata.namespace",
        ),
        ("spec.nodeName=a", META, "Secret", "field label not supported: spec.nodeName"),
        (
            "spec.replicas=1",
            META,
            "ConfigMap",
            '"spec.replicas" is not a known field selector: only "metadata.name", "metadata.namespace"',
        ),
        (
            "b=1,a=1",
            META,
            "",
            '"a" is not a known field selector: only "metadata.name", "metadata.namespace"',
        ),
        # a caller that allows more than metadata fields has a conversion of its own
        ("x=1", (*META, "spec.type"), "Service", "field label not supported: x"),
        ("x=1", (*META, "spec.type"), "", "field label not supported: x"),
    ],
)
def test_unsupported_fields_are_bad_requests(text: str, allowed: tuple, kind: str, message: str) -> None:
    with pytest.raises(StatusError) as caught:
        parse_field_selector(text, allowed, kind)
    assert (caught.value.code, caught.value.reason, caught.value.message) == (400, "BadRequest", message)


def test_pods_accept_the_legacy_spec_host_field() -> None:
    selector = parse_field_selector("spec.host=n1", POD_FIELDS, "Pod")
    assert selector.exact("spec.nodeName") == "n1"
    with pytest.raises(StatusError):
        parse_field_selector("spec.host=n1", POD_FIELDS, "Node")


def test_field_matching_treats_missing_fields_as_empty() -> None:
    selector = parse_field_selector("spec.nodeName=,status.phase!=Running", POD_FIELDS, "Pod")
    assert selector.matches({})
    assert selector.matches({"status.phase": "Pending"})
    assert not selector.matches({"spec.nodeName": "n1"})
    assert not selector.matches({"status.phase": "Running"})
    assert parse_field_selector("status.phase!=Running", POD_FIELDS, "Pod").matches({})


def test_exact_reports_only_required_equalities() -> None:
    selector = parse_field_selector(
        "status.phase!=Failed,spec.nodeName=n1,metadata.name==p", POD_FIELDS, "Pod"
    )
    assert selector.exact("spec.nodeName") == "n1"
    assert selector.exact("metadata.name") == "p"
    assert selector.exact("status.phase") is None
    assert selector.exact("metadata.namespace") is None
    assert parse_field_selector("spec.nodeName=", POD_FIELDS, "Pod").exact("spec.nodeName") == ""


def test_empty_field_selector() -> None:
    assert parse_field_selector("", META).empty
    assert parse_field_selector(",", META).empty
    assert FieldSelector().matches({"anything": "x"})
    assert not parse_field_selector("metadata.name=a", META).empty


# --- object field sets ---------------------------------------------------------------------------------


def rd(plural: str, group: str = "") -> registry.ResourceDef:
    found = registry.lookup(group, plural)
    assert found is not None
    return found


def test_pod_fields() -> None:
    pod = {
        "metadata": {"name": "web-0", "namespace": "shop"},
        "spec": {"nodeName": "edge-1", "restartPolicy": "Always", "schedulerName": "default-scheduler"},
        "status": {"phase": "Running", "podIPs": [{"ip": "10.42.0.7"}, {"ip": "fd00::7"}]},
    }
    assert object_fields(rd("pods"), pod) == {
        "metadata.name": "web-0",
        "metadata.namespace": "shop",
        "spec.nodeName": "edge-1",
        "spec.restartPolicy": "Always",
        "spec.schedulerName": "default-scheduler",
        "spec.serviceAccountName": "",
        "spec.hostNetwork": "false",
        "status.phase": "Running",
        "status.podIP": "10.42.0.7",
        "status.podIPs": "",
        "status.nominatedNodeName": "",
    }


def test_pod_ip_prefers_pod_ip_and_host_network_prints_as_go_bool() -> None:
    pod = {
        "metadata": {"name": "p", "namespace": "d"},
        "spec": {"hostNetwork": True},
        "status": {"podIP": "192.168.1.5", "podIPs": [{"ip": "10.0.0.1"}]},
    }
    fields = object_fields(rd("pods"), pod)
    assert fields["status.podIP"] == "192.168.1.5"
    assert fields["spec.hostNetwork"] == "true"
    assert object_fields(rd("pods"), {"metadata": {}})["status.podIP"] == ""


def test_pod_field_selector_end_to_end() -> None:
    pods = rd("pods")
    selector = parse_field_selector(
        "spec.nodeName=edge-1,spec.hostNetwork=false", (*META, *pods.selectable_fields), pods.kind
    )
    on_node = {"metadata": {"name": "a", "namespace": "d"}, "spec": {"nodeName": "edge-1"}}
    elsewhere = {"metadata": {"name": "b", "namespace": "d"}, "spec": {"nodeName": "edge-2"}}
    assert selector.matches(object_fields(pods, on_node))
    assert not selector.matches(object_fields(pods, elsewhere))
    # status.podIPs is accepted but never set, as upstream
    ips = parse_field_selector("status.podIPs=10.0.0.1", (*META, *pods.selectable_fields), pods.kind)
    assert not ips.matches(object_fields(pods, {"status": {"podIPs": [{"ip": "10.0.0.1"}]}}))


def test_event_fields_fall_back_to_the_reporting_controller_for_source() -> None:
    event = {
        "metadata": {"name": "e1", "namespace": "shop"},
        "involvedObject": {
            "kind": "Pod",
            "name": "web-0",
            "namespace": "shop",
            "uid": "u-1",
            "apiVersion": "v1",
        },
        "reason": "Started",
        "type": "Normal",
        "reportingComponent": "kubelet",
    }
    fields = object_fields(rd("events"), event)
    assert fields == {
        "metadata.name": "e1",
        "metadata.namespace": "shop",
        "involvedObject.kind": "Pod",
        "involvedObject.namespace": "shop",
        "involvedObject.name": "web-0",
        "involvedObject.uid": "u-1",
        "involvedObject.apiVersion": "v1",
        "involvedObject.resourceVersion": "",
        "involvedObject.fieldPath": "",
        "reason": "Started",
        "reportingComponent": "kubelet",
        "source": "kubelet",
        "type": "Normal",
    }
    with_source = {**event, "source": {"component": "default-scheduler", "host": "edge-1"}}
    assert object_fields(rd("events"), with_source)["source"] == "default-scheduler"


def test_secret_namespace_and_node_fields() -> None:
    secret = {"metadata": {"name": "s", "namespace": "d"}, "type": "kubernetes.io/tls"}
    assert object_fields(rd("secrets"), secret) == {
        "metadata.name": "s",
        "metadata.namespace": "d",
        "type": "kubernetes.io/tls",
    }
    namespace = {"metadata": {"name": "shop"}, "status": {"phase": "Terminating"}}
    assert object_fields(rd("namespaces"), namespace) == {
        "metadata.name": "shop",
        "status.phase": "Terminating",
    }
    node = {"metadata": {"name": "edge-1"}, "spec": {}}
    assert object_fields(rd("nodes"), node) == {"metadata.name": "edge-1", "spec.unschedulable": "false"}
    cordoned = {"metadata": {"name": "edge-1"}, "spec": {"unschedulable": True}}
    assert object_fields(rd("nodes"), cordoned)["spec.unschedulable"] == "true"


def test_resources_without_selectable_fields_have_only_metadata() -> None:
    cm = {"metadata": {"name": "c", "namespace": "d"}, "data": {"k": "v"}}
    assert object_fields(rd("configmaps"), cm) == {"metadata.name": "c", "metadata.namespace": "d"}
    role = {"metadata": {"name": "admin"}}
    assert object_fields(rd("clusterroles", "rbac.authorization.k8s.io"), role) == {"metadata.name": "admin"}


# --- properties ----------------------------------------------------------------------------------------

SELECTOR_ALPHABET = st.sampled_from([*"abxyz019._-/=!(),<> \t\n", "in", "notin", "\0", "é"])
SELECTOR_TEXT = st.one_of(st.text(), st.lists(SELECTOR_ALPHABET, max_size=30).map("".join))


@settings(max_examples=400, deadline=None)
@given(SELECTOR_TEXT)
def test_any_text_parses_or_is_a_bad_request(text: str) -> None:
    try:
        selector = parse_label_selector(text)
    except StatusError as e:
        assert (e.code, e.reason) == (400, "BadRequest")
        return
    # the canonical form is a fixed point: it parses back to the same selector
    assert parse_label_selector(str(selector)) == selector


FIELD_TEXT = st.one_of(
    st.text(),
    st.lists(
        st.sampled_from(["metadata.name", "metadata.namespace", "x", "=", "==", "!=", ",", "\\", "a", "é"])
    ).map("".join),
)


@settings(max_examples=300, deadline=None)
@given(FIELD_TEXT)
def test_any_field_selector_text_parses_or_is_a_bad_request(text: str) -> None:
    try:
        selector = parse_field_selector(text, META)
    except StatusError as e:
        assert (e.code, e.reason) == (400, "BadRequest")
        return
    assert parse_field_selector(str(selector), META) == selector


@given(st.text())
def test_any_field_value_survives_escaping(value: str) -> None:
    # upstream's EscapeValue: backslash first, then comma and equals
    escaped = value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")
    selector = parse_field_selector("metadata.name=" + escaped, META)
    assert selector.exact("metadata.name") == value
    assert str(selector) == "metadata.name=" + escaped
