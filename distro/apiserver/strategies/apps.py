"""Deployments, ReplicaSets and DaemonSets: apps/v1 defaults and pkg/apis/apps/validation, with the
selector immutability apps/v1 strategies add on update."""

from __future__ import annotations

import re
from typing import Any

from distro.apiserver.strategies import field as f
from distro.apiserver.strategies import meta as m
from distro.apiserver.strategies import names, pods
from distro.apiserver.strategies.field import Cause, GoLiteral

Obj = dict[str, Any]

TEMPLATE_GENERATION_ANNOTATION = "deprecated.daemonset.template.generation"
_DAEMONSET_STATUS_ZEROS = (
    "currentNumberScheduled",
    "desiredNumberScheduled",
    "numberMisscheduled",
    "numberReady",
)


def _dict_at(d: Obj, key: str) -> Obj:
    value = d.get(key)
    if not isinstance(value, dict):
        value = d[key] = {}
    return value


def _spec_of(obj: Obj) -> Obj:
    spec = obj.get("spec")
    return spec if isinstance(spec, dict) else {}


# -- defaults --


def default_deployment(obj: Obj) -> None:
    spec = _dict_at(obj, "spec")
    if spec.get("replicas") is None:
        spec["replicas"] = 1
    strategy = _dict_at(spec, "strategy")
    if not strategy.get("type"):
        strategy["type"] = "RollingUpdate"
    if strategy["type"] == "RollingUpdate":
        rolling = _dict_at(strategy, "rollingUpdate")
        for key in ("maxUnavailable", "maxSurge"):
            if rolling.get(key) is None:
                rolling[key] = "25%"
    if spec.get("revisionHistoryLimit") is None:
        spec["revisionHistoryLimit"] = 10
    if spec.get("progressDeadlineSeconds") is None:
        spec["progressDeadlineSeconds"] = 600
    pods.default_pod_template(spec.get("template"))
    _dict_at(obj, "status")


def default_replica_set(obj: Obj) -> None:
    spec = _dict_at(obj, "spec")
    if spec.get("replicas") is None:
        spec["replicas"] = 1
    pods.default_pod_template(spec.get("template"))
    # status.replicas has no omitempty upstream, so it is always on the wire
    _dict_at(obj, "status").setdefault("replicas", 0)


def default_daemon_set(obj: Obj) -> None:
    spec = _dict_at(obj, "spec")
    strategy = _dict_at(spec, "updateStrategy")
    if not strategy.get("type"):
        strategy["type"] = "RollingUpdate"
    if strategy["type"] == "RollingUpdate":
        rolling = _dict_at(strategy, "rollingUpdate")
        if rolling.get("maxUnavailable") is None:
            rolling["maxUnavailable"] = 1
        if rolling.get("maxSurge") is None:
            rolling["maxSurge"] = 0
    if spec.get("revisionHistoryLimit") is None:
        spec["revisionHistoryLimit"] = 10
    pods.default_pod_template(spec.get("template"))
    if m.is_new(obj):
        # PrepareForCreate's first template generation, which apps/v1 carries as an annotation
        _dict_at(_dict_at(obj, "metadata"), "annotations").setdefault(TEMPLATE_GENERATION_ANNOTATION, "1")
    status = _dict_at(obj, "status")
    for key in _DAEMONSET_STATUS_ZEROS:
        status.setdefault(key, 0)


# -- int-or-percent --


def _int_or_string_literal(value: Any) -> GoLiteral:
    if isinstance(value, str):
        return GoLiteral(f"intstr.IntOrString{{Type:1, IntVal:0, StrVal:{f.go_quote(value)}}}")
    return GoLiteral(
        f'intstr.IntOrString{{Type:0, IntVal:{value if isinstance(value, int) else 0}, StrVal:""}}'
    )


def _percent(value: Any) -> int | None:
    if isinstance(value, str) and re.fullmatch(names.PERCENT_FMT, value):
        return int(value[:-1])
    return None


def _int_or_percent_value(value: Any) -> int:
    percent = _percent(value)
    if percent is not None:
        return percent
    return value if isinstance(value, int) else 0


def _positive_int_or_percent(value: Any, path: str) -> list[Cause]:
    if isinstance(value, str):
        return [f.invalid(path, _int_or_string_literal(value), msg) for msg in names.is_valid_percent(value)]
    if isinstance(value, int) and not isinstance(value, bool):
        return m.nonnegative(value, path)
    return [f.invalid(path, _int_or_string_literal(value), "must be an integer or percentage (e.g '5%%')")]


def _not_more_than_100_percent(value: Any, path: str) -> list[Cause]:
    percent = _percent(value)
    if percent is not None and percent > 100:
        return [f.invalid(path, _int_or_string_literal(value), "must not be greater than 100%")]
    return []


# -- shared pieces --


def _validate_selector(spec: Obj, kind: str, path: str = "spec.selector") -> list[Cause]:
    selector = spec.get("selector")
    if selector is None:
        return [f.required(path)]
    errs = m.validate_label_selector(selector, path)
    if m.selector_is_empty(selector):
        errs.append(
            f.invalid(path, m.label_selector_literal(selector), f"empty selector is invalid for {kind}")
        )
    return errs


def _template_labels(template: Any) -> Any:
    metadata = (template or {}).get("metadata") if isinstance(template, dict) else None
    return metadata.get("labels") if isinstance(metadata, dict) else None


def _validate_template_for_replica_set(spec: Obj, owner: str, path: str = "spec.template") -> list[Cause]:
    """ValidatePodTemplateSpecForReplicaSet, after the selector already parsed."""
    template = spec.get("template")
    if not isinstance(template, dict):
        return [f.required(path)]
    errs: list[Cause] = []
    selector = spec.get("selector")
    if not m.selector_is_empty(selector):
        labels = _template_labels(template)
        if not m.selector_matches(selector, labels):
            errs.append(
                f.invalid(
                    f.child(path, "metadata", "labels"),
                    GoLiteral(f.go_string_map(labels)),
                    "`selector` does not match template `labels`",
                )
            )
    errs += pods.validate_pod_template(template, path)
    errs += _template_restart_rules(template, owner, path)
    return errs


def _template_restart_rules(template: Obj, owner: str, path: str) -> list[Cause]:
    spec = template.get("spec") if isinstance(template.get("spec"), dict) else {}
    errs: list[Cause] = []
    restart = spec.get("restartPolicy") or ""
    if restart != "Always":
        errs.append(f.not_supported(f.child(path, "spec", "restartPolicy"), restart, ("Always",)))
    if spec.get("activeDeadlineSeconds") is not None:
        errs.append(
            f.forbidden(
                f.child(path, "spec", "activeDeadlineSeconds"),
                f"activeDeadlineSeconds in {owner} is not Supported",
            )
        )
    return errs


def _selector_or_template(spec: Obj, owner: str) -> list[Cause]:
    if not m.selector_is_valid(spec.get("selector")):
        selector = spec.get("selector")
        shown = m.label_selector_literal(selector) if isinstance(selector, dict) else selector
        return [f.invalid("spec.selector", shown, "invalid label selector")]
    return _validate_template_for_replica_set(spec, owner)


def _selector_immutable(new: Obj, old: Obj) -> list[Cause]:
    new_selector, old_selector = _spec_of(new).get("selector"), _spec_of(old).get("selector")
    if m.semantic_equal(new_selector, old_selector):
        return []
    shown = m.label_selector_literal(new_selector) if isinstance(new_selector, dict) else None
    return [f.invalid("spec.selector", shown, m.FIELD_IMMUTABLE)]


# -- Deployment --


def _validate_deployment_strategy(strategy: Any) -> list[Cause]:
    strategy = strategy if isinstance(strategy, dict) else {}
    kind = strategy.get("type") or ""
    path = "spec.strategy"
    if kind == "Recreate":
        if strategy.get("rollingUpdate") is not None:
            return [
                f.forbidden(
                    f.child(path, "rollingUpdate"), "may not be specified when strategy `type` is 'Recreate'"
                )
            ]
        return []
    if kind != "RollingUpdate":
        rolling = (
            "(*apps.RollingUpdateDeployment)(nil)"
            if strategy.get("rollingUpdate") is None
            else "(*apps.RollingUpdateDeployment)(0xc000000000)"
        )
        shown = GoLiteral(f"apps.DeploymentStrategy{{Type:{f.go_quote(kind)}, RollingUpdate:{rolling}}}")
        return [f.not_supported(path, shown, ("Recreate", "RollingUpdate"))]
    rolling = strategy.get("rollingUpdate")
    if not isinstance(rolling, dict):
        return [f.required(f.child(path, "rollingUpdate"), "this should be defaulted and never be nil")]
    rolling_path = f.child(path, "rollingUpdate")
    unavailable, surge = rolling.get("maxUnavailable"), rolling.get("maxSurge")
    errs = _positive_int_or_percent(unavailable, f.child(rolling_path, "maxUnavailable"))
    errs += _positive_int_or_percent(surge, f.child(rolling_path, "maxSurge"))
    if _int_or_percent_value(unavailable) == 0 and _int_or_percent_value(surge) == 0:
        errs.append(
            f.invalid(
                f.child(rolling_path, "maxUnavailable"),
                _int_or_string_literal(unavailable),
                "may not be 0 when `maxSurge` is 0",
            )
        )
    errs += _not_more_than_100_percent(unavailable, f.child(rolling_path, "maxUnavailable"))
    return errs


def _validate_deployment_spec(spec: Obj) -> list[Cause]:
    errs = m.nonnegative(spec.get("replicas", 0), "spec.replicas")
    errs += _validate_selector(spec, "deployment")
    errs += _selector_or_template(spec, "ReplicaSet")
    errs += _validate_deployment_strategy(spec.get("strategy"))
    errs += m.nonnegative(spec.get("minReadySeconds", 0), "spec.minReadySeconds")
    if spec.get("revisionHistoryLimit") is not None:
        errs += m.nonnegative(spec["revisionHistoryLimit"], "spec.revisionHistoryLimit")
    deadline = spec.get("progressDeadlineSeconds")
    if deadline is not None:
        errs += m.nonnegative(deadline, "spec.progressDeadlineSeconds")
        if deadline <= (spec.get("minReadySeconds") or 0):
            errs.append(
                f.invalid("spec.progressDeadlineSeconds", deadline, "must be greater than minReadySeconds")
            )
    return errs


def validate_deployment(obj: Obj) -> list[Cause]:
    return m.validate_object_meta(obj, True, names.name_is_dns_subdomain) + _validate_deployment_spec(
        _spec_of(obj)
    )


def validate_deployment_update(new: Obj, old: Obj) -> list[Cause]:
    errs = m.validate_object_meta_update(new, old) + _validate_deployment_spec(_spec_of(new))
    return errs + _selector_immutable(new, old)


# -- ReplicaSet --


def _validate_replica_set_spec(spec: Obj) -> list[Cause]:
    errs = m.nonnegative(spec.get("replicas", 0), "spec.replicas")
    errs += m.nonnegative(spec.get("minReadySeconds", 0), "spec.minReadySeconds")
    # upstream's ReplicaSet check names deployments in its message
    errs += _validate_selector(spec, "deployment")
    return errs + _selector_or_template(spec, "ReplicaSet")


def validate_replica_set(obj: Obj) -> list[Cause]:
    return m.validate_object_meta(obj, True, names.name_is_dns_subdomain) + _validate_replica_set_spec(
        _spec_of(obj)
    )


def validate_replica_set_update(new: Obj, old: Obj) -> list[Cause]:
    errs = m.validate_object_meta_update(new, old) + _validate_replica_set_spec(_spec_of(new))
    return errs + _selector_immutable(new, old)


# -- DaemonSet --


def _validate_daemon_set_strategy(strategy: Any) -> list[Cause]:
    strategy = strategy if isinstance(strategy, dict) else {}
    kind = strategy.get("type") or ""
    path = "spec.updateStrategy"
    if kind == "OnDelete":
        return []
    if kind != "RollingUpdate":
        rolling = (
            "(*apps.RollingUpdateDaemonSet)(nil)"
            if strategy.get("rollingUpdate") is None
            else "(*apps.RollingUpdateDaemonSet)(0xc000000000)"
        )
        shown = GoLiteral(f"apps.DaemonSetUpdateStrategy{{Type:{f.go_quote(kind)}, RollingUpdate:{rolling}}}")
        return [f.not_supported(path, shown, ("RollingUpdate", "OnDelete"))]
    rolling = strategy.get("rollingUpdate")
    if not isinstance(rolling, dict):
        return [f.required(f.child(path, "rollingUpdate"))]
    rolling_path = f.child(path, "rollingUpdate")
    unavailable, surge = rolling.get("maxUnavailable"), rolling.get("maxSurge")
    errs = _positive_int_or_percent(unavailable, f.child(rolling_path, "maxUnavailable"))
    errs += _positive_int_or_percent(surge, f.child(rolling_path, "maxSurge"))
    errs += _not_more_than_100_percent(unavailable, f.child(rolling_path, "maxUnavailable"))
    errs += _not_more_than_100_percent(surge, f.child(rolling_path, "maxSurge"))
    has_unavailable, has_surge = _int_or_percent_value(unavailable) != 0, _int_or_percent_value(surge) != 0
    if has_unavailable and has_surge:
        errs.append(
            f.invalid(
                f.child(rolling_path, "maxSurge"),
                _int_or_string_literal(surge),
                "may not be set when maxUnavailable is non-zero",
            )
        )
    elif not has_unavailable and not has_surge:
        errs.append(f.required(f.child(rolling_path, "maxUnavailable"), "cannot be 0 when maxSurge is 0"))
    return errs


def _validate_daemon_set_spec(spec: Obj) -> list[Cause]:
    selector = spec.get("selector")
    errs = m.validate_label_selector(selector, "spec.selector")
    template = spec.get("template") if isinstance(spec.get("template"), dict) else {}
    if m.selector_is_valid(selector) and not m.selector_matches(selector, _template_labels(template)):
        labels = _template_labels(template)
        errs.append(
            f.invalid(
                "spec.template.metadata.labels",
                GoLiteral(f.go_string_map(labels)),
                "`selector` does not match template `labels`",
            )
        )
    if selector is not None and m.selector_is_empty(selector):
        errs.append(
            f.invalid(
                "spec.selector", m.label_selector_literal(selector), "empty selector is invalid for daemonset"
            )
        )
    errs += pods.validate_pod_template(template, "spec.template")
    errs += _template_restart_rules(template, "DaemonSet", "spec.template")
    errs += m.nonnegative(spec.get("minReadySeconds", 0), "spec.minReadySeconds")
    errs += _validate_daemon_set_strategy(spec.get("updateStrategy"))
    if spec.get("revisionHistoryLimit") is not None:
        errs += m.nonnegative(spec["revisionHistoryLimit"], "spec.revisionHistoryLimit")
    return errs


def validate_daemon_set(obj: Obj) -> list[Cause]:
    return m.validate_object_meta(obj, True, names.name_is_dns_subdomain) + _validate_daemon_set_spec(
        _spec_of(obj)
    )


def validate_daemon_set_update(new: Obj, old: Obj) -> list[Cause]:
    errs = m.validate_object_meta_update(new, old) + _validate_daemon_set_spec(_spec_of(new))
    return errs + _selector_immutable(new, old)
