"""RPC with a deadline.

nameko's `RpcProxy` waits for a reply for ever. `TimedRpcProxy` bounds the
wait, and turns the ways a call can fail for want of a peer into the
platform's errors: a service with no queue bound (never started) becomes
`ServiceUnavailable` at once, a service that does not answer in time becomes
`ServiceTimeout`, and a broken broker connection `ServiceUnavailable` (noted once
per outage in the log, not per call: services/common/broker.py). Requests
carry the same deadline as a message TTL, so a service that comes back later
does not execute calls whose callers have given up. Replies arrive through the
platform's queue consumer, which reconnects by itself when the broker returns.

Every call carries a caller token (services/common/caller.py) signed for its target
service alone: the gateway's proxies sign the person of the request at hand (the
handler's `principal`; the gateway itself for an anonymous request), a service's proxies
sign the service itself. A token received is never passed on to the next service.
"""

from __future__ import annotations

import eventlet
from nameko.exceptions import UnknownService, deserialize_to_instance
from nameko.rpc import MethodProxy, ReplyListener, RpcProxy, ServiceProxy

from services.common import config
from services.common.broker import (
    BROKER_ERRORS,
    PUBLISH_RETRY_POLICY,
    BrokerLink,
    QueueConsumer,
)
from services.common.caller import HEADER, Caller, caller_key, token_for
from services.common.errors import ServiceTimeout, ServiceUnavailable, on_new_error_type

# A caller gets the platform's errors back as themselves, not as nameko's RemoteError.
on_new_error_type(deserialize_to_instance)


class TimedReplyListener(ReplyListener):
    """nameko's reply listener on the platform's queue consumer; also the one place that
    notes, for every proxy of the service, whether calls reach the broker."""

    queue_consumer = QueueConsumer()

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.calls_link = BrokerLink("RPC calls")


def caller_of(worker_ctx, for_principal: bool) -> Caller:
    """Whom a call made by this worker is for: the request's principal for the gateway's
    proxies when there is one, else the calling service itself (the gateway answering an
    anonymous request: a login, a public page)."""
    principal = (worker_ctx.kwargs or {}).get("principal") if for_principal else None
    if isinstance(principal, Caller):
        return principal
    return Caller.for_service(worker_ctx.service_name)


class TimedMethodProxy(MethodProxy):
    def __init__(
        self, *args, timeout: float, caller_key: str, for_principal: bool, **options
    ) -> None:
        self.timeout = timeout
        self.caller_key = caller_key
        self.for_principal = for_principal
        super().__init__(*args, expiration=timeout, **options)

    def get_message_headers(self, worker_ctx) -> dict:
        headers = super().get_message_headers(worker_ctx)
        name = self._get_header_name(HEADER)
        # A token this worker received was for this service, not for the next one.
        headers.pop(name, None)
        caller = caller_of(worker_ctx, self.for_principal)
        headers[name] = token_for(caller, self.caller_key, self.service_name)
        return headers

    def __call__(self, *args, **kwargs):
        deadline = eventlet.Timeout(self.timeout)
        try:
            reply = self._call(*args, **kwargs)
            self.reply_listener.calls_link.restored()
            return reply.result()
        except eventlet.Timeout as fired:
            if fired is not deadline:
                raise
            raise ServiceTimeout(
                f"服务 {self.service_name} 在 {self.timeout:g} 秒内没有应答，请稍后重试。",
                {"service": self.service_name},
            ) from None
        except UnknownService:
            raise ServiceUnavailable(
                f"服务 {self.service_name} 当前不可用。", {"service": self.service_name}
            ) from None
        except BROKER_ERRORS as error:
            self.reply_listener.calls_link.lost(error)
            raise ServiceUnavailable(
                "消息代理不可用，请稍后重试。", {"service": self.service_name}
            ) from None
        finally:
            deadline.cancel()


class TimedServiceProxy(ServiceProxy):
    def __init__(
        self, *args, timeout: float, caller_key: str, for_principal: bool, **options
    ) -> None:
        self.timeout = timeout
        self.caller_key = caller_key
        self.for_principal = for_principal
        super().__init__(*args, **options)

    def __getattr__(self, name: str) -> TimedMethodProxy:
        return TimedMethodProxy(
            self.worker_ctx,
            self.service_name,
            name,
            self.reply_listener,
            timeout=self.timeout,
            caller_key=self.caller_key,
            for_principal=self.for_principal,
            **self.options,
        )


class TimedRpcProxy(RpcProxy):
    """`RpcProxy("svc")` with a deadline: `timeout` seconds, else config RPC_TIMEOUT.

    `for_principal`: calls are made for the person of the gateway's request (its
    handler's `principal`), not for the calling service.
    """

    rpc_reply_listener = TimedReplyListener()

    def __init__(
        self,
        target_service: str,
        timeout: float | None = None,
        for_principal: bool = False,
        **options,
    ) -> None:
        self.timeout = timeout
        self.for_principal = for_principal
        # A call while the broker is away fails in about a second with a clear
        # ServiceUnavailable, rather than spending its deadline on reconnecting.
        options.setdefault("retry_policy", PUBLISH_RETRY_POLICY)
        super().__init__(target_service, **options)

    def setup(self) -> None:
        if self.timeout is None:
            self.timeout = config.rpc_timeout(self.container.config)
        self.caller_key = caller_key(self.container.config)
        super().setup()

    def get_dependency(self, worker_ctx) -> TimedServiceProxy:
        return TimedServiceProxy(
            worker_ctx,
            self.target_service,
            self.rpc_reply_listener,
            timeout=self.timeout,
            caller_key=self.caller_key,
            for_principal=self.for_principal,
            **self.options,
        )
