"""DIANO: FNO encoder → differentiable latent PDE solver → FNO decoder (arXiv 2510.00233).

The latent is a coarse grid on physical coordinates. Per scenario (``reference/method.md`` §3):

* ``static``: ``u (B, C, H, W) → z (B, Lc, M_y, M_x) → u``, reconstruction, no PDE;
* ``temporal``: the same, and :meth:`Diano.step` advances ``z`` with
  :class:`~diano.solvers.AdvectionDiffusion2d`;
* ``geometric``: the 2D field is encoded at full height, averaged across the channel
  height to a line ``z (B, Lc, M_x)``, marched with
  :class:`~diano.solvers.AdvectionDiffusion1d`, lifted back to 2D by a trained
  :class:`~diano.layers.LineToPlane` and decoded; with ``pde.standing`` the first
  channel(s) are a standing profile the march leaves alone and the rest travel;
* ``many_to_one``: three encoders map ``u, v, w`` to latent velocities on ``M³`` (masked),
  :class:`~diano.solvers.PressurePoisson3d` maps them to a latent pressure, and a 3D
  decoder rebuilds ``p`` on ``N³`` (masked).

Resolution: the encoder's blocks emit fixed grids, so an input at another resolution (e.g.
2N) gives the same ``M`` latent; for fields resolved on both grids the latents agree up to
the difference between box-averaging 2×2 and 4×4 cells on the skip paths (the spectral
paths are resolution consistent). ``decode(z, output_shape)`` emits any grid.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any, Literal

import torch
from torch import Tensor, nn

from diano.errors import ConfigError
from diano.layers import (
    FNODecoder,
    FNOEncoder,
    LineToPlane,
    average_over_height,
    decoder_stages,
    plan_stages,
    resample,
)
from diano.models.base import MARCHING_SCENARIOS, LatentModel
from diano.solvers import AdvectionDiffusion1d, AdvectionDiffusion2d, PressurePoisson3d
from diano.solvers.carrier import CarrierAdvection2d

Scenario = Literal["static", "temporal", "geometric", "many_to_one"]
SCENARIOS: tuple[str, ...] = ("static", "temporal", "geometric", "many_to_one")
PDE_OVERRIDES = ("nu", "velocity", "dt", "n_substeps")

#: speed of the vortices in a cylinder wake, in U∞ (``reference/method.md`` §13)
VORTEX_CONVECTION_SPEED = 0.85


def latent_velocity(
    velocity: Sequence[float],
    snapshot_dt: float,
    extent: Sequence[float],
    *,
    latent_dt: float = 0.01,
    box: Sequence[float] | None = None,
) -> tuple[tuple[float, ...], float]:
    """Convert a physical advection velocity to the latent solver's velocity and step.

    One latent step of ``latent_dt`` must carry the latent as far, relative to its box, as
    the flow carries a feature between two snapshots::

        c_latent_x = c_x · snapshot_dt / L_x · box_x / latent_dt     (same for y, z)

    Args:
        velocity: physical velocity ``(cx, cy[, cz])`` in the data's velocity unit (U∞),
            x first (the solvers' convention).
        snapshot_dt: time between snapshots in the data's time unit (D/U∞).
        extent: physical size of the box the latent lives on, tensor axis order
            (``(Ly, Lx)``, ``(Lz, Ly, Lx)`` or ``(Lx,)``), in the data's length unit (D).
        latent_dt: the latent solver's time step.
        box: the latent solver's box, tensor axis order; ``None`` is the unit box.

    Returns:
        ``(velocity, dt)``: latent velocity ``(cx, cy[, cz])`` and ``latent_dt``.

    Example:
        Vortices at 0.85 U∞, snapshots 0.0525 D/U∞ apart, an 8D × 8D window on a unit
        latent box with dt = 0.01: ``latent_velocity((0.85, 0.0), 0.0525, (8.0, 8.0))``
        gives ``((0.5578125, 0.0), 0.01)`` (the "Fs" latent of ``method.md`` §13).
    """
    extent = tuple(float(e) for e in extent)
    box = (1.0,) * len(extent) if box is None else tuple(float(b) for b in box)
    if len(velocity) != len(extent) or len(box) != len(extent):
        raise ConfigError(
            f"velocity {tuple(velocity)}, extent {extent} and box {box} must have one entry "
            "per axis"
        )
    if snapshot_dt <= 0 or latent_dt <= 0 or min(extent) <= 0 or min(box) <= 0:
        raise ConfigError(
            f"snapshot_dt ({snapshot_dt}), latent_dt ({latent_dt}), extent {extent} and "
            f"box {box} must be positive"
        )
    # velocity is (x, y, z) while extent and box are in tensor order (..., y, x)
    per_axis = zip(velocity, reversed(extent), reversed(box), strict=True)
    latent = tuple(float(c) * snapshot_dt / length * b / latent_dt for c, length, b in per_axis)
    return latent, float(latent_dt)


def physical_coefficients(
    pde: AdvectionPDE, snapshot_dt: float, extent: Sequence[float]
) -> dict[str, Any]:
    """The latent PDE's coefficients in the data's units (the inverse of
    :func:`latent_velocity`): ``{"velocity": (cx, ...), "nu": ν}`` in U∞ and D·U∞ for the
    cylinder (D and D/U∞ being the length and time units). ν is converted with the first
    axis' cell of the box (the latent boxes are square per length unit)."""
    extent = tuple(float(e) for e in extent)
    box = (1.0,) * len(extent) if pde.box is None else tuple(float(b) for b in pde.box)
    time = pde.dt / snapshot_dt  # latent time per unit of the data's time
    per_axis = zip(pde.velocity, reversed(extent), reversed(box), strict=True)
    velocity = tuple(float(c) * time * length / b for c, length, b in per_axis)
    scale = extent[-1] / box[-1]  # physical length per latent length (x axis)
    return {"velocity": velocity, "nu": float(pde.nu) * time * scale**2}


@dataclass(frozen=True)
class AdvectionPDE:
    """Latent advection–diffusion ``∂z/∂t + c·∇z = ν∇²z`` (temporal 2D, geometric 1D).

    Attributes:
        nu: diffusivity ν in latent units.
        velocity: ``(cx, cy)`` in 2D or ``(cx,)`` on a line, latent units.
        dt: latent time step per snapshot interval.
        n_substeps: solver sub-steps per step, or ``"auto"`` for as many as stability needs.
        scheme: first-derivative stencil, ``"central2"``, ``"central4"`` or ``"oucs2"``.
        boundary: per axis ``(x, y)``: ``"periodic"``, ``"free"`` or ``"upwind"``.
        box: the solver's box in tensor axis order; ``None`` is the unit box (h = 1/M),
            as in the paper.
        source: temporal only: latent columns ``(x_start, x_stop)`` of a two-channel
            "carrier" latent (:class:`~diano.solvers.carrier.CarrierAdvection2d`): the
            decoded field (channel 0) is the periodic carrier (channel 1) in these columns,
            open downstream of them (fed by them) and empty upstream; ``boundary`` then reads
            ``("upwind", y boundary)``. ``None`` is the one-solver latent.
        correction: carrier latents only: hidden width of a learned local rate added to the
            field downstream of the source (:class:`~diano.solvers.correction.
            LocalCorrection2d`); 0 is none, the pure advection–diffusion.
        standing: geometric only: leading latent channels the march leaves alone (a
            standing profile along the line); the solver advances the others (the travelling
            part). 0: every channel is marched.
    """

    nu: float = 2.0e-4
    velocity: tuple[float, ...] = (0.53125, 0.0)
    dt: float = 0.01
    n_substeps: int | str = 1
    scheme: str = "central2"
    boundary: tuple[str, ...] = ("periodic", "periodic")
    box: tuple[float, ...] | None = None
    source: tuple[int, int] | None = None
    correction: int = 0
    standing: int = 0


@dataclass(frozen=True)
class PoissonPDE:
    """Latent pressure–Poisson ``∇²p = -ρ Σ_ij ∂_i u_j ∂_j u_i`` (many-to-one 3D).

    Attributes:
        rho: density ρ.
        method: ``"cg"`` (converged) or ``"jacobi"`` (the paper's fixed iterations).
        tol: relative residual at which the iteration stops.
        max_iter: iteration limit.
        box: the solver's box in tensor axis order; ``None`` is the unit cube (h = 1/M).
    """

    rho: float = 1.0
    method: str = "cg"
    tol: float = 1.0e-6
    max_iter: int = 500
    box: tuple[float, ...] | None = None


def _tupled(value: Any) -> Any:
    """Lists (e.g. from JSON) to tuples, recursively."""
    if isinstance(value, (list, tuple)):
        return tuple(_tupled(v) for v in value)
    return value


def _dataclass_from(cls: type, value: Any, what: str) -> Any:
    if value is None or isinstance(value, cls):
        return value
    if not isinstance(value, dict):
        raise ConfigError(f"{what} must be a {cls.__name__} or a dict, got {value!r}")
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(value) - known)
    if unknown:
        raise ConfigError(f"{what} has unknown fields {unknown}; known: {sorted(known)}")
    return cls(**{k: _tupled(v) for k, v in value.items()})


@dataclass(frozen=True)
class DianoConfig:
    """Configuration of :class:`Diano`; ``DianoConfig(**dataclasses.asdict(c))`` rebuilds it.

    Attributes:
        scenario: ``"static"``, ``"temporal"``, ``"geometric"`` or ``"many_to_one"``.
        in_channels: names of the input fields, e.g. ``("vorticity",)`` or ``("u", "v", "w")``.
        out_channels: names of the output fields, e.g. ``("p",)``.
        grid_shape: full grid ``N`` in tensor axis order, ``(H, W)`` or ``(D, H, W)``.
        latent_shape: latent grid ``M``; a line ``(M_x,)`` in the geometric scenario. Each
            axis of ``grid_shape`` must be a power-of-two multiple of it.
        extent: physical size of the box the grid and latent live on, tensor axis order, in
            the data's length unit (e.g. ``(8.0, 8.0)`` diameters).
        width: hidden channels of the Fourier blocks.
        n_modes: Fourier modes per axis of the full grid (an int means all axes).
        n_layers: Fourier blocks in the encoder and in the decoder (each).
        latent_channels: channels of the latent (1 in the paper; 1 in many-to-one).
        pde: :class:`AdvectionPDE` (temporal, geometric), :class:`PoissonPDE`
            (many_to_one) or ``None`` (static); a dict is converted, ``None`` gives the
            scenario's default.
        learnable_pde: make ν and the velocity trainable ("latent PDE discovery").
        pooling: skip-path reduction, ``"average"`` or ``"decimate"`` (authors' code).
        skip_kernel: width of the Fourier blocks' skip convolution: 1 is the paper's
            pointwise map, 3 adds a local 3×3 kernel next to the truncated spectrum.
    """

    scenario: Scenario = "static"
    in_channels: tuple[str, ...] = ("vorticity",)
    out_channels: tuple[str, ...] = ("vorticity",)
    grid_shape: tuple[int, ...] = (128, 128)
    latent_shape: tuple[int, ...] = (16, 16)
    extent: tuple[float, ...] = (8.0, 8.0)
    width: int = 32
    n_modes: tuple[int, ...] = (8, 8)
    n_layers: int = 3
    latent_channels: int = 1
    pde: AdvectionPDE | PoissonPDE | None = None
    learnable_pde: bool = False
    pooling: Literal["average", "decimate"] = "average"
    skip_kernel: int = 1

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        for f in fields(self):
            set_(self, f.name, _tupled(getattr(self, f.name)))
        if self.scenario not in SCENARIOS:
            raise ConfigError(f"unknown scenario {self.scenario!r}; known: {list(SCENARIOS)}")
        dims = len(self.grid_shape)
        if isinstance(self.n_modes, int):
            set_(self, "n_modes", (self.n_modes,) * dims)
        set_(self, "pde", self._resolve_pde(self.pde))
        self._validate(dims)

    def _resolve_pde(self, pde: Any) -> AdvectionPDE | PoissonPDE | None:
        if self.scenario == "static":
            if pde is not None:
                raise ConfigError("the static scenario has no latent PDE; set pde=None")
            return None
        if self.scenario == "many_to_one":
            return _dataclass_from(PoissonPDE, pde, "pde") or PoissonPDE()
        pde = _dataclass_from(AdvectionPDE, pde, "pde")
        if pde is None and self.scenario == "geometric":
            return AdvectionPDE(velocity=(1.0,), boundary=("periodic",))
        return pde or AdvectionPDE()

    def _validate(self, dims: int) -> None:
        want_dims = {"static": (2, 3), "temporal": (2,), "geometric": (2,), "many_to_one": (3,)}
        if dims not in want_dims[self.scenario]:
            raise ConfigError(
                f"scenario {self.scenario!r} needs a grid of {want_dims[self.scenario]} axes, "
                f"got grid_shape {self.grid_shape}"
            )
        latent_dims = 1 if self.scenario == "geometric" else dims
        checks = [
            (len(self.latent_shape) == latent_dims, f"latent_shape needs {latent_dims} axes"),
            (len(self.extent) == dims, f"extent needs {dims} entries"),
            (len(self.n_modes) == dims, f"n_modes needs {dims} entries"),
            (min(self.extent) > 0, "extent must be positive"),
            (min(self.n_modes) >= 1, "n_modes must be >= 1"),
            (self.width >= 1 and self.n_layers >= 1, "width and n_layers must be >= 1"),
            (self.latent_channels >= 1, "latent_channels must be >= 1"),
            (len(self.in_channels) >= 1 and len(self.out_channels) >= 1, "channels are empty"),
            (self.pooling in ("average", "decimate"), "pooling is 'average' or 'decimate'"),
            (self.skip_kernel >= 1 and self.skip_kernel % 2 == 1, "skip_kernel is odd, >= 1"),
        ]
        if self.scenario in MARCHING_SCENARIOS:
            checks.append(
                (self.in_channels == self.out_channels, "marching needs in == out channels")
            )
            checks.append((len(self.pde.velocity) == latent_dims, "pde.velocity per latent axis"))
            if self.pde.source is not None:
                checks += [
                    (self.scenario == "temporal", "a carrier source needs scenario 'temporal'"),
                    (self.latent_channels == 2, "a carrier latent has latent_channels=2"),
                    (not self.learnable_pde, "a carrier latent has fixed coefficients"),
                    (len(self.pde.source) == 2, "pde.source is (x_start, x_stop) latent columns"),
                    (self.pde.boundary[0] == "upwind", "a carrier field is open in x ('upwind')"),
                ]
            checks.append(
                (
                    self.pde.correction == 0 or self.pde.source is not None,
                    "a learned correction (pde.correction > 0) needs a carrier latent",
                )
            )
            checks.append((self.pde.correction >= 0, "pde.correction is a width >= 0"))
            standing = self.pde.standing
            checks.append(
                (
                    standing == 0
                    or (self.scenario == "geometric" and 0 < standing < self.latent_channels),
                    "pde.standing keeps 0 < n < latent_channels channels of a geometric line",
                )
            )
        if self.scenario == "many_to_one":
            checks.append((len(self.in_channels) == 3, "many_to_one takes 3 velocity channels"))
            checks.append((self.latent_channels == 1, "many_to_one uses latent_channels=1"))
        for ok, message in checks:
            if not ok:
                raise ConfigError(f"DianoConfig ({self.scenario}): {message}; got {self!r}")
        try:
            plan_stages(self.encoder_grid, self.encoder_target, self.n_layers)
        except ValueError as exc:
            raise ConfigError(
                f"DianoConfig: grid_shape {self.grid_shape} → latent_shape {self.latent_shape}: "
                f"{exc}"
            ) from exc

    @property
    def carrier(self) -> bool:
        """Whether the latent is a field channel fed by a periodic carrier channel."""
        return isinstance(self.pde, AdvectionPDE) and self.pde.source is not None

    @property
    def decoded_channels(self) -> int:
        """Latent channels the decoder reads: the field only in a carrier latent."""
        return 1 if self.carrier else self.latent_channels

    @property
    def encoder_grid(self) -> tuple[int, ...]:
        return tuple(self.grid_shape)

    @property
    def network(self) -> str:
        """One line on the encoder and decoder, e.g. for a model card."""
        modes = "×".join(map(str, self.n_modes))
        local = "×".join([str(self.skip_kernel)] * len(self.grid_shape))
        skip = "pointwise skip" if self.skip_kernel == 1 else f"{local} convolution skip"
        return (
            f"FNO encoder and decoder, {self.n_layers} Fourier blocks each: width "
            f"{self.width}, {modes} modes, {skip}"
        )

    @property
    def encoder_target(self) -> tuple[int, ...]:
        """Grid the encoder's blocks end on: the latent, or (H, M_x) before the height mean."""
        if self.scenario == "geometric":
            return (self.grid_shape[0], *self.latent_shape)
        return tuple(self.latent_shape)


class Diano(LatentModel):
    """Differentiable autoencoding neural operator (see the module docstring).

    Args:
        config: a :class:`DianoConfig`.

    Shapes (``Lc`` = latent channels, ``C`` = field channels):
        static/temporal: ``encode (B, C, H, W) -> (B, Lc, M_y, M_x)``;
        geometric: ``encode (B, C, H, W) -> (B, Lc, M_x)``;
        many_to_one: ``encode (B, 3, D, H, W) -> (B, 3, M, M, M)`` (latent u, v, w),
        ``decode (B, 1, M, M, M) -> (B, 1, D, H, W)`` (latent pressure to p),
        ``map (B, 3, D, H, W) -> (B, 1, D, H, W)``.
    """

    name = "diano"

    def __init__(self, config: DianoConfig) -> None:
        super().__init__(config)
        c = config
        stages = plan_stages(c.encoder_grid, c.encoder_target, c.n_layers)
        common = {
            "width": c.width,
            "n_modes": c.n_modes,
            "extent": c.extent,
            "pooling": c.pooling,
            "skip_kernel": c.skip_kernel,
        }
        decoder_in = c.decoded_channels
        if c.scenario == "many_to_one":
            # one encoder per velocity component, each seeing its field and the coordinates
            self.encoders = nn.ModuleList(
                FNOEncoder(1, 1, stages=stages, **common) for _ in c.in_channels
            )
        else:
            self.encoder = FNOEncoder(
                len(c.in_channels), c.latent_channels, stages=stages, **common
            )
        if c.scenario == "geometric":
            self.line_to_plane = LineToPlane(c.latent_channels, c.width, c.grid_shape[0])
            decoder_in = c.width
        self.decoder = FNODecoder(
            decoder_in,
            len(c.out_channels),
            latent_shape=stages[-1],
            stages=decoder_stages(c.grid_shape, stages),
            **common,
        )
        self.solver = _build_solver(c)

    @property
    def latent_shape(self) -> tuple[int, ...]:
        """Shape of one latent without the batch axis: ``(Lc, *M)``; ``(3, *M)`` many-to-one."""
        c = self.config
        channels = len(c.in_channels) if c.scenario == "many_to_one" else c.latent_channels
        return (channels, *c.latent_shape)

    @property
    def standing(self) -> int:
        """Leading latent channels the march leaves alone (``pde.standing``; 0 for none)."""
        return int(getattr(self.config.pde, "standing", 0) or 0)

    # -- helpers --------------------------------------------------------------------------
    def _check(self, u: Tensor, channels: int, dims: int, what: str) -> None:
        if u.dim() != 2 + dims or u.shape[1] != channels:
            raise ConfigError(
                f"diano ({self.scenario}) {what} must be (B, {channels}, {dims} spatial axes), "
                f"got shape {tuple(u.shape)}"
            )

    def latent_mask(self, mask: Tensor) -> Tensor:
        """Fluid mask on the latent grid: cells whose box average is at least half fluid.

        ``mask (B or 1, 1, D, H, W)`` with 1 in the fluid → ``(B or 1, 1, M, M, M)``.
        """
        return (resample(mask.float(), self.config.latent_shape) >= 0.5).float()

    # -- contract -------------------------------------------------------------------------
    def encode(self, u: Tensor, mask: Tensor | None = None) -> Tensor:
        """Field(s) in physical units → latent.

        ``mask`` (1 = fluid, ``(B or 1, 1, *S)``) is used by the geometric and many-to-one
        scenarios: the normalised input is set to 0 (the channel mean) in solid cells, so the
        latent does not depend on what the data holds there, the geometric height average is
        weighted by it and the many-to-one latent velocities are masked on the latent grid.
        The grid scenarios encode the whole box and ignore it.
        """
        c = self.config
        self._check(u, len(c.in_channels), len(c.grid_shape), "input")
        x = self.in_norm.normalize(u)
        masked = mask is not None and c.scenario in ("geometric", "many_to_one")
        if masked:
            x = x * resample(mask.to(x.dtype), x.shape[2:])
        if c.scenario == "many_to_one":
            # (B, 3, *S) -> three (B, 1, *M) latents -> (B, 3, *M)
            z = torch.cat([enc(x[:, i : i + 1]) for i, enc in enumerate(self.encoders)], dim=1)
            return z * self.latent_mask(mask).to(z.dtype) if masked else z
        z = self.encoder(x)
        if c.scenario == "geometric":
            z = average_over_height(z, mask)  # (B, Lc, H, M_x) -> (B, Lc, M_x)
        return z

    def decode(
        self,
        z: Tensor,
        output_shape: Sequence[int] | None = None,
        mask: Tensor | None = None,
    ) -> Tensor:
        """Latent → field in physical units on ``output_shape`` (default ``grid_shape``).

        In the many-to-one scenario ``z`` is a latent pressure ``(B, 1, M, M, M)``, and a
        given ``mask`` (on the full grid) zeroes the solid cells of the output. A carrier
        latent decodes its field channel.
        """
        c = self.config
        shape = tuple(c.grid_shape) if output_shape is None else tuple(output_shape)
        latent_in = 1 if c.scenario == "many_to_one" else c.latent_channels
        self._check(z, latent_in, len(c.latent_shape), "latent")
        z = z[:, : c.decoded_channels]
        if c.scenario == "geometric":
            z = self.line_to_plane(z)  # (B, Lc, M_x) -> (B, width, H, M_x)
        u = self.out_norm.denormalize(self.decoder(z, shape))
        if c.scenario == "many_to_one" and mask is not None:
            u = u * (resample(mask.to(u.dtype), shape) >= 0.5).to(u.dtype)
        return u

    def step(self, z: Tensor, n: int = 1, **pde_overrides: Any) -> Tensor:
        """Advance the latent ``n`` solver steps; overrides: ``nu``, ``velocity``, ``dt``,
        ``n_substeps`` (floats, or per-sample tensors of length B / shape (B, d))."""
        if self.scenario not in MARCHING_SCENARIOS:
            return super().step(z, n, **pde_overrides)
        unknown = sorted(set(pde_overrides) - set(PDE_OVERRIDES))
        if unknown:
            raise ConfigError(f"unknown PDE overrides {unknown}; known: {list(PDE_OVERRIDES)}")
        if not isinstance(n, int) or n < 0:
            raise ConfigError(f"step count n must be an integer >= 0, got {n!r}")
        self._check(z, self.config.latent_channels, len(self.config.latent_shape), "latent")
        if n == 0:
            return z
        s = self.standing
        if s:
            # the standing channels stay; the solver advances the travelling ones
            return torch.cat([z[:, :s], self.solver(z[:, s:], n_steps=n, **pde_overrides)], 1)
        return self.solver(z, n_steps=n, **pde_overrides)

    def map(self, inputs: Tensor, mask: Tensor | None = None) -> Tensor:
        """Many-to-one: velocities ``(B, 3, D, H, W)`` → pressure ``(B, 1, D, H, W)``.

        ``mask (B or 1, 1, D, H, W)``, 1 in the fluid, masks the latent velocities, the
        Poisson solve and the output.
        """
        if self.scenario != "many_to_one":
            return super().map(inputs)
        _, _, p = self.map_latents(inputs, mask)
        return self.decode(p, tuple(inputs.shape[2:]), mask)

    def map_latents(
        self, inputs: Tensor, mask: Tensor | None = None
    ) -> tuple[Tensor, Tensor | None, Tensor]:
        """The inside of :meth:`map`: latent velocities ``(B, 3, *M)``, the latent fluid mask
        ``(B or 1, 1, *M)`` (``None`` without ``mask``) and the latent pressure ``(B, 1, *M)``
        of the Poisson solve, which :meth:`decode` turns into the pressure."""
        if self.scenario != "many_to_one":
            raise ConfigError(f"map_latents needs scenario 'many_to_one', not {self.scenario!r}")
        z = self.encode(inputs, mask)
        latent_mask = None if mask is None else self.latent_mask(mask).to(z.dtype)
        # latent velocities (B, 1, *M) each -> latent pressure (B, 1, *M)
        p = self.solver(z[:, 0:1], z[:, 1:2], z[:, 2:3], mask=latent_mask)
        return z, latent_mask, p

    def rollout(
        self, u0: Tensor, n_steps: int, reencode: bool = False, mask: Tensor | None = None
    ) -> Tensor:
        """Latent-only march (see :meth:`LatentModel.rollout`); ``mask`` as in :meth:`encode`."""
        if self.scenario == "many_to_one":
            raise ConfigError("diano in scenario 'many_to_one' does not march; use map()")
        if n_steps < 0:
            raise ConfigError(f"n_steps must be >= 0, got {n_steps}")
        shape = tuple(u0.shape[2:])
        z = self.encode(u0, mask)
        frames = [self.decode(z, shape)]
        for _ in range(n_steps):
            z = self.step(z)
            frames.append(self.decode(z, shape))
            if reencode:
                z = self.encode(frames[-1], mask)
        # T + 1 frames of (B, C, *S) -> (B, T + 1, C, *S)
        return torch.stack(frames, dim=1)

    def forward(self, u: Tensor, mask: Tensor | None = None) -> Tensor:
        """Reconstruction (static), one step ahead (temporal, geometric) or the map."""
        if self.scenario == "many_to_one":
            return self.map(u, mask)
        z = self.encode(u, mask)
        if self.scenario in MARCHING_SCENARIOS:
            z = self.step(z)
        return self.decode(z, tuple(u.shape[2:]))


def _build_solver(c: DianoConfig) -> nn.Module | None:
    """The latent solver of the scenario, on the latent grid and the PDE's box."""
    if c.scenario == "static":
        return None
    pde = c.pde
    box = tuple(pde.box) if pde.box is not None else (1.0,) * len(c.latent_shape)
    if c.scenario == "many_to_one":
        return PressurePoisson3d(
            c.latent_shape, box, rho=pde.rho, method=pde.method, tol=pde.tol, max_iter=pde.max_iter
        )
    kwargs = {
        "nu": pde.nu,
        "dt": pde.dt,
        "n_substeps": pde.n_substeps,
        "scheme": pde.scheme,
        "learnable": c.learnable_pde,
    }
    if c.scenario == "temporal" and pde.source is not None:
        del kwargs["learnable"]
        return CarrierAdvection2d(
            c.latent_shape,
            box,
            source=pde.source,
            velocity=pde.velocity,
            y_boundary=pde.boundary[1],
            correction=pde.correction,
            **kwargs,
        )
    if c.scenario == "temporal":
        return AdvectionDiffusion2d(
            c.latent_shape, box, velocity=pde.velocity, boundary=pde.boundary, **kwargs
        )
    return AdvectionDiffusion1d(
        c.latent_shape[0], box[0], velocity=pde.velocity[0], boundary=pde.boundary[0], **kwargs
    )
