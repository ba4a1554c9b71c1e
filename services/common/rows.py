"""Reading named values from many rows of one result at C speed."""

from __future__ import annotations

import functools
from collections.abc import Callable
from operator import attrgetter, itemgetter
from typing import Any

from sqlalchemy.engine import Row


def row_reader(sample: Any, names: tuple[str, ...]) -> Callable[[Any], Any]:
    """Reads `names` (the value for one name, else a tuple) from rows shaped like `sample`.

    A Core `Row` is read by position: its attribute access goes through `Row.__getattr__`,
    about 1.5 µs a name, which was most of shaping a search's page of 20 summaries
    (docs/PERFORMANCE.md, "Gateway reads"). Anything else (an ORM object) by attribute."""
    if isinstance(sample, Row):
        return _by_position(sample._fields, names)
    return attrgetter(*names)


@functools.lru_cache(maxsize=256)
def _by_position(fields: tuple[str, ...], names: tuple[str, ...]) -> Callable[[Row], Any]:
    return itemgetter(*(fields.index(name) for name in names))
