"""Training losses for the four scenarios, over fluid cells only.

Every field loss compares *normalised* fields (each channel divided by its training standard
deviation, the model's own normaliser) over fluid cells: by default their mean squared error,
or with ``field_loss="relative"`` the squared relative L2 per sample, which weighs a
low-energy snapshot as much as a strong one:

- static: reconstruction ``D(E(u)) ≈ u``;
- temporal and geometric: a latent-only rollout. Encode the first snapshot of a window of
  ``K + 1``, advance the latent ``K`` steps with the model's ``step`` alone (the latent PDE
  for DIANO, the learned stepper for the baselines), decode a few of the marched steps
  (step 1, step K and random steps between, so the cost does not grow with K) and compare
  with the truth; plus the reconstruction of the first snapshot. K = 1 without
  reconstruction is the paper's one-step teacher forcing;
- many-to-one: the mapped output ``map(u, v, w) ≈ p``.

The readability tie ``w · (1 − corr(z, pool(ω)))`` (DIANO on a latent grid) uses a Pearson
correlation per sample, which a shrinking latent cannot lower, on the encoded latent and on
each decoded marched latent against the pooled truth at the same time. In the many-to-one
scenario it ties DIANO's latent velocities, component by component, to the box-averaged
input velocities, so that the Poisson solve between them acts on (coarse) velocities. In the
geometric scenario it ties the latent line (the sum of its channels: a standing profile and
a travelling part) to the centreline velocity read from the vorticity
(:func:`~diano.metrics.centreline_velocity`), and, on a marched line, also what the march
changed since the start to what the flow changed: ``½ (1 − corr(z_n, u_c(n))) + ½ (1 −
corr(z_n − z_0, u_c(n) − u_c(0)))``.

The edit-response term ``w · (1 − corr(D(z + b) − D(z), b̂))`` asks that a vortex-like
Gaussian bump ``b`` added to the decoded latent channel (the field of a carrier latent)
decodes to the same bump ``b̂`` on the data grid, in the first output channel (the vorticity),
correlated over fluid cells: the right sign, in the right place, and nothing elsewhere. It is
what the latent editor assumes; the bump's centre, width and amplitude are drawn at random
per sample, in the edit region (the wake of the cylinder), on the encoded latent.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from diano.metrics import latent_correlation, line_correlation, pearson
from diano.models.base import LatentModel
from diano.training.config import TrainConfig


def takes_mask(fn: Any) -> bool:
    """True when a model method accepts a ``mask`` keyword (DIANO's do, the baselines' not)."""
    try:
        return "mask" in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


def encode(model: LatentModel, u: Tensor, mask: Tensor | None) -> Tensor:
    return model.encode(u, mask=mask) if takes_mask(model.encode) else model.encode(u)


def map_fields(model: LatentModel, inputs: Tensor, mask: Tensor | None) -> Tensor:
    return model.map(inputs, mask=mask) if takes_mask(model.map) else model.map(inputs)


def normalised_mse(model: LatentModel, pred: Tensor, true: Tensor, mask: Tensor | None) -> Tensor:
    """Mean over fluid cells and samples of ``((pred − true) / std)²`` (std per channel)."""
    std = model.out_norm.std.to(pred.dtype).view(1, -1, *([1] * (pred.dim() - 2)))
    err = ((pred - true) / std) ** 2
    if mask is None:
        return err.mean()
    w = mask.to(err.dtype).expand_as(err)
    return (err * w).sum() / w.sum().clamp_min(1.0)


def relative_mse(model: LatentModel, pred: Tensor, true: Tensor, mask: Tensor | None) -> Tensor:
    """Mean over samples of ``‖pred − true‖² / ‖true‖²`` over fluid cells, each channel
    divided by its training standard deviation: the squared rel-L2 the evaluation reports, so
    a snapshot weighs the same whatever its energy (a pulsatile flow's slow phase counts as
    much as its peak). A field with next to no energy (rms below 1e-3 standard deviations)
    is measured against that floor."""
    std = model.out_norm.std.to(pred.dtype).view(1, -1, *([1] * (pred.dim() - 2)))
    err, ref = ((pred - true) / std) ** 2, (true / std) ** 2
    dims = tuple(range(1, pred.dim()))
    if mask is None:
        cells = torch.full_like(err.sum(dims), float(err[0].numel()))
    else:
        w = mask.to(err.dtype).expand_as(err)
        err, ref, cells = err * w, ref * w, w.sum(dims)
    return (err.sum(dims) / (ref.sum(dims) + 1e-6 * cells.clamp_min(1.0))).mean()


#: the field losses :attr:`TrainConfig.field_loss` names
FIELD_LOSSES = {"mse": normalised_mse, "relative": relative_mse}


def decoded_steps(k: int, n_decoded: int, rng: np.random.Generator) -> list[int]:
    """Steps of a K-step march to decode: 1, K and random ones between (sorted, unique)."""
    steps = {1, k}
    middle = np.arange(2, k)
    extra = min(max(0, n_decoded - len(steps)), middle.size)
    if extra:
        steps.update(int(s) for s in rng.choice(middle, size=extra, replace=False))
    return sorted(steps)


def _gaussian(centre: Tensor, sigma: Tensor, shape: Sequence[int]) -> Tensor:
    """Unit Gaussians ``(B, 1, Ny, Nx)`` on an ``Ny × Nx`` cell-centred grid of the unit box:
    ``centre (B, 2)`` as box fractions ``(y, x)``, ``sigma (B, 2)`` as box fractions."""
    ny, nx = (int(n) for n in shape)
    y = (torch.arange(ny, dtype=centre.dtype, device=centre.device) + 0.5) / ny
    x = (torch.arange(nx, dtype=centre.dtype, device=centre.device) + 0.5) / nx
    gy = ((y[None] - centre[:, :1]) / sigma[:, :1]) ** 2  # (B, Ny)
    gx = ((x[None] - centre[:, 1:]) / sigma[:, 1:]) ** 2  # (B, Nx)
    return torch.exp(-0.5 * (gy[:, :, None] + gx[:, None, :]))[:, None]


def random_bumps(
    field: Tensor,
    fine_shape: Sequence[int],
    region: Tensor | None = None,
    sigma_cells: tuple[float, float] = (0.75, 2.0),
    amplitude: tuple[float, float] = (1.0, 3.0),
    shift: float = 0.0,
) -> tuple[Tensor, Tensor]:
    """One random Gaussian bump per sample of a latent channel ``field (B, 1, My, Mx)``.

    The centre lies in a random cell of ``region`` (bool ``(My, Mx)``; ``None``: any cell),
    anywhere inside it; the width is ``sigma_cells`` latent cells; the peak is ``amplitude``
    times the sample's latent standard deviation, with a random sign.

    Returns:
        ``(bump, image)``: the bump on the latent grid, and the same bump (unit peak, same
        sign) on the cell-centred ``fine_shape`` grid of the same box, its centre moved
        ``shift`` box lengths along x (where the flow carries it).
    """
    b, _, my, mx = field.shape
    dev, dt = field.device, field.dtype
    cells = (
        torch.ones(my, mx, dtype=torch.bool, device=dev) if region is None else region.bool()
    ).nonzero()
    pick = cells[torch.randint(len(cells), (b,), device=dev)].to(dt)
    centre = (pick + torch.rand(b, 2, device=dev, dtype=dt)) / torch.tensor(
        [my, mx], device=dev, dtype=dt
    )
    s = sigma_cells[0] + (sigma_cells[1] - sigma_cells[0]) * torch.rand(b, 1, device=dev, dtype=dt)
    sigma = s / torch.tensor([my, mx], device=dev, dtype=dt)
    sign = torch.where(torch.rand(b, device=dev) < 0.5, -1.0, 1.0).to(dt)
    scale = amplitude[0] + (amplitude[1] - amplitude[0]) * torch.rand(b, device=dev, dtype=dt)
    peak = (sign * scale * field.detach().flatten(1).std(dim=1)).view(b, 1, 1, 1)
    moved = centre + torch.tensor([0.0, float(shift)], device=dev, dtype=dt)
    return peak * _gaussian(centre, sigma, (my, mx)), sign.view(b, 1, 1, 1) * _gaussian(
        moved, sigma, fine_shape
    )


@dataclass
class LossTerms:
    """The total loss and its parts (floats, for logs)."""

    total: Tensor
    parts: dict[str, float]


class Objective(nn.Module):
    """The loss of one scenario as a module, so that DDP sees a ``forward``.

    Args:
        model: the model to train.
        config: training settings (weights, horizon, decoded steps).
        tie_region: bool latent-grid mask where the tie is measured, or ``None`` for all
            cells (ignored unless the tie is on).
        edit_region: bool latent-grid mask of the cells where the edit-response term centres
            its bumps, or ``None`` for all cells (ignored unless that term is on).
    """

    def __init__(
        self,
        model: LatentModel,
        config: TrainConfig,
        tie_region: Tensor | None = None,
        edit_region: Tensor | None = None,
    ) -> None:
        super().__init__()
        self.model = model
        self.config = config
        self.field_loss = FIELD_LOSSES[config.field_loss]
        self.register_buffer("tie_region", tie_region, persistent=False)
        self.register_buffer("edit_region", edit_region, persistent=False)
        diano_grid = model.name == "diano"
        self.tie_on = (
            config.tie_weight > 0
            and diano_grid
            and model.scenario in ("static", "temporal", "many_to_one", "geometric")
        )
        #: share of the run done (the loop sets it); the edit term starts at ``edit_start``
        self.progress = 0.0
        self.edit_used = (
            config.edit_weight > 0
            and diano_grid
            and model.scenario in ("static", "temporal")
            and len(getattr(model, "latent_shape", ())) == 3  # (C, My, Mx): a 2D grid
        )

    @property
    def edit_on(self) -> bool:
        """Whether the edit-response term is part of the loss now."""
        return self.edit_used and self.progress >= self.config.edit_start

    def edit(self, z: Tensor, decoded: Tensor, mask: Tensor | None) -> Tensor:
        """Mean ``1 − corr(D(z + b) − D(z), b on the data grid)`` over the batch, for random
        bumps ``b`` in the first latent channel (``decoded = D(z)``). With ``edit_steps``
        n > 0 in a marching scenario, both latents are first marched a random 0…n steps and
        the decoded change is compared with the bump carried that far at the latent's
        x-speed: an edit must stay itself as it marches."""
        shape = tuple(decoded.shape[2:])
        a = self.config.edit_amplitude
        n = self._edit_march()
        shift = self._latent_shift(n)
        bump, image = random_bumps(
            z[:, :1], shape, self.edit_region, amplitude=(a / 2, 3 * a / 2), shift=shift
        )
        z_edit = torch.cat([z[:, :1] + bump, z[:, 1:]], dim=1)
        if n == 0:
            delta = self.model.decode(z_edit, shape)[:, :1] - decoded[:, :1]
        else:
            pair = self.model.decode(self.model.step(torch.cat([z, z_edit]), n), shape)[:, :1]
            delta = pair[z.shape[0] :] - pair[: z.shape[0]]
        return (1.0 - pearson(delta, image, mask=mask)).mean()

    def _edit_march(self) -> int:
        """Steps the edited latent is marched before it is compared (0 without marching)."""
        n = self.config.edit_steps
        if n <= 0 or self.model.scenario not in ("temporal", "geometric"):
            return 0
        return int(torch.randint(0, n + 1, ()).item())

    def _latent_shift(self, n: int) -> float:
        """How far (box lengths along x) the latent's advection carries a bump in ``n`` steps."""
        if n == 0:
            return 0.0
        pde = getattr(getattr(self.model, "config", None), "pde", None)
        if pde is None or getattr(pde, "velocity", None) is None:
            return 0.0
        box = float(pde.box[-1]) if pde.box is not None else 1.0
        return float(pde.velocity[0]) * float(pde.dt) * n / box

    def tie(self, z: Tensor, truth: Tensor, mask: Tensor | None) -> Tensor:
        """Mean ``1 − corr(z, pooled truth)`` over the batch (first latent channel)."""
        channels = min(z.shape[1], truth.shape[1])
        corr = latent_correlation(
            z[:, :channels], truth[:, :channels], region=self.tie_region, mask=mask
        )
        return (1.0 - corr).mean()

    def line_tie(
        self,
        z: Tensor,
        vorticity: Tensor,
        mask: Tensor | None,
        start: tuple[Tensor, Tensor] | None = None,
    ) -> Tensor:
        """Geometric: mean ``1 − corr(Σ_c z, u_c)`` over the batch, ``u_c`` the centreline
        velocity of ``vorticity``; with ``start = (z_0, vorticity_0)`` (a marched line) the
        mean of that and ``1 − corr(z − z_0, u_c − u_c(0))``."""
        loss = 1.0 - line_correlation(z, vorticity, mask)
        if start is not None:
            z0, w0 = start
            change = 1.0 - line_correlation(z - z0, vorticity - w0, mask)
            # a whole cycle of a periodic record brings the flow back: nothing to compare
            moved = (vorticity - w0).flatten(1).abs().amax(dim=1) > 0
            loss = torch.where(moved, 0.5 * (loss + change), loss)
        return loss.mean()

    def forward(self, batch: dict[str, Any], k: int = 1, steps: Sequence[int] = (1,)) -> LossTerms:
        scenario = self.model.scenario
        if scenario == "many_to_one":
            return self._map(batch)
        if scenario == "static":
            return self._static(batch)
        return self._rollout(batch, k, steps)

    def _static(self, batch: dict[str, Any]) -> LossTerms:
        u, mask = batch["u"], batch["mask"]
        z = encode(self.model, u, mask)
        decoded = self.model.decode(z, tuple(u.shape[2:]))
        rec = self.field_loss(self.model, decoded, u, mask)
        parts = {"recon": float(rec.detach())}
        total = rec
        if self.tie_on:
            tie = self.tie(z, u, mask)
            total = total + self.config.tie_weight * tie
            parts["tie"] = float(tie.detach())
        if self.edit_on:
            edit = self.edit(z, decoded, mask)
            total = total + self.config.edit_weight * edit
            parts["edit"] = float(edit.detach())
        return LossTerms(total, parts)

    def _map(self, batch: dict[str, Any]) -> LossTerms:
        mask, inputs = batch["mask"], batch["inputs"]
        if not self.tie_on:
            pred = map_fields(self.model, inputs, mask)
            loss = self.field_loss(self.model, pred, batch["target"], mask)
            return LossTerms(loss, {"map": float(loss.detach())})
        z, _, p_latent = self.model.map_latents(inputs, mask)
        pred = self.model.decode(p_latent, tuple(inputs.shape[2:]), mask)
        loss = self.field_loss(self.model, pred, batch["target"], mask)
        tie = torch.stack(
            [self.tie(z[:, c : c + 1], inputs[:, c : c + 1], mask) for c in range(z.shape[1])]
        ).mean()
        parts = {"map": float(loss.detach()), "tie": float(tie.detach())}
        return LossTerms(loss + self.config.tie_weight * tie, parts)

    def _rollout(self, batch: dict[str, Any], k: int, steps: Sequence[int]) -> LossTerms:
        cfg, model = self.config, self.model
        u, mask = batch["u"], batch["mask"]  # (B, K+1, C, *S), (B, 1, 1, *S)
        m = mask[:, 0]
        shape = tuple(u.shape[3:])
        z = encode(model, u[:, 0], m)
        total = u.new_zeros(())
        parts: dict[str, float] = {}
        ties = []
        if cfg.recon_weight > 0 or self.edit_on:
            decoded = model.decode(z, shape)
            if cfg.recon_weight > 0:
                rec = self.field_loss(model, decoded, u[:, 0], m)
                total = total + cfg.recon_weight * rec
                parts["recon"] = float(rec.detach())
            if self.edit_on:
                edit = self.edit(z, decoded, m)
                total = total + cfg.edit_weight * edit
                parts["edit"] = float(edit.detach())
        line = model.scenario == "geometric"
        z_start = z
        if self.tie_on:
            ties.append(self.line_tie(z, u[:, 0], m) if line else self.tie(z, u[:, 0], m))
        wanted = set(steps)
        errors = []
        for n in range(1, k + 1):
            z = model.step(z)
            if n in wanted:
                errors.append(self.field_loss(model, model.decode(z, shape), u[:, n], m))
                if self.tie_on and line:
                    ties.append(self.line_tie(z, u[:, n], m, (z_start, u[:, 0])))
                elif self.tie_on:
                    ties.append(self.tie(z, u[:, n], m))
        roll = torch.stack(errors).mean()
        total = total + roll
        parts["rollout"] = float(roll.detach())
        if ties:
            tie = torch.stack(ties).mean()
            total = total + cfg.tie_weight * tie
            parts["tie"] = float(tie.detach())
        return LossTerms(total, parts)
