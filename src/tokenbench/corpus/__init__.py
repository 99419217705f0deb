"""Corpus: directories of envelopes, loaded and verified."""

from tokenbench.corpus.loader import Corpus, LoadedRun, load_corpus

__all__ = ["Corpus", "LoadedRun", "load_corpus"]
