"""One thing every entrypoint of the platform does the same way at every call."""

from __future__ import annotations

import inspect
from typing import Any

from nameko.exceptions import IncorrectSignature


class SignatureReadOnce:
    """nameko's `Entrypoint.check_signature` with the method's signature read once: nameko
    reads it at every call (`inspect.getcallargs`), about 1 % of a read's CPU in the
    registry and the gateway. The signature checked is the same: the method's own, a
    decorator's wrapper included (`follow_wrapped=False`, as getcallargs has it)."""

    container: Any
    method_name: str
    method_signature: inspect.Signature

    def setup(self) -> None:
        super().setup()
        method = getattr(self.container.service_cls, self.method_name)
        self.method_signature = inspect.signature(method, follow_wrapped=False)

    def check_signature(self, args: tuple, kwargs: dict[str, Any]) -> None:
        try:
            self.method_signature.bind(None, *args, **kwargs)  # None: the unbound `self`
        except TypeError as exc:
            raise IncorrectSignature(str(exc)) from None
