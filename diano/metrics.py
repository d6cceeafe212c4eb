"""Metrics shared by training, evaluation and the app (``reference/method.md`` §6–8).

Pure functions: tensors in, floats or tensors out; nothing here holds state or imports a
model or solver class. Conventions:

- The first dimension is the batch: fields ``(B, C, *S)``, trajectories ``(B, T, C, *S)``.
  Per-sample results reduce every other dimension unless ``dims`` says otherwise.
- ``mask`` (1 or True = fluid) excludes solid cells wherever it is accepted. A mask with
  fewer dims than the data is aligned from the right (a spatial mask ``S``, or the
  ``(B, 1, *S)`` masks of :mod:`diano.data.dataset`); only when that fails to broadcast is a
  ``(B, *S)`` mask read as one mask per sample. Where B equals a middle size (e.g. B = C),
  give per-sample masks as ``(B, 1, *S)`` (``(B, 1, 1, *S)`` for trajectories).
- ``reduction="mean"`` returns a float (mean over samples), ``"none"`` the per-sample tensor.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from diano.errors import ConfigError

Reduction = Literal["mean", "none"]
_POOL = {1: F.adaptive_avg_pool1d, 2: F.adaptive_avg_pool2d, 3: F.adaptive_avg_pool3d}


# -- helpers ---------------------------------------------------------------------------
def _weights(mask: Any, like: Tensor) -> Tensor | None:
    """Return the mask as 0/1 weights of ``like``'s dtype and shape (None without a mask)."""
    if mask is None:
        return None
    m = torch.as_tensor(mask, device=like.device)
    if m.dim() > like.dim():
        raise ConfigError(f"mask of shape {tuple(m.shape)} has more dims than {tuple(like.shape)}")
    candidates = [m]
    if 1 < m.dim() < like.dim() and m.shape[0] == like.shape[0]:
        # (B, *S) against (B, ..., *S): put the middle singleton dims after the batch dim.
        middle = [1] * (like.dim() - m.dim())
        candidates.append(m.reshape(m.shape[0], *middle, *m.shape[1:]))
    for c in candidates:
        try:
            if torch.broadcast_shapes(c.shape, like.shape) == like.shape:
                return c.to(like.dtype).expand(like.shape)
        except RuntimeError:
            continue
    raise ConfigError(
        f"mask of shape {tuple(m.shape)} does not broadcast against data {tuple(like.shape)}"
    )


def _dims(x: Tensor, dims: Sequence[int] | None) -> tuple[int, ...]:
    if dims is not None:
        return tuple(dims)
    return tuple(range(1, x.dim())) if x.dim() > 1 else (0,)


def _reduce(values: Tensor, reduction: Reduction) -> float | Tensor:
    if reduction == "mean":
        return float(values.mean())
    if reduction == "none":
        return values
    raise ConfigError(f"reduction must be 'mean' or 'none', got {reduction!r}")


def _check_same_shape(pred: Tensor, true: Tensor) -> None:
    if pred.shape != true.shape:
        raise ConfigError(
            f"shapes differ: prediction {tuple(pred.shape)}, truth {tuple(true.shape)}"
        )


# -- errors ----------------------------------------------------------------------------
def rel_l2(
    pred: Tensor,
    true: Tensor,
    mask: Any = None,
    dims: Sequence[int] | None = None,
    reduction: Reduction = "mean",
) -> float | Tensor:
    """Relative L2 error ``‖pred − true‖ / ‖true‖`` per sample, over fluid cells.

    Zero error gives 0; a zero prediction gives 1. A zero truth gives 0 for a zero
    prediction and ``inf`` otherwise.

    Args:
        pred, true: same shape, batch first.
        mask: fluid mask (see the module docstring).
        dims: dimensions reduced per sample (all but the first by default).
        reduction: ``"mean"`` (float) or ``"none"`` (the per-sample tensor).
    """
    _check_same_shape(pred, true)
    dims = _dims(pred, dims)
    w = _weights(mask, pred)
    err2, true2 = (pred - true) ** 2, true**2
    if w is not None:
        err2, true2 = err2 * w, true2 * w
    num, den = err2.sum(dims).sqrt(), true2.sum(dims).sqrt()
    safe = torch.where(den > 0, den, torch.ones_like(den))
    ratio = torch.where(den > 0, num / safe, torch.where(num > 0, math.inf, 0.0))
    return _reduce(ratio, reduction)


def _masked_mean(values: Tensor, mask: Any, dims: Sequence[int] | None) -> Tensor:
    dims = _dims(values, dims)
    w = _weights(mask, values)
    if w is None:
        return values.mean(dims)
    return (values * w).sum(dims) / w.sum(dims).clamp_min(1.0)


def mse(
    pred: Tensor,
    true: Tensor,
    mask: Any = None,
    dims: Sequence[int] | None = None,
    reduction: Reduction = "mean",
) -> float | Tensor:
    """Mean squared error per sample over fluid cells (arguments as in :func:`rel_l2`)."""
    _check_same_shape(pred, true)
    return _reduce(_masked_mean((pred - true) ** 2, mask, dims), reduction)


def mae(
    pred: Tensor,
    true: Tensor,
    mask: Any = None,
    dims: Sequence[int] | None = None,
    reduction: Reduction = "mean",
) -> float | Tensor:
    """Mean absolute error per sample over fluid cells (arguments as in :func:`rel_l2`)."""
    _check_same_shape(pred, true)
    return _reduce(_masked_mean((pred - true).abs(), mask, dims), reduction)


def rel_l2_per_step(
    pred_traj: Tensor, true_traj: Tensor, mask: Any = None, reduction: Reduction = "mean"
) -> Tensor:
    """Relative L2 error of each step of ``(B, T, C, *S)`` trajectories.

    Returns:
        ``(T,)``, the mean over the batch, or ``(B, T)`` with ``reduction="none"``.
    """
    if pred_traj.dim() < 3:
        raise ConfigError(f"trajectories must be (B, T, C, ...), got {tuple(pred_traj.shape)}")
    per = rel_l2(pred_traj, true_traj, mask, dims=range(2, pred_traj.dim()), reduction="none")
    if reduction == "none":
        return per
    _reduce(per, reduction)  # validates the name
    return per.mean(0)


def pearson(a: Tensor, b: Tensor, mask: Any = None, dims: Sequence[int] | None = None) -> Tensor:
    """Pearson correlation of ``a`` and ``b`` per sample, over fluid cells.

    Returns:
        ``(B,)`` tensor (or the shape left by ``dims``); 0 where either input is constant.
    """
    _check_same_shape(a, b)
    dims = _dims(a, dims)
    w = _weights(mask, a)
    if w is None:
        w = torch.ones_like(a)
    n = w.sum(dims, keepdim=True).clamp_min(1.0)
    da = a - (w * a).sum(dims, keepdim=True) / n
    db = b - (w * b).sum(dims, keepdim=True) / n
    cov = (w * da * db).sum(dims)
    var = (w * da**2).sum(dims) * (w * db**2).sum(dims)
    # a safe denominator in both branches: a constant input gives 0 and a finite gradient
    # (dividing by a clamped 0 in the unused branch made the gradient NaN)
    ok = var > 0
    return torch.where(ok, cov / torch.where(ok, var, torch.ones_like(var)).sqrt(), 0.0 * cov)


# -- spectra ---------------------------------------------------------------------------
def _spectral_ndim(field: Tensor, spacing: Any, ndim: int | None) -> int:
    if ndim is None:
        if isinstance(spacing, Sequence):
            ndim = len(spacing)
        elif field.dim() <= 3:
            ndim = field.dim()  # an unbatched 1D, 2D or 3D field
        else:
            ndim = field.dim() - 2  # channels-first batch (B, C, *S)
    if not 1 <= ndim <= min(3, field.dim()):
        raise ConfigError(f"spectrum over {ndim} dims of a field of shape {tuple(field.shape)}")
    return ndim


def radial_energy_spectrum(
    field: Tensor,
    spacing: float | Sequence[float] | None = None,
    *,
    mask: Any = None,
    ndim: int | None = None,
    normalize: bool = False,
) -> tuple[Tensor, Tensor]:
    """Radial (shell-summed) energy spectrum ``E(k)`` of a 1D, 2D or 3D field.

    The mean (over fluid cells) is removed, solid cells are set to zero, and
    ``½|FFT(u)|² / N²`` is summed over integer shells ``round(|k|)`` (``reference/method.md``
    §8), so that ``ΣE = ½ mean(u'²)`` over the grid (Parseval).

    Args:
        field: ``(*lead, *S)``; the last ``ndim`` dims are spatial.
        spacing: grid spacing, one float or one per spatial axis (array order). Without it,
            ``k`` counts modes per domain (integer wavenumbers, as for a square domain);
            with it, ``k = 2π/λ`` in inverse length units, shells of width ``min 2π/L``.
        mask: fluid mask over the spatial dims (or broadcastable to ``field``).
        ndim: number of spatial dims; by default ``len(spacing)`` when a sequence is given,
            else ``field.dim()`` for up to 3 dims, else ``field.dim() - 2`` (``(B, C, *S)``).
        normalize: divide by ``ΣE`` (the normalised spectrum ``E / ΣE``).

    Returns:
        ``k`` of shape ``(K,)`` (shells 1 … K; shell 0 holds only the removed mean) and
        ``E`` of shape ``(*lead, K)``.
    """
    ndim = _spectral_ndim(field, spacing, ndim)
    u = field if field.is_floating_point() else field.float()
    sdims = tuple(range(u.dim() - ndim, u.dim()))
    shape = u.shape[u.dim() - ndim :]
    w = _weights(mask, u)
    if w is None:
        u = u - u.mean(sdims, keepdim=True)
    else:
        mean = (w * u).sum(sdims, keepdim=True) / w.sum(sdims, keepdim=True).clamp_min(1.0)
        u = (u - mean) * w
    power = torch.fft.fftn(u, dim=sdims).abs() ** 2 / (2.0 * math.prod(shape) ** 2)
    if spacing is None:
        freqs = [torch.fft.fftfreq(n, d=1.0 / n, dtype=u.dtype, device=u.device) for n in shape]
        dk = 1.0
    else:
        h = [float(spacing)] * ndim if not isinstance(spacing, Sequence) else list(spacing)
        if len(h) != ndim or min(h) <= 0:
            raise ConfigError(f"spacing {spacing!r} must give {ndim} positive values")
        freqs = [
            2 * math.pi * torch.fft.fftfreq(n, d=d, dtype=u.dtype, device=u.device)
            for n, d in zip(shape, h, strict=True)
        ]
        dk = min(2 * math.pi / (n * d) for n, d in zip(shape, h, strict=True))
    grids = torch.meshgrid(*freqs, indexing="ij")
    k_mag = torch.sqrt(sum(g**2 for g in grids))
    shell = torch.round(k_mag / dk).long().reshape(-1)  # (N,)
    n_shells = int(shell.max()) + 1
    flat = power.reshape(*power.shape[: u.dim() - ndim], -1)  # (*lead, N)
    energy = torch.zeros(*flat.shape[:-1], n_shells, dtype=u.dtype, device=u.device)
    energy.scatter_add_(-1, shell.expand_as(flat), flat)
    energy = energy[..., 1:]
    if normalize:
        energy = energy / energy.sum(-1, keepdim=True).clamp_min(1e-300)
    k = torch.arange(1, n_shells, dtype=u.dtype, device=u.device) * dk
    return k, energy


def spectrum_slope(k: Any, energy: Any, k_range: tuple[float, float] | None = None) -> float:
    """Slope of a least-squares line through ``log E`` against ``log k``.

    Args:
        k, energy: 1-D wavenumbers and energies (tensors or arrays; ``energy`` may have
            leading dims, which are averaged).
        k_range: inclusive ``(k_min, k_max)`` of the fit (all ``k > 0`` by default).
    """
    k = np.asarray(torch.as_tensor(k).detach().cpu(), dtype=np.float64)
    e = np.asarray(torch.as_tensor(energy).detach().cpu(), dtype=np.float64)
    e = e.reshape(-1, e.shape[-1]).mean(0)
    lo, hi = k_range if k_range is not None else (0.0, np.inf)
    keep = (k >= lo) & (k <= hi) & (k > 0) & (e > 0)
    if keep.sum() < 2:
        raise ConfigError(f"k_range {k_range} keeps {int(keep.sum())} points; a slope needs 2")
    slope, _ = np.polyfit(np.log(k[keep]), np.log(e[keep]), 1)
    return float(slope)


def power_law_reference(
    k: Tensor, energy: Tensor, exponent: float = -3.0, k_anchor: float | None = None
) -> Tensor:
    """Reference line ``E(k_a) (k / k_a)^exponent`` through the spectrum at ``k_anchor``.

    The default exponent −3 is the 2D enstrophy-cascade slope the paper compares against;
    ``k_anchor`` defaults to the first shell. ``energy`` may have leading dims (averaged).
    """
    e = energy.reshape(-1, energy.shape[-1]).mean(0)
    i = 0 if k_anchor is None else int(torch.argmin((k - k_anchor).abs()))
    return e[i] * (k / k[i]) ** exponent


# -- latent grid -----------------------------------------------------------------------
def pool_to(field: Tensor, shape: Sequence[int], mask: Any = None) -> Tensor:
    """Area-average ``field`` down to the spatial ``shape`` (the latent grid).

    With integer ratios each output cell is the mean of its block of input cells (adaptive
    average pooling otherwise). With a mask, only fluid cells are averaged, and output cells
    without fluid are 0.

    Args:
        field: ``(*lead, *S)``, the last ``len(shape)`` dims spatial.
        shape: target spatial shape ``M`` (1 to 3 dims).
        mask: fluid mask over ``S`` (or broadcastable to ``field``).

    Returns:
        ``(*lead, *shape)``.
    """
    shape = tuple(int(s) for s in shape)
    nd = len(shape)
    if nd not in _POOL or field.dim() < nd:
        raise ConfigError(f"cannot pool a field of shape {tuple(field.shape)} to {shape}")
    lead, spatial = field.shape[: field.dim() - nd], field.shape[field.dim() - nd :]
    u = field if field.is_floating_point() else field.float()
    pool = _POOL[nd]

    def _pool(x: Tensor) -> Tensor:
        return pool(x.reshape(-1, 1, *spatial), shape).reshape(*lead, *shape)  # (prod lead, 1, *S)

    w = _weights(mask, u)
    if w is None:
        return _pool(u)
    num, den = _pool(u * w), _pool(w)
    return torch.where(den > 0, num / den.clamp_min(1e-12), torch.zeros_like(num))


def latent_correlation(z: Tensor, u_truth: Tensor, region: Any = None, mask: Any = None) -> Tensor:
    """Pearson correlation between a latent and the truth area-pooled to the latent grid.

    Args:
        z: latent ``(B, C, *M)``.
        u_truth: truth ``(B, C, *N)`` (C equal to the latent's or broadcastable).
        region: optional bool mask restricting the correlation (e.g. the wake), on the
            latent grid ``M`` or the full grid ``N`` (then pooled; a latent cell counts when
            at least half of it lies in the region).
        mask: fluid mask on the full grid; latent cells without fluid are left out.

    Returns:
        ``(B,)`` correlations.
    """
    m_shape = tuple(z.shape[2:])
    pooled = pool_to(u_truth, m_shape, mask)
    keep = torch.ones(m_shape, dtype=torch.bool, device=z.device)
    if mask is not None:
        # a latent cell counts when any fluid lies under it; per sample for (B, ...) masks
        fluid = torch.as_tensor(mask, device=z.device).to(z.dtype)
        keep = pool_to(fluid, m_shape) > 0
    if region is not None:
        r = torch.as_tensor(region, device=z.device)
        if tuple(r.shape[-len(m_shape) :]) != m_shape:
            r = pool_to(r.to(z.dtype), m_shape) >= 0.5
        keep = keep & r.bool()
    pooled, z_b = torch.broadcast_tensors(pooled, z)
    return pearson(z_b, pooled, mask=keep)


def centreline_velocity(vorticity: Tensor, mask: Any = None, y: Any = None) -> Tensor:
    """The axial velocity on the axis of a symmetric channel, read from the vorticity alone.

    With ω = ∂v/∂x − ∂u/∂y and u = 0 on the walls, integrating across each half of the
    channel gives ``u(x, 0) = ½ (∫_{y>0} ω dy − ∫_{y<0} ω dy)`` up to the ∂v/∂x term, which
    is small where the flow is mostly axial (on the held-out stenosis sample the reading is
    within 2.7 % of the stored centreline velocity, correlation 0.99).

    Args:
        vorticity: ``(*lead, H, W)``; rows are y, ascending.
        mask: fluid mask ``(H, W)`` or broadcastable (solid cells are left out).
        y: row coordinates ``(H,)`` with the axis at ``y = 0``; ``None`` takes rows of
            unit spacing with the axis between the middle rows (the scale then drops out
            of a correlation only).

    Returns:
        ``(*lead, W)``: the centreline velocity per column.
    """
    h = vorticity.shape[-2]
    dev, dt = vorticity.device, vorticity.dtype if vorticity.is_floating_point() else None
    if y is None:
        y_t = torch.arange(h, device=dev, dtype=dt) - (h - 1) / 2.0
        dy = torch.ones((), device=dev, dtype=dt)
    else:
        y_t = torch.as_tensor(np.asarray(y, dtype=np.float64), device=dev).to(vorticity.dtype)
        if y_t.shape != (h,):
            raise ConfigError(f"y needs {h} row coordinates, got shape {tuple(y_t.shape)}")
        dy = (y_t[-1] - y_t[0]) / max(h - 1, 1)
    side = torch.sign(y_t)[:, None]  # (H, 1): +1 above the axis, −1 below
    w = vorticity.to(side.dtype) * side
    if mask is not None:
        w = w * torch.as_tensor(mask, device=dev).to(w.dtype)
    return 0.5 * w.sum(dim=-2) * dy


def line_correlation(line: Tensor, vorticity: Tensor, mask: Any = None) -> Tensor:
    """Pearson correlation along x between a latent line and the centreline velocity.

    ``line (B, Lc, M_x)`` is read as the sum of its channels (a standing profile plus a
    travelling part); ``vorticity (B, 1, H, W)`` gives the centreline velocity
    (:func:`centreline_velocity`), pooled to ``M_x`` points. Returns ``(B,)``.
    """
    m = line.shape[-1]
    fluid = None if mask is None else torch.as_tensor(mask, device=line.device)
    if fluid is not None and fluid.dim() == vorticity.dim():
        fluid = fluid[:, 0]  # (B or 1, 1, H, W) -> (B or 1, H, W)
    target = centreline_velocity(vorticity[:, 0], fluid)  # (B, W)
    pooled = pool_to(target, (m,))  # (B, M_x)
    return pearson(line.sum(dim=1), pooled, dims=(-1,))


def compression_ratio(input_shape: Sequence[int], latent_shape: Sequence[int]) -> float:
    """Number of input values per latent value, e.g. ``(1, 256, 256)`` → ``(1, 32, 32)``: 64."""
    n_in, n_lat = math.prod(input_shape), math.prod(latent_shape)
    if n_lat <= 0:
        raise ConfigError(f"latent shape {tuple(latent_shape)} holds no values")
    return n_in / n_lat


# -- baselines and physics ---------------------------------------------------------------
def persistence_baseline(traj: Tensor) -> Tensor:
    """Prediction that nothing changes: every step of ``(B, T, C, *S)`` equals step 0."""
    return traj[:, :1].expand_as(traj).clone()


def time_mean_baseline(traj: Tensor, reference: Tensor | None = None) -> Tensor:
    """Prediction by the time mean at every step of ``(B, T, C, *S)``.

    The mean of ``reference`` (e.g. the training trajectory, ``(B or 1, T', C, *S)``) is
    used when given; otherwise that of ``traj`` itself, an oracle that sees the future.
    """
    source = traj if reference is None else reference
    return source.mean(1, keepdim=True).expand_as(traj).clone()


def advection_diffusion_residual(
    z_traj: Tensor,
    dt: float,
    solver: Any,
    *,
    nu: Any = None,
    velocity: Any = None,
    mask: Any = None,
    relative: bool = True,
) -> Tensor:
    """Residual of the latent PDE along a latent trajectory, per sample and step.

    For consecutive states the time derivative ``(z_{n+1} − z_n)/dt`` is compared with
    the trapezoidal average ``½(f(z_n) + f(z_{n+1}))`` of the solver's right-hand side
    ``f = solver.rhs(z, nu, velocity)``; for a trajectory that obeys the PDE this is
    ``O(dt²)``, so a large residual shows a latent that does not follow the latent physics.

    Args:
        z_traj: latent trajectory ``(B, T, C, *M)``, T ≥ 2.
        dt: time between stored states.
        solver: any object with ``rhs(z, nu, velocity)`` for ``(B, C, *M)`` latents
            (e.g. ``diano.solvers.AdvectionDiffusion2d``); None coefficients mean the
            solver's own.
        nu, velocity: coefficient overrides passed to ``solver.rhs``.
        mask: cells to include (see the module docstring).
        relative: divide ``‖residual‖`` by the larger of ``‖dz/dt‖`` and ``‖f‖``, so 0 means
            the latent follows the PDE, 1 that the change is wholly unexplained (e.g. a
            frozen latent) and 2 that it runs against the PDE; RMS residual otherwise.

    Returns:
        ``(B, T − 1)`` residual norms.
    """
    if z_traj.dim() < 3 or z_traj.shape[1] < 2:
        raise ConfigError(f"z_traj must be (B, T >= 2, C, ...), got {tuple(z_traj.shape)}")
    if not dt > 0:
        raise ConfigError(f"dt must be positive, got {dt}")
    rhs = torch.stack(
        [solver.rhs(z_traj[:, n], nu, velocity) for n in range(z_traj.shape[1])], dim=1
    )  # (B, T, C, *M)
    dzdt = (z_traj[:, 1:] - z_traj[:, :-1]) / dt
    residual = dzdt - 0.5 * (rhs[:, 1:] + rhs[:, :-1])  # (B, T - 1, C, *M)
    dims = tuple(range(2, z_traj.dim()))
    if not relative:
        return _masked_mean(residual**2, mask, dims).sqrt()
    w = _weights(mask, residual)
    drift = 0.5 * (rhs[:, 1:] + rhs[:, :-1])
    if w is not None:
        residual, dzdt, drift = residual * w, dzdt * w, drift * w
    scale = torch.maximum(dzdt.pow(2).sum(dims), drift.pow(2).sum(dims)).sqrt()
    return residual.pow(2).sum(dims).sqrt() / scale.clamp_min(1e-30)
