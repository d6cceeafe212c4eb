"""Every shipped checkpoint matches the manifest and reproduces the scores it reports on the
committed samples (latent-only rollouts included) within a stated tolerance."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from diano.checkpoints import MANIFEST, default_root, load_checkpoint, verify_manifest
from diano.data import load
from diano.evaluation import evaluate_cases, period_steps

ROOT = default_root()
ENTRIES = sorted(json.loads((ROOT / MANIFEST).read_text())["files"])

#: relative tolerance on a reproduced score (the same code on the same float16 samples;
#: what remains is floating-point summation order across machines)
RTOL, ATOL = 0.02, 2e-3


def _numbers(tree: Any, prefix: str = "") -> dict[str, float]:
    if isinstance(tree, dict):
        out: dict[str, float] = {}
        for key, value in tree.items():
            out.update(_numbers(value, f"{prefix}/{key}"))
        return out
    if isinstance(tree, (int, float)) and not isinstance(tree, bool):
        return {prefix: float(tree)}
    return {}


def test_manifest_lists_only_files_that_verify() -> None:
    assert verify_manifest(ROOT) == []
    on_disk = {p.relative_to(ROOT).as_posix() for p in Path(ROOT).rglob("*.safetensors")}
    assert on_disk == set(ENTRIES)


@pytest.mark.slow
@pytest.mark.parametrize("entry", ENTRIES)
def test_checkpoint_reproduces_its_sample_scores(entry: str) -> None:
    model, info = load_checkpoint(ROOT / entry, manifest=ROOT / MANIFEST)
    reported = info.metrics.get("samples")
    assert isinstance(reported, dict), f"{entry} reports no scores on the committed samples"
    sample = load(info.benchmark)
    scored = evaluate_cases(model, list(sample), n_starts=3)
    expected, got = _numbers(reported["mean"]), _numbers(scored["mean"])
    assert expected, f"{entry}: no numbers in its reported sample scores"
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, rel=RTOL, abs=ATOL), key
    # within the horizon it was trained to march, a latent-only rollout never blows up (past
    # it, a baseline may: the CNO trained on 4-step windows does, and reports it)
    trained = info.extra.get("trained_horizon")
    if "model" in scored["mean"] and trained is not None:
        # snapshots per shedding period (cylinder) or per cardiac cycle (stenosis)
        period = min(period_steps(c) for c in sample)
        for horizon, error in scored["mean"]["model"].items():
            if float(horizon.rstrip("T")) * period <= int(trained):
                assert error < 1.5, f"{entry}: latent-only rollout error {error} at {horizon}"
