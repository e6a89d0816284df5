"""Parallel runs in lanes (`pytest -n N --dist loadgroup`): each test group runs whole on one
worker, and the groups are dealt out once, longest first, to the worker with the least work.

xdist's own loadgroup scheduler hands out groups as workers drain, two at a time, so a short
group can end up queued behind a long one (a VM boot, a provisioning) while other workers idle;
and it reads groups from xdist_group markers through test ids, which pytest 9 no longer lets it
rewrite. Here a test's group follows from its id alone (`group_of`), and dealing longest-first
by expected cost (greedy LPT) keeps the run as short as its longest lane. A group's cost comes
from GROUP_MINUTES (measured on the 2-core reference machine); others count as small.
"""

from __future__ import annotations

from xdist.scheduler import LoadGroupScheduling

# Expected minutes per group on a quiet 2-core machine, cold caches excluded (they add once).
GROUP_MINUTES = {
    # the tutorial's step 3: vagrant up with its provisioning, under emulation
    "infra/vagrant/test_vagrant_up": 16.0,
    "infra/deploy/test_deploy_stand_in_hosts": 1.0,
    # a fresh install of five hosts, then the deploy CLI onto them for both AWS topologies
    "infra/ansible/test_ansible_layered": 10.0,
    "system": 6.0,
    # the integration tier's longest modules run in lanes of their own (every worker has its own
    # database and Redis database): `make test-fast` then lasts about as long as half the tier
    "integration": 2.1,
    "integration/test_cache_faults": 0.6,
    "integration/test_wheel": 0.5,
    "integration/test_servers": 0.5,
    "integration/test_browser": 0.3,
    "infra/ansible/test_ansible_all_in_one": 3.0,
    "infra/ansible/test_ansible_acme": 3.0,
    # + the tutorial's step 8: a stack of its own, up, scaled, down (2.4 min under a load of 20)
    "infra/docker": 4.5,
    "infra/deploy/test_deploy_emulated": 2.0,
    "infra/deploy/test_deploy_cli": 1.5,
    "infra/terraform/test_terraform_emulated": 2.0,
    "infra/terraform/test_terraform_asg_emulated": 5.0,
    "infra/terraform/test_terraform_asg_boot": 6.0,
    "infra/terraform/test_terraform_static": 1.5,
    "unit": 0.5,
}
SMALL_GROUP_MINUTES = 0.5


def group_of(nodeid: str) -> str:
    """unit, integration and system are a group each, but for the modules GROUP_MINUTES names,
    which are groups of their own; an infra module is a group of its own (its tests share booted
    hosts or a built stack)."""
    nodeid = nodeid.split("@")[0]  # a group suffix some xdist versions append
    parts = nodeid.split("::")[0].removesuffix(".py").split("/")
    if parts[1] != "infra":
        module = "/".join(parts[1:])
        return module if module in GROUP_MINUTES else parts[1]
    if parts[2] == "docker":
        return "infra/docker"  # one built image set and compose project for the whole tier
    return "/".join(parts[1:])


class LaneScheduling(LoadGroupScheduling):
    """All groups are assigned at the start (longest first, to the least-loaded worker); every
    worker then gets its whole lane and the shutdown marker, so none waits for more work."""

    def schedule(self) -> None:
        assert self.collection_is_completed
        if self.collection is not None:
            return  # lanes are dealt once; nothing to rebalance
        if not self._check_nodes_have_same_collection():
            self.log("**Different tests collected, aborting run**")
            return
        self.collection = list(next(iter(self.registered_collections.values())))
        groups: dict[str, dict[str, bool]] = {}
        for nodeid in self.collection:
            groups.setdefault(self._split_scope(nodeid), {})[nodeid] = False
        load = {node: 0.0 for node in self.nodes}
        for group in sorted(groups, key=lambda name: -self.minutes(name)):
            node = min(load, key=load.__getitem__)
            load[node] += self.minutes(group)
            self.assigned_work.setdefault(node, {})[group] = groups[group]
        for node in self.nodes:
            work = self.assigned_work.get(node, {})
            index = {nodeid: i for i, nodeid in enumerate(self.registered_collections[node])}
            indices = [index[nodeid] for unit in work.values() for nodeid in unit]
            if indices:
                node.send_runtest_some(indices)
            node.shutdown()
        self.workqueue.clear()

    def _split_scope(self, nodeid: str) -> str:
        return group_of(nodeid)

    def _reschedule(self, node) -> None:  # type: ignore[no-untyped-def]
        """Nothing to hand out later: every lane was sent whole."""

    @staticmethod
    def minutes(group: str) -> float:
        return GROUP_MINUTES.get(group, SMALL_GROUP_MINUTES)
