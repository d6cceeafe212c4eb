"""Cached loaders: models (shared, read-only), cases and model outputs.

* Models are loaded once per process with ``st.cache_resource``, put in eval mode with
  gradients off, and never changed afterwards; edits are separate tensors in session state.
* Cases and predictions are large read-only arrays, also shared through
  ``st.cache_resource`` (``st.cache_data`` would copy tens of MB on every read); their arrays
  are marked read-only so that an accidental in-place change fails loudly.
* Every cache key includes the checkpoint folder and file time stamp, or the samples
  folder, so pointing ``DIANO_CHECKPOINT_DIR`` / ``DIANO_SAMPLES_DIR`` elsewhere or
  retraining a model gives fresh results.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import streamlit as st
import torch

from diano.checkpoints import (
    CheckpointInfo,
    checkpoint_path,
    default_root,
    load_pretrained,
    read_checkpoint_info,
)
from diano.data import FlowData, load, samples_dir
from diano.errors import CheckpointError, DataError, DianoError
from diano.explore import Prediction, predict

#: scenarios the pages use, in order of preference (one benchmark has one marching scenario)
SCENARIO_PREFERENCE = ("temporal", "geometric", "many_to_one", "static")


def checkpoint_root() -> Path:
    """The checkpoint folder: ``$DIANO_CHECKPOINT_DIR`` or the repository's ``checkpoints/``."""
    return default_root()


def available_scenarios(benchmark: str, name: str) -> list[str]:
    """Scenarios with a checkpoint file for ``name`` on ``benchmark``, preferred first."""
    found = []
    for scenario in SCENARIO_PREFERENCE:
        try:
            path = checkpoint_path(benchmark, name, scenario, checkpoint_root())
        except DianoError:  # no such variant of this model
            continue
        if path.is_file():
            found.append(scenario)
    return found


@dataclass(frozen=True, eq=False)
class LoadedModel:
    """A loaded checkpoint: the model (read-only) and what its file says about it."""

    model: torch.nn.Module
    name: str
    benchmark: str
    scenario: str
    device: str
    info: CheckpointInfo

    @property
    def path(self) -> Path:
        return self.info.path

    @property
    def key(self) -> tuple:
        """Hashable identity for caches of this model's outputs."""
        return (
            self.benchmark,
            self.name,
            self.scenario,
            self.device,
            str(self.path),
            self.info.sha256,
        )


@st.cache_resource(show_spinner="Loading the model …", max_entries=16)
def _load_model(
    benchmark: str, name: str, scenario: str, device: str, root: str, stamp: float
) -> LoadedModel:
    model = load_pretrained(benchmark, name, scenario=scenario, device=device, root=root)
    model.eval()
    model.requires_grad_(False)  # read-only; saliency differentiates the latent only
    info = read_checkpoint_info(checkpoint_path(benchmark, name, scenario, root))
    return LoadedModel(model, name, benchmark, scenario, device, info)


def load_model(benchmark: str, name: str, device: str = "cpu") -> LoadedModel:
    """The model ``name`` for ``benchmark`` (temporal checkpoint preferred).

    Raises:
        CheckpointError: no checkpoint yet (the message says how to train one), or the
            file fails verification against the manifest.
    """
    root = checkpoint_root()
    scenarios = available_scenarios(benchmark, name)
    if not scenarios:
        raise CheckpointError(
            f"no trained checkpoint for {name} on {benchmark} yet (looked in "
            f"{root / benchmark}) — run `diano train {benchmark} {name}`"
        )
    path = checkpoint_path(benchmark, name, scenarios[0], root)
    return _load_model(benchmark, name, scenarios[0], device, str(root), path.stat().st_mtime)


@dataclass(frozen=True)
class CaseEntry:
    """One case a person can pick: file id, Reynolds number, split, snapshot count."""

    case_id: str
    re: float | None
    split: str | None
    n_times: int

    @property
    def label(self) -> str:
        """``Re 180 (held out)`` for a case named by its Re; otherwise the case's own name
        first (``0182 · Re 30.2``, ``s45_re110 · Re 110``), since Re alone does not tell
        two vessels or stenoses apart."""
        held = " (held out)" if self.split in ("test", "val", "held_out", "heldout") else ""
        if self.re is None:
            return f"{self.case_id}{held}"
        re = f"Re {self.re:.0f}" if abs(self.re - round(self.re)) < 0.05 else f"Re {self.re:.1f}"
        name = self.case_id.split("_", 1)[-1]
        if name.startswith("re"):
            return f"{re}{held}"
        return f"{name} · {re}{held}"


def samples_key() -> str:
    """The samples folder, as part of cache keys (it follows ``$DIANO_SAMPLES_DIR``)."""
    return str(samples_dir())


@st.cache_data(show_spinner=False, ttl=30)
def _list_cases(benchmark: str, samples: str) -> list[CaseEntry]:
    collection = load(benchmark)
    return [CaseEntry(info.case_id, info.re, info.split, info.n_times) for info in collection.infos]


def list_cases(benchmark: str) -> list[CaseEntry]:
    """The committed sample cases of ``benchmark``; raises DataError when there are none."""
    return _list_cases(benchmark, samples_key())


@st.cache_resource(show_spinner="Reading the case …", max_entries=8)
def _load_case(benchmark: str, case_id: str, samples: str) -> FlowData:
    data = load(benchmark)[case_id]
    data.fields.setflags(write=False)
    return data


def load_case(benchmark: str, case_id: str) -> FlowData:
    """One case of ``benchmark`` (shared, read-only arrays)."""
    return _load_case(benchmark, case_id, samples_key())


def model_truth(case: FlowData, loaded: LoadedModel) -> np.ndarray:
    """The case's fields in the model's input channels, ``(T, C, H, W)`` (read-only view)."""
    channels = tuple(loaded.model.config.in_channels)
    missing = [c for c in channels if c not in case.channels]
    if missing:
        raise DataError(
            f"{loaded.name} reads channels {list(channels)}, but case {case.case_id} holds "
            f"{list(case.channels)}"
        )
    index = [case.channels.index(c) for c in channels]
    return case.fields[:, index]


@st.cache_resource(show_spinner=False, max_entries=24)
def _prediction(
    model_key: tuple, case_key: tuple, mode: str, start: int, n_steps: int
) -> Prediction:
    benchmark, name, _scenario, device, _path, _sha = model_key
    loaded = load_model(benchmark, name, device)
    case = load_case(*case_key[:2])
    truth = model_truth(case, loaded)
    pred = predict(loaded.model, truth, mode, start=start, n_steps=n_steps, mask=case.mask)
    pred.fields.setflags(write=False)
    if pred.latents is not None:
        pred.latents.setflags(write=False)
    return pred


def prediction(
    loaded: LoadedModel, case: FlowData, mode: str, start: int, n_steps: int
) -> Prediction:
    """``diano.explore.predict`` for this model and case, computed once per input."""
    case_key = (loaded.benchmark, case.case_id, samples_key())
    return _prediction(loaded.key, case_key, mode, int(start), int(n_steps))
