"""The signature check every entrypoint makes before a worker runs
(services/common/signatures.py): the same verdicts as nameko's, the signature read once."""

from __future__ import annotations

import functools
import types

import pytest
from nameko.exceptions import IncorrectSignature
from nameko.extensions import Entrypoint

from services.common.signatures import SignatureReadOnce


def passing_through(method):
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        return method(self, *args, **kwargs)

    return wrapper


class Service:
    def get(self, alumnus_id, purpose="", *, caller):
        return alumnus_id

    @passing_through
    def wrapped(self, request, alumnus_id):
        return alumnus_id


class Checked(SignatureReadOnce, Entrypoint):
    pass


def entrypoint(method_name: str) -> Checked:
    checked = Checked()
    checked.container = types.SimpleNamespace(service_cls=Service)
    checked.method_name = method_name
    checked.setup()
    return checked


@pytest.mark.parametrize(
    ("method_name", "args", "kwargs"),
    [
        ("get", ("id-1",), {"caller": "c"}),
        ("get", ("id-1", "route"), {"caller": "c"}),
        ("get", ("id-1",), {}),  # no caller
        ("get", (), {"caller": "c"}),  # no id
        ("get", ("id-1",), {"caller": "c", "other": 1}),
        ("get", ("id-1", "route", "extra"), {"caller": "c"}),
        ("wrapped", ("request",), {"nothing": "checked past the wrapper"}),
    ],
)
def test_the_verdict_is_nameko_s(method_name, args, kwargs):
    def verdict(check):
        try:
            check(args, kwargs)
        except IncorrectSignature:
            return "refused"
        return "accepted"

    ours = entrypoint(method_name)
    nameko_s = functools.partial(Entrypoint.check_signature, ours)
    assert verdict(ours.check_signature) == verdict(nameko_s)


def test_the_signature_is_read_once():
    checked = entrypoint("get")
    checked.check_signature(("id-1",), {"caller": "c"})
    first = checked.method_signature
    with pytest.raises(IncorrectSignature, match="caller"):
        checked.check_signature(("id-1",), {})
    assert checked.method_signature is first
