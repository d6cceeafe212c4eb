"""Metrics against hand-computed values: errors, correlation, spectra, pooling, residuals."""

from __future__ import annotations

import math

import pytest
import torch

from diano import metrics as M
from diano.errors import ConfigError


def _grid(n: int, length: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.arange(n, dtype=torch.float64) * (length / n)
    return torch.meshgrid(x, x, indexing="ij")  # (y, x)


# -- errors ----------------------------------------------------------------------------
def test_rel_l2_zero_error_and_zero_prediction() -> None:
    true = torch.randn(3, 2, 8, 8)
    assert M.rel_l2(true, true) == 0.0
    assert M.rel_l2(torch.zeros_like(true), true) == pytest.approx(1.0)
    per = M.rel_l2(2 * true, true, reduction="none")
    assert per.shape == (3,) and torch.allclose(per, torch.ones(3))
    assert M.rel_l2(torch.zeros(1, 4), torch.zeros(1, 4)) == 0.0
    assert M.rel_l2(torch.ones(1, 4), torch.zeros(1, 4)) == math.inf


def test_rel_l2_hand_computed_with_mask() -> None:
    true = torch.tensor([[[3.0, 4.0, 100.0]]])  # (B=1, C=1, W=3); the last cell is solid
    pred = torch.tensor([[[0.0, 4.0, -50.0]]])
    mask = torch.tensor([1, 1, 0])
    assert M.rel_l2(pred, true, mask) == pytest.approx(3.0 / 5.0)
    assert M.mse(pred, true, mask) == pytest.approx(9.0 / 2.0)
    assert M.mae(pred, true, mask) == pytest.approx(3.0 / 2.0)
    assert M.mse(pred, true) == pytest.approx((9.0 + 150.0**2) / 3.0)


def test_masks_of_batch_and_spatial_shape() -> None:
    true = torch.randn(2, 3, 4, 5)
    pred = true.clone()
    pred[0, :, 0, 0] += 10.0  # only in a solid cell of sample 0
    mask = torch.ones(2, 4, 5)
    mask[0, 0, 0] = 0
    assert M.rel_l2(pred, true, mask) == pytest.approx(0.0)
    assert M.rel_l2(pred, true, mask[:, None]) == pytest.approx(0.0)  # (B, 1, H, W)
    with pytest.raises(ConfigError, match="does not broadcast"):
        M.rel_l2(pred, true, torch.ones(3, 3))


def test_rel_l2_per_step() -> None:
    true = torch.randn(2, 4, 1, 6, 6)
    pred = true.clone()
    pred[:, 2] = 0.0
    steps = M.rel_l2_per_step(pred, true)
    assert steps.shape == (4,)
    assert torch.allclose(steps, torch.tensor([0.0, 0.0, 1.0, 0.0]))
    assert M.rel_l2_per_step(pred, true, reduction="none").shape == (2, 4)
    mask = torch.ones(6, 6)
    assert torch.allclose(M.rel_l2_per_step(pred, true, mask), steps)


def test_pearson_self_negation_and_constant() -> None:
    a = torch.randn(4, 1, 8, 8)
    assert torch.allclose(M.pearson(a, a), torch.ones(4))
    assert torch.allclose(M.pearson(a, -a), -torch.ones(4))
    assert torch.allclose(M.pearson(a, 3 * a + 2), torch.ones(4))
    assert torch.all(M.pearson(a, torch.ones_like(a)) == 0)
    b = a.clone()
    b[:, :, 0, 0] = -b[:, :, 0, 0] + 50  # spoil one cell, then mask it out
    mask = torch.ones(8, 8)
    mask[0, 0] = 0
    assert torch.all(M.pearson(a, b) < 0.9)
    assert torch.allclose(M.pearson(a, b, mask), torch.ones(4))
    # against a constant the gradient is finite (0), not NaN, in float32 and float64
    for dtype in (torch.float32, torch.float64):
        x = torch.randn(2, 5, dtype=dtype, requires_grad=True)
        M.pearson(x, torch.zeros(2, 5, dtype=dtype), dims=(-1,)).sum().backward()
        assert torch.all(x.grad == 0)


# -- spectra ---------------------------------------------------------------------------
def test_single_fourier_mode_peaks_at_its_shell() -> None:
    y, x = _grid(32)
    u = torch.sin(2 * math.pi * (3 * x + 4 * y)) + 7.0  # |k| = 5 cycles per domain
    k, e = M.radial_energy_spectrum(u)
    assert int(k[torch.argmax(e)]) == 5
    assert e.sum() == pytest.approx(0.5 * 0.5)  # ½ mean(sin²), the mean removed
    assert e[k != 5].abs().max() < 1e-12
    _, e_norm = M.radial_energy_spectrum(u, normalize=True)
    assert e_norm.sum() == pytest.approx(1.0)


def test_spectrum_with_spacing_1d_and_3d() -> None:
    y, x = _grid(16, length=2.0)
    u = torch.cos(2 * math.pi * 2 * x / 2.0)  # 2 waves over L = 2: k = 2π·2/2 = 2π
    k, e = M.radial_energy_spectrum(u, spacing=(0.125, 0.125))
    assert float(k[torch.argmax(e)]) == pytest.approx(2 * math.pi)
    line = torch.sin(2 * math.pi * 6 * torch.arange(64) / 64)
    k1, e1 = M.radial_energy_spectrum(line)
    assert int(k1[torch.argmax(e1)]) == 6
    z3 = torch.arange(8).view(8, 1, 1) * torch.ones(8, 8, 8)
    u3 = torch.cos(2 * math.pi * 2 * z3 / 8)
    k3, e3 = M.radial_energy_spectrum(u3)
    assert int(k3[torch.argmax(e3)]) == 2 and e3.sum() == pytest.approx(0.25)
    batch = torch.stack([u, 2 * u])[:, None]  # (B, C, H, W): spectra per sample
    _, eb = M.radial_energy_spectrum(batch)
    assert eb.shape[:2] == (2, 1) and torch.allclose(eb[1], 4 * eb[0])


def test_slope_of_synthetic_k_minus_3_field() -> None:
    n = 128
    gen = torch.Generator().manual_seed(1)
    kx = torch.fft.fftfreq(n, 1.0 / n)
    kk = torch.sqrt(kx[:, None] ** 2 + kx[None, :] ** 2)
    amp = torch.where(kk > 0, kk.clamp_min(1.0) ** -2.0, torch.zeros_like(kk))  # |û|² ∝ k⁻⁴
    phase = torch.exp(2j * math.pi * torch.rand(n, n, generator=gen))
    u = torch.fft.ifft2(amp * phase).real  # E(k) ∝ 2πk · k⁻⁴ = k⁻³
    k, e = M.radial_energy_spectrum(u)
    slope = M.spectrum_slope(k, e, (4, 40))
    assert slope == pytest.approx(-3.0, abs=0.15)
    ref = M.power_law_reference(k, e, -3.0, k_anchor=4)
    assert float(ref[3]) == pytest.approx(float(e[3]))
    assert float(ref[7] / ref[3]) == pytest.approx(0.125)
    with pytest.raises(ConfigError, match="a slope needs 2"):
        M.spectrum_slope(k, e, (1000, 2000))


def test_masked_spectrum_ignores_solid_cells() -> None:
    y, x = _grid(32)
    u = torch.sin(2 * math.pi * 3 * x)
    mask = torch.ones(32, 32)
    mask[10:14, 10:14] = 0
    spoiled = u.clone()
    spoiled[10:14, 10:14] = 1e3
    _, e_clean = M.radial_energy_spectrum(u * mask, mask=mask)
    _, e_spoiled = M.radial_energy_spectrum(spoiled, mask=mask)
    assert torch.allclose(e_clean, e_spoiled)


# -- latent grid -----------------------------------------------------------------------
def test_pool_to_constant_blocks_and_mask() -> None:
    assert torch.allclose(M.pool_to(torch.full((2, 3, 16, 16), 2.5), (4, 4)), torch.tensor(2.5))
    u = torch.arange(16.0).view(1, 4, 4)
    pooled = M.pool_to(u, (2, 2))
    assert torch.allclose(pooled, torch.tensor([[[2.5, 4.5], [10.5, 12.5]]]))
    mask = torch.ones(4, 4)
    mask[0, 0] = 0  # block (0, 0) then averages 1, 4, 5
    mask[2:, 2:] = 0  # block (1, 1) has no fluid: 0
    masked = M.pool_to(u, (2, 2), mask)
    assert torch.allclose(masked, torch.tensor([[[10.0 / 3.0, 4.5], [10.5, 0.0]]]))
    assert M.pool_to(torch.ones(8, 8, 8), (2, 2, 2)).shape == (2, 2, 2)
    assert M.pool_to(torch.ones(3, 12), (4,)).shape == (3, 4)


def test_latent_correlation() -> None:
    y, x = _grid(16)
    u = torch.sin(2 * math.pi * x) * torch.cos(2 * math.pi * y)
    u = u[None, None].float()  # (1, 1, 16, 16)
    z = M.pool_to(u, (4, 4))
    assert torch.allclose(M.latent_correlation(z, u), torch.ones(1))
    assert torch.allclose(M.latent_correlation(-z, u), -torch.ones(1))
    noisy = z.clone()
    noisy[..., 0, 0] += 5.0
    region = torch.ones(4, 4, dtype=torch.bool)
    region[0, 0] = False
    assert M.latent_correlation(noisy, u) < 0.9
    assert torch.allclose(M.latent_correlation(noisy, u, region=region), torch.ones(1))
    full_region = torch.ones(16, 16, dtype=torch.bool)
    full_region[:4, :4] = False  # the same latent cell, given on the full grid
    assert torch.allclose(M.latent_correlation(noisy, u, region=full_region), torch.ones(1))
    mask = torch.ones(16, 16)
    mask[:4, :4] = 0  # solid under latent cell (0, 0)
    assert torch.allclose(M.latent_correlation(noisy, u, mask=mask), torch.ones(1))


def test_compression_ratio() -> None:
    assert M.compression_ratio((1, 256, 256), (1, 32, 32)) == 64.0
    assert M.compression_ratio((3, 128, 128, 128), (3, 32, 32, 32)) == 64.0


# -- baselines and physics ---------------------------------------------------------------
def test_baselines() -> None:
    traj = torch.arange(2 * 3 * 4, dtype=torch.float32).view(2, 3, 1, 2, 2)
    pers = M.persistence_baseline(traj)
    assert pers.shape == traj.shape and torch.equal(pers[:, 2], traj[:, 0])
    assert M.rel_l2_per_step(pers, traj)[0] == 0.0
    mean = M.time_mean_baseline(traj)
    assert torch.allclose(mean[:, 0], traj.mean(1))
    ref = torch.zeros(1, 5, 1, 2, 2)
    assert torch.equal(M.time_mean_baseline(traj, ref), torch.zeros_like(traj))


class _Decay:
    """Stand-in solver with ``dz/dt = -lam z``."""

    def __init__(self, lam: float) -> None:
        self.lam = lam

    def rhs(self, z: torch.Tensor, nu=None, velocity=None) -> torch.Tensor:
        return -(self.lam if nu is None else nu) * z


def test_residual_small_on_exact_trajectory_large_off_it() -> None:
    dt, lam = 0.01, 2.0
    t = torch.arange(6, dtype=torch.float64) * dt
    z0 = torch.randn(2, 1, 1, 4, 4, dtype=torch.float64)
    exact = z0 * torch.exp(-lam * t).view(1, 6, 1, 1, 1)  # (B, T, C, H, W)
    res = M.advection_diffusion_residual(exact, dt, _Decay(lam))
    assert res.shape == (2, 5) and res.max() < 1e-4  # trapezoid error (lam dt)² / 12
    wrong = M.advection_diffusion_residual(exact, dt, _Decay(lam), nu=-lam)
    assert torch.allclose(wrong, torch.full_like(wrong, 2.0), atol=1e-3)  # runs against it
    absolute = M.advection_diffusion_residual(exact, dt, _Decay(lam), relative=False)
    assert absolute.max() < 1e-4


def test_residual_with_the_advection_diffusion_solver() -> None:
    solvers = pytest.importorskip("diano.solvers")
    solver = solvers.AdvectionDiffusion2d(
        (8, 8), (1.0, 1.0), nu=0.01, velocity=(0.5, 0.0), dt=0.01, dtype=torch.float64
    )
    z = [torch.sin(2 * math.pi * _grid(8)[1])[None, None]]
    for _ in range(4):
        z.append(solver(z[-1]))
    traj = torch.stack(z, dim=1)  # (1, 5, 1, 8, 8)
    assert M.advection_diffusion_residual(traj, 0.01, solver).max() < 1e-3
    frozen = traj[:, :1].expand_as(traj).contiguous()  # a latent that does not move
    res = M.advection_diffusion_residual(frozen, 0.01, solver)
    assert torch.allclose(res, torch.ones_like(res))  # the change is wholly unexplained


def test_centreline_velocity_of_poiseuille_flow_and_a_line_reading_it() -> None:
    # u = U (1 − 4y²) on |y| < 1/2: ω = −∂u/∂y = 8Uy, and half the difference of the two
    # half-channel integrals is U at every x
    n_y, n_x = 64, 32
    y = -0.5 + (torch.arange(n_y, dtype=torch.float64) + 0.5) / n_y
    x = torch.linspace(0.0, 1.0, n_x, dtype=torch.float64)
    speed = 1.0 + 0.5 * torch.sin(2 * math.pi * x)  # a centreline speed varying along x
    w = 8.0 * speed[None, :] * y[:, None]  # (H, W)
    uc = M.centreline_velocity(w, y=y)
    torch.testing.assert_close(uc, speed, rtol=2e-3, atol=0)
    # without coordinates the scale is lost, not the shape
    assert float(M.pearson(M.centreline_velocity(w)[None], speed[None], dims=(-1,))) > 0.9999
    # solid rows are left out: a wall band that holds junk changes nothing
    mask = torch.ones(n_y + 8, n_x, dtype=torch.float64)
    mask[:4] = mask[-4:] = 0
    y_pad = -0.5 - 4.0 / n_y + (torch.arange(n_y + 8, dtype=torch.float64) + 0.5) / n_y
    w_pad = torch.full((n_y + 8, n_x), 99.0, dtype=torch.float64)
    w_pad[4:-4] = w
    torch.testing.assert_close(M.centreline_velocity(w_pad, mask, y_pad), uc)
    with pytest.raises(ConfigError, match="row coordinates"):
        M.centreline_velocity(w, y=y[:-1])
    # a line of 8 points reads it as the sum of its channels, per sample
    pooled = speed.reshape(8, 4).mean(-1)
    line = torch.stack([0.3 * pooled + 0.2, 0.7 * pooled], dim=0)[None]  # (1, 2, 8)
    vort = w[None, None]
    assert float(M.line_correlation(line, vort)) == pytest.approx(1.0, abs=1e-6)
    assert float(M.line_correlation(-line, vort)) == pytest.approx(-1.0, abs=1e-6)
