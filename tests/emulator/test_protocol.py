"""ARM protocol behaviour, driven through the real SDK clients and raw HTTPS."""

from __future__ import annotations

import pytest
import requests
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
)
from azure.mgmt.keyvault import KeyVaultManagementClient
from azure.mgmt.network import NetworkManagementClient

from emulator import Emulator, Fault, resource_type_of
from emulator.events import DELETE_SUCCESS, WRITE_SUCCESS, write_event

from .helpers import RG, RG_ID, SUB, rid, seed_vnet

VAULT = {"location": "westeurope", "properties": {"tenantId": SUB, "sku": {"family": "A", "name": "standard"}}}


def token(emu: Emulator) -> str:
    r = requests.get(emu.identity_endpoint, params={"api-version": "2019-08-01", "resource": "https://management.azure.com"},
                     headers={"X-IDENTITY-HEADER": emu.identity_header}, verify=emu.ca_bundle_path, timeout=10)
    r.raise_for_status()
    return r.json()["access_token"]


def arm(emu: Emulator, method: str, path: str, *, tok: str | None = None, api: str | None = "2024-01-01", **kw) -> requests.Response:
    headers = kw.pop("headers", {})
    if tok:
        headers["Authorization"] = f"Bearer {tok}"
    params = {"api-version": api} if api else {}
    return requests.request(method, emu.url + path, params=params, headers=headers, verify=emu.ca_bundle_path,
                            timeout=10, **kw)


class TestIdentity:
    def test_token_shape(self, emu):
        r = requests.get(emu.identity_endpoint, params={"api-version": "2019-08-01", "resource": "https://x", "client_id": "abc"},
                         headers={"X-IDENTITY-HEADER": emu.identity_header}, verify=emu.ca_bundle_path, timeout=10)
        body = r.json()
        assert r.status_code == 200
        assert set(body) >= {"access_token", "expires_on", "resource", "token_type"}
        assert body["token_type"] == "Bearer" and body["resource"] == "https://x" and body["expires_on"].isdigit()

    @pytest.mark.parametrize("header", [None, "wrong"])
    def test_wrong_identity_header_is_401(self, emu, header):
        r = requests.get(emu.identity_endpoint, params={"api-version": "2019-08-01", "resource": "https://x"},
                         headers={"X-IDENTITY-HEADER": header} if header else {}, verify=emu.ca_bundle_path, timeout=10)
        assert r.status_code == 401

    def test_default_credential_uses_app_service_identity(self, emu, credential):
        tok = credential.get_token("https://management.azure.com/.default")
        assert arm(emu, "GET", RG_ID, tok=tok.token).status_code == 200

    def test_arm_requires_an_issued_bearer_token(self, emu):
        missing = arm(emu, "GET", RG_ID)
        assert missing.status_code == 401 and missing.json()["error"]["code"] == "AuthenticationFailed"
        forged = arm(emu, "GET", RG_ID, tok="not-a-token")
        assert forged.status_code == 401 and forged.json()["error"]["code"] == "InvalidAuthenticationToken"
        assert [r.status for r in emu.requests] == [401, 401]

    def test_sdk_surfaces_401_as_client_authentication_error(self, emu, credential, monkeypatch):
        from azure.core.credentials import AccessToken

        class Forged:
            def get_token(self, *scopes, **kw):
                return AccessToken("forged", 9999999999)

        net = NetworkManagementClient(Forged(), SUB, base_url=emu.url)
        with pytest.raises(ClientAuthenticationError):
            net.virtual_networks.get(RG, "v")


class TestArmBasics:
    def test_api_version_is_required(self, emu):
        r = arm(emu, "GET", RG_ID, tok=token(emu), api=None)
        assert r.status_code == 400 and r.json()["error"]["code"] == "MissingApiVersionParameter"

    def test_not_found_and_parent_not_found(self, emu, client):
        net = client(NetworkManagementClient)
        with pytest.raises(ResourceNotFoundError) as err:
            net.virtual_networks.get(RG, "nope")
        assert err.value.error.code == "ResourceNotFound"
        with pytest.raises(ResourceNotFoundError) as err:
            net.subnets.get(RG, "nope", "s1")
        assert err.value.error.code == "ParentResourceNotFound"

    def test_ids_are_case_insensitive_and_keep_first_casing(self, emu, client):
        vnet_id = seed_vnet(emu, "Vnet-Mixed")
        net = client(NetworkManagementClient)
        got = net.virtual_networks.get(RG.upper(), "VNET-MIXED")
        assert got["id"] == vnet_id and got["name"] == "Vnet-Mixed"
        assert emu.get(vnet_id.lower())["id"] == vnet_id

    def test_seed_fills_read_only_fields(self, emu):
        body = emu.seed(rid("Microsoft.KeyVault/vaults/kvseed"), VAULT)
        assert body["etag"].startswith('W/"') and body["type"] == "Microsoft.KeyVault/vaults"
        assert body["properties"]["vaultUri"] == "https://kvseed.vault.azure.net/"
        assert body["properties"]["provisioningState"] == "Succeeded"
        assert emu.requests == [] and emu.drain_events() == []

    def test_collection_get(self, emu, client):
        seed_vnet(emu, "v1", {"a": {"addressPrefix": "10.0.1.0/24"}, "b": {"addressPrefix": "10.0.2.0/24"}})
        seed_vnet(emu, "v2")
        net = client(NetworkManagementClient)
        assert sorted(s["name"] for s in net.subnets.list(RG, "v1")) == ["a", "b"]
        assert sorted(v["name"] for v in net.virtual_networks.list(RG)) == ["v1", "v2"]
        assert emu.requests[-1].resource_type == "Microsoft.Network/virtualNetworks"

    def test_delete_then_204_for_absent(self, emu, client):
        vault_id = rid("Microsoft.KeyVault/vaults/kvdel")
        emu.seed(vault_id, VAULT)
        kv = client(KeyVaultManagementClient)
        kv.vaults.delete(RG, "kvdel")
        kv.vaults.delete(RG, "kvdel")
        assert [r.status for r in emu.arm_calls()] == [200, 204]
        assert emu.get(vault_id) is None
        events = emu.drain_events()
        assert [e["eventType"] for e in events] == [DELETE_SUCCESS]
        assert events[0]["data"]["operationName"] == "Microsoft.KeyVault/vaults/delete"

    def test_head_reports_existence(self, emu):
        seed_vnet(emu, "vh")
        tok = token(emu)
        assert arm(emu, "HEAD", rid("Microsoft.Network/virtualNetworks/vh"), tok=tok).status_code == 204
        assert arm(emu, "HEAD", rid("Microsoft.Network/virtualNetworks/nope"), tok=tok).status_code == 404

    def test_unknown_types_get_plain_crud(self, emu):
        nsg = rid("Microsoft.Network/networkSecurityGroups/nsg1")
        tok = token(emu)
        r = arm(emu, "PUT", nsg, tok=tok, json={"location": "westeurope", "properties": {"securityRules": []}})
        assert r.status_code == 201 and r.json()["name"] == "nsg1"
        assert arm(emu, "GET", nsg, tok=tok).json()["properties"] == {"securityRules": []}


class TestWriteSemantics:
    def test_put_is_full_replace_patch_is_merge(self, emu, client):
        kv = client(KeyVaultManagementClient)
        body = {**VAULT, "properties": {**VAULT["properties"], "enableSoftDelete": True,
                                        "networkAcls": {"defaultAction": "Allow", "bypass": "AzureServices"}}}
        kv.vaults.begin_create_or_update(RG, "kvsem", body).result()
        kv.vaults.update(RG, "kvsem", {"properties": {"networkAcls": {"defaultAction": "Deny"}}})
        got = kv.vaults.get(RG, "kvsem")
        assert got["properties"]["networkAcls"] == {"defaultAction": "Deny", "bypass": "AzureServices"}
        assert got["properties"]["enableSoftDelete"] is True
        kv.vaults.begin_create_or_update(RG, "kvsem", VAULT).result()
        replaced = kv.vaults.get(RG, "kvsem")["properties"]
        assert "networkAcls" not in replaced and "enableSoftDelete" not in replaced
        assert replaced["vaultUri"] == "https://kvsem.vault.azure.net/"  # read-only: kept

    def test_patch_null_removes_and_arrays_replace(self, emu):
        vault_id = rid("Microsoft.KeyVault/vaults/kvnull")
        emu.seed(vault_id, {**VAULT, "tags": {"a": "1", "b": "2"},
                            "properties": {**VAULT["properties"], "networkAcls": {"ipRules": [{"value": "1.1.1.1/32"}, {"value": "2.2.2.2/32"}]}}})
        r = arm(emu, "PATCH", vault_id, tok=token(emu), json={"tags": {"a": None}, "properties": {"networkAcls": {"ipRules": [{"value": "3.3.3.3"}]}}})
        assert r.status_code == 200
        assert r.json()["tags"] == {"b": "2"}
        assert r.json()["properties"]["networkAcls"]["ipRules"] == [{"value": "3.3.3.3/32"}]

    def test_etag_changes_on_write_and_if_match_is_enforced(self, emu, client):
        vault_id = rid("Microsoft.KeyVault/vaults/kvetag")
        tok = token(emu)
        etag = arm(emu, "PUT", vault_id, tok=tok, json=VAULT).json()["etag"]
        assert arm(emu, "PUT", vault_id, tok=tok, json=VAULT, headers={"If-Match": etag}).status_code == 200
        new_etag = arm(emu, "GET", vault_id, tok=tok).json()["etag"]
        assert new_etag != etag
        stale = arm(emu, "PUT", vault_id, tok=tok, json=VAULT, headers={"If-Match": etag})
        assert stale.status_code == 412 and stale.json()["error"]["code"] == "PreconditionFailed"

    def test_subnet_put_ignores_if_match_unless_asked(self, emu, client):
        # The Network RP does not reliably enforce If-Match on subnets (Azure/azure-rest-api-specs#6789).
        seed_vnet(emu, "vet")
        net = client(NetworkManagementClient)
        etag = net.subnets.get(RG, "vet", "snet1")["etag"]
        body = {"properties": {"addressPrefix": "10.0.1.0/24"}}
        net.subnets.begin_create_or_update(RG, "vet", "snet1", body, headers={"If-Match": etag}).result()
        assert net.subnets.get(RG, "vet", "snet1")["etag"] != etag
        # A stale etag is accepted: the last writer wins.
        net.subnets.begin_create_or_update(RG, "vet", "snet1", body, headers={"If-Match": etag}).result()
        emu.enforce_subnet_if_match = True
        try:
            with pytest.raises(HttpResponseError) as err:
                net.subnets.begin_create_or_update(RG, "vet", "snet1", body, headers={"If-Match": etag})
            assert err.value.status_code == 412 and err.value.error.code == "PreconditionFailed"
        finally:
            emu.enforce_subnet_if_match = False

    def test_if_none_match_star_refuses_overwrite(self, emu):
        vault_id = rid("Microsoft.KeyVault/vaults/kvinm")
        tok = token(emu)
        assert arm(emu, "PUT", vault_id, tok=tok, json=VAULT, headers={"If-None-Match": "*"}).status_code == 201
        assert arm(emu, "PUT", vault_id, tok=tok, json=VAULT, headers={"If-None-Match": "*"}).status_code == 412

    def test_location_required_for_tracked_resources(self, emu):
        r = arm(emu, "PUT", rid("Microsoft.KeyVault/vaults/kvnoloc"), tok=token(emu), json={"properties": VAULT["properties"]})
        assert r.status_code == 400 and r.json()["error"]["code"] == "LocationRequired"


class TestLongRunning:
    def test_lro_round_trip_and_request_log(self, emu, client):
        net = client(NetworkManagementClient)
        poller = net.virtual_networks.begin_create_or_update(
            RG, "vlro", {"location": "westeurope", "properties": {"addressSpace": {"addressPrefixes": ["10.1.0.0/16"]}}})
        result = poller.result()
        assert result["properties"]["provisioningState"] == "Succeeded"
        calls = [(r.method, r.status, r.is_lro_poll) for r in emu.requests]
        assert calls == [("PUT", 201, False), ("GET", 200, True), ("GET", 200, False)]
        assert [r.method for r in emu.arm_calls()] == ["PUT", "GET"]
        assert [r.method for r in emu.writes()] == ["PUT"]
        put = emu.requests[0]
        assert put.resource_type == "Microsoft.Network/virtualNetworks" and put.api_version
        assert put.body["properties"]["addressSpace"] == {"addressPrefixes": ["10.1.0.0/16"]}

    def test_initial_response_reports_updating(self, emu):
        r = arm(emu, "PUT", rid("Microsoft.Network/virtualNetworks/vraw"), tok=token(emu),
                json={"location": "westeurope", "properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/16"]}}})
        assert r.status_code == 201 and r.headers["Retry-After"] == "0"
        assert r.json()["properties"]["provisioningState"] == "Updating"
        status = requests.get(r.headers["Azure-AsyncOperation"], headers={"Authorization": f"Bearer {token(emu)}"},
                              verify=emu.ca_bundle_path, timeout=10)
        assert status.json()["status"] == "Succeeded"
        assert emu.get(rid("Microsoft.Network/virtualNetworks/vraw"))["properties"]["provisioningState"] == "Succeeded"


class TestFaults:
    def test_429_with_retry_after_is_retried(self, emu, client):
        seed_vnet(emu, "vf")
        emu.faults.add(Fault(method="PUT", path_contains="/subnets/", status=429, code="RetryableErrorDueToAnotherOperation",
                             message="Operation is being retried.", retry_after=0, times=1))
        net = client(NetworkManagementClient)
        net.subnets.begin_create_or_update(RG, "vf", "snet1", {"properties": {"addressPrefix": "10.0.1.0/24"}}).result()
        puts = [r.status for r in emu.requests if r.method == "PUT"]
        assert puts == [429, 200]
        assert len(emu.drain_events()) == 1  # the faulted attempt raised nothing

    def test_409_surfaces_as_resource_exists_error(self, emu, client):
        seed_vnet(emu, "vc")
        emu.faults.add(Fault(method="PUT", path_contains="/virtualnetworks/vc/subnets/", status=409,
                             code="AnotherOperationInProgress", message="Another operation on this or dependent resource is in progress."))
        net = client(NetworkManagementClient)
        with pytest.raises(ResourceExistsError) as err:
            net.subnets.begin_create_or_update(RG, "vc", "snet1", {"properties": {"addressPrefix": "10.0.1.0/24"}})
        assert err.value.error.code == "AnotherOperationInProgress"
        assert len([r for r in emu.requests if r.method == "PUT"]) == 1
        net.subnets.begin_create_or_update(RG, "vc", "snet1", {"properties": {"addressPrefix": "10.0.1.0/24"}}).result()

    def test_fault_times_and_wildcards(self, emu):
        fault = emu.faults.add(Fault(method="*", path_contains="VAULTS/kvf", status=500, times=2))
        tok = token(emu)
        statuses = [arm(emu, "GET", rid("Microsoft.KeyVault/vaults/kvf"), tok=tok).status_code for _ in range(3)]
        assert statuses == [500, 500, 404] and fault.hits == 2 and fault.times == 0
        assert emu.requests[0].status == 500

    def test_latency_only_fault(self, emu):
        import time

        emu.faults.add(Fault(path_contains="/virtualNetworks/", latency_s=0.2))
        start = time.monotonic()
        assert arm(emu, "GET", rid("Microsoft.Network/virtualNetworks/x"), tok=token(emu)).status_code == 404
        assert time.monotonic() - start >= 0.2


class TestEvents:
    def test_successful_writes_raise_write_success(self, emu, client):
        seed_vnet(emu, "vev")
        net = client(NetworkManagementClient)
        net.subnets.begin_create_or_update(RG, "vev", "snet1", {"properties": {"addressPrefix": "10.0.1.0/24"}}).result()
        (event,) = emu.drain_events()
        subnet_id = rid("Microsoft.Network/virtualNetworks/vev/subnets/snet1")
        assert event["eventType"] == WRITE_SUCCESS and event["subject"] == subnet_id
        assert event["topic"] == f"/subscriptions/{SUB}" and event["dataVersion"] == "2" and event["metadataVersion"] == "1"
        data = event["data"]
        assert data["operationName"] == "Microsoft.Network/virtualNetworks/subnets/write"
        assert data["resourceUri"] == subnet_id and data["resourceProvider"] == "Microsoft.Network"
        assert data["authorization"]["evidence"]["principalId"] == emu.principal_id.replace("-", "")
        assert data["claims"]["appid"] == emu.client_id and data["status"] == "Succeeded"
        assert emu.drain_events() == []

    def test_failed_writes_raise_nothing(self, emu):
        r = arm(emu, "PUT", rid("Microsoft.Network/privateDnsZones/z.example"), tok=token(emu), json={"location": "westeurope"})
        assert r.status_code == 400 and emu.drain_events() == []

    def test_tags_resource(self, emu):
        vault_id = rid("Microsoft.KeyVault/vaults/kvtags")
        emu.seed(vault_id, {**VAULT, "tags": {"keep": "1", "drop": "x"}})
        tags_path = vault_id + "/providers/Microsoft.Resources/tags/default"
        tok = token(emu)
        r = arm(emu, "PATCH", tags_path, tok=tok, json={"operation": "Merge", "properties": {"tags": {"harden": "private"}}})
        assert r.status_code == 200 and r.json()["properties"]["tags"] == {"keep": "1", "drop": "x", "harden": "private"}
        arm(emu, "PATCH", tags_path, tok=tok, json={"operation": "Delete", "properties": {"tags": {"drop": "x"}}})
        assert emu.get(vault_id)["tags"] == {"keep": "1", "harden": "private"}
        arm(emu, "PUT", tags_path, tok=tok, json={"properties": {"tags": {"only": "me"}}})
        assert arm(emu, "GET", tags_path, tok=tok).json()["properties"]["tags"] == {"only": "me"}
        events = emu.drain_events()
        assert [e["data"]["operationName"] for e in events] == ["Microsoft.Resources/tags/write"] * 3
        assert events[0]["subject"] == tags_path
        assert emu.requests[0].resource_type == "Microsoft.Resources/tags"

    def test_write_event_helper(self):
        vault_id = f"/subscriptions/{SUB}/resourcegroups/{RG}/providers/Microsoft.KeyVault/vaults/kv"
        event = write_event(vault_id, "Microsoft.KeyVault/vaults/write")
        assert event["eventType"] == WRITE_SUCCESS and event["subject"] == vault_id
        assert event["data"]["subscriptionId"] == SUB and event["topic"] == f"/subscriptions/{SUB}"
        assert write_event(vault_id, "Microsoft.KeyVault/vaults/delete")["eventType"] == DELETE_SUCCESS
        assert write_event(vault_id, "x/y/action", principal_id="p")["data"]["authorization"]["evidence"]["principalId"] == "p"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (f"{RG_ID}/providers/Microsoft.Network/virtualNetworks/v/subnets/s", "Microsoft.Network/virtualNetworks/subnets"),
        (f"{RG_ID}/providers/microsoft.network/virtualnetworks/v/subnets", "Microsoft.Network/virtualNetworks/subnets"),
        (f"{RG_ID}/providers/Microsoft.Sql/servers/s/firewallRules/r", "Microsoft.Sql/servers/firewallRules"),
        (f"{RG_ID}/providers/Microsoft.KeyVault/vaults/kv", "Microsoft.KeyVault/vaults"),
        (f"{RG_ID}/providers/Microsoft.KeyVault/vaults/kv/providers/Microsoft.Resources/tags/default", "Microsoft.Resources/tags"),
        (f"{RG_ID}", "Microsoft.Resources/resourceGroups"),
        ("/msi/token", ""),
    ],
)
def test_resource_type_of(path, expected):
    assert resource_type_of(path) == expected
