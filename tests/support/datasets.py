"""The unmodified eval data beside the checkout (../shared/datasets), used in place."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED_DATASETS = Path(__file__).resolve().parents[2].parent / "shared" / "datasets"

requires_shared = pytest.mark.skipif(
    not (SHARED_DATASETS / "MANIFEST.json").is_file(),
    reason=f"{SHARED_DATASETS} not present (CI provides ../shared beside the checkout)",
)
