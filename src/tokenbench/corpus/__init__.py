"""Corpus: directories of envelopes, loaded and verified."""

from tokenbench.corpus.loader import Corpus, LoadedRun, envelope_files, load_corpus

__all__ = ["Corpus", "LoadedRun", "envelope_files", "load_corpus"]
