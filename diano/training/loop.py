"""The training loop: Adam, a progress-driven schedule, validation, early stopping, resume, DDP.

``progress`` ∈ [0, 1] is the larger of the share of optimiser steps done and the share of
the wall-clock budget spent, so the learning-rate schedule and the rollout-horizon
curriculum finish properly whether the epochs or the minutes run out first. Under DDP
(``torchrun``; gloo on CPU, nccl on CUDA) every process samples its own batches, gradients
are averaged, and the processes agree on the progress by taking its maximum.

The state (weights, optimiser, progress, best weights, history, random generators) is saved
to ``<run_dir>/last.pt`` after every epoch; ``resume=True`` continues from it.
"""

from __future__ import annotations

import copy
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, RandomSampler
from tqdm.auto import tqdm

from diano.errors import CheckpointError, ConfigError
from diano.metrics import rel_l2
from diano.models.base import LatentModel
from diano.training.config import TrainConfig
from diano.training.objectives import Objective, decoded_steps, encode, map_fields

STATE_FILE = "last.pt"


@dataclass
class History:
    """What happened, epoch by epoch."""

    epochs: list[dict[str, Any]] = field(default_factory=list)
    best_score: float = math.inf
    best_epoch: int = -1
    iterations: int = 0
    seconds: float = 0.0
    stopped: str = ""


# -- distributed ------------------------------------------------------------------------
def dist_info() -> tuple[int, int]:
    """``(rank, world_size)`` of this process (``(0, 1)`` outside ``torchrun``)."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


def init_distributed(device: torch.device) -> tuple[int, int]:
    """Join the process group ``torchrun`` describes in the environment, if any."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not torch.distributed.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        torch.distributed.init_process_group(backend)
    return dist_info()


def _agree_max(value: float) -> float:
    rank, world = dist_info()
    if world == 1:
        return value
    t = torch.tensor([value], dtype=torch.float64)
    torch.distributed.all_reduce(t, op=torch.distributed.ReduceOp.MAX)
    return float(t.item())


# -- batches ----------------------------------------------------------------------------
def _to(batch: dict[str, Any], device: torch.device) -> dict[str, Any]:
    return {k: (v.to(device) if isinstance(v, Tensor) else v) for k, v in batch.items()}


def _batches(dataset: Dataset, config: TrainConfig, seed: int) -> Any:
    """An endless stream of random batches (with replacement), seeded per process."""
    generator = torch.Generator().manual_seed(seed)
    sampler = RandomSampler(dataset, replacement=True, num_samples=10**9, generator=generator)
    loader = DataLoader(
        dataset,
        batch_size=config.batch_size,
        sampler=sampler,
        num_workers=config.num_workers,
        drop_last=True,
    )
    return iter(loader)


# -- validation -------------------------------------------------------------------------
@torch.no_grad()
def validate(
    model: LatentModel, dataset: Dataset, device: torch.device, n_scored: int = 10
) -> dict[str, float]:
    """Validation rel-L2 over fluid cells: reconstruction, map, or latent-only rollout.

    Rollouts are scored at ``n_scored`` evenly spaced steps of each validation window (the
    score is their mean; ``final`` is the last step's error).
    """
    model.eval()
    loader = DataLoader(dataset, batch_size=8, shuffle=False)
    scores, finals = [], []
    for batch in loader:
        batch = _to(batch, device)
        if model.scenario == "many_to_one":
            pred = map_fields(model, batch["inputs"], batch["mask"])
            scores.append(rel_l2(pred, batch["target"], batch["mask"], reduction="none"))
            continue
        if model.scenario == "static":
            u, m = batch["u"], batch["mask"]
            pred = model.decode(encode(model, u, m), tuple(u.shape[2:]))
            scores.append(rel_l2(pred, u, m, reduction="none"))
            continue
        u, m = batch["u"], batch["mask"][:, 0]
        k = u.shape[1] - 1
        wanted = set(np.unique(np.linspace(1, k, min(n_scored, k)).round().astype(int)).tolist())
        z = encode(model, u[:, 0], m)
        errs = []
        for n in range(1, k + 1):
            z = model.step(z)
            if n in wanted:
                errs.append(
                    rel_l2(model.decode(z, tuple(u.shape[3:])), u[:, n], m, reduction="none")
                )
        stacked = torch.stack(errs, 1)
        scores.append(stacked.mean(1))
        finals.append(stacked[:, -1])
    model.train()
    out = {"score": float(torch.cat(scores).mean())}
    if finals:
        out["final"] = float(torch.cat(finals).mean())
    return out


# -- the loop ---------------------------------------------------------------------------
def _save_state(path: Path, payload: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)


def train(
    model: LatentModel,
    train_set: Dataset,
    val_set: Dataset,
    config: TrainConfig,
    *,
    device: torch.device,
    run_dir: str | Path,
    tie_region: Tensor | None = None,
    edit_region: Tensor | None = None,
    resume: bool = False,
    progress_bar: bool = True,
) -> History:
    """Train ``model`` in place; on return it holds the best validation weights.

    Args:
        model: a registered model with its normaliser already set.
        train_set, val_set: datasets of the scenario (see :mod:`diano.training.data`).
        config: training settings.
        device: where to train.
        run_dir: folder of the resumable state (``last.pt``) and ``history.json``.
        tie_region: latent-grid cells of the readability tie (``None``: all).
        edit_region: latent-grid cells where the edit-response term centres its bumps
            (``None``: all).
        resume: continue from ``run_dir/last.pt``.
        progress_bar: show a tqdm bar with the loss (main process only).

    Raises:
        CheckpointError: ``resume`` without a readable state, or one from another config.
    """
    rank, world = dist_info()
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(config.seed)
    model.to(device).train()
    objective = Objective(model, config, tie_region, edit_region).to(device)
    params = [p for p in model.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    wrapped: torch.nn.Module = objective
    if world > 1:
        wrapped = torch.nn.parallel.DistributedDataParallel(objective, find_unused_parameters=True)
    history = History()
    best_state = copy.deepcopy(model.state_dict())
    rng = np.random.default_rng([config.seed, rank])
    state_path = run_dir / STATE_FILE
    if resume:
        if not state_path.is_file():
            raise CheckpointError(f"--resume: no training state at {state_path}")
        try:
            saved = torch.load(state_path, map_location=device, weights_only=False)
        except Exception as exc:  # a truncated or foreign file
            raise CheckpointError(f"--resume: cannot read {state_path}: {exc}") from exc
        if saved.get("config") != asdict(config):
            raise CheckpointError(
                f"--resume: {state_path} was written with other training settings; "
                "use the same arguments or a new run folder"
            )
        model.load_state_dict(saved["model"])
        optimiser.load_state_dict(saved["optimiser"])
        best_state = saved["best_model"]
        history = History(**saved["history"])
        rng.bit_generator.state = saved["rng"]
        torch.set_rng_state(saved["torch_rng"])
    total_iters = config.epochs * config.iters_per_epoch
    budget = config.minutes * 60.0
    batches = _batches(train_set, config, config.seed * 1000 + rank + history.iterations)
    start_epoch = len(history.epochs)
    t_start = time.perf_counter() - history.seconds
    bar = tqdm(
        total=total_iters,
        initial=history.iterations,
        desc=f"{model.name}-{model.scenario}",
        disable=not progress_bar or rank != 0,
        unit="it",
    )
    progress = 0.0
    for epoch in range(start_epoch, config.epochs):
        sums: dict[str, float] = {}
        done = 0
        for _ in range(config.iters_per_epoch):
            elapsed = time.perf_counter() - t_start
            progress = _agree_max(max(history.iterations / total_iters, elapsed / budget))
            if progress >= 1.0:
                break
            k = config.horizon(progress)
            objective.progress = progress
            for group in optimiser.param_groups:
                group["lr"] = config.lr * config.lr_factor(progress)
            batch = _to(next(batches), device)
            if (
                "u" in batch
                and batch["u"].dim() >= 3
                and model.scenario in ("temporal", "geometric")
            ):
                batch["u"] = batch["u"][:, : k + 1]
            steps = decoded_steps(k, config.n_decoded, rng)
            terms = wrapped(batch, k, steps)
            if not torch.isfinite(terms.total):
                raise ConfigError(
                    f"the loss became {float(terms.total.detach())} at iteration "
                    f"{history.iterations}; lower the learning rate"
                )
            optimiser.zero_grad(set_to_none=True)
            terms.total.backward()
            if config.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(params, config.grad_clip)
            optimiser.step()
            history.iterations += 1
            done += 1
            for key, value in {"loss": float(terms.total.detach()), **terms.parts}.items():
                sums[key] = sums.get(key, 0.0) + value
            bar.update(1)
            bar.set_postfix(loss=f"{float(terms.total.detach()):.4g}", K=k)
        val = validate(model, val_set, device)
        history.seconds = time.perf_counter() - t_start
        record = {
            "epoch": epoch,
            "iterations": history.iterations,
            "seconds": round(history.seconds, 1),
            "horizon": config.horizon(progress),
            "lr": optimiser.param_groups[0]["lr"],
            **{f"train_{k}": v / max(1, done) for k, v in sums.items()},
            **{f"val_{k}": v for k, v in val.items()},
        }
        history.epochs.append(record)
        # the rollout score only compares like with like once the curriculum has finished
        comparable = config.horizon(progress) == config.k_max
        if comparable and val["score"] < history.best_score:
            history.best_score, history.best_epoch = val["score"], epoch
            best_state = copy.deepcopy(model.state_dict())
        if rank == 0:
            bar.write(
                f"epoch {epoch}: "
                + ", ".join(
                    f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
                    for k, v in record.items()
                    if k != "epoch"
                )
            )
            _save_state(
                state_path,
                {
                    "config": asdict(config),
                    "model": model.state_dict(),
                    "optimiser": optimiser.state_dict(),
                    "best_model": best_state,
                    "history": asdict(history),
                    "rng": rng.bit_generator.state,
                    "torch_rng": torch.get_rng_state(),
                },
            )
        if progress >= 1.0:
            history.stopped = "time budget" if history.iterations < total_iters else "epochs"
            break
        if config.patience and comparable and epoch - history.best_epoch >= config.patience:
            history.stopped = f"early stop: no better validation in {config.patience} epochs"
            break
    else:
        history.stopped = "epochs"
    bar.close()
    if history.best_epoch < 0:  # never reached the full horizon: keep the last weights
        history.best_score = history.epochs[-1]["val_score"] if history.epochs else math.inf
        history.best_epoch = len(history.epochs) - 1
        best_state = copy.deepcopy(model.state_dict())
    model.load_state_dict(best_state)
    model.eval()
    return history
