"""The `id` URL converter: a positive integer the databases can hold; anything larger is simply not found."""
from __future__ import annotations

from werkzeug.routing import IntegerConverter

MAX_ID = 2**62


class IdConverter(IntegerConverter):
    def __init__(self, url_map, *args, **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(url_map, min=1, max=MAX_ID)


def id_schema(converter: IdConverter) -> dict[str, object]:
    return {"type": "integer", "minimum": 1, "maximum": MAX_ID}
