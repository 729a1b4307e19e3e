"""App Service and Function apps (``Microsoft.Web/sites``).

- Public switch: ``properties.publicNetworkAccess`` on the site (absent or empty
  means enabled), written with one PATCH of the site (WebApps_Update).
- A site GET carries no ``privateEndpointConnections``: they are listed from
  ``sites/{name}/privateEndpointConnections`` (WebApps_GetPrivateEndpointConnectionList).
- The firewall is the access-restriction list in ``sites/{name}/config/web``:
  ``ipSecurityRestrictions[] {ipAddress | vnetSubnetResourceId, action, priority,
  name, description}`` and ``ipSecurityRestrictionsDefaultAction``. Its GET
  shows an implicit last rule ("Allow all"/"Deny all", priority 2147483647)
  that is not a stored rule and is never written back. The list is written
  whole with one PATCH of ``config/web`` (WebApps_UpdateConfiguration) that
  carries only the two restriction properties, so app settings (a separate
  ``config/appsettings`` resource) and the rest of the site config are never sent.
- Allowed IP ranges (HARDEN_ALLOWED_IP_RANGES, ``service-endpoint``): one Allow restriction
  ``{ipAddress: <CIDR>, action: Allow, priority, name: harden-ip-<range>}`` per configured range no
  Allow rule covers yet, in the same ``config/web`` PATCH. ``ipAddress`` is CIDR ("IP address the
  security restriction is valid for. It can be in form of pure ipv4 address (required SubnetMask
  property) or CIDR notation such as ipv4/mask", SiteConfig.tsp ``IpSecurityRestriction``), so a single
  address is written ``a.b.c.d/32``; App Service would take IPv6 too, the other services would not
  (remediators/ip_ranges.py).
- The SCM (Kudu) site, the deployment and console endpoint, has its own restrictions
  (``scmIpSecurityRestrictions``, ``scmIpSecurityRestrictionsDefaultAction``) unless
  ``scmIpSecurityRestrictionsUseMain`` is true. ``service-endpoint`` treats an SCM site open to every
  network as not compliant and sets ``scmIpSecurityRestrictionsUseMain: true`` in the same PATCH (use the
  main rules rather than copy them: SCM then follows the app's rules as they change, nothing copied can
  drift, and SCM's own rules stay stored, unused, and come back if the flag is cleared: Learn
  app-service-ip-restrictions, "Restrict access to an SCM site"; SiteConfig.tsp
  ``scmIpSecurityRestrictionsUseMain``). An SCM site whose own default denies is left as it is. The Change
  records ``{"scmIpSecurityRestrictionsUseMain": <as read>} -> true``; a revert puts the value back.
- ``private``: public access Disabled closes the app, SCM and FTP; the outcome says so and how to
  deploy afterwards (:data:`PRIVATE_CLOSES`).
- Private endpoints need a Basic-or-higher plan (Functions: Flex Consumption,
  Elastic Premium or Dedicated); ``properties.sku`` names the plan's SKU. Access
  restrictions work on every plan.

Sources: azure-rest-api-specs web/resource-manager Microsoft.Web AppService
(Site.tsp, SiteConfigResource.tsp, RemotePrivateEndpointConnectionARMResource.tsp,
example GetWebApp.json); learn.microsoft.com/azure/app-service/app-service-ip-restrictions
(rules, priorities, the implicit rule, the default action; subnet rules need the
``Microsoft.Web`` service endpoint); learn.microsoft.com/azure/app-service/overview-private-endpoint;
built-in policy "App Service apps should use a SKU that supports private link";
learn.microsoft.com/azure/private-link/private-endpoint-dns (group ``sites``,
zone ``privatelink.azurewebsites.net``).

ARM reads per evaluation (the compliant check is the first two rows, one per mode):
    harden=private: site GET + privateEndpointConnections list GET
    harden=service-endpoint: site GET + config/web GET
    harden=off, unknown value, or a plan without private link: site GET
    untagged: site GET, + config/web GET when public access is on (to report accurately)
Writes per remediation (besides the shared endpoint/DNS/subnet changes):
    private: site PATCH (public access off)
    service-endpoint: config/web PATCH (subnet allow rules added, default Deny, and
    scmIpSecurityRestrictionsUseMain true when SCM was open), preceded by a GET of config/web as it is
    at that moment

Deployment slots (``Microsoft.Web/sites/slots``) are hardened by the same code, parametrised
(remediators/services/web_slots.py overrides the few methods that name the ARM operations).
"""
from __future__ import annotations

import hashlib
import logging
from typing import Any, Iterable, Mapping, Sequence

from ..arm import ArmClients
from ..ip_ranges import as_cidr, canonical_set, missing_ranges, rule_name
from ..model import ALLOW, DENY, DISABLED, ENABLED, Change, Mode, Phase, ResourceState, requested_mode
from ..resource_id import ResourceId
from ..spec import PrivateLinkGroup, ServiceSpec, rbac_actions_from_docstring
from .base import ServiceRemediator
from .common import (approved_private_endpoints, default_action, lower_ids, missing_subnets, props, public_access,
                     tags_of)

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..revert import Recorded

logger = logging.getLogger(__name__)

IMPLICIT_PRIORITY = 2147483647
SITES_ZONE = "privatelink.azurewebsites.net"
_IMPLICIT_NAMES = frozenset({"allow all", "deny all"})
# Our allow rules go after the usual hand-made ones (100, 200, ...), at the first free priority.
FIRST_PRIORITY = 1000
# Plans whose apps cannot have private endpoints (properties.sku of the site).
NO_PRIVATE_LINK_SKUS = frozenset({"free", "shared", "dynamic"})
# App Service Environment v2 (the Isolated plan): Learn's list of plans whose apps take private endpoints
# names IsolatedV2, not Isolated (learn.microsoft.com/azure/app-service/overview-private-endpoint), while
# the built-in policy "App Service apps should use a SKU that supports private link" (546fe8d2, v4.1.0)
# lists both. We model the stricter: reported, never attempted. An ASEv2 app lives in its own VNet already.
ASE_V2_SKU = "isolated"
SCM_SITE = "SCM (Kudu) site"
# Public network access Disabled closes the app, its SCM (Kudu) site and FTP alike (/work/shared/azure-facts.md,
# "App Service slots"; learn.microsoft.com/azure/app-service/overview-private-endpoint: the SCM site is reached
# through the private endpoint, ``<app>.scm.privatelink.azurewebsites.net``). Said in every private outcome.
PRIVATE_CLOSES = ("; public access is off for the {noun}, its SCM (Kudu) site and FTP: deployments from hosted "
                  "agents and from anywhere outside the VNet stop working. Deploy from a self-hosted agent in (or "
                  "peered with) the VNet, through the private endpoint (the {noun}'s SCM name, <name>.scm."
                  "azurewebsites.net, resolves to it in linked VNets), or by run-from-package "
                  "(WEBSITE_RUN_FROM_PACKAGE with a package URL the {noun} can reach)")


def scm_open(config_props: Mapping[str, Any]) -> bool:
    """Whether the SCM (Kudu) site lets every network in, whatever the app's own restrictions say.

    ``scmIpSecurityRestrictionsUseMain: true`` makes SCM use the app's rules ("When you select the **Use main
    site rules** check box, ... it will use the rules from the main site", learn.microsoft.com/azure/
    app-service/app-service-ip-restrictions, "Restrict access to an SCM site"; SiteConfig
    ``scmIpSecurityRestrictionsUseMain``: "IP security restrictions for scm to use main"). Otherwise SCM
    follows its own list, ``scmIpSecurityRestrictions``, and its own default: open unless that default
    (explicit, or the implicit last rule a GET shows) denies. An absent flag or default reads as open.
    """
    if config_props.get("scmIpSecurityRestrictionsUseMain") is True:
        return False
    scm = {"ipSecurityRestrictions": config_props.get("scmIpSecurityRestrictions") or [],
           "ipSecurityRestrictionsDefaultAction": config_props.get("scmIpSecurityRestrictionsDefaultAction")}
    return effective_default_action(scm) != DENY


def is_implicit(rule: Mapping[str, Any]) -> bool:
    """The "Allow all"/"Deny all" rule a config GET appends: shown, never stored."""
    return rule.get("priority") == IMPLICIT_PRIORITY and str(rule.get("name", "")).lower() in _IMPLICIT_NAMES


def explicit_restrictions(config_props: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The stored rules as read (null fields dropped), without the implicit last rule."""
    return [{k: v for k, v in r.items() if v is not None}
            for r in config_props.get("ipSecurityRestrictions") or () if not is_implicit(r)]


def allowed_subnets(rules: Iterable[Mapping[str, Any]]) -> frozenset[str]:
    return lower_ids(r.get("vnetSubnetResourceId") for r in rules
                     if str(r.get("action") or ALLOW).lower() == ALLOW.lower())


def allowed_ip_ranges(rules: Iterable[Mapping[str, Any]]) -> frozenset[str]:
    """The ranges the Allow rules let in, normalised (service tags and ``Any`` are not ranges)."""
    return canonical_set(_with_mask(r) for r in rules
                         if str(r.get("action") or ALLOW).lower() == ALLOW.lower() and not r.get("vnetSubnetResourceId"))


def _with_mask(rule: Mapping[str, Any]) -> Any:
    """``ipAddress``, with its ``subnetMask`` when it is "a pure ipv4 address (required SubnetMask property)"."""
    address, mask = rule.get("ipAddress"), rule.get("subnetMask")
    return f"{address}/{mask}" if isinstance(address, str) and "/" not in address and mask else address


def effective_default_action(config_props: Mapping[str, Any]) -> str:
    """The explicit default action, else what the implicit last rule does."""
    explicit = config_props.get("ipSecurityRestrictionsDefaultAction")
    if explicit:
        return default_action(explicit)
    implicit = [r for r in config_props.get("ipSecurityRestrictions") or () if is_implicit(r)]
    return default_action(implicit[0].get("action")) if implicit else ALLOW


def restriction_name(subnet_id: str) -> str:
    """Deterministic and short (names are at most 32 characters)."""
    digest = hashlib.sha256(subnet_id.lower().encode()).hexdigest()[:8]
    return f"harden-{subnet_id.rsplit('/', 1)[-1]}"[:23] + f"-{digest}"


def merged_restrictions(config_props: Mapping[str, Any], subnet_ids: Sequence[str],
                        ip_ranges: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Every stored rule as read, plus an allow rule for each subnet and IP range that has none."""
    rules = explicit_restrictions(config_props)
    present_ranges = allowed_ip_ranges(rules)
    used = {r.get("priority") for r in rules}
    priority = FIRST_PRIORITY
    for subnet_id in missing_subnets(subnet_ids, allowed_subnets(rules)):
        while priority in used:
            priority += 1
        used.add(priority)
        vnet, subnet = subnet_id.split("/")[-3], subnet_id.rsplit("/", 1)[-1]
        rules.append({"vnetSubnetResourceId": subnet_id, "action": ALLOW, "priority": priority,
                      "name": restriction_name(subnet_id),
                      "description": f"harden=service-endpoint: allow subnet {vnet}/{subnet} (paas-hardener)"})
    for ip_range in missing_ranges(ip_ranges, present_ranges):
        while priority in used:
            priority += 1
        used.add(priority)
        rules.append({"ipAddress": as_cidr(ip_range), "action": ALLOW, "priority": priority,
                      "name": rule_name(ip_range),
                      "description": f"HARDEN_ALLOWED_IP_RANGES: allow {ip_range} (paas-hardener)"})
    return rules


class WebAppRemediator(ServiceRemediator):
    """Hardens App Service and Function apps: the site's public switch, or its access restrictions.

    RBAC actions:
        Microsoft.Web/sites/read
        Microsoft.Web/sites/write
        Microsoft.Web/sites/config/read
        Microsoft.Web/sites/config/write
        Microsoft.Web/sites/privateEndpointConnections/read
        Microsoft.Web/sites/privateEndpointConnectionsApproval/action
    """

    spec = ServiceSpec(
        resource_type="Microsoft.Web/sites",
        display_name="App Service app",
        service_endpoint="Microsoft.Web",
        private_link_groups=(PrivateLinkGroup("sites", SITES_ZONE),),
        operations=("Microsoft.Web/sites/write", "Microsoft.Web/sites/config/write"),
        rbac_actions=rbac_actions_from_docstring(__doc__),
    )

    # -- where site and slot differ (remediators/services/web_slots.py overrides these) ------------------
    noun = "app"

    def get_resource(self, arm: ArmClients, rid: ResourceId) -> dict[str, Any]:
        return arm.web.web_apps.get(rid.resource_group, rid.name).as_dict()

    def get_config(self, arm: ArmClients, rid: ResourceId) -> dict[str, Any]:
        return arm.web.web_apps.get_configuration(rid.resource_group, rid.name).as_dict()

    def update_resource(self, arm: ArmClients, rid: ResourceId, body: Mapping[str, Any]) -> Any:
        return arm.web.web_apps.update(rid.resource_group, rid.name, body)

    def update_config(self, arm: ArmClients, rid: ResourceId, body: Mapping[str, Any]) -> Any:
        return arm.web.web_apps.update_configuration(rid.resource_group, rid.name, body)

    def list_connections(self, arm: ArmClients, rid: ResourceId) -> list[dict[str, Any]]:
        return [c.as_dict() for c in arm.web.web_apps.get_private_endpoint_connection_list(rid.resource_group, rid.name)]

    def effective_tags(self, arm: ArmClients, rid: ResourceId, resource: Mapping[str, Any]) -> dict[str, str]:
        """The tags the ``harden`` decision reads: the resource's own."""
        return tags_of(resource)

    def link_groups(self, rid: ResourceId) -> tuple[PrivateLinkGroup, ...]:
        return self.spec.private_link_groups

    def link_target(self, rid: ResourceId) -> ResourceId | None:
        return None

    # -----------------------------------------------------------------------------------------------

    def read(self, arm: ArmClients, resource_id: ResourceId) -> ResourceState:
        site = self.get_resource(arm, resource_id)
        p = props(site)
        tags = self.effective_tags(arm, resource_id, site)
        tag, mode = requested_mode(tags)
        public = public_access(p.get("publicNetworkAccess"))
        unsupported = None
        connections: list[Mapping[str, Any]] = []
        config: Mapping[str, Any] | None = None
        if mode is Mode.PRIVATE:
            sku = str(p.get("sku") or "")
            if sku.lower() in NO_PRIVATE_LINK_SKUS:
                unsupported = (f"Basic plan or higher required: this {self.noun} runs on the {sku} plan, which has no "
                               "private endpoints (Functions need Flex Consumption, Elastic Premium or a Dedicated "
                               "plan); move it to such a plan, use harden=service-endpoint, or tag it harden=off")
            elif sku.lower() == ASE_V2_SKU:
                unsupported = ("App Service Environment v2 (Isolated plan): private endpoints are documented for "
                               "IsolatedV2, not Isolated; the app is reachable only through its ASE's network "
                               "already. Restrict it on the ASE (internal load balancer), use harden=service-endpoint, "
                               "or tag it harden=off")
            else:
                connections = self.list_connections(arm, resource_id)
        elif mode is Mode.SERVICE_ENDPOINT or (tag is None and public == ENABLED):
            config = self.get_config(arm, resource_id)
        config_props = props(config) if config is not None else {}
        return ResourceState(
            id=resource_id,
            location=site.get("location", ""),
            tags=tags,
            public_network_access=public,
            default_action=effective_default_action(config_props) if config is not None else None,
            vnet_rule_subnet_ids=allowed_subnets(explicit_restrictions(config_props)),
            ip_rules=allowed_ip_ranges(explicit_restrictions(config_props)),
            private_endpoint_ids=approved_private_endpoints(connections),
            private_link_groups=self.link_groups(resource_id),
            unsupported=unsupported,
            raw={"config": config or {}},
            private_link_target=self.link_target(resource_id),
            also_open=(SCM_SITE,) if config is not None and scm_open(config_props) else (),
        )

    def plan_lockdown(self, arm: ArmClients, state: ResourceState) -> list[Change]:
        rid = state.id
        body = {"properties": {"publicNetworkAccess": DISABLED}}
        return [Change(
            phase=Phase.PUBLIC_ACCESS, target=str(rid), summary=f"disable public network access on the {self.noun}",
            before={"publicNetworkAccess": state.public_network_access}, after={"publicNetworkAccess": DISABLED},
            apply=lambda: self.update_resource(arm, rid, body))]

    def plan_vnet_rules(self, arm: ArmClients, state: ResourceState,
                        subnet_ids: Sequence[str], *, ip_ranges: Sequence[str] = ()) -> list[Change]:
        rid = state.id
        read = props(state.raw["config"])
        planned = merged_restrictions(read, subnet_ids, ip_ranges)

        def apply() -> Any:
            # The list is written whole: merge into the rules as they are now, not as planned.
            fresh = props(self.get_config(arm, rid))
            body: dict[str, Any] = {"ipSecurityRestrictions": merged_restrictions(fresh, subnet_ids, ip_ranges),
                                    "ipSecurityRestrictionsDefaultAction": DENY}
            if scm_open(fresh):
                body["scmIpSecurityRestrictionsUseMain"] = True
            return self.update_config(arm, rid, {"properties": body})

        before = {"ipSecurityRestrictionsDefaultAction": state.default_action,
                  "vnetSubnets": sorted(state.vnet_rule_subnet_ids)}
        after = {"ipSecurityRestrictionsDefaultAction": DENY, "vnetSubnets": sorted(allowed_subnets(planned))}
        if missing_ranges(ip_ranges, state.ip_rules):
            before["ipSecurityRestrictions.ipAddress"] = _addresses(explicit_restrictions(read))
            after["ipSecurityRestrictions.ipAddress"] = _addresses(planned)
        scm = ""
        if SCM_SITE in state.also_open:
            # Recorded as read (revert puts it back: remediators/services/web.py restored_config).
            before["scmIpSecurityRestrictionsUseMain"] = read.get("scmIpSecurityRestrictionsUseMain")
            after["scmIpSecurityRestrictionsUseMain"] = True
            scm = "; the SCM (Kudu) site uses the same rules (its own rules kept, unused)"
        return [Change(
            phase=Phase.FIREWALL_RULES, target=f"{rid}/config/web",
            summary="allow the service-endpoint subnets and IP ranges in the access restrictions and deny all other "
                    f"networks (existing restrictions kept){scm}",
            before=before, after=after, apply=apply)]

    def plan_restore(self, arm: ArmClients, resource_id: ResourceId, recorded: Recorded) -> list[Change]:
        rid = resource_id
        changes: list[Change] = []
        now = public_access(props(self.get_resource(arm, rid)).get("publicNetworkAccess"))
        if recorded.public_network_access and now != public_access(recorded.public_network_access):
            body = {"properties": {"publicNetworkAccess": recorded.public_network_access}}
            changes.append(Change(
                phase=Phase.PUBLIC_ACCESS, target=str(rid), summary=f"restore public network access on the {self.noun}",
                before={"publicNetworkAccess": now}, after={"publicNetworkAccess": recorded.public_network_access},
                apply=lambda: self.update_resource(arm, rid, body)))
        current = props(self.get_config(arm, rid))
        planned = restored_config(current, recorded)
        before, after = {}, {}
        for key, value in planned.items():
            was = _restriction_view(current.get(key)) if key == "ipSecurityRestrictions" else current.get(key)
            will = _restriction_view(value) if key == "ipSecurityRestrictions" else value
            if was != will:
                before[key], after[key] = was, will
        if after:
            def apply() -> Any:
                # Written whole: restore into the restrictions as they are now, so a rule added meanwhile stays.
                fresh = props(self.get_config(arm, rid))
                return self.update_config(arm, rid, {"properties": restored_config(fresh, recorded)})

            changes.append(Change(
                phase=Phase.FIREWALL_RULES, target=f"{rid}/config/web",
                summary="restore the access restrictions as they were before hardening (rules others added kept)",
                before=before, after=after, apply=apply, needs=frozenset(c.key for c in changes)))
        return changes

    def outcome_note(self, mode: Mode) -> str:
        """What a hardened outcome adds in words: for ``private``, what closes and how to deploy afterwards."""
        return PRIVATE_CLOSES.format(noun=self.noun) if mode is Mode.PRIVATE else ""


def restored_config(config_props: Mapping[str, Any], recorded: Recorded) -> dict[str, Any]:
    """A revert's site config: our restrictions out, the default and SCM's switch as recorded."""
    ours_ips = {v.lower() for v in recorded.ip_rules_added}
    rules = [dict(r) for r in explicit_restrictions(config_props)
             if str(r.get("vnetSubnetResourceId") or "").lower() not in recorded.subnets_added
             and str(r.get("ipAddress") or "").lower() not in ours_ips]
    restored: dict[str, Any] = {"ipSecurityRestrictions": rules}
    if recorded.default_action:
        restored["ipSecurityRestrictionsDefaultAction"] = recorded.default_action
    if "scmIpSecurityRestrictionsUseMain" in recorded.flags:
        restored["scmIpSecurityRestrictionsUseMain"] = bool(recorded.flags["scmIpSecurityRestrictionsUseMain"])
    return restored


def _restriction_view(rules: Any) -> list[str]:
    return sorted(str(r.get("vnetSubnetResourceId") or r.get("ipAddress") or r.get("name")).lower()
                  for r in explicit_restrictions({"ipSecurityRestrictions": rules or []}))


def _addresses(rules: Iterable[Mapping[str, Any]]) -> list[str]:
    """``ipAddress`` of every stored rule that has one, exactly as read, sorted (for history and revert)."""
    return sorted(str(r["ipAddress"]) for r in rules if r.get("ipAddress"))
