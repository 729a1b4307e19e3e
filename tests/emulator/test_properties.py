"""Property tests for the pure parts (merge patch, id handling) and a concurrency check."""

from __future__ import annotations

import concurrent.futures as cf

from hypothesis import given, settings
from hypothesis import strategies as st

from emulator import ids
from emulator.rules import merge_patch

from .helpers import RG, rid, seed_vnet

json_scalars = st.one_of(st.booleans(), st.integers(), st.text(max_size=5))
json_values = st.recursive(json_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=3), inner, max_size=3)), max_leaves=10)
json_objects = st.dictionaries(st.text(max_size=3), json_values, max_size=4)
patches = st.recursive(
    st.dictionaries(st.text(max_size=3), st.one_of(st.none(), json_scalars, st.lists(json_scalars, max_size=2)), max_size=3),
    lambda inner: st.dictionaries(st.text(max_size=3), st.one_of(st.none(), json_scalars, inner), max_size=3),
    max_leaves=8,
)


@given(json_objects, patches)
def test_merge_patch_is_idempotent(target, patch):
    once = merge_patch(target, patch)
    assert merge_patch(once, patch) == once


@given(json_objects)
def test_empty_patch_changes_nothing(target):
    assert merge_patch(target, {}) == target


@given(json_objects, patches)
def test_merge_patch_does_not_mutate_inputs(target, patch):
    import copy

    before_t, before_p = copy.deepcopy(target), copy.deepcopy(patch)
    merge_patch(target, patch)
    assert (target, patch) == (before_t, before_p)


names = st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,10}", fullmatch=True)


@settings(max_examples=40)
@given(names, names, st.randoms())
def test_resource_type_ignores_casing(vnet, subnet, rnd):
    path = rid(f"Microsoft.Network/virtualNetworks/{vnet}/subnets/{subnet}")
    shuffled = "".join(c.upper() if rnd.random() < 0.5 else c.lower() for c in path)
    assert ids.resource_type_of(shuffled) == "Microsoft.Network/virtualNetworks/subnets"
    assert ids.key(shuffled) == ids.key(path)
    parsed = ids.parse(path)
    assert parsed is not None and parsed.parent_id == rid(f"Microsoft.Network/virtualNetworks/{vnet}")
    assert ids.parse(path.rsplit("/", 1)[0]).is_collection


@settings(max_examples=20, deadline=None)
@given(st.lists(names, min_size=1, max_size=4, unique_by=str.lower))
def test_seeded_subnets_render_inside_the_vnet(emulator_session, subnet_names):
    emulator_session.reset()
    vnet_id = seed_vnet(emulator_session, "vprop", {n: {"addressPrefix": f"10.0.{i}.0/24"} for i, n in enumerate(subnet_names)})
    vnet = emulator_session.get(vnet_id.upper())
    assert sorted((s["name"] for s in vnet["properties"]["subnets"]), key=str.lower) == sorted(subnet_names, key=str.lower)
    for name in subnet_names:
        assert emulator_session.get(f"{vnet_id}/subnets/{name.swapcase()}")["name"] == name


def test_parallel_subnet_writes_are_serialised(emu, client):
    from azure.mgmt.network import NetworkManagementClient

    seed_vnet(emu, "vpar", {})
    net = client(NetworkManagementClient)

    def put(i: int) -> None:
        net.subnets.begin_create_or_update(RG, "vpar", f"s{i}", {"properties": {"addressPrefix": f"10.0.{i}.0/24"}}).result()

    with cf.ThreadPoolExecutor(8) as pool:
        list(pool.map(put, range(16)))
    vnet = net.virtual_networks.get(RG, "vpar")
    assert len(vnet["properties"]["subnets"]) == 16
    assert len([r for r in emu.requests if r.method == "PUT"]) == 16
    assert len([r for r in emu.requests if r.is_lro_poll]) == 16
    assert len(emu.drain_events()) == 16
