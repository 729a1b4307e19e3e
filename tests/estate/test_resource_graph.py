"""Resource Graph paging: the emulator's Resources operation and the product's pager, with the real SDK client."""
from __future__ import annotations

import os

import pytest
from azure.core.exceptions import HttpResponseError
from azure.identity import DefaultAzureCredential
from azure.mgmt.resourcegraph.models import QueryRequest, QueryRequestOptions

from emulator import Emulator
from remediators.inventory import PROPERTIES, Scope, build_query, list_resources, resource_graph_client

SUB_A = "11111111-1111-4111-8111-111111111111"
SUB_B = "22222222-2222-4222-8222-222222222222"


@pytest.fixture
def graph(emulator: Emulator, lz):
    return resource_graph_client(DefaultAzureCredential(), endpoint=os.environ["AZURE_RESOURCE_MANAGER_ENDPOINT"])


def seed_vaults(emu: Emulator, sub: str, count: int) -> set[str]:
    ids = set()
    for i in range(count):
        rid = f"/subscriptions/{sub}/resourceGroups/rg-many/providers/Microsoft.KeyVault/vaults/kv{i:05d}"
        emu.seed(rid, {"location": "westeurope", "tags": {"harden": "private"},
                       "properties": {"tenantId": emu.tenant_id, "sku": {"family": "A", "name": "standard"}}})
        ids.add(rid)
    return ids


def graph_calls(emu: Emulator) -> list:
    return [r for r in emu.requests if r.resource_type == "Microsoft.ResourceGraph/resources"]


def test_more_than_a_thousand_rows_come_in_pages_of_a_thousand_with_skip_tokens(emulator, graph):
    expected = seed_vaults(emulator, SUB_A, 1203) | seed_vaults(emulator, SUB_B, 5)
    emulator.clear_requests()
    pages: list[tuple[int, int]] = []
    items = list(list_resources(graph, Scope(subscriptions=(SUB_A, SUB_B)), on_page=lambda s, t: pages.append((s, t))))
    assert [i.id for i in items] == sorted(expected, key=str.lower)
    assert pages == [(1000, 1208), (1208, 1208)]
    calls = graph_calls(emulator)
    assert len(calls) == 2
    assert "$skipToken" not in calls[0].body["options"] and calls[1].body["options"]["$skipToken"]
    assert items[0].type == "Microsoft.KeyVault/vaults" and items[0].subscription_id == SUB_A


def test_scope_limits_rows_to_the_subscriptions_and_group_asked_for(emulator, graph):
    seed_vaults(emulator, SUB_A, 3)
    seed_vaults(emulator, SUB_B, 2)
    assert len(list(list_resources(graph, Scope(subscriptions=(SUB_B,))))) == 2
    assert len(list(list_resources(graph, Scope(subscriptions=(SUB_A,), resource_group="RG-MANY")))) == 3
    assert list(list_resources(graph, Scope(subscriptions=(SUB_A,), resource_group="other"))) == []


def test_response_shape_and_truncation_without_id(emulator, graph):
    seed_vaults(emulator, SUB_A, 3)
    page = graph.resources(QueryRequest(subscriptions=[SUB_A], query=build_query(Scope(subscriptions=(SUB_A,))),
                                        options=QueryRequestOptions(top=2, result_format="objectArray")))
    assert (page.total_records, page.count, page.result_truncated) == (3, 2, "false") and page.skip_token
    # Only the properties the product reads are projected (issue 16: keep 1,000 rows far below 16 MB).
    assert set(page.data[0]) == {"id", "name", "type", "location", "subscriptionId", "resourceGroup", "tags",
                                 *(f"p_{name}" for name in PROPERTIES)}
    assert page.data[0]["p_publicNetworkAccess"] is None or isinstance(page.data[0]["p_publicNetworkAccess"], str)
    assert page.data[0]["type"] == "microsoft.keyvault/vaults" and page.data[0]["resourceGroup"] == "rg-many"
    no_id = graph.resources(QueryRequest(subscriptions=[SUB_A], query="Resources | project name",
                                         options=QueryRequestOptions(top=2)))
    assert no_id.skip_token is None and no_id.result_truncated == "true"


def test_unsupported_kql_is_refused(emulator, graph):
    with pytest.raises(HttpResponseError) as raised:
        graph.resources(QueryRequest(subscriptions=[SUB_A], query="Resources | summarize count() by type"))
    assert raised.value.status_code == 400
