"""Which run measured what an eval scored (the same model, engine, quant and hardware), and what
a run sent beyond its suite (its workload key), so only like is grouped, paired or set beside."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from tokenbench.corpus.loader import Corpus, LoadedEval
from tokenbench.envelope.canonical import canonical
from tokenbench.envelope.schema import EvalPredicate, RunPredicate


def setup_key(p: RunPredicate | EvalPredicate) -> tuple[str, str, str, str]:
    """What a run or an eval was of: model, engine (and version), quant and hardware
    (fingerprint). The model id alone could be another engine or GPU."""
    model = p.target.model
    return (model.model_id, p.target.engine.label, (model.quant or "").lower(),
            p.hardware.fingerprint)  # fmt: skip


# A run's workload key when it set none of what the key digests (older envelopes too): what
# `bench compare` names it in a pair's point and its notes, and what `--at workload=` selects.
PLAIN = "plain"
# The parts of the key, as a reader names them.
WORKLOAD_PARTS = {"extra_body": "extra body", "distributions": "length distributions",
                  "trace": "trace", "prompt_file": "prompts file"}  # fmt: skip


def workload_parts(p: RunPredicate) -> dict[str, object]:
    """What the workload key digests, by part (WORKLOAD_PARTS): those the run set."""
    workload, passthrough = p.parameters.workload, p.parameters.passthrough
    parts: dict[str, object] = {}
    if passthrough is not None and passthrough.extra_body:
        parts["extra_body"] = passthrough.extra_body
    if workload.distributions:
        parts["distributions"] = workload.distributions
    if (trace := workload.trace) is not None:  # its request count is the load's, as elsewhere
        parts["trace"] = [trace.sha256, trace.format, trace.block_tokens, trace.speedup]
    if (source := workload.prompt_file) is not None:
        parts["prompt_file"] = [source.sha256, source.columns]
    return parts


def workload_key(p: RunPredicate) -> str:
    """What a run sent beyond its suite and load point, as a short digest: the extra body
    (thinking on or off, tools), the length distributions, the replayed trace and the prompts
    file, the last two by content. PLAIN when none was set, so envelopes from before these were
    recorded keep their grouping."""
    parts = workload_parts(p)
    return hashlib.sha256(canonical(parts)).hexdigest()[:12] if parts else PLAIN


def same_setup(run: RunPredicate, ev: EvalPredicate) -> bool:
    """Whether a run measured what the eval scored."""
    return setup_key(run) == setup_key(ev)


@dataclass(frozen=True, slots=True)
class Speed:
    tok_per_s: float | None
    at: str | None  # "concurrency 16", or "eval, concurrency 4"
    predicate: RunPredicate | EvalPredicate | None  # the run (or the eval) the figure is from
    reason: str | None  # why there is no figure

    @property
    def run(self) -> RunPredicate | None:
        """The speed run, when the figure is from one (not from the eval's own requests)."""
        return self.predicate if isinstance(self.predicate, RunPredicate) else None


def speed_of(corpus: Corpus, eligible: set[str], ev: LoadedEval) -> Speed:
    """The fastest valid run of the eval's setup among `eligible` paths; else the eval's own
    requests; else why there is none."""
    p = ev.predicate
    best = corpus.fastest_run(lambda r: str(r.path) in eligible and same_setup(r.predicate, p))
    if best is not None:
        bp = best.predicate
        return Speed(bp.metrics.output_throughput_tok_per_s, bp.parameters.load.label, bp, None)
    if p.metrics.output_throughput_tok_per_s is not None:
        # no run of this setup: the eval's own requests are the speed evidence
        return Speed(p.metrics.output_throughput_tok_per_s,
                     f"eval, concurrency {p.parameters.concurrency}", p, None)  # fmt: skip
    return Speed(None, None, None, _why_no_run(corpus, eligible, p))


def _why_no_run(corpus: Corpus, eligible: set[str], p: EvalPredicate) -> str:
    same_model = [r for r in corpus.runs if str(r.path) in eligible
                  and r.predicate.target.model.model_id == p.target.model.model_id]  # fmt: skip
    if not same_model:
        return f"no run of {p.target.model.model_id} in the corpus"
    if any(same_setup(r.predicate, p) for r in same_model):
        return "no valid run of this setup with a throughput"
    return (f"no run of {p.target.model.model_id} on the eval's engine, quant and hardware "
            f"({p.target.engine.label}, {p.target.model.quant or 'quant unknown'}, "
            f"{p.hardware.label})")  # fmt: skip
