"""Resource Graph paging: the emulator's Resources operation and the product's pager, with the real SDK client."""
from __future__ import annotations

import os

import pytest
from azure.core.exceptions import HttpResponseError
from azure.identity import DefaultAzureCredential
from azure.mgmt.resourcegraph.models import QueryRequest, QueryRequestOptions

from emulator import Emulator
from remediators.inventory import (PROPERTIES, SUBSCRIPTION_BATCH, GraphIncomplete, GraphQuota, Scope, build_query,
                                   list_resources, resource_graph_client)

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


# -- Resource Graph within its limits (issue 16, item 8) --------------------------------------
class FakeClock:
    """One clock for the emulator's quota window and the client's waits: no wall-clock sleeping."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def graph_with(quota: GraphQuota):
    return resource_graph_client(DefaultAzureCredential(), endpoint=os.environ["AZURE_RESOURCE_MANAGER_ENDPOINT"],
                                 quota=quota)


def test_five_thousand_resources_in_twenty_subscriptions_with_no_errors(emulator, graph):
    subs = [f"{i:08x}-0000-4000-8000-{i:012x}" for i in range(1, 21)]
    expected: set[str] = set()
    for sub in subs:
        expected |= seed_vaults(emulator, sub, 250)
    emulator.clear_requests()
    queries: list[dict] = []
    items = list(list_resources(graph, Scope(subscriptions=tuple(subs)), on_query=queries.append))
    print(f"\n{len(items)} resources in {len(subs)} subscriptions, {len(queries)} Resource Graph queries:")
    for q in queries:
        print("  ", q)
    assert {i.id for i in items} == expected and len(items) == 5000
    calls = graph_calls(emulator)
    assert [c.status for c in calls] == [200] * 5  # 0 errors, 0 throttled: 5 pages of 1,000, one batch
    assert all(len(c.body["subscriptions"]) == 20 for c in calls)


def test_subscriptions_are_sent_in_batches_of_at_most_300(emulator, graph):
    subs = tuple(f"{i:08x}-1111-4111-8111-{i:012x}" for i in range(650))
    seed_vaults(emulator, subs[0], 2)
    seed_vaults(emulator, subs[-1], 3)
    emulator.clear_requests()
    assert len(list(list_resources(graph, Scope(subscriptions=subs)))) == 5
    assert [len(c.body["subscriptions"]) for c in graph_calls(emulator)] == [SUBSCRIPTION_BATCH, 300, 50]


def test_the_client_paces_by_the_quota_headers_and_is_never_throttled(emulator, lz):
    clock = FakeClock()
    emulator.graph_quota.configure(limit=2, window_s=5, now=clock)
    seed_vaults(emulator, SUB_A, 5)
    quota = GraphQuota(clock=clock, sleep=clock.sleep)
    emulator.clear_requests()
    items = list(list_resources(graph_with(quota), Scope(subscriptions=(SUB_A,)), page_size=1))
    assert len(items) == 5
    assert [c.status for c in graph_calls(emulator)] == [200] * 5  # waited instead of drawing a 429
    assert quota.throttled == 0 and clock.slept == [5.0, 5.0]  # 2 + 2 + 1 queries over three windows


def test_a_429_without_retry_after_is_retried_after_the_quota_resets(emulator, lz):
    clock = FakeClock()
    emulator.graph_quota.configure(limit=2, window_s=5, now=clock)
    seed_vaults(emulator, SUB_A, 2)
    other = GraphQuota(clock=clock, sleep=clock.sleep)  # another process of the same user spends the quota
    list(list_resources(graph_with(other), Scope(subscriptions=(SUB_A,)), page_size=1))
    ours = GraphQuota(clock=clock, sleep=clock.sleep)  # knows nothing of it
    emulator.clear_requests()
    items = list(list_resources(graph_with(ours), Scope(subscriptions=(SUB_A,))))
    assert len(items) == 2 and ours.throttled == 1
    assert [c.status for c in graph_calls(emulator)] == [429, 200]
    assert clock.slept[-1] == 5.0  # waited x-ms-user-quota-resets-after, not azure-core's Retry-After


def test_an_answer_over_the_payload_limit_is_asked_for_again_in_smaller_pages(emulator, graph):
    ids = seed_vaults(emulator, SUB_A, 120)
    emulator.graph_payload_limit = 40_000  # stands in for 16 MB
    emulator.clear_requests()
    queries: list[dict] = []
    items = list(list_resources(graph, Scope(subscriptions=(SUB_A,)), on_query=queries.append))
    assert {i.id for i in items} == ids
    statuses = [c.status for c in graph_calls(emulator)]
    assert statuses[0] == 400 and statuses[-1] == 200
    assert max(q["top"] for q in queries) < 1000


def test_a_truncated_result_is_an_error_not_a_short_inventory(emulator, graph, monkeypatch):
    import remediators.inventory as inventory

    seed_vaults(emulator, SUB_A, 3)
    # Without ``id`` in the projection Resource Graph cannot page and truncates (work-with-data).
    monkeypatch.setattr(inventory, "COLUMNS", tuple(c for c in inventory.COLUMNS if c != "id"))
    with pytest.raises(GraphIncomplete):
        list(list_resources(graph, Scope(subscriptions=(SUB_A,)), page_size=2))


def test_a_page_token_that_does_not_advance_is_an_error_not_an_endless_loop(emulator, graph):
    seed_vaults(emulator, SUB_A, 7)
    emulator.graph_stuck_paging = True  # a fault (emulator/server.py): the next token repeats the one sent
    emulator.clear_requests()
    with pytest.raises(GraphIncomplete, match="same \\$skipToken twice"):
        list(list_resources(graph, Scope(subscriptions=(SUB_A,)), page_size=2))
    assert len(graph_calls(emulator)) == 2  # the first page, then the one answering with the token it was sent


def test_the_quota_headers_are_on_every_answer(emulator, graph):
    seed_vaults(emulator, SUB_A, 1)
    clock = FakeClock()
    emulator.graph_quota.configure(limit=15, window_s=5, now=clock)
    quota = GraphQuota(clock=clock, sleep=clock.sleep)
    list(list_resources(graph_with(quota), Scope(subscriptions=(SUB_A,))))
    assert quota.seconds_to_reset() == 5.0 and quota.throttled == 0


def test_the_projection_keeps_every_property_the_prefilter_and_exposure_read(emulator, lz, graph):
    """The sweep's prefilter and the exposure column judge a projected row exactly as the whole row."""
    from azure.mgmt.resourcegraph.models import QueryRequest, QueryRequestOptions

    from localdev.seeds import DEMO_RESOURCES, MANUAL_APPROVAL
    from remediators.inventory import InventoryItem
    from remediators.settings import Settings
    from remediators.sweep import graph_verdict

    for seed, name, tags, _, options in DEMO_RESOURCES:
        seed(emulator, lz, name, tags=tags, **{k: v for k, v in options.items() if k != MANUAL_APPROVAL})
    settings = Settings.from_env()
    projected = {i.id: i for i in list_resources(graph, Scope(subscriptions=(lz.subscription_id,)))}
    whole_query = build_query(Scope(subscriptions=(lz.subscription_id,))).split("\n| project")[0]
    whole = graph.resources(QueryRequest(subscriptions=[lz.subscription_id], query=whole_query,
                                         options=QueryRequestOptions(top=1000)))
    assert len(whole.data) == len(projected) == len(DEMO_RESOURCES)
    for row in whole.data:
        full, mine = InventoryItem.from_row(row), projected[row["id"]]
        assert graph_verdict(mine, settings) == graph_verdict(full, settings), row["id"]
        assert mine.exposure == full.exposure and mine.looks_public == full.looks_public


def test_a_resource_in_a_listed_subscription_and_management_group_comes_once(emulator, graph):
    ids = seed_vaults(emulator, SUB_A, 3)
    emulator.management_groups["mg-both"] = [SUB_A]
    items = list(list_resources(graph, Scope(subscriptions=(SUB_A,), management_groups=("mg-both",))))
    assert sorted(i.id for i in items) == sorted(ids) and len(graph_calls(emulator)) >= 2
