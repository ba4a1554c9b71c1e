"""Declare every event handler's queues before any service starts publishing.

A nameko handler declares its queue when its service starts, so an event
published before then has nowhere to go and is dropped by the exchange.
`services.launch` calls `declare_event_queues` for all services on the start
of each one, so whichever starts first creates every consumer's queue, and
events published from then on wait in the queue for their consumer.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Iterable

from kombu import Queue
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR

from services.common.reliable_events import ReliableEventHandler, declare_queues


def service_classes(module_names: Iterable[str]) -> list[type]:
    classes = []
    for module_name in module_names:
        module = importlib.import_module(module_name)
        for _, candidate in inspect.getmembers(module, inspect.isclass):
            if candidate.__module__ == module_name and isinstance(
                getattr(candidate, "name", None), str
            ):
                classes.append(candidate)
    return classes


def event_queues(service_cls: type) -> list[Queue]:
    queues = []
    for method_name, method in inspect.getmembers(service_cls, inspect.isfunction):
        for entrypoint in getattr(method, ENTRYPOINT_EXTENSIONS_ATTR, ()):
            if isinstance(entrypoint, ReliableEventHandler):
                queues.extend(entrypoint.queues_for(service_cls.name, method_name))
    return queues


def declare_event_queues(amqp_uri: str, module_names: Iterable[str]) -> int:
    """Declare the queues of every reliable handler in these modules; returns how many."""
    queues = [q for cls in service_classes(module_names) for q in event_queues(cls)]
    if queues:
        declare_queues(amqp_uri, queues)
    return len(queues)
