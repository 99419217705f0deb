"""Short labels for table cells; the full label stays in JSON, the HTML report and `--wide`."""

from __future__ import annotations

import re

# vendor words, trademarks, core counts and clocks: "AMD EPYC 7B13 64-Core Processor" → "EPYC 7B13"
_NOISE = re.compile(
    r"\((?:R|TM)\)|\b(?:NVIDIA|GeForce|Intel|AMD|CPU|Processor|Tesla)\b|\b\d+-Core\b"
    r"|@\s*[\d.]+\s*GHz|\bwith\b.*$",
    re.IGNORECASE,
)
_MAX = 18  # a short label longer than this keeps its first words


def short_hardware(label: str) -> str:
    """The label without vendor words and clocks, at most 18 characters and its count:
    "1× NVIDIA H100 80GB HBM3" → "1× H100 80GB HBM3", "AMD EPYC ×2" → "EPYC ×2"."""
    short = " ".join(_NOISE.sub(" ", label).split()) or label
    if len(short) <= _MAX:
        return short
    count = re.search(r"(^\d+× )|( ×\d+$)", short)  # keep "1× " / " ×16", trim the name
    lead = count.group(1) or "" if count else ""
    tail = count.group(2) or "" if count else ""
    name = short[len(lead) : len(short) - len(tail)].split()
    kept: list[str] = []
    for word in name:
        if kept and len(lead + " ".join([*kept, word]) + "…" + tail) > _MAX:
            break
        kept.append(word)
    return lead + " ".join(kept) + ("…" if len(kept) < len(name) else "") + tail


def hardware_cell(label: str, wide: bool) -> str:
    return label if wide else short_hardware(label)


_WITH_FINGERPRINT = re.compile(r"^(.*) (\[[0-9a-f]{8}\])$")


def axis_label(by: str, label: str, wide: bool) -> str:
    """A compare label: by hardware, "1× NVIDIA H100 80GB HBM3 [0a1b2c3d]" is shortened to
    "1× H100 80GB HBM3 [0a1b2c3d]" (the fingerprint keeps two machines apart); others stay."""
    match = _WITH_FINGERPRINT.match(label)
    if by != "hardware" or wide or match is None:
        return label
    return f"{short_hardware(match.group(1))} {match.group(2)}"
