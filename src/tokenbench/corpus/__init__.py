"""Corpus: directories of envelopes, loaded and validated."""

from tokenbench.corpus.loader import Corpus, load_corpus

__all__ = ["Corpus", "load_corpus"]
