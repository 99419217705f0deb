"""API prices from PyPI `genai-prices`' bundled data (offline; never its auto-update): input,
output and cached-input $ per 1M tokens, and blended rates at a given input-token share."""

from __future__ import annotations

import datetime as dt
import difflib
from dataclasses import dataclass
from decimal import Decimal
from importlib import metadata
from typing import Any

from genai_prices import data_snapshot
from genai_prices.types import TieredPrices

from tokenbench.errors import ConfigError


@dataclass(frozen=True, slots=True)
class ApiRate:
    provider: str
    model: str  # the model id in the price data
    input_usd_per_mtok: Decimal
    output_usd_per_mtok: Decimal
    cached_input_usd_per_mtok: Decimal | None  # None: no cache-read price (input price applies)
    source: str  # "genai-prices 0.2.3"
    data_date: dt.date | None  # newest price change dated in the data
    tiered: bool  # the data has volume tiers; these are the base rates

    def blended(self, input_share: Decimal, cached_share: Decimal = Decimal(0)) -> Decimal:
        """$ per 1M tokens of a mix where `input_share` of tokens are input and `cached_share`
        of those input tokens are read from the provider's prompt cache."""
        check_share("--input-token-share", input_share)
        check_share("--cached-share", cached_share)
        cached = self.cached_input_usd_per_mtok
        if cached is None:
            cached = self.input_usd_per_mtok
        input_rate = (1 - cached_share) * self.input_usd_per_mtok + cached_share * cached
        return input_share * input_rate + (1 - input_share) * self.output_usd_per_mtok


def check_share(flag: str, share: Decimal) -> None:
    if not Decimal(0) <= share <= Decimal(1):
        raise ConfigError(f"{flag} {share} is outside 0..1")


def _snapshot() -> Any:
    return data_snapshot.get_snapshot()


def source_label() -> str:
    return f"genai-prices {metadata.version('genai-prices')}"


def data_date(today: dt.date | None = None) -> dt.date | None:
    """The newest price change in the bundled data that is already in effect: how fresh the
    prices are (the data also schedules future changes; rates are the ones in effect today)."""
    today = today or dt.datetime.now(dt.UTC).date()
    newest: dt.date | None = None
    for provider in _snapshot().providers:
        for model in provider.models:
            prices = model.prices if isinstance(model.prices, list) else []
            for conditional in prices:
                start = getattr(getattr(conditional, "constraint", None), "start_date", None)
                if isinstance(start, dt.datetime):
                    start = start.date()
                if (
                    isinstance(start, dt.date)
                    and start <= today
                    and (newest is None or start > newest)
                ):
                    newest = start
    return newest


def providers() -> list[str]:
    return sorted(p.id for p in _snapshot().providers)


def api_rate(provider: str, model: str) -> ApiRate:
    """The rates of `model` at `provider` in effect now, read from genai-prices' own
    `ModelPrice` (a tiered price gives its base tier); unknown names fail with close matches."""
    snap = _snapshot()
    by_id = {p.id: p for p in snap.providers}
    if provider not in by_id:
        raise _unknown("provider", provider, by_id)
    try:
        _, info = snap.find_provider_model(model, None, provider, None)
    except LookupError:
        raise _unknown(f"{provider} model", model, [m.id for m in by_id[provider].models]) from None
    price = info.get_prices(dt.datetime.now(dt.UTC))
    cached = _base(price.cache_read_mtok)
    return ApiRate(
        provider=provider,
        model=info.id,
        input_usd_per_mtok=_base(price.input_mtok) or Decimal(0),
        output_usd_per_mtok=_base(price.output_mtok) or Decimal(0),
        cached_input_usd_per_mtok=cached,
        source=source_label(),
        data_date=data_date(),
        tiered=any(isinstance(v, TieredPrices) for v in vars(price).values()),
    )


def _base(value: Decimal | TieredPrices | None) -> Decimal | None:
    """$ per 1M tokens below every volume tier."""
    if value is None:
        return None
    return (value.base if isinstance(value, TieredPrices) else value).normalize()


def _unknown(kind: str, name: str, known: Any) -> ConfigError:
    names = sorted(set(known))
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
    hint = (
        "did you mean " + " or ".join(repr(c) for c in close) + "?"
        if close
        else f"{len(names)} known; list them with `bench cost --list` "
    )
    return ConfigError(f"unknown {kind} {name!r} in {source_label()}; {hint}")


def models(provider: str) -> list[str]:
    """`id  name  prices` lines of one provider's models."""
    by_id = {p.id: p for p in _snapshot().providers}
    if provider not in by_id:
        raise _unknown("provider", provider, by_id)
    return [f"{m.id}  {m.prices if not isinstance(m.prices, list) else '(dated prices)'}"
            for m in by_id[provider].models]  # fmt: skip
