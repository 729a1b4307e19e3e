"""``paas-hardener doctor``: check a deployment, read-only, and say what is missing.

It reads what ``azd provision`` recorded (the azd environment: main.bicep's outputs and the
``HARDEN_*`` parameters) and asks Azure Resource Manager, with the caller's own credential:

- ``event-subscription``: the resource-events subscription on the system topic exists, succeeded,
  delivers to the ``resource-events`` queue and dead-letters to the container;
- ``role-assignments``: the remediator identity holds, at every scope it works in, roles allowing
  the actions needed there (the subscriptions, the endpoint subnet's, the service-endpoint subnets'
  and the DNS zones' resource groups);
- ``queues``: the event, work and poison queues and the dead-letter container exist;
- ``app-settings``: the app settings parse as the app parses them, and say what the parameters say
  (subscriptions, spoke subnets, dry run, zone creation), so a hand edit or a stale provision shows;
- ``endpoints``: the ARM, Event Grid (notification topic) and Azure Monitor endpoints in the app
  settings resolve and answer HTTPS from where doctor runs (run it from the app's network to see
  them as the app does; a public address for a topic whose public access is off is a finding).

Nothing is written. Exit codes: 0 all good, 1 findings, 2 could not judge (a check could not be
made, e.g. no permission to read it, or the azd environment lacks an output).
"""
from __future__ import annotations

import ipaddress
import json
import logging
import socket
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping
from urllib.parse import urlparse

from azure.core.exceptions import AzureError, ResourceNotFoundError
from azure.core.rest import HttpRequest

from . import registry
from .arm import ArmClients
from .resource_id import ResourceId
from .settings import Settings, SettingsError

logger = logging.getLogger(__name__)

OK, FINDING, UNKNOWN = "ok", "finding", "unknown"
EXIT_CODES = {OK: 0, FINDING: 1, UNKNOWN: 2}

# infra/main.bicep queueNames and deadLetterContainerName (function_app.py reads the same names).
QUEUES = ("resource-events", "resource-events-poison", "harden-requests", "harden-requests-poison")
EVENTS_QUEUE = "resource-events"
# Api versions of the raw reads (no installed SDK covers them): azure-rest-api-specs stable versions.
EVENT_GRID_API = "2025-02-15"
AUTHORIZATION_API = "2022-04-01"

# What the azd environment holds after `azd provision` (infra/main.bicep outputs) and the parameters doctor
# compares with the app settings (infra/main.parameters.json).
REQUIRED_OUTPUTS = ("AZURE_SUBSCRIPTION_ID", "AZURE_RESOURCE_GROUP", "AZURE_FUNCTION_APP_NAME",
                    "REMEDIATOR_IDENTITY_PRINCIPAL_ID", "REMEDIATOR_SYSTEM_TOPIC_NAME",
                    "REMEDIATOR_SYSTEM_TOPIC_RESOURCE_GROUP", "REMEDIATOR_RESOURCE_EVENTS_SUBSCRIPTION_NAME",
                    "REMEDIATOR_STORAGE_ACCOUNT_RESOURCE_ID", "REMEDIATOR_DEAD_LETTER_CONTAINER")


@dataclass(frozen=True)
class Check:
    name: str
    verdict: str
    detail: str


@dataclass
class Report:
    checks: list[Check] = field(default_factory=list)

    def add(self, name: str, verdict: str, detail: str) -> None:
        self.checks.append(Check(name, verdict, detail))

    @property
    def exit_code(self) -> int:
        verdicts = {c.verdict for c in self.checks}
        if FINDING in verdicts:
            return EXIT_CODES[FINDING]
        return EXIT_CODES[UNKNOWN] if UNKNOWN in verdicts or not self.checks else EXIT_CODES[OK]

    def as_json(self) -> str:
        return json.dumps({"exitCode": self.exit_code,
                           "checks": [{"check": c.name, "verdict": c.verdict, "detail": c.detail}
                                      for c in self.checks]}, indent=2)


Resolver = Callable[[str], list[str]]


def _resolve(host: str) -> list[str]:
    return sorted({info[4][0] for info in socket.getaddrinfo(host, 443, proto=socket.IPPROTO_TCP)})


def run_doctor(env: Mapping[str, str], clients_for: Callable[[str], ArmClients], *,
               resolver: Resolver = _resolve) -> Report:
    """Every check, in order; one that cannot be made is ``unknown``, never skipped silently."""
    report = Report()
    missing = [k for k in REQUIRED_OUTPUTS if not env.get(k)]
    if missing:
        report.add("azd-environment", UNKNOWN, f"missing {', '.join(missing)}: run doctor with the azd environment "
                   "of the deployment (azd env get-values), after azd provision")
        return report
    arm = clients_for(env["AZURE_SUBSCRIPTION_ID"])
    app_settings = _check_app_settings(report, env, arm)
    _check_event_subscription(report, env, clients_for)
    _check_queues(report, env, clients_for)
    _check_role_assignments(report, env, clients_for, app_settings)
    _check_endpoints(report, app_settings, resolver)
    return report


def _get_json(client: Any, url: str) -> Any:
    response = client.send_request(HttpRequest("GET", url))
    if response.status_code == 404:
        raise ResourceNotFoundError(response=response)
    response.raise_for_status()
    return response.json()


# -- event subscription ---------------------------------------------------------------------

def _check_event_subscription(report: Report, env: Mapping[str, str],
                              clients_for: Callable[[str], ArmClients]) -> None:
    name = "event-subscription"
    sub = env["AZURE_SUBSCRIPTION_ID"]
    path = (f"/subscriptions/{sub}/resourceGroups/{env['REMEDIATOR_SYSTEM_TOPIC_RESOURCE_GROUP']}/providers/"
            f"Microsoft.EventGrid/systemTopics/{env['REMEDIATOR_SYSTEM_TOPIC_NAME']}/eventSubscriptions/"
            f"{env['REMEDIATOR_RESOURCE_EVENTS_SUBSCRIPTION_NAME']}?api-version={EVENT_GRID_API}")
    try:
        body = _get_json(clients_for(sub).web, path)
    except ResourceNotFoundError:
        report.add(name, FINDING, f"event subscription {env['REMEDIATOR_RESOURCE_EVENTS_SUBSCRIPTION_NAME']} not found "
                   f"on system topic {env['REMEDIATOR_SYSTEM_TOPIC_NAME']}: no resource event reaches the app")
        return
    except AzureError as exc:
        report.add(name, UNKNOWN, f"could not read the event subscription: {exc}")
        return
    props = body.get("properties") or {}
    problems = []
    if props.get("provisioningState") != "Succeeded":
        problems.append(f"provisioningState is {props.get('provisioningState')!r}, not 'Succeeded'")
    destination = ((props.get("deliveryWithResourceIdentity") or {}).get("destination")
                   or props.get("destination") or {})
    kind = destination.get("endpointType")
    queue = (destination.get("properties") or {}).get("queueName")
    if kind == "StorageQueue" and queue != EVENTS_QUEUE:
        problems.append(f"delivers to queue {queue!r}, not {EVENTS_QUEUE!r}")
    elif kind not in ("StorageQueue", "AzureFunction"):
        problems.append(f"delivers to {kind!r}, neither StorageQueue nor AzureFunction")
    dead_letter = ((props.get("deadLetterWithResourceIdentity") or {}).get("deadLetterDestination")
                   or props.get("deadLetterDestination") or {})
    container = (dead_letter.get("properties") or {}).get("blobContainerName")
    if container != env["REMEDIATOR_DEAD_LETTER_CONTAINER"]:
        problems.append(f"dead-letters to {container!r}, not {env['REMEDIATOR_DEAD_LETTER_CONTAINER']!r} "
                        "(undeliverable events would be lost)")
    report.add(name, FINDING if problems else OK,
               "; ".join(problems) or f"Succeeded, {kind} delivery, dead letters to {container}")


# -- queues and dead-letter container ---------------------------------------------------------------

def _check_queues(report: Report, env: Mapping[str, str], clients_for: Callable[[str], ArmClients]) -> None:
    account = ResourceId.parse(env["REMEDIATOR_STORAGE_ACCOUNT_RESOURCE_ID"])
    storage = clients_for(account.subscription_id).storage
    missing, unknown = [], []
    reads: list[tuple[str, Callable[[], Any]]] = [
        (f"queue {q}", lambda q=q: storage.queue.get(account.resource_group, account.name, q)) for q in QUEUES]
    container = env["REMEDIATOR_DEAD_LETTER_CONTAINER"]
    reads.append((f"container {container}",
                  lambda: storage.blob_containers.get(account.resource_group, account.name, container)))
    for what, read in reads:
        try:
            read()
        except ResourceNotFoundError:
            missing.append(what)
        except AzureError as exc:
            unknown.append(f"{what}: {exc}")
    if missing:
        report.add("queues", FINDING, f"missing in {account.name}: {', '.join(missing)}")
    elif unknown:
        report.add("queues", UNKNOWN, "; ".join(unknown))
    else:
        report.add("queues", OK, f"{', '.join(QUEUES)} and container {container} exist in {account.name} "
                   "(the poison queue's length is data-plane: read it from inside the network)")


# -- app settings ----------------------------------------------------------------------------------

def _expected_settings(env: Mapping[str, str]) -> dict[str, Callable[[str], bool]]:
    """What the parameters say each setting holds (infra/main.bicep remediatorSettings)."""
    def _ids(value: str) -> set[str]:
        return {v.strip().lower() for v in value.split(",") if v.strip()}

    subscriptions = _ids(env["AZURE_SUBSCRIPTION_ID"]) | _ids(env.get("HARDEN_ADDITIONAL_SUBSCRIPTION_IDS", ""))
    spokes = _ids(env.get("HARDEN_SPOKE_PRIVATE_ENDPOINT_SUBNET_IDS", ""))
    spoke_se = _ids(env.get("HARDEN_SPOKE_SERVICE_ENDPOINT_SUBNET_IDS", ""))
    untagged = (env.get("HARDEN_UNTAGGED") or "report").lower()
    dry_run = (env.get("HARDEN_DRY_RUN") or "true").lower()
    create_zones = (env.get("HARDEN_CREATE_PRIVATE_DNS_ZONES") or "true").lower()
    return {
        "HARDEN_SUBSCRIPTION_IDS": lambda v: _ids(v) == subscriptions,
        "HARDEN_PRIVATE_ENDPOINT_SUBNET_IDS": lambda v: _ids(v) == spokes,
        "HARDEN_SERVICE_ENDPOINT_SUBNET_IDS": lambda v: spoke_se <= _ids(v),
        "HARDEN_UNTAGGED": lambda v: (v or "report").lower() == untagged,
        "HARDEN_DRY_RUN": lambda v: v.lower() == dry_run,
        "HARDEN_CREATE_PRIVATE_DNS_ZONES": lambda v: v.lower() == create_zones,
    }


def _check_app_settings(report: Report, env: Mapping[str, str], arm: ArmClients) -> dict[str, str]:
    name = "app-settings"
    try:
        listed = arm.web.web_apps.list_application_settings(env["AZURE_RESOURCE_GROUP"], env["AZURE_FUNCTION_APP_NAME"])
    except ResourceNotFoundError:
        report.add(name, FINDING, f"function app {env['AZURE_FUNCTION_APP_NAME']} not found")
        return {}
    except AzureError as exc:
        report.add(name, UNKNOWN, f"could not list the app settings: {exc}")
        return {}
    settings = dict(listed.properties or {})
    problems = []
    try:
        Settings.from_env(settings)
    except SettingsError as exc:
        problems.append(f"the app would refuse its settings: {exc}")
    for key, matches in _expected_settings(env).items():
        if not matches(settings.get(key, "")):
            problems.append(f"{key} is {settings.get(key, '')!r}, not what the azd environment says; an edit by hand "
                            "is lost at the next provision: set the azd variable and run azd provision")
    report.add(name, FINDING if problems else OK, "; ".join(problems) or "parse, and match the azd environment")
    return settings


# -- role assignments --------------------------------------------------------------------------------

def _needed_at(settings: Mapping[str, str], subscription_id: str,
               scope_groups: Iterable[str] = ()) -> dict[str, set[str]]:
    """Scope -> the actions the product needs there (infra/modules/rbac/ assigns them).

    ``scope_groups``: HARDEN_SCOPE_RESOURCE_GROUPS (main.bicep remediatorScopeResourceGroupNames); the main
    role is then on those resource groups of the deployment's subscription instead of the subscription.
    """
    actions = registry.rbac_actions()
    resources = {a for a in actions if not a.lower().startswith("microsoft.network/") and "/locations/" not in a}
    subs = {s.strip().lower() for s in (settings.get("HARDEN_SUBSCRIPTION_IDS") or subscription_id).split(",")
            if s.strip()}
    # Every subscription gets the status reads of long-running writes (subscription-reads-role.bicep).
    needed: dict[str, set[str]] = {f"/subscriptions/{s}": {"Microsoft.Network/locations/operations/read"}
                                   for s in subs}
    groups = [g.strip() for g in scope_groups if g.strip()]
    for sub in subs:
        if groups and sub == subscription_id.lower():
            for group in groups:
                needed[f"/subscriptions/{sub}/resourcegroups/{group.lower()}"] = set(resources)
        else:
            needed[f"/subscriptions/{sub}"] |= resources

    def _rg(resource_id: str) -> str:
        return "/".join(resource_id.split("/")[:5]).lower()

    for subnet in filter(None, [settings.get("HARDEN_PRIVATE_ENDPOINT_SUBNET_ID", ""),
                                *(settings.get("HARDEN_PRIVATE_ENDPOINT_SUBNET_IDS") or "").split(",")]):
        needed.setdefault(_rg(subnet.strip()), set()).update(
            {"Microsoft.Network/privateEndpoints/write", "Microsoft.Network/virtualNetworks/subnets/join/action"})
    for subnet in filter(None, (settings.get("HARDEN_SERVICE_ENDPOINT_SUBNET_IDS") or "").split(",")):
        needed.setdefault(_rg(subnet.strip()), set()).add("Microsoft.Network/virtualNetworks/subnets/write")
    zones = settings.get("HARDEN_DNS_ZONES_RESOURCE_GROUP_ID")
    if zones:
        zone_actions = {"Microsoft.Network/privateDnsZones/join/action",
                        "Microsoft.Network/privateDnsZones/virtualNetworkLinks/write"}
        if (settings.get("HARDEN_CREATE_PRIVATE_DNS_ZONES") or "true").lower() == "true":
            zone_actions.add("Microsoft.Network/privateDnsZones/write")
        needed.setdefault(zones.rstrip("/").lower(), set()).update(zone_actions)
    return needed


def _matches(pattern: str, action: str) -> bool:
    """RBAC action matching: case-insensitive; ``*`` stands for any run of characters."""
    import fnmatch

    return fnmatch.fnmatchcase(action.lower(), pattern.lower())


def _check_role_assignments(report: Report, env: Mapping[str, str], clients_for: Callable[[str], ArmClients],
                            settings: Mapping[str, str]) -> None:
    name = "role-assignments"
    principal = env["REMEDIATOR_IDENTITY_PRINCIPAL_ID"]
    problems, unknown = [], []
    groups = (env.get("HARDEN_SCOPE_RESOURCE_GROUPS") or "").split(",")
    for scope, actions in sorted(_needed_at(settings, env["AZURE_SUBSCRIPTION_ID"], groups).items()):
        client = clients_for(scope.split("/")[2]).web
        try:
            granted = list(_granted_actions(client, scope, principal))
        except AzureError as exc:
            unknown.append(f"{scope}: {exc}")
            continue
        lacking = sorted(a for a in actions
                         if not any(_matches(g, a) for g in granted))
        if lacking:
            problems.append(f"at {scope} the identity lacks {', '.join(lacking)}")
    if problems:
        report.add(name, FINDING, "; ".join(problems))
    elif unknown:
        report.add(name, UNKNOWN, "could not read the role assignments (needs Microsoft.Authorization/*/read): "
                   + "; ".join(unknown))
    else:
        report.add(name, OK, "every scope grants what the remediator needs there")


def _granted_actions(client: Any, scope: str, principal_id: str) -> Iterable[str]:
    """The actions of every role assigned to ``principal_id`` at or above ``scope``."""
    url = (f"{scope}/providers/Microsoft.Authorization/roleAssignments?api-version={AUTHORIZATION_API}"
           f"&$filter=principalId eq '{principal_id}'")
    assignments = _get_json(client, url).get("value") or []
    for assignment in assignments:
        props = assignment.get("properties") or {}
        assigned_at = (props.get("scope") or "").rstrip("/").lower()
        if assigned_at and not (scope.lower() == assigned_at or scope.lower().startswith(assigned_at + "/")):
            continue  # below this scope: does not apply here
        definition = _get_json(client, f"{props['roleDefinitionId']}?api-version={AUTHORIZATION_API}")
        for permission in (definition.get("properties") or {}).get("permissions") or []:
            # notActions are left out: a role that names an action and denies it is rare, and reading it
            # as granted would only hide a finding the app's own AuthorizationFailed outcome still shows.
            yield from permission.get("actions") or []


# -- endpoints --------------------------------------------------------------------------------------

def _check_endpoints(report: Report, settings: Mapping[str, str], resolver: Resolver) -> None:
    if not settings:
        report.add("endpoints", UNKNOWN, "no app settings to read the endpoints from")
        return
    arm = settings.get("AZURE_RESOURCE_MANAGER_ENDPOINT") or "https://management.azure.com"
    targets = [("ARM", arm, False)]
    topic = settings.get("HARDEN_NOTIFY_TOPIC_ENDPOINT")
    if topic:
        # Disabled public access (the default): the name must resolve to the private endpoint.
        targets.append(("Event Grid", topic, True))
    monitor = _ingestion_endpoint(settings.get("APPLICATIONINSIGHTS_CONNECTION_STRING") or "")
    problems, unknown, seen = [], [], []
    if monitor:
        targets.append(("Azure Monitor", monitor, False))
    else:
        unknown.append("Azure Monitor: no IngestionEndpoint in APPLICATIONINSIGHTS_CONNECTION_STRING")
    for label, url, private in targets:
        host = urlparse(url).hostname or ""
        try:
            addresses = resolver(host)
        except OSError as exc:
            problems.append(f"{label} {host} does not resolve here: {exc}")
            continue
        if private and not any(_is_private(a) for a in addresses):
            problems.append(f"{label} {host} resolves to {', '.join(addresses)} (public) here: with the topic's public "
                            "access off the app needs privatelink.eventgrid.azure.net linked to its VNet")
            continue
        seen.append(f"{label} {host} -> {', '.join(addresses)}")
    if problems:
        report.add("endpoints", FINDING, "; ".join(problems))
    elif unknown:
        report.add("endpoints", UNKNOWN, "; ".join([*seen, *unknown]))
    else:
        report.add("endpoints", OK, "; ".join(seen))


def _ingestion_endpoint(connection_string: str) -> str | None:
    for part in connection_string.split(";"):
        key, _, value = part.partition("=")
        if key.strip().lower() == "ingestionendpoint" and value.strip():
            return value.strip()
    return None


def _is_private(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return ip.is_private or ip.is_loopback


def main(env: Mapping[str, str], *, output: str, out: Any) -> int:
    """The ``doctor`` verb: every check against the deployment ``env`` describes; prints; returns the exit code."""
    from .runtime import credential_for

    endpoint = (env.get("AZURE_RESOURCE_MANAGER_ENDPOINT") or "https://management.azure.com").rstrip("/")
    credential = credential_for(env.get("AZURE_CLIENT_ID") or None)
    clients: dict[str, ArmClients] = {}

    def clients_for(subscription_id: str) -> ArmClients:
        if subscription_id not in clients:
            clients[subscription_id] = ArmClients(credential, subscription_id, endpoint=endpoint)
        return clients[subscription_id]

    report = run_doctor(env, clients_for)
    if output == "json":
        out.write(report.as_json() + "\n")
    else:
        for check in report.checks:
            out.write(f"{check.verdict.upper():8} {check.name:18} {check.detail}\n")
    return report.exit_code
