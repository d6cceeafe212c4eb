"""The model card shows a checkpoint's nested scores as readable rows, not raw dicts."""

from __future__ import annotations

from diano.ui.views import metric_rows


def test_metric_rows_flatten_nested_scores() -> None:
    metrics = {
        "val_score": 0.089,
        "train_minutes": 45.0,
        "n_parameters": 1514914,
        "sample_rollout_1T": 0.13,
        "samples": {
            "cases": {"cylinder2d_re180": {}, "cylinder2d_re225": {}},
            "mean": {
                "model": {"0.1T": 0.09, "1T": 0.13},
                "persistence": {"0.1T": 0.55, "1T": 0.12},
                "latent_corr_wake": {"0T": 0.95},
            },
        },
        "heldout": "not scored: no data",
    }
    rows = dict(metric_rows(metrics))
    text = " ".join(f"{k} {v}" for k, v in rows.items())
    assert "{" not in text and "sample_rollout" not in text
    rollout = "latent-only rollout rel-L2 after a fraction of the period T"
    assert rows[f"{rollout} (committed held-out samples)"] == "0.1T: 0.090, 1T: 0.130"
    assert rows["latent–truth correlation, wake (committed held-out samples)"] == "0T: 0.950"
    assert rows["cases (committed held-out samples)"] == "cylinder2d_re180, cylinder2d_re225"
    assert rows["validation score (mean rel-L2 over the rollout window)"] == "0.089"
    assert rows["heldout"] == "not scored: no data"
