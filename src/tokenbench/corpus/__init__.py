"""Corpus: directories of envelopes, verified once into an index and read through it."""

from tokenbench.corpus.loader import Corpus, LoadedRun, envelope_files
from tokenbench.corpus.selection import load_corpus

__all__ = ["Corpus", "LoadedRun", "envelope_files", "load_corpus"]
