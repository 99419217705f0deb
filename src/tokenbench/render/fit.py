"""Tables that fit the console. Every terminal table is laid out here, for 100 columns first:

- a number column (`num`, `key`) never shrinks below its widest cell and never wraps;
- a `words` column (a number with its interval or its unit) wraps only between words;
- a `text` column gives way first: it wraps between words, and folds a word only when the
  table does not fit otherwise (never below 8 characters);
- a column marked `hoist` whose every row says the same moves above the table as one line
  ("Engine: llama.cpp 1.0 · Hardware: EPYC ×2"); an `optional` column with nothing in it is
  left out (JSON keeps both);
- when the numbers alone do not fit, the table splits: the first keeps the text columns and
  as many numbers as fit, each further one the remaining numbers, all keyed by a row number #.
Columns are two spaces apart, with a rule under the header and no outer border."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from rich import box
from rich.console import Console, RenderableType
from rich.table import Table
from rich.text import Text

from tokenbench.render.cells import DASH

Kind = Literal["text", "words", "num", "key"]
_GAP = 2  # characters between two columns (one padding, one divider)
_FOLD_FLOOR = 8  # a text column folds words no narrower than this
_WORD_CAP = 24  # a text column keeps whole words up to this long before it folds
_HEAD_WORD_CAP = 16  # a number's header folds only a word longer than this
_EMPTY = ("", DASH)


@dataclass(frozen=True, slots=True)
class Col:
    header: str
    kind: Kind = "text"
    hoist: bool = False  # one value on every row: said once, above the table
    optional: bool = False  # nothing on any row: left out

    @property
    def ident(self) -> bool:
        """Identifies the row (kept in the first table of a split)."""
        return self.kind in ("text", "key")


Cell = str | Text


def _text(cell: Cell) -> Text:
    return cell if isinstance(cell, Text) else Text.from_markup(cell)


def _width(t: Text) -> int:
    return max((line.cell_len for line in t.split("\n")), default=0)


def _longest_word(t: Text | str) -> int:
    plain = t.plain if isinstance(t, Text) else t
    return max((Text(w).cell_len for w in plain.split()), default=0)


@dataclass
class _Column:
    col: Col
    cells: list[Text]
    hard: int  # the narrowest this column may be
    soft: int  # the narrowest without folding a word (text) or wrapping the header
    natural: int  # the widest cell, or the header on one line

    @classmethod
    def of(cls, col: Col, cells: list[Text]) -> _Column:
        values = max((_width(c) for c in cells), default=0)
        head_word = _longest_word(col.header)
        natural = max(values, Text(col.header).cell_len, 1)
        if col.kind in ("num", "key"):
            hard = soft = max(values, min(head_word, _HEAD_WORD_CAP), 1)
        elif col.kind == "words":
            hard = soft = max(max((_longest_word(c) for c in cells), default=0),
                              min(head_word, _HEAD_WORD_CAP), 1)  # fmt: skip
        else:
            soft = min(natural, max(min(max((_longest_word(c) for c in cells), default=0),
                                        _WORD_CAP), min(head_word, 12), 1))  # fmt: skip
            hard = min(soft, _FOLD_FLOOR)
        return cls(col, cells, hard, soft, natural)


def _overhead(n: int) -> int:
    return _GAP * (n - 1)


def _allocate(cols: list[_Column], width: int) -> list[int] | None:
    """Widths that fit `width`, or None: fixed columns at their minimum, text first to its
    words, then folded; spare room widens text, then headers."""
    room = width - _overhead(len(cols))
    for level in ("soft", "hard"):
        widths = [getattr(c, level) for c in cols]
        if sum(widths) <= room:
            break
    else:
        return None
    spare = room - sum(widths)
    text = [i for i, c in enumerate(cols) if c.col.kind == "text"]
    # folded text gets back its whole words, the leftmost column (the row's name) first
    for i in text:
        grow = min(spare, max(0, cols[i].soft - widths[i]))
        widths[i] += grow
        spare -= grow
    # a number with its unit on one line, where it fits whole
    for i in sorted(range(len(cols)), key=lambda i: cols[i].natural - widths[i]):
        need = cols[i].natural - widths[i]
        if cols[i].col.kind == "words" and 0 < need <= spare:
            widths[i] += need
            spare -= need
    # then text grows up to its widest cell (the widest column is cut first when room is short)
    while spare > 0 and text:
        wanting = [i for i in text if widths[i] < cols[i].natural]
        if not wanting:
            break
        narrowest = min(wanting, key=lambda i: widths[i])
        widths[narrowest] += 1
        spare -= 1
    # headers on one line where the whole header fits, the shortest wants first
    for i in sorted(range(len(cols)), key=lambda i: cols[i].natural - widths[i]):
        need = cols[i].natural - widths[i]
        if 0 < need <= spare:
            widths[i] += need
            spare -= need
    return widths


def _table(cols: list[_Column], widths: list[int]) -> Table:
    t = Table(header_style="bold", box=box.SIMPLE_HEAD,
              show_edge=False, pad_edge=False, padding=(0, 1, 0, 0))  # fmt: skip
    for c, w in zip(cols, widths, strict=True):
        numeric = c.col.kind in ("num", "words")
        t.add_column(
            Text(c.col.header, no_wrap=False, overflow="fold"),
            justify="right" if numeric else "left",
            width=w,
            no_wrap=c.col.kind in ("num", "key"),
            overflow="fold" if c.col.kind == "text" else "ellipsis",
        )
    for row in zip(*(c.cells for c in cols), strict=True):
        t.add_row(*row)
    return t


def _hoisted(cols: list[_Column]) -> tuple[list[_Column], Text | None]:
    kept, said = [], []
    for c in cols:
        plain = {t.plain for t in c.cells}
        if c.col.optional and plain <= set(_EMPTY):
            continue
        if c.col.hoist and len(plain) == 1 and c.cells:
            said.append(Text.assemble((f"{c.col.header}: ", "bold"), c.cells[0]))
            continue
        kept.append(c)
    return kept, (Text(" · ").join(said) if said else None)


def fit(
    title: str | None, cols: Sequence[Col], rows: Sequence[Sequence[Cell]], width: int
) -> list[RenderableType]:
    """The tables (and the hoisted line) that show `rows` within `width` columns."""
    columns = [_Column.of(c, [_text(r[i]) for r in rows]) for i, c in enumerate(cols)]
    columns, said = _hoisted(columns)
    head: list[RenderableType] = []
    if title is not None:
        head.append(Text(title, style="table.title"))
    if said is not None:
        head.append(said)
    widths = _allocate(columns, width)
    if widths is not None:
        return [*head, _table(columns, widths)]
    return [*head, *_split(title, columns, width, len(rows))]


def _split(title: str | None, cols: list[_Column], width: int, n: int) -> list[RenderableType]:
    """The identifying columns and the numbers that fit beside them, then the other numbers,
    all keyed by row number."""
    key = _Column.of(Col("#", "num"), [Text(str(i)) for i in range(1, n + 1)])
    first = [key, *(c for c in cols if c.col.ident)]
    numbers = [c for c in cols if not c.col.ident]
    while numbers and _allocate([*first, numbers[0]], width) is not None:
        first.append(numbers.pop(0))
    parts: list[RenderableType] = [_table(first, _allocate(first, width) or _hard(first))]
    while numbers:
        part = [key, numbers.pop(0)]
        while numbers and _allocate([*part, numbers[0]], width) is not None:
            part.append(numbers.pop(0))
        more = f"{title} (continued, by #)" if title else "continued, by #"
        parts += [
            Text(more, style="table.title"),
            _table(part, _allocate(part, width) or _hard(part)),
        ]
    return parts


def _hard(cols: list[_Column]) -> list[int]:
    return [c.hard for c in cols]


def print_fit(
    console: Console, title: str | None, cols: Sequence[Col], rows: Sequence[Sequence[Cell]]
) -> None:
    for part in fit(title, cols, rows, console.width):
        console.print(part)
