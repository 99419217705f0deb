"""JSON: every view is its model's dump (field aliases give the published key names)."""

from __future__ import annotations

import orjson
from pydantic import BaseModel

from tokenbench.render.registry import Output, renderer


def to_json(view: BaseModel) -> bytes:
    doc = view.model_dump(mode="json", by_alias=True)
    return orjson.dumps(doc, option=orjson.OPT_INDENT_2)


@renderer("json", BaseModel)
def _json(view: BaseModel, out: Output) -> None:
    out.write(to_json(view).decode() + "\n")
