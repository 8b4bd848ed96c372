"""A rollout on two nodes of one PostgreSQL: each wave released once, each tenant run once."""

from __future__ import annotations

import functools

from tests.multinode.conftest import Cluster
from tests.rollouts.support import add_tenants, create, finish, offline, poll, rollout_body, show
from tests.support.processes import ServiceProcess


def whole_wave_offline(node: ServiceProcess, ids: list[str], seen: frozenset[str]) -> list[str]:
    down = [c for c in offline(node, ids) if c not in seen]
    return down if len(down) == 2 else []


def test_two_nodes_conduct_a_rollout_once_under_its_cap(cluster: Cluster) -> None:
    a, b = cluster(2)
    ids = add_tenants(a, "rnodes.example.com", 6)
    rollout = create(a, rollout_body("rnodes.example.com", ExpectedDuration=2))
    finished: set[str] = set()
    for node in (b, a, b):
        down = poll(functools.partial(whole_wave_offline, node, ids, frozenset(finished)))
        assert len(offline(a, ids)) <= 2 and len(offline(b, ids)) <= 2
        finish(node, down)
        finished |= set(down)
    assert len(finished) == 6
    done = poll(lambda: (r := show(b, rollout["Id"]))["Status"] == "done" and r)
    actions = [e["Action"] for e in reversed(done["History"])]
    assert actions == ["create", "start", "end"]
    assert done["Progress"]["Done"] == 6 and done["WavesReleased"] == 3
    with b.admin() as admin:
        for ctx in ids:
            history = admin.get(f"/admin/tenants/{ctx}").json()["History"]
            ran = [h["Operation"] for h in history if h["Operation"] != "provision"]
            assert ran == ["upgrade-done", "upgrade"], (ctx, ran)
