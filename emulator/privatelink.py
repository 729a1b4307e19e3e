"""Private endpoints and what they do to their targets.

Group ids per service: https://learn.microsoft.com/azure/private-link/private-endpoint-overview#private-link-resource.
On success a private endpoint gets an (auto-)approved ``privateEndpointConnections/{name}``
child on the target; for every type except Microsoft.Web/sites the target's GET also shows
it under ``properties.privateEndpointConnections`` (see the example GET bodies in
azure-rest-api-specs, e.g. ServerGet.json / CosmosDBDatabaseAccountGet.json).
"""

from __future__ import annotations

import ipaddress
import re
import uuid
from dataclasses import dataclass
from typing import Any, Callable

from . import ids
from .errors import ArmError, bad_request, invalid_reference
from .rules import FAILED_OPERATION, Embed, Rule, Write, commit, delete_cascade, get_in, ieq, prepare
from .store import Record, Store

#: ``Record.meta`` flag: the target's owner approves private endpoint connections by hand.
MANUAL_APPROVAL = "manualApproval"
#: ``Record.meta`` of a target: kinds of failure, one per coming endpoint write against it, with which
#: that write's operation ends ``Failed`` (see :func:`endpoint_operation_failure`).
ENDPOINT_FAILURES = "endpointOperationFailures"
#: ``Record.meta`` of an endpoint subnet: ``{group id (lower case): private DNS zone id}`` that an Azure
#: Landing Zones ``Deploy-Private-DNS-Zones`` policy assigned over it registers new endpoints in.
POLICY_ZONES = "policyZones"
POLICY_ZONE_GROUP = "deployedByPolicy"


def endpoint_operation_failure(kind: str, user_id: str, subnet_id: str) -> dict:
    """An endpoint operation's terminal ``Failed`` error, as real responses show it.

    - ``storage-busy``: Storage refuses a second exclusive operation on the account (several endpoints
      to one account at once): ``StorageAccountOperationInProgress`` "Call to Microsoft.Storage/
      storageAccounts failed. Error message: An operation is currently performing on this storage
      account that requires exclusive access." (Azure/bicep-registry-modules#6001, an operation that
      "reached terminal provisioning state 'Failed'").
    - ``subnet-updating``: the endpoint's subnet is still being updated: ``RetryableError`` "A retryable
      error occurred." with detail ``ReferencedResourceNotProvisioned`` (the operation status body quoted
      in hashicorp/terraform-provider-azurerm#30197, and #21293).
    - ``cosmos-concurrent``: concurrent endpoints to one Cosmos DB account end ``InternalServerError``
      (hashicorp/terraform-provider-azurerm#14364); the message is our guess (emulator/README.md).
    """
    if kind == "storage-busy":
        return {"code": "StorageAccountOperationInProgress",
                "message": "Call to Microsoft.Storage/storageAccounts failed. Error message: An operation is "
                           "currently performing on this storage account that requires exclusive access.",
                "details": []}
    if kind == "subnet-updating":
        return {"code": "RetryableError", "message": "A retryable error occurred.", "details": [{
            "code": "ReferencedResourceNotProvisioned",
            "message": f"Cannot proceed with operation because resource {subnet_id} used by resource "
                       f"{user_id} is not in Succeeded state. Resource is in Updating state and the last "
                       "operation that updated/is updating the resource is PutSubnetOperation."}]}
    if kind == "cosmos-concurrent":
        return {"code": "InternalServerError",
                "message": "Call to Microsoft.DocumentDB/databaseAccounts failed. Error message: An internal "
                           "error occurred while processing the request."}
    raise ValueError(f"unknown endpoint failure {kind!r}")

STORAGE_GROUPS = ("blob", "file", "queue", "table", "web", "dfs")
# Sub-resources each account kind offers (learn.microsoft.com/azure/storage/common/storage-private-endpoints;
# legacy BlobStorage holds blobs only: storage/common/storage-account-overview "Legacy storage account types").
# General-purpose v1 has none: "Private endpoints are not available for general-purpose v1 storage accounts."
_STORAGE_KIND_GROUPS = {
    "storagev2": STORAGE_GROUPS,
    "blockblobstorage": ("blob", "dfs"),
    "filestorage": ("file",),
    "blobstorage": ("blob",),
    "storage": (),
}
# Read-access secondaries exist for these services on RA-GRS / RA-GZRS only (secondaryEndpoints in
# StorageAccounts_GetProperties; Azure Files has no read-access secondary). Zones: private-endpoint-dns
# lists "<group>, <group>_secondary" against one privatelink zone.
_STORAGE_SECONDARY = ("blob", "queue", "table", "web", "dfs")


def _tier(body: dict) -> str:
    return str(get_in(body, "sku", "tier") or get_in(body, "sku", "name") or "")


def _cosmos_groups(body: dict) -> tuple[str, ...]:
    # The API of an account decides its sub-resource: kind MongoDB, or a capability.
    caps = {str(c.get("name", "")).lower() for c in get_in(body, "properties", "capabilities", default=[]) or []}
    if ieq(body.get("kind"), "MongoDB"):
        api = "MongoDB"
    elif "enablecassandra" in caps:
        api = "Cassandra"
    elif "enablegremlin" in caps:
        api = "Gremlin"
    elif "enabletable" in caps:
        api = "Table"
    else:
        api = "Sql"
    # Gremlin and Table accounts also offer Sql: "You can also access the Gremlin and Table API accounts
    # through the SQL API, so there are two entries for these APIs" (cosmos-db/how-to-configure-private-endpoints).
    groups = (api, "Sql") if api in ("Gremlin", "Table") else (api,)
    return groups + ("Analytical",) if get_in(body, "properties", "enableAnalyticalStorage") else groups


def _storage_groups(body: dict) -> tuple[str, ...]:
    kind = str(body.get("kind") or "StorageV2").lower()
    groups = _STORAGE_KIND_GROUPS.get(kind, STORAGE_GROUPS)
    sku = str(get_in(body, "sku", "name") or "").lower()
    if kind == "storagev2" and sku.startswith("premium"):
        groups = ("blob",)  # premium page blob accounts hold page blobs only (storage-account-overview)
    if sku.endswith(("_ragrs", "_ragzrs")):
        groups += tuple(g + "_secondary" for g in groups if g in _STORAGE_SECONDARY)
    return groups


def _storage_check(body: dict, group: str) -> str | None:
    if ieq(body.get("kind"), "Storage"):
        return "Private endpoints are not available for general-purpose v1 storage accounts."
    if group.lower().startswith("dfs") and not get_in(body, "properties", "isHnsEnabled"):
        return "The dfs sub-resource requires a storage account with hierarchical namespace (isHnsEnabled) enabled."
    return None


def _sb_check(body: dict, group: str) -> str | None:
    # learn.microsoft.com/azure/service-bus-messaging/private-link-service: Premium tier only.
    return None if ieq(_tier(body), "Premium") else "Private endpoints are supported only for Premium tier namespaces."


def _eh_check(body: dict, group: str) -> str | None:
    # learn.microsoft.com/azure/event-hubs/private-link-service: not available in the Basic tier.
    return "Private endpoints are not supported for Basic tier namespaces." if ieq(_tier(body), "Basic") else None


_COSMOS_HOSTS = {"sql": "documents.azure.com", "mongodb": "mongo.cosmos.azure.com", "cassandra": "cassandra.cosmos.azure.com",
                 "gremlin": "gremlin.cosmos.azure.com", "table": "table.cosmos.azure.com", "analytical": "analytics.cosmos.azure.com"}


def _storage_fqdn(name: str, group: str) -> str:
    base, _, secondary = group.lower().partition("_")
    return f"{name}{'-secondary' if secondary else ''}.{base}.core.windows.net"


def _web_fqdn(name: str, group: str) -> str:
    """A slot's endpoint (group ``sites-<slot>``) serves the slot's host, ``<site>-<slot>.azurewebsites.net``
    (learn.microsoft.com/azure/app-service/deploy-staging-slots: "The slot's URL has the format
    http://sitename-slotname.azurewebsites.net"); the site's serves ``<site>.azurewebsites.net``."""
    slot = group[len("sites-"):] if group.lower().startswith("sites-") else ""
    return f"{name}-{slot.lower()}.azurewebsites.net" if slot else f"{name}.azurewebsites.net"


@dataclass(frozen=True)
class LinkTarget:
    type: str
    groups: Callable[[dict], tuple[str, ...]]  # valid group ids for this target
    fqdn: Callable[[str, str], str]  # (target name, group id) -> host name
    check: Callable[[dict, str], str | None] = lambda body, group: None  # tier / feature requirement
    embedded: bool = True  # shown in the target's properties.privateEndpointConnections
    connection_provisioning: str = "Succeeded"
    single_group_field: bool = False  # Cosmos connections also carry "groupId"


TARGETS: dict[str, LinkTarget] = {
    t.type.lower(): t
    for t in (
        LinkTarget("Microsoft.KeyVault/vaults", lambda b: ("vault",), lambda n, g: f"{n}.vault.azure.net"),
        LinkTarget("Microsoft.Storage/storageAccounts", _storage_groups, _storage_fqdn, _storage_check),
        LinkTarget("Microsoft.Sql/servers", lambda b: ("sqlServer",), lambda n, g: f"{n}.database.windows.net",
                   connection_provisioning="Ready"),  # ServerGet.json shows "Ready"
        LinkTarget("Microsoft.DocumentDB/databaseAccounts", _cosmos_groups,
                   lambda n, g: f"{n}.{_COSMOS_HOSTS.get(g.lower(), 'documents.azure.com')}", single_group_field=True),
        LinkTarget("Microsoft.ServiceBus/namespaces", lambda b: ("namespace",), lambda n, g: f"{n}.servicebus.windows.net", _sb_check),
        LinkTarget("Microsoft.EventHub/namespaces", lambda b: ("namespace",), lambda n, g: f"{n}.servicebus.windows.net", _eh_check),
        LinkTarget("Microsoft.Web/sites", lambda b: ("sites",), _web_fqdn, embedded=False),
    )
}


def _rp_failed(target_type: str, code: str, message: str) -> ArmError:
    # The network RP relays target-RP refusals as "Call to <type> failed. Error message: ...".
    return bad_request(code, f"Call to {target_type} failed. Error message: {message}")


def _connections(props: dict) -> list[tuple[dict, bool]]:
    auto = [(c, False) for c in props.get("privateLinkServiceConnections") or [] if isinstance(c, dict)]
    manual = [(c, True) for c in props.get("manualPrivateLinkServiceConnections") or [] if isinstance(c, dict)]
    return auto + manual


def _group_ok(target: LinkTarget, body: dict, group: str, *, store: Store | None = None,
              target_id: str | None = None) -> bool:
    if target.type == "Microsoft.Web/sites" and group.lower().startswith("sites-"):
        # A deployment slot's endpoint targets the site with group "sites-<slot>" (learn.microsoft.com/azure/
        # app-service/overview-private-endpoint; AVM avm/res/web/site slot module: "privateLinkServiceId:
        # app.id // Must be set on the WebApp and not the slot"). Only a slot that exists is a group (the
        # refusal of a missing one is modelled like any unknown group: code and wording a guess, README).
        slot = group[len("sites-"):]
        return bool(slot) and (store is None or target_id is None
                               or store.get(ids.child_id(target_id, "slots", slot)) is not None)
    return any(ieq(group, g) for g in target.groups(body))


# -- Microsoft.Network/privateEndpoints hooks ----------------------------------------

# learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules#microsoftnetwork:
# privateEndpoints are 2-64 characters, alphanumerics, underscores, periods and hyphens, starting
# with an alphanumeric and ending with an alphanumeric or underscore. Code and wording: our guess.
_PE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}[A-Za-z0-9_]$")


def validate_private_endpoint(w: Write) -> ArmError | None:
    if not _PE_NAME.match(w.path.name):
        return bad_request("InvalidResourceName", f"Resource name {w.path.name} is invalid. The name can be up to 64 "
                           "characters long. It must begin with a word character, and it must end with a word "
                           "character or with '_'. The name may contain word characters or '.', '-', '_'.")
    subnet_id = get_in(w.props, "subnet", "id")
    if not isinstance(subnet_id, str) or not w.store.get(subnet_id):
        return invalid_reference(subnet_id or "(subnet)", w.id)
    old_subnet = get_in(w.old_props, "subnet", "id")
    if old_subnet and not ids.same_id(old_subnet, subnet_id):
        return bad_request("CannotChangeSubnetOfPrivateEndpoint", f"Subnet of private endpoint {w.id} cannot be changed.")
    for conn, _manual in _connections(w.props):
        cprops = conn.get("properties") or {}
        conn_id = f"{w.id}/privateLinkServiceConnections/{conn.get('name', '')}"
        target_id = cprops.get("privateLinkServiceId")
        parsed = ids.parse(target_id) if isinstance(target_id, str) else None
        if parsed is None or parsed.is_collection:
            return bad_request(
                "LinkedInvalidPropertyId",
                f"Property id '{target_id}' at path 'properties.privateLinkServiceConnections[*].properties.privateLinkServiceId' "
                "is invalid. Expect fully qualified resource Id that start with '/subscriptions/{subscriptionId}'.",
            )
        target_rec = w.store.get(target_id)
        if target_rec is None:
            return invalid_reference(str(target_id), w.id)
        groups = cprops.get("groupIds") or []
        if not groups:
            return bad_request(
                "MissingParameterOnPrivateLinkServiceConnection",
                f"Private link service connection {conn_id} is missing required parameter 'group Id'.",
            )
        if len(groups) > 1:
            # Wording from a real response (DFE-Digital/terraform-azurerm-container-apps-hosting#352).
            return bad_request(
                "OnlyOneGroupIdPermitted",
                f"Private link service connection {conn_id} has the following group Ids: {', '.join(groups)}. Only one "
                f"group Id is permitted when connecting to a first-party resource ({target_id}).",
            )
        target = TARGETS.get(target_rec.type.lower())
        if target is None:
            return _rp_failed(target_rec.type, "PrivateLinkServiceNotFound", "The resource type does not support private endpoints.")
        group = groups[0]
        # The target's own refusal (tier, account kind) first: it names the real cause.
        problem = target.check(target_rec.body, group)
        if problem:
            return _rp_failed(target.type, "PrivateEndpointNotSupportedForTarget", problem)
        if not _group_ok(target, target_rec.body, group, store=w.store, target_id=target_rec.id):
            # A group the account's kind/SKU does not offer (e.g. queue on FileStorage, blob_secondary on LRS).
            return _rp_failed(
                target.type,
                "InvalidPrivateLinkServiceConnectionGroupId",
                f"Invalid groupId '{group}'. Supported group ids: {', '.join(target.groups(target_rec.body))}.",
            )
    return None


def normalize_private_endpoint(w: Write) -> None:
    """Fill the read-only parts of each connection (id, type, state as the target sees it)."""
    for conn, manual in _connections(w.props):
        name = conn.get("name") or "connection"
        kind = "manualPrivateLinkServiceConnections" if manual else "privateLinkServiceConnections"
        conn["name"] = name
        conn["id"] = f"{w.id}/{kind}/{name}"
        conn["type"] = "Microsoft.Network/privateEndpoints/privateLinkServiceConnections"
        cprops = conn.setdefault("properties", {})
        cprops["provisioningState"] = "Succeeded"
        target_id = cprops.get("privateLinkServiceId")
        state = _state_on_target(w.store, target_id, w.id)
        target_rec = w.store.get(target_id) if isinstance(target_id, str) else None
        pending = manual or bool(target_rec and target_rec.meta.get(MANUAL_APPROVAL))
        cprops["privateLinkServiceConnectionState"] = state or _state("Pending" if pending else "Approved",
                                                                      cprops.get("requestMessage") if manual else None)


def _state(status: str, description: str | None = None) -> dict:
    return {"status": status, "description": description or ("Auto-Approved" if status == "Approved" else ""),
            "actionsRequired": "None"}


def _state_on_target(store: Store, target_id: Any, pe_id: str) -> dict | None:
    conn = _find_connection(store, target_id, pe_id) if isinstance(target_id, str) else None
    return dict(conn.props.get("privateLinkServiceConnectionState") or {}) if conn else None


def _find_connection(store: Store, target_id: str, pe_id: str) -> Record | None:
    for rec in store.children(target_id, "privateEndpointConnections"):
        if ids.same_id(get_in(rec.body, "properties", "privateEndpoint", "id"), pe_id):
            return rec
    return None


def _pe_ip(store: Store, subnet_id: str, pe_id: str) -> str:
    """A stable address in the subnet: Azure reserves .0-.3, so endpoints get .4, .5, ..."""
    sub = store.get(subnet_id)
    prefix = (sub.props.get("addressPrefix") or (sub.props.get("addressPrefixes") or [None])[0]) if sub else None
    pes = [p.get("id", "") for p in (sub.props.get("privateEndpoints") or [])] if sub else []
    index = next((i for i, p in enumerate(pes) if ids.same_id(p, pe_id)), len(pes))
    try:
        return str(ipaddress.ip_network(str(prefix), strict=False)[4 + index])
    except (TypeError, ValueError, IndexError):
        return f"10.0.0.{4 + index % 250}"


def private_endpoint_defaults(w: Write) -> None:
    """Read-only networkInterfaces / customDnsConfigs, recomputed on every write."""
    p = w.path
    nic_name = w.props.get("customNetworkInterfaceName") or f"{p.name}.nic.{uuid.uuid5(uuid.NAMESPACE_URL, ids.key(w.id))}"
    w.props["networkInterfaces"] = [
        {"id": f"/subscriptions/{p.subscription}/resourceGroups/{p.resource_group}/providers/Microsoft.Network/networkInterfaces/{nic_name}"}
    ]
    ip = _pe_ip(w.store, get_in(w.props, "subnet", "id") or "", w.id)
    dns = []
    for conn, _manual in _connections(w.props):
        cprops = conn.get("properties") or {}
        target_rec = w.store.get(cprops.get("privateLinkServiceId"))
        target = TARGETS.get(target_rec.type.lower()) if target_rec else None
        if target_rec and target and cprops.get("groupIds"):
            dns.append({"fqdn": target.fqdn(target_rec.id.rsplit("/", 1)[-1], cprops["groupIds"][0]), "ipAddresses": [ip]})
    w.props["customDnsConfigs"] = dns


def _take_failure(w: Write) -> dict | None:
    """The error this endpoint write's operation ends with, if its target is set to refuse it."""
    for conn, _manual in _connections(w.props):
        target_rec = w.store.get(get_in(conn, "properties", "privateLinkServiceId"))
        queued = target_rec.meta.get(ENDPOINT_FAILURES) if target_rec else None
        if queued:
            nic = get_in(w.props, "networkInterfaces", default=[{}])[0].get("id") or w.id
            return endpoint_operation_failure(queued.pop(0), nic, get_in(w.props, "subnet", "id") or "")
    return None


def link_private_endpoint(w: Write) -> None:
    """After a PE write: approved connection on each target, PE listed on its subnet.

    An operation that ends ``Failed`` (:data:`ENDPOINT_FAILURES`) leaves the endpoint in provisioningState
    ``Failed`` and no connection on the target: the real ones (see :func:`endpoint_operation_failure`)
    are refused by the target's provider before it records a connection; the endpoint resource stays
    (bicep-registry-modules#6001 reports it in "terminal provisioning state 'Failed'").
    """
    store, pe_id = w.store, w.id
    failure = _take_failure(w)
    if failure is not None:
        record = store.get(pe_id)
        if record is not None:
            record.meta[FAILED_OPERATION] = failure
        return
    wanted: set[str] = set()
    for conn, manual in _connections(w.props):
        cprops = conn.get("properties") or {}
        target_id = cprops.get("privateLinkServiceId")
        target_rec = store.get(target_id)
        target = TARGETS.get(target_rec.type.lower()) if target_rec else None
        if target_rec is None or target is None:
            continue  # seeds may point at resources that are not there
        wanted.add(ids.key(target_rec.id))
        existing = _find_connection(store, target_rec.id, pe_id)
        name = existing.id.rsplit("/", 1)[-1] if existing else f"{w.path.name}.{uuid.uuid5(uuid.NAMESPACE_URL, ids.key(pe_id))}"
        groups = list(cprops.get("groupIds") or [])
        # Pending comes from manual connections, and from targets whose owner approves by hand (another
        # party's resource: learn.microsoft.com/azure/private-link/private-endpoint-overview#access-to-a-
        # private-link-resource-using-approval-workflow). An automatic request from a creator without the
        # target's privateEndpointConnectionsApproval/action never gets here: ARM refuses it with 403
        # LinkedAuthorizationFailed and creates nothing (emulator/authz.py; azure-docs#96892, azure-sdk-for-go#14306).
        pending = manual or bool(target_rec.meta.get(MANUAL_APPROVAL))
        state = (existing.props.get("privateLinkServiceConnectionState") if existing else None) or _state(
            "Pending" if pending else "Approved", cprops.get("requestMessage") if manual else None)
        body: dict[str, Any] = {
            "properties": {
                "privateEndpoint": {"id": pe_id},
                "privateLinkServiceConnectionState": state,
                "provisioningState": target.connection_provisioning,
                "groupIds": groups,
            }
        }
        if target.single_group_field and groups:
            body["properties"]["groupId"] = groups[0]
        store.put(ids.child_id(target_rec.id, "privateEndpointConnections", name), f"{target.type}/privateEndpointConnections", body)
    for conn, _manual in _connections(w.old_props):
        old_target = get_in(conn, "properties", "privateLinkServiceId")
        if isinstance(old_target, str) and ids.key(old_target) not in wanted:
            stale = _find_connection(store, old_target, pe_id)
            if stale:
                store.delete(stale.id)
    subnet = store.get(get_in(w.props, "subnet", "id"))
    if subnet is not None:
        listed = subnet.props.setdefault("privateEndpoints", [])
        if not any(ids.same_id(p.get("id"), pe_id) for p in listed):
            listed.append({"id": pe_id})
        if w.created:
            _policy_zone_group(w, subnet)


def _policy_zone_group(w: Write, subnet: Record) -> None:
    """Azure Landing Zones' ``Deploy-Private-DNS-Zones`` (DeployIfNotExists) policy: a new endpoint of a
    group id it covers gets a ``deployedByPolicy`` zone group naming the central zone
    (Azure/Enterprise-Scale policy definitions ``Deploy-Private-DNS-*``, which deploy
    ``privateDnsZoneGroups`` named ``deployedByPolicy``). Azure runs the deployment after the endpoint's
    creation, minutes later; the emulator writes it at once, so the group is already there when the
    creator's own zone group PUT follows: the concurrent writer case. Modelled only when a test assigns
    the policy (:data:`POLICY_ZONES` on the endpoint subnet).
    """
    zones = subnet.meta.get(POLICY_ZONES) or {}
    for conn, _manual in _connections(w.props):
        for group in get_in(conn, "properties", "groupIds", default=[]) or []:
            zone_id = zones.get(str(group).lower())
            if not zone_id or w.store.get(zone_id) is None or w.store.children(w.id, "privateDnsZoneGroups"):
                continue
            group_id = ids.child_id(w.id, "privateDnsZoneGroups", POLICY_ZONE_GROUP)
            rule = w.store.rule_for("Microsoft.Network/privateEndpoints/privateDnsZoneGroups")
            body = {"properties": {"privateDnsZoneConfigs": [
                {"name": zone_id.rsplit("/", 1)[-1].replace(".", "-"), "properties": {"privateDnsZoneId": zone_id}}]}}
            path = ids.parse(group_id)
            assert path is not None
            commit(rule, prepare(w.store, rule, path, body, None, "SEED"))
            return


def unlink_private_endpoint(store: Store, rec: Record) -> None:
    for conn, _manual in _connections(rec.props):
        target_id = get_in(conn, "properties", "privateLinkServiceId")
        stale = _find_connection(store, target_id, rec.id) if isinstance(target_id, str) else None
        if stale:
            store.delete(stale.id)
    subnet = store.get(get_in(rec.props, "subnet", "id"))
    if subnet is not None and subnet.props.get("privateEndpoints"):
        subnet.props["privateEndpoints"] = [p for p in subnet.props["privateEndpoints"] if not ids.same_id(p.get("id"), rec.id)]


# -- {target}/privateEndpointConnections/{name} ----------------------------------------

def _sync_state_to_endpoint(store: Store, conn: Record, status: str | None = None) -> None:
    """Approving/rejecting/deleting on the target side shows up in the endpoint's connection state."""
    pe = store.get(get_in(conn.body, "properties", "privateEndpoint", "id"))
    if pe is None:
        return
    target_id = conn.id.rsplit("/privateEndpointConnections/", 1)[0]
    state = dict(get_in(conn.body, "properties", "privateLinkServiceConnectionState", default={}) or {})
    if status:
        state = _state(status, "")
    for c, _manual in _connections(pe.props):
        if ids.same_id(get_in(c, "properties", "privateLinkServiceId"), target_id):
            c.setdefault("properties", {})["privateLinkServiceConnectionState"] = state


def _connection_after_write(w: Write) -> None:
    rec = w.store.get(w.id)
    if rec is not None:
        _sync_state_to_endpoint(w.store, rec)


def connection_rule(target: LinkTarget) -> Rule:
    # SQL, Cosmos and Web expose approve/reject as long-running operations; Cosmos deletes answer 202.
    lro = target.type in ("Microsoft.Sql/servers", "Microsoft.DocumentDB/databaseAccounts", "Microsoft.Web/sites")
    cosmos = target.type == "Microsoft.DocumentDB/databaseAccounts"
    return Rule(
        type=f"{target.type}/privateEndpointConnections",
        lro_put=lro,
        put_status=(200, 200),
        lro_delete=cosmos,
        delete_status=202 if cosmos else 200,
        read_only=("privateEndpoint", "groupIds", "groupId"),
        provisioning_state=False,
        after_write=(_connection_after_write,),
        after_delete=(lambda store, rec: _sync_state_to_endpoint(store, rec, "Disconnected"),),
    )


CONNECTION_EMBED = Embed("privateEndpointConnections", "privateEndpointConnections")


# -- Microsoft.Network/privateEndpoints/privateDnsZoneGroups -----------------------------

def validate_zone_group(w: Write) -> ArmError | None:
    # "Adding multiple DNS zone groups to a single Private Endpoint is not supported"
    # (learn.microsoft.com/azure/private-link/private-endpoint-dns#private-dns-zone-group); the wording is a
    # real response's (pulumi/pulumi-azure-native#2179), the code is our guess (emulator/README.md).
    for other in w.store.children(w.path.parent_id, "privateDnsZoneGroups"):
        if not ids.same_id(other.id, w.id):
            return bad_request("BadRequest", "Cannot create more than one private dns zone groups in the private "
                               "endpoint.")
    for cfg in w.props.get("privateDnsZoneConfigs") or []:
        zone_id = get_in(cfg, "properties", "privateDnsZoneId")
        if not isinstance(zone_id, str) or w.store.get(zone_id) is None:
            return invalid_reference(str(zone_id), w.id)
    return None


def zone_group_defaults(w: Write) -> None:
    """Read-only recordSets: one A record per zone for the endpoint's address."""
    pe = w.store.get(w.path.parent_id)
    dns = (pe.props.get("customDnsConfigs") or []) if pe else []
    for cfg in w.props.get("privateDnsZoneConfigs") or []:
        cprops = cfg.setdefault("properties", {})
        zone = str(cprops.get("privateDnsZoneId", "")).rsplit("/", 1)[-1]
        record_sets = []
        for entry in dns[:1]:
            record = entry["fqdn"].split(".", 1)[0]
            record_sets.append({"recordType": "A", "recordSetName": record, "fqdn": f"{record}.{zone}", "ttl": 10,
                                "ipAddresses": list(entry.get("ipAddresses") or []), "provisioningState": "Succeeded"})
        cprops["recordSets"] = record_sets


def zone_group_after_write(w: Write) -> None:
    _remove_zone_records(w.store, w.id)
    for cfg in w.props.get("privateDnsZoneConfigs") or []:
        zone_id = get_in(cfg, "properties", "privateDnsZoneId")
        for rs in get_in(cfg, "properties", "recordSets", default=[]) or []:
            rid = ids.child_id(zone_id, "A", rs["recordSetName"])
            rec = w.store.put(rid, "Microsoft.Network/privateDnsZones/A", {"properties": {
                "ttl": rs["ttl"], "fqdn": rs["fqdn"] + ".", "isAutoRegistered": False,
                "aRecords": [{"ipv4Address": ip} for ip in rs["ipAddresses"]]}})
            rec.meta["zoneGroup"] = ids.key(w.id)


def _remove_zone_records(store: Store, zone_group_id: str) -> None:
    for rec in store.by_type("Microsoft.Network/privateDnsZones/A"):
        if rec.meta.get("zoneGroup") == ids.key(zone_group_id):
            delete_cascade(store, rec.id)


def zone_group_after_delete(store: Store, rec: Record) -> None:
    _remove_zone_records(store, rec.id)
