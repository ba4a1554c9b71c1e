"""Declare every event handler's queues before any service starts publishing.

A nameko handler declares its queue when its service starts, so an event
published before then has nowhere to go and is dropped by the exchange. Every
consumer's queues are therefore in the broker's definitions (services/broker_accounts.py,
loaded before any service starts), built from `event_queues` below; `services.launch`
declares the starting service's own again (its account may declare no other's).
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable

from kombu import Queue
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR

from services.common import catalogue
from services.common.reliable_events import ReliableEventHandler, declare_queues


def reliable_handlers(service_cls: type) -> list[tuple[str, ReliableEventHandler]]:
    """(method name, handler) of every reliable event handler of `service_cls`."""
    return [
        (method_name, entrypoint)
        for method_name, method in inspect.getmembers(service_cls, inspect.isfunction)
        for entrypoint in getattr(method, ENTRYPOINT_EXTENSIONS_ATTR, ())
        if isinstance(entrypoint, ReliableEventHandler)
    ]


def event_queues(service_cls: type, queue_type: str | None = None) -> list[Queue]:
    """Every queue of its reliable handlers, of `queue_type` (default `EVENT_QUEUE_TYPE`)."""
    return [
        queue
        for method_name, handler in reliable_handlers(service_cls)
        for queue in handler.queues_for(service_cls.name, method_name, queue_type=queue_type)
    ]


def consumed_sources(service_cls: type) -> set[str]:
    """The services whose events `service_cls` handles."""
    return {handler.source_service for _, handler in reliable_handlers(service_cls)}


def declare_event_queues(amqp_uri: str, service_classes: Iterable[type] | None = None) -> int:
    """Declare the queues of every reliable handler of these services (default: every
    service of the catalogue); returns how many."""
    if service_classes is None:
        service_classes = [entry.service_class() for entry in catalogue.SERVICES]
    queues = [queue for cls in service_classes for queue in event_queues(cls)]
    if queues:
        declare_queues(amqp_uri, queues)
    return len(queues)
