"""Services, Endpoints and EndpointSlices: core/v1 and discovery/v1 defaults and validation."""

from __future__ import annotations

import copy
from typing import Any

from distro.apiserver.strategies import field as f
from distro.apiserver.strategies import meta as m
from distro.apiserver.strategies import names
from distro.apiserver.strategies.field import Cause, GoLiteral

Obj = dict[str, Any]

DEFAULT_CLIENT_IP_TIMEOUT = 10800
MAX_CLIENT_IP_TIMEOUT = 86400
NODE_PORT_RANGE = (30000, 32767)
_PROTOCOLS = ("SCTP", "TCP", "UDP")
_SERVICE_TYPES = ("ClusterIP", "ExternalName", "LoadBalancer", "NodePort")
_IP_FAMILY_POLICIES = ("PreferDualStack", "RequireDualStack", "SingleStack")


def _dicts(value: Any) -> list[Obj]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _spec(obj: Obj) -> Obj:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        spec = obj["spec"] = {}
    return spec


def _externally_accessible(spec: Obj) -> bool:
    kind = spec.get("type")
    return kind in ("LoadBalancer", "NodePort") or (kind == "ClusterIP" and bool(spec.get("externalIPs")))


def _is_headless(spec: Obj) -> bool:
    return spec.get("clusterIPs") == ["None"]


# -- Service defaults --


def default_service(svc: Obj) -> None:
    spec = _spec(svc)
    if not spec.get("sessionAffinity"):
        spec["sessionAffinity"] = "None"
    if spec["sessionAffinity"] == "None":
        spec.pop("sessionAffinityConfig", None)
    elif spec["sessionAffinity"] == "ClientIP":
        config = spec.get("sessionAffinityConfig") or {}
        if (config.get("clientIP") or {}).get("timeoutSeconds") is None:
            spec["sessionAffinityConfig"] = {"clientIP": {"timeoutSeconds": DEFAULT_CLIENT_IP_TIMEOUT}}
    if not spec.get("type"):
        spec["type"] = "ClusterIP"
    for port in _dicts(spec.get("ports")):
        if not port.get("protocol"):
            port["protocol"] = "TCP"
        if port.get("targetPort") in (None, 0, ""):
            port["targetPort"] = port.get("port")
    if _externally_accessible(spec) and not spec.get("externalTrafficPolicy"):
        spec["externalTrafficPolicy"] = "Cluster"
    if spec.get("internalTrafficPolicy") is None and spec["type"] in (
        "ClusterIP",
        "NodePort",
        "LoadBalancer",
    ):
        spec["internalTrafficPolicy"] = "Cluster"
    if spec["type"] == "LoadBalancer":
        if spec.get("allocateLoadBalancerNodePorts") is None:
            spec["allocateLoadBalancerNodePorts"] = True
    _default_cluster_ips(spec)
    status = svc.get("status") if isinstance(svc.get("status"), dict) else {}
    load_balancer = status.get("loadBalancer") if isinstance(status.get("loadBalancer"), dict) else {}
    if spec["type"] == "LoadBalancer":
        for ingress in _dicts(load_balancer.get("ingress")):
            if ingress.get("ip") and ingress.get("ipMode") is None:
                ingress["ipMode"] = "VIP"
    status["loadBalancer"] = load_balancer
    svc["status"] = status


def _default_cluster_ips(spec: Obj) -> None:
    """What the service registry settles before allocation on a single-stack IPv4 cluster."""
    if spec["type"] == "ExternalName":
        return
    if spec.get("clusterIP") and not spec.get("clusterIPs"):
        spec["clusterIPs"] = [spec["clusterIP"]]
    if spec.get("ipFamilyPolicy") is None:
        headless_without_selector = spec.get("clusterIP") == "None" and not spec.get("selector")
        spec["ipFamilyPolicy"] = "RequireDualStack" if headless_without_selector else "SingleStack"
    if not spec.get("ipFamilies"):
        spec["ipFamilies"] = ["IPv4"]


# -- Service validation --


def _port_literal(protocol: str, port: Any) -> GoLiteral:
    return GoLiteral(
        f'core.ServicePort{{Name:"", Protocol:{f.go_quote(protocol)}, AppProtocol:(*string)(nil), '
        f"Port:{port}, "
        'TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:""}, NodePort:0}'
    )


def _validate_service_port(port: Obj, require_name: bool, seen: set[str], path: str) -> list[Cause]:
    errs: list[Cause] = []
    name = port.get("name") or ""
    if require_name and not name:
        errs.append(f.required(f.child(path, "name")))
    elif name:
        errs += [f.invalid(f.child(path, "name"), name, msg) for msg in names.is_dns1123_label(name)]
        if name in seen:
            errs.append(f.duplicate(f.child(path, "name"), name))
        seen.add(name)
    number = port.get("port") or 0
    errs += [f.invalid(f.child(path, "port"), number, msg) for msg in names.is_valid_port_num(number)]
    protocol = port.get("protocol") or ""
    if not protocol:
        errs.append(f.required(f.child(path, "protocol")))
    elif protocol not in _PROTOCOLS:
        errs.append(f.not_supported(f.child(path, "protocol"), protocol, _PROTOCOLS))
    target = port.get("targetPort")
    target_path = f.child(path, "targetPort")
    if isinstance(target, str):
        errs += [f.invalid(target_path, target, msg) for msg in names.is_valid_port_name(target)]
    else:
        errs += [f.invalid(target_path, target or 0, msg) for msg in names.is_valid_port_num(target or 0)]
    if port.get("appProtocol") is not None:
        errs += [
            f.invalid(f.child(path, "appProtocol"), port["appProtocol"], msg)
            for msg in names.is_qualified_name(port["appProtocol"])
        ]
    return errs


def _validate_type_specific(spec: Obj) -> list[Cause]:
    kind = spec.get("type")
    headless_value = (spec.get("clusterIPs") or [""])[0]
    if kind in ("LoadBalancer", "NodePort") and _is_headless(spec):
        return [
            f.invalid("spec.clusterIPs[0]", headless_value, f"may not be set to 'None' for {kind} services")
        ]
    if kind != "ExternalName":
        return []
    errs: list[Cause] = []
    for key in ("clusterIPs", "ipFamilies"):
        if spec.get(key):
            errs.append(f.forbidden(f"spec.{key}", "may not be set for ExternalName services"))
    if spec.get("ipFamilyPolicy") is not None:
        errs.append(f.forbidden("spec.ipFamilyPolicy", "may not be set for ExternalName services"))
    cname = (spec.get("externalName") or "").removesuffix(".")
    if cname:
        errs += [f.invalid("spec.externalName", cname, msg) for msg in names.is_dns1123_subdomain(cname)]
    else:
        errs.append(f.required("spec.externalName"))
    return errs


def _validate_cluster_ips(spec: Obj) -> list[Cause]:
    """ValidateServiceClusterIPsRelatedFields."""
    if spec.get("type") == "ExternalName":
        return []
    errs: list[Cause] = []
    cluster_ip, cluster_ips = spec.get("clusterIP") or "", spec.get("clusterIPs") or []
    if cluster_ip:
        if not cluster_ips:
            errs.append(f.required("spec.clusterIPs"))
        elif cluster_ips[0] != cluster_ip:
            errs.append(f.invalid("spec.clusterIPs", cluster_ips, "first value must match `clusterIP`"))
    elif cluster_ips:
        errs.append(
            f.invalid("spec.clusterIPs", cluster_ips, "must be empty when `clusterIP` is not specified")
        )
    seen: set[str] = set()
    for i, family in enumerate(spec.get("ipFamilies") or []):
        if family not in ("IPv4", "IPv6"):
            errs.append(f.not_supported(f"spec.ipFamilies[{i}]", family, ("IPv4", "IPv6")))
        if family in seen:
            errs.append(f.duplicate(f"spec.ipFamilies[{i}]", family))
        seen.add(family)
    policy = spec.get("ipFamilyPolicy")
    if policy is not None and policy not in _IP_FAMILY_POLICIES:
        errs.append(f.not_supported("spec.ipFamilyPolicy", policy, _IP_FAMILY_POLICIES))
    bad_ips = False
    for i, ip in enumerate(cluster_ips):
        if i == 0 and ip == "None":
            if len(cluster_ips) > 1:
                bad_ips = True
                errs.append(
                    f.invalid("spec.clusterIPs", cluster_ips, "'None' must be the first and only value")
                )
            continue
        if msgs := names.is_valid_ip(ip):
            bad_ips = True
            errs += [f.invalid(f"spec.clusterIPs[{i}]", ip, msg) for msg in msgs]
    if len(cluster_ips) > 2:
        errs.append(f.invalid("spec.clusterIPs", cluster_ips, "may only hold up to 2 values"))
    if bad_ips:
        return errs
    if len(cluster_ips) > 1:
        versions = [names.parse_ip_sloppy(ip).version for ip in cluster_ips]  # type: ignore[union-attr]
        if len(set(versions)) != len(versions):
            errs.append(
                f.invalid(
                    "spec.clusterIPs", cluster_ips, "may specify no more than one IP for each IP family"
                )
            )
    if not _is_headless(spec):
        for i, (ip, family) in enumerate(zip(cluster_ips, spec.get("ipFamilies") or [], strict=False)):
            version = names.parse_ip_sloppy(ip).version  # type: ignore[union-attr]
            if family == "IPv4" and version == 6:
                errs.append(
                    f.invalid(
                        f"spec.clusterIPs[{i}]",
                        ip,
                        f"expected an IPv4 value as indicated by `ipFamilies[{i}]`",
                    )
                )
            if family == "IPv6" and version != 6:
                errs.append(
                    f.invalid(
                        f"spec.clusterIPs[{i}]",
                        ip,
                        f"expected an IPv6 value as indicated by `ipFamilies[{i}]`",
                    )
                )
    return errs


def _validate_ports_section(spec: Obj) -> list[Cause]:
    ports = _dicts(spec.get("ports"))
    errs: list[Cause] = []
    seen_names: set[str] = set()
    for i, port in enumerate(ports):
        errs += _validate_service_port(port, len(ports) > 1, seen_names, f"spec.ports[{i}]")
    return errs


def _validate_node_ports(spec: Obj) -> list[Cause]:
    errs: list[Cause] = []
    ports = _dicts(spec.get("ports"))
    if spec.get("type") == "ClusterIP":
        for i, port in enumerate(ports):
            if port.get("nodePort"):
                errs.append(
                    f.forbidden(f"spec.ports[{i}].nodePort", "may not be used when `type` is 'ClusterIP'")
                )
    node_ports: set[tuple[Any, Any]] = set()
    for i, port in enumerate(ports):
        if not port.get("nodePort"):
            continue
        low, high = NODE_PORT_RANGE
        if spec.get("type") != "ClusterIP" and not low <= port["nodePort"] <= high:
            # the allocator's message; upstream reports it from the same 422
            errs.append(
                f.invalid(
                    f"spec.ports[{i}].nodePort",
                    port["nodePort"],
                    f"provided port is not in the valid range. The range of valid ports is {low}-{high}",
                )
            )
        key = (port.get("protocol"), port["nodePort"])
        if key in node_ports:
            errs.append(f.duplicate(f"spec.ports[{i}].nodePort", port["nodePort"]))
        node_ports.add(key)
    seen: set[tuple[Any, Any]] = set()
    for i, port in enumerate(ports):
        key = (port.get("protocol") or "", port.get("port") or 0)
        if key in seen:
            errs.append(f.duplicate(f"spec.ports[{i}]", _port_literal(*key)))
        seen.add(key)
    return errs


def _validate_traffic_policies(spec: Obj) -> list[Cause]:
    errs: list[Cause] = []
    external = spec.get("externalTrafficPolicy") or ""
    if not _externally_accessible(spec):
        if external:
            errs.append(
                f.invalid(
                    "spec.externalTrafficPolicy",
                    external,
                    "may only be set for externally-accessible services",
                )
            )
    elif not external:
        errs.append(f.required("spec.externalTrafficPolicy"))
    elif external not in ("Cluster", "Local"):
        errs.append(f.not_supported("spec.externalTrafficPolicy", external, ("Cluster", "Local")))
    health = spec.get("healthCheckNodePort") or 0
    if not _needs_health_check(spec) and health:
        errs.append(
            f.invalid(
                "spec.healthCheckNodePort",
                health,
                "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'",
            )
        )
    internal = spec.get("internalTrafficPolicy")
    if internal is None and spec.get("type") in ("ClusterIP", "NodePort", "LoadBalancer"):
        errs.append(f.required("spec.internalTrafficPolicy"))
    if internal is not None and internal not in ("Cluster", "Local"):
        errs.append(f.not_supported("spec.internalTrafficPolicy", internal, ("Cluster", "Local")))
    distribution = spec.get("trafficDistribution")
    if distribution is not None and distribution != "PreferClose":
        errs.append(f.not_supported("spec.trafficDistribution", distribution, ("PreferClose",)))
    return errs


def validate_service(svc: Obj) -> list[Cause]:
    spec = svc.get("spec") if isinstance(svc.get("spec"), dict) else {}
    errs = m.validate_object_meta(svc, True, names.name_is_dns1035_label)
    if not spec.get("ports") and not _is_headless(spec) and spec.get("type") != "ExternalName":
        errs.append(f.required("spec.ports"))
    errs += _validate_type_specific(spec)
    errs += _validate_ports_section(spec)
    if spec.get("selector") is not None:
        errs += m.validate_labels(spec["selector"], "spec.selector")
    affinity = spec.get("sessionAffinity") or ""
    if not affinity:
        errs.append(f.required("spec.sessionAffinity"))
    elif affinity not in ("ClientIP", "None"):
        errs.append(f.not_supported("spec.sessionAffinity", affinity, ("ClientIP", "None")))
    if affinity == "ClientIP":
        errs += _validate_client_ip_config(spec.get("sessionAffinityConfig"))
    elif affinity == "None" and spec.get("sessionAffinityConfig") is not None:
        errs.append(
            f.forbidden("spec.sessionAffinityConfig", "must not be set when session affinity is None")
        )
    errs += _validate_cluster_ips(spec)
    for i, ip in enumerate(spec.get("externalIPs") or []):
        msgs = names.is_valid_ip(ip)
        errs += [
            f.invalid(f"spec.externalIPs[{i}]", ip, msg) for msg in msgs or names.non_special_ip_errors(ip)
        ]
    errs += _choice_type(spec.get("type") or "")
    errs += _validate_node_ports(spec)
    if spec.get("loadBalancerSourceRanges"):
        if spec.get("type") != "LoadBalancer":
            errs.append(
                f.forbidden("spec.LoadBalancerSourceRanges", "may only be used when `type` is 'LoadBalancer'")
            )
        for i, raw in enumerate(spec["loadBalancerSourceRanges"]):
            cidr = raw or ""
            errs += [
                f.invalid(f"spec.LoadBalancerSourceRanges[{i}]", cidr.strip(), msg)
                for msg in names.is_valid_cidr(cidr.strip())
            ]
    if spec.get("allocateLoadBalancerNodePorts") is not None and spec.get("type") != "LoadBalancer":
        errs.append(
            f.forbidden(
                "spec.allocateLoadBalancerNodePorts", "may only be used when `type` is 'LoadBalancer'"
            )
        )
    if spec.get("type") == "LoadBalancer" and spec.get("allocateLoadBalancerNodePorts") is None:
        errs.append(f.required("allocateLoadBalancerNodePorts"))
    if spec.get("loadBalancerClass") is not None:
        if spec.get("type") == "LoadBalancer":
            errs += [
                f.invalid("spec.loadBalancerClass", spec["loadBalancerClass"], msg)
                for msg in names.is_qualified_name(spec["loadBalancerClass"])
            ]
        else:
            errs.append(
                f.forbidden("spec.loadBalancerClass", "may only be used when `type` is 'LoadBalancer'")
            )
    errs += _validate_traffic_policies(spec)
    return errs


def _choice_type(kind: str) -> list[Cause]:
    if not kind:
        return [f.required("spec.type")]
    if kind not in _SERVICE_TYPES:
        return [f.not_supported("spec.type", kind, _SERVICE_TYPES)]
    return []


def _validate_client_ip_config(config: Any) -> list[Cause]:
    path = "spec.sessionAffinityConfig"
    why = "when session affinity type is ClientIP"
    if not isinstance(config, dict):
        return [f.required(path, why)]
    if not isinstance(config.get("clientIP"), dict):
        return [f.required(f.child(path, "clientIP"), why)]
    timeout = config["clientIP"].get("timeoutSeconds")
    if timeout is None:
        return [f.required(f.child(path, "clientIP", "timeoutSeconds"), why)]
    if not 0 < timeout <= MAX_CLIENT_IP_TIMEOUT:
        return [
            f.invalid(
                f.child(path, "clientIP", "timeoutSeconds"),
                timeout,
                f"must be greater than 0 and less than {MAX_CLIENT_IP_TIMEOUT}",
            )
        ]
    return []


def _normalize_cluster_ips_for_update(new_spec: Obj, old_spec: Obj) -> Obj:
    """NormalizeClusterIPs on update: which clusterIPs the user meant when only one field changed."""
    spec = copy.deepcopy(new_spec)
    old_ip, old_ips = old_spec.get("clusterIP") or "", old_spec.get("clusterIPs") or []
    same_ips = (spec.get("clusterIPs") or []) == old_ips
    if old_ips and not spec.get("clusterIPs") and old_ip == (spec.get("clusterIP") or ""):
        spec["clusterIPs"] = list(old_ips)
    elif old_ip != (spec.get("clusterIP") or "") and same_ips:
        spec["clusterIPs"] = [spec["clusterIP"]] if spec.get("clusterIP") else []
    return spec


def _upgrade_downgrade_cluster_ips(new: Obj, old: Obj) -> list[Cause]:
    if "ExternalName" in (new.get("type"), old.get("type")) or (_is_headless(new) and _is_headless(old)):
        return []
    new_ips, old_ips = new.get("clusterIPs") or [], old.get("clusterIPs") or []
    errs: list[Cause] = []
    if len(old_ips) == len(new_ips):
        errs += [
            f.invalid(f"spec.clusterIPs[{i}]", new_ips, "may not change once set")
            for i, ip in enumerate(old_ips)
            if ip != new_ips[i]
        ]
    elif len(old_ips) > len(new_ips):
        if not new_ips:
            errs.append(f.invalid("spec.clusterIPs[0]", new_ips, "primary clusterIP can not be unset"))
        if old_ips and new_ips and new_ips[0] != old_ips[0]:
            errs.append(f.invalid("spec.clusterIPs[0]", new_ips, "may not change once set"))
        if len(new_ips) == 1 and new.get("ipFamilyPolicy") != "SingleStack":
            errs.append(
                f.invalid(
                    "spec.ipFamilyPolicy",
                    new.get("ipFamilyPolicy"),
                    "must be set to 'SingleStack' when releasing the secondary clusterIP",
                )
            )
    elif old_ips and new_ips[0] != old_ips[0]:
        errs.append(f.invalid("spec.clusterIPs[0]", new_ips, "may not change once set"))
    return errs


def _upgrade_downgrade_ip_families(new: Obj, old: Obj) -> list[Cause]:
    if "ExternalName" in (new.get("type"), old.get("type")) or _is_headless(new) or _is_headless(old):
        return []
    new_families, old_families = new.get("ipFamilies") or [], old.get("ipFamilies") or []
    errs: list[Cause] = []
    if len(old_families) == len(new_families):
        errs += [
            f.invalid("spec.ipFamilies[0]", new_families, "may not change once set")
            for i, family in enumerate(old_families)
            if family != new_families[i]
        ]
    elif len(old_families) > len(new_families):
        if not new.get("clusterIPs"):
            errs.append(f.invalid("spec.ipFamilies[0]", new_families, "primary ipFamily can not be unset"))
        if new_families and new_families[0] != old_families[0]:
            errs.append(
                f.invalid("spec.ipFamilies[0]", new.get("clusterIPs") or [], "may not change once set")
            )
        if len(new_families) == 1 and new.get("ipFamilyPolicy") != "SingleStack":
            errs.append(
                f.invalid(
                    "spec.ipFamilyPolicy",
                    new.get("ipFamilyPolicy"),
                    "must be set to 'SingleStack' when releasing the secondary ipFamily",
                )
            )
    elif old_families and new_families[0] != old_families[0]:
        errs.append(f.invalid("spec.ipFamilies[0]", new.get("clusterIPs") or [], "may not change once set"))
    return errs


def validate_service_update(new: Obj, old: Obj) -> list[Cause]:
    old_spec = old.get("spec") if isinstance(old.get("spec"), dict) else {}
    new_spec = _normalize_cluster_ips_for_update(
        new.get("spec") if isinstance(new.get("spec"), dict) else {}, old_spec
    )
    errs = m.validate_object_meta_update(new, old)
    errs += _upgrade_downgrade_cluster_ips(new_spec, old_spec)
    errs += _upgrade_downgrade_ip_families(new_spec, old_spec)
    if old_spec.get("type") == "LoadBalancer" and new_spec.get("type") == "LoadBalancer":
        if old_spec.get("loadBalancerClass") != new_spec.get("loadBalancerClass"):
            errs.append(
                f.invalid(
                    "spec.loadBalancerClass", new_spec.get("loadBalancerClass"), "may not change once set"
                )
            )
    if _needs_health_check(old_spec) and _needs_health_check(new_spec):
        if (new_spec.get("healthCheckNodePort") or 0) != (old_spec.get("healthCheckNodePort") or 0):
            errs.append(f.forbidden("spec.healthCheckNodePort", "field is immutable"))
    return errs + validate_service({**new, "spec": new_spec})


def _needs_health_check(spec: Obj) -> bool:
    return spec.get("type") == "LoadBalancer" and spec.get("externalTrafficPolicy") == "Local"


# -- Endpoints --


def default_endpoints(ep: Obj) -> None:
    for subset in _dicts(ep.get("subsets")):
        for port in _dicts(subset.get("ports")):
            if not port.get("protocol"):
                port["protocol"] = "TCP"


def _validate_endpoint_address(address: Obj, path: str) -> list[Cause]:
    ip = address.get("ip") or ""
    errs = [f.invalid(f.child(path, "ip"), ip, msg) for msg in names.is_valid_ip(ip)]
    if address.get("hostname"):
        errs += [
            f.invalid(f.child(path, "hostname"), address["hostname"], msg)
            for msg in names.is_dns1123_label(address["hostname"])
        ]
    if address.get("nodeName") is not None:
        node = address["nodeName"]
        errs += [
            f.invalid(f.child(path, "nodeName"), node, msg)
            for msg in names.name_is_dns_subdomain(node, False)
        ]
    errs += [f.invalid(f.child(path, "ip"), ip, msg) for msg in names.non_special_ip_errors(ip)]
    return errs


def _validate_endpoint_port(port: Obj, require_name: bool, path: str) -> list[Cause]:
    errs: list[Cause] = []
    name = port.get("name") or ""
    if require_name and not name:
        errs.append(f.required(f.child(path, "name")))
    elif name:
        errs += [f.invalid(f.child(path, "name"), name, msg) for msg in names.is_dns1123_label(name)]
    number = port.get("port") or 0
    errs += [f.invalid(f.child(path, "port"), number, msg) for msg in names.is_valid_port_num(number)]
    protocol = port.get("protocol") or ""
    if not protocol:
        errs.append(f.required(f.child(path, "protocol")))
    elif protocol not in _PROTOCOLS:
        errs.append(f.not_supported(f.child(path, "protocol"), protocol, _PROTOCOLS))
    if port.get("appProtocol") is not None:
        errs += [
            f.invalid(f.child(path, "appProtocol"), port["appProtocol"], msg)
            for msg in names.is_qualified_name(port["appProtocol"])
        ]
    return errs


def validate_endpoints(ep: Obj) -> list[Cause]:
    errs = m.validate_object_meta(ep, True, names.name_is_dns_subdomain)
    for i, subset in enumerate(_dicts(ep.get("subsets"))):
        path = f"subsets[{i}]"
        if not subset.get("addresses") and not subset.get("notReadyAddresses"):
            errs.append(f.required(path, "must specify `addresses` or `notReadyAddresses`"))
        for key in ("addresses", "notReadyAddresses"):
            for j, address in enumerate(_dicts(subset.get(key))):
                errs += _validate_endpoint_address(address, f"{path}.{key}[{j}]")
        ports = _dicts(subset.get("ports"))
        for j, port in enumerate(ports):
            errs += _validate_endpoint_port(port, len(ports) > 1, f"{path}.ports[{j}]")
    return errs


# -- EndpointSlices --

_ADDRESS_TYPES = ("FQDN", "IPv4", "IPv6")
MAX_ENDPOINTS, MAX_ADDRESSES, MAX_PORTS = 1000, 100, 100


def default_endpoint_slice(slice_: Obj) -> None:
    for port in _dicts(slice_.get("ports")):
        if port.get("name") is None:
            port["name"] = ""
        if port.get("protocol") is None:
            port["protocol"] = "TCP"


def _validate_slice_address(address: str, address_type: str, path: str) -> list[Cause]:
    if address_type == "IPv4":
        msgs = names.is_valid_ipv4(address)
    elif address_type == "IPv6":
        msgs = names.is_valid_ipv6(address)
    elif address_type == "FQDN":
        if not address:
            return [f.required(path)]
        return [
            f.invalid(path, address.removesuffix("."), msg)
            for msg in names.is_fully_qualified_domain_name(address)
        ]
    else:
        return []
    return [f.invalid(path, address, msg) for msg in msgs + names.non_special_ip_errors(address)]


def validate_endpoint_slice(slice_: Obj, *, allow_ip: bool = False) -> list[Cause]:
    errs = m.validate_object_meta(slice_, True, names.name_is_dns_subdomain)
    address_type = slice_.get("addressType") or ""
    supported = (*_ADDRESS_TYPES, "IP") if allow_ip else _ADDRESS_TYPES
    if not address_type:
        errs.append(f.required("addressType"))
    elif address_type not in supported:
        errs.append(f.not_supported("addressType", address_type, sorted(supported)))
    endpoints = _dicts(slice_.get("endpoints"))
    if len(endpoints) > MAX_ENDPOINTS:
        errs.append(f.too_many("endpoints", len(endpoints), MAX_ENDPOINTS))
        endpoints = []
    for i, endpoint in enumerate(endpoints):
        path = f"endpoints[{i}]"
        addresses = endpoint.get("addresses") or []
        if not addresses:
            errs.append(f.required(f"{path}.addresses", "must contain at least 1 address"))
        elif len(addresses) > MAX_ADDRESSES:
            errs.append(f.too_many(f"{path}.addresses", len(addresses), MAX_ADDRESSES))
        for j, address in enumerate(addresses):
            errs += _validate_slice_address(str(address), address_type, f"{path}.addresses[{j}]")
        if endpoint.get("nodeName") is not None:
            node = endpoint["nodeName"]
            errs += [
                f.invalid(f"{path}.nodeName", node, msg) for msg in names.name_is_dns_subdomain(node, False)
            ]
        if endpoint.get("hostname") is not None:
            errs += [
                f.invalid(f"{path}.hostname", endpoint["hostname"], msg)
                for msg in names.is_dns1123_label(endpoint["hostname"])
            ]
    errs += _validate_slice_ports(_dicts(slice_.get("ports")))
    return errs


def _validate_slice_ports(ports: list[Obj]) -> list[Cause]:
    if len(ports) > MAX_PORTS:
        return [f.too_many("ports", len(ports), MAX_PORTS)]
    errs: list[Cause] = []
    seen: set[str] = set()
    for i, port in enumerate(ports):
        path, name = f"ports[{i}]", port.get("name") or ""
        if name:
            errs += [f.invalid(f"{path}.name", name, msg) for msg in names.is_dns1123_label(name)]
        if name in seen:
            errs.append(f.duplicate(f"{path}.name", name))
        seen.add(name)
        protocol = port.get("protocol")
        if protocol is None:
            errs.append(f.required(f"{path}.protocol"))
        elif protocol not in _PROTOCOLS:
            errs.append(f.not_supported(f"{path}.protocol", protocol, _PROTOCOLS))
        if port.get("appProtocol") is not None:
            errs += [
                f.invalid(f"{path}.appProtocol", port["appProtocol"], msg)
                for msg in names.is_qualified_name(port["appProtocol"])
            ]
    return errs


def validate_endpoint_slice_update(new: Obj, old: Obj) -> list[Cause]:
    errs = m.validate_object_meta_update(new, old)
    errs += validate_endpoint_slice(new, allow_ip=True)
    errs += m.immutable(new.get("addressType") or "", old.get("addressType") or "", "addressType")
    return errs
