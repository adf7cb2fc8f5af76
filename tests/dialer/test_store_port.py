"""The engine's store contract (dialer/store/port.py) holds for both stores and covers every call.

The simulator runs the real engine on :class:`SimulationStore`; a store method the engine starts
calling that the simulator lacks would otherwise surface as an AttributeError halfway through a
simulated day (or a demo). These tests make it fail here: the protocols must declare exactly what
dialer/engine.py and dialer/inbound.py call on their store, and each store must implement every
member with the same parameters.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import redis.asyncio as aioredis

import dialer.engine
import dialer.inbound
from dialer.simulation.memory_store import SimulationStore
from dialer.store.port import CallbackStore, CampaignStore
from dialer.store.redis_store import Store


def declared(protocol: type) -> dict[str, Any]:
    """The protocol's members: name -> the method or property it declares (or an annotation)."""
    own = vars(protocol)
    found = {name: value for name, value in own.items()
             if not name.startswith("_") and (inspect.isfunction(value) or isinstance(value, property))}
    found.update({name: hint for name, hint in own.get("__annotations__", {}).items()})
    return found


def _is_store(node: ast.expr) -> bool:
    """``store`` (a constructor's parameter) or ``self.store`` (where the engine and handler keep it)."""
    if isinstance(node, ast.Name):
        return node.id == "store"
    return (isinstance(node, ast.Attribute) and node.attr == "store"
            and isinstance(node.value, ast.Name) and node.value.id == "self")


def store_uses(module: ModuleType) -> set[str]:
    """Every name ``module`` reads on its store: ``store.X``, ``self.store.X``, ``hasattr(store, "X")``."""
    tree = ast.parse(Path(module.__file__ or "").read_text())
    used = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _is_store(node.value):
            used.add(node.attr)
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
              and node.func.id in ("getattr", "hasattr", "setattr") and len(node.args) >= 2
              and _is_store(node.args[0]) and isinstance(node.args[1], ast.Constant)):
            used.add(str(node.args[1].value))
    return used


def redis_store() -> Store:
    # Nothing connects until a command is sent: the contract is checked without a Redis.
    return Store(aioredis.Redis(), owner="port-test", display_url="redis://port-test")


def simulation_store() -> SimulationStore:
    return SimulationStore("c", "name: c\n")


@pytest.mark.parametrize(("module", "protocol", "known"), [
    (dialer.engine, CampaignStore, {"claim", "begin_attempts", "finish_attempt", "owner"}),
    (dialer.inbound, CallbackStore, {"callback_candidates", "record_callback"}),
], ids=["engine", "inbound"])
def test_the_protocol_declares_exactly_what_the_module_calls_on_its_store(
        module: ModuleType, protocol: type, known: set[str]) -> None:
    used = store_uses(module)
    assert known <= used, "the AST walk no longer finds the store: how does the module hold it now?"
    members = set(declared(protocol))
    assert not used - members, (
        f"{module.__name__} calls {sorted(used - members)} on its store, which {protocol.__name__} "
        "(dialer/store/port.py) does not declare: declare them, and implement them in every store")
    assert not members - used, (
        f"{protocol.__name__} declares {sorted(members - used)}, which {module.__name__} no longer "
        "calls: drop them from the protocol")


@pytest.mark.parametrize(("make", "protocol"), [
    (redis_store, CampaignStore),
    (simulation_store, CampaignStore),
    (redis_store, CallbackStore),
], ids=["Store-CampaignStore", "SimulationStore-CampaignStore", "Store-CallbackStore"])
def test_the_store_implements_every_member_with_the_declared_signature(make: Any, protocol: type) -> None:
    store = make()
    for name, member in declared(protocol).items():
        assert hasattr(store, name), f"{type(store).__name__} lacks {protocol.__name__}.{name}"
        found = getattr(store, name)
        if not inspect.isfunction(member):          # an attribute: any value will do, not a method
            assert not inspect.ismethod(found), f"{type(store).__name__}.{name} should be an attribute"
            continue
        where = f"{type(store).__name__}.{name}"
        assert inspect.ismethod(found), f"{where} should be a method"
        assert inspect.iscoroutinefunction(found) == inspect.iscoroutinefunction(member), (
            f"{where}: async-ness differs from {protocol.__name__}.{name}")
        want = [(p.name, p.kind, p.default) for p in inspect.signature(member).parameters.values()][1:]
        got = [(p.name, p.kind, p.default) for p in inspect.signature(found).parameters.values()]
        assert got == want, f"{where}{inspect.signature(found)} differs from {protocol.__name__}"


def test_only_the_redis_store_takes_callers_back() -> None:
    """The engine answers callers back when its store is a CallbackStore: in production, not in
    ``callpact simulate``, whose made-up debtors nobody can call back."""
    assert isinstance(redis_store(), CallbackStore)
    assert not isinstance(simulation_store(), CallbackStore)
