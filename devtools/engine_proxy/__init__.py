"""A proxy in front of the local engine that injects faults and enforces what AWS enforces (see server.py)."""

from devtools.engine_proxy.server import EngineProxy, Fault, Seen, engine_proxy

__all__ = ["EngineProxy", "Fault", "Seen", "engine_proxy"]
