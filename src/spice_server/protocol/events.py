"""How every incremental parser in ``protocol`` says "not enough bytes yet".

Each parser (the link stage, the data stage's framing, agent records, agent chunks) works
the same way, as h11 and wsproto do: ``receive_data(bytes)`` appends what arrived, and
each call of ``next_event()`` returns one complete event, or :data:`NEED_DATA` once the
buffered bytes hold no complete event. A consumer drains a parser with::

    parser.receive_data(data)
    while (event := parser.next_event()) is not NEED_DATA:
        handle(event)

A malformed header raises :class:`~.errors.RemoteProtocolError` from ``next_event``.

:data:`NEED_DATA` is the single member of an enum so that type checkers narrow
``Event | NeedData`` to ``Event`` after an ``is NEED_DATA`` test.
"""

from __future__ import annotations

import enum
from typing import Final


class NeedData(enum.Enum):
    """The type of :data:`NEED_DATA`."""

    NEED_DATA = "NEED_DATA"

    def __repr__(self) -> str:
        return "NEED_DATA"


NEED_DATA: Final = NeedData.NEED_DATA
