"""The solver playground: march a latent with chosen PDE settings, outside the model.

The model's own solver is never changed: :func:`build_solver` makes a new
:class:`~diano.solvers.AdvectionDiffusion2d` on the model's latent grid and box with the
settings a person picked (ν, velocity, dt, sub-steps, scheme, boundaries), or, for a
carrier latent whose x boundary is left at ``"carrier"``, a new
:class:`~diano.solvers.CarrierAdvection2d` with the model's source columns. It is always
built with ``n_substeps="auto"`` so that construction never raises; whether the requested
fixed number of sub-steps is stable is a question for :func:`stability`, asked before a
march, so the app can warn instead of blowing up.

:class:`PlaygroundRecord` is what the playground shows (start frame, steps marched, the
settings of both forks) as plain JSON, so a session bundle can restore the same march;
:func:`settings_to_dict` and :func:`settings_from_dict` do the same for one
:class:`SolverSettings`, and refuse a damaged entry with a :class:`~diano.errors.DataError`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import torch
from torch import Tensor, nn

from diano.errors import ConfigError, DataError, UnstableSolverError
from diano.solvers import (
    AdvectionDiffusion1d,
    AdvectionDiffusion2d,
    CarrierAdvection2d,
    StabilityReport,
)

if TYPE_CHECKING:
    from diano.explore.line import LineSettings

SCHEMES = ("central2", "central4", "oucs2")
BOUNDARIES = ("periodic", "free", "upwind")
#: the x "boundary" of a carrier latent: an open field fed by a periodic carrier in the
#: source columns (:class:`~diano.solvers.CarrierAdvection2d`); needs ``source``
CARRIER = "carrier"


@dataclass(frozen=True)
class SolverSettings:
    """Settings of a 2D latent advection–diffusion march.

    Attributes:
        nu: diffusivity ν (latent units).
        velocity: ``(cx, cy)`` (latent units).
        dt: step per snapshot interval.
        n_substeps: RK4 sub-steps per step, or ``"auto"`` for as many as stability needs.
        scheme: ``"central2"``, ``"central4"`` or ``"oucs2"``.
        boundary: ``(bx, by)``: ``"periodic"``, ``"free"`` or ``"upwind"`` per axis; ``bx``
            may be ``"carrier"`` when ``source`` is given.
        source: a carrier latent's source columns ``(x_start, x_stop)`` (``None``: the
            latent has no carrier).
        learned: a carrier march adds the model's learned local rate
            (:class:`~diano.solvers.correction.LocalCorrection2d`) downstream of the source.
    """

    nu: float
    velocity: tuple[float, float]
    dt: float
    n_substeps: int | str = "auto"
    scheme: str = "central2"
    boundary: tuple[str, str] = ("periodic", "periodic")
    source: tuple[int, int] | None = None
    learned: bool = False

    @property
    def carrier(self) -> bool:
        """Whether these settings march a carrier latent (field fed by a carrier)."""
        return self.boundary[0] == CARRIER


_SETTINGS_KEYS = (
    "nu", "velocity", "dt", "n_substeps", "scheme", "boundary", "source", "learned",
)  # fmt: skip


def settings_to_dict(settings: SolverSettings) -> dict[str, Any]:
    """``settings`` as JSON-ready values (floats are kept exactly: JSON writes their repr)."""
    return {
        "nu": float(settings.nu),
        "velocity": [float(settings.velocity[0]), float(settings.velocity[1])],
        "dt": float(settings.dt),
        "n_substeps": settings.n_substeps,
        "scheme": str(settings.scheme),
        "boundary": [str(settings.boundary[0]), str(settings.boundary[1])],
        "source": None if settings.source is None else [int(c) for c in settings.source],
        "learned": bool(settings.learned),
    }


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise DataError(f"{what} must be a finite number, got {value!r}")
    return float(value)


def settings_from_dict(entry: Any, what: str = "solver settings") -> SolverSettings:
    """The :class:`SolverSettings` of a dict written by :func:`settings_to_dict`.

    ``nu``, ``velocity`` and ``dt`` are required; ``n_substeps``, ``scheme``, ``boundary``,
    ``source`` and ``learned`` default as in :class:`SolverSettings`.

    Raises:
        DataError: not a dict, an unknown or missing key, or a value of the wrong kind
            (the message starts with ``what``).
    """
    if not isinstance(entry, Mapping):
        raise DataError(f"{what}: expected a mapping of settings, got {type(entry).__name__}")
    unknown = sorted(str(k) for k in entry if k not in _SETTINGS_KEYS)
    if unknown:
        raise DataError(f"{what}: unknown setting(s) {unknown}; known: {list(_SETTINGS_KEYS)}")
    missing = [k for k in ("nu", "velocity", "dt") if k not in entry]
    if missing:
        raise DataError(f"{what}: missing {missing}")
    nu = _number(entry["nu"], f"{what}: nu")
    dt = _number(entry["dt"], f"{what}: dt")
    if nu < 0 or dt <= 0:
        raise DataError(f"{what}: nu must be >= 0 and dt > 0, got nu={nu!r}, dt={dt!r}")
    velocity = entry["velocity"]
    if not isinstance(velocity, (list, tuple)) or len(velocity) != 2:
        raise DataError(f"{what}: velocity must be a pair (cx, cy), got {velocity!r}")
    cx, cy = (_number(c, f"{what}: velocity") for c in velocity)
    n_substeps = entry.get("n_substeps", "auto")
    if n_substeps != "auto" and (type(n_substeps) is not int or n_substeps < 1):
        raise DataError(f"{what}: n_substeps must be 'auto' or a count >= 1, got {n_substeps!r}")
    scheme = entry.get("scheme", "central2")
    if scheme not in SCHEMES:
        raise DataError(f"{what}: unknown scheme {scheme!r}; known: {list(SCHEMES)}")
    source = entry.get("source")
    if source is not None and (
        not isinstance(source, (list, tuple))
        or len(source) != 2
        or any(type(c) is not int for c in source)
        or not 0 <= source[0] < source[1]
    ):
        raise DataError(f"{what}: source must be two columns 0 <= start < stop, got {source!r}")
    boundary = entry.get("boundary", ("periodic", "periodic"))
    x_choices = BOUNDARIES if source is None else (CARRIER, *BOUNDARIES)
    if (
        not isinstance(boundary, (list, tuple))
        or len(boundary) != 2
        or boundary[0] not in x_choices
        or boundary[1] not in BOUNDARIES
    ):
        raise DataError(
            f"{what}: boundary must be a pair, x from {list(x_choices)} and y from "
            f"{list(BOUNDARIES)}, got {boundary!r}"
        )
    learned = entry.get("learned", False)
    if type(learned) is not bool:
        raise DataError(f"{what}: learned must be true or false, got {learned!r}")
    return SolverSettings(
        nu,
        (cx, cy),
        dt,
        n_substeps,
        scheme,
        (boundary[0], boundary[1]),
        None if source is None else (source[0], source[1]),
        learned,
    )


@dataclass(frozen=True)
class PlaygroundRecord:
    """What the solver playground shows, enough to march it again bit for bit.

    Attributes:
        start_frame: the frame both forks start from.
        n_steps: steps marched so far.
        settings_a: fork A's settings (the original latent).
        settings_b: fork B's when it marches the same latent with other settings; ``None``
            when fork B marches the latent editor's edited latent with A's settings.
        b_edited: fork B started from edits (``False``: there were none for that frame).
    """

    start_frame: int
    n_steps: int
    settings_a: SolverSettings
    settings_b: SolverSettings | None = None
    b_edited: bool = False

    @property
    def fork_b(self) -> Literal["edited", "other"]:
        """``"edited"``: B is the edited latent; ``"other"``: B has other settings."""
        return "edited" if self.settings_b is None else "other"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``start_frame``, ``n_steps``, ``fork_b``, ``b_edited``, ``A``, ``B``."""
        return {
            "start_frame": int(self.start_frame),
            "n_steps": int(self.n_steps),
            "fork_b": self.fork_b,
            "b_edited": bool(self.b_edited),
            "A": settings_to_dict(self.settings_a),
            "B": None if self.settings_b is None else settings_to_dict(self.settings_b),
        }

    @classmethod
    def from_dict(cls, entry: Any, what: str = "playground") -> PlaygroundRecord:
        """The record :meth:`to_dict` wrote.

        Raises:
            DataError: not a dict, unknown or missing keys, a bad count, an unknown fork
                kind, fork B's settings missing or present against its kind, bad settings.
        """
        keys = ("start_frame", "n_steps", "fork_b", "b_edited", "A", "B")
        if not isinstance(entry, Mapping):
            raise DataError(f"{what}: expected a mapping, got {type(entry).__name__}")
        unknown = sorted(str(k) for k in entry if k not in keys)
        if unknown:
            raise DataError(f"{what}: unknown key(s) {unknown}; known: {list(keys)}")
        missing = [k for k in keys if k not in entry]
        if missing:
            raise DataError(f"{what}: missing {missing}")
        for key in ("start_frame", "n_steps"):
            if type(entry[key]) is not int or entry[key] < 0:
                raise DataError(f"{what}: {key} must be a count >= 0, got {entry[key]!r}")
        if entry["fork_b"] not in ("edited", "other"):
            raise DataError(f"{what}: fork_b must be 'edited' or 'other', got {entry['fork_b']!r}")
        if type(entry["b_edited"]) is not bool:
            raise DataError(f"{what}: b_edited must be true or false, got {entry['b_edited']!r}")
        if (entry["fork_b"] == "other") != (entry["B"] is not None):
            raise DataError(
                f"{what}: fork_b is {entry['fork_b']!r} but fork B's settings are "
                f"{'missing' if entry['B'] is None else 'given'}"
            )
        b = entry["B"]
        return cls(
            start_frame=entry["start_frame"],
            n_steps=entry["n_steps"],
            settings_a=settings_from_dict(entry["A"], f"{what}: fork A"),
            settings_b=None if b is None else settings_from_dict(b, f"{what}: fork B"),
            b_edited=entry["b_edited"],
        )


def marching_latent(model: nn.Module) -> tuple[tuple[int, int], tuple[float, float]]:
    """Latent grid ``(M_y, M_x)`` and solver box of a 2D temporal DIANO model.

    Raises:
        ConfigError: the model has no 2D latent advection–diffusion (a baseline, or another
            scenario).
    """
    config = getattr(model, "config", None)
    pde = getattr(config, "pde", None)
    if getattr(model, "name", "") != "diano" or config.scenario != "temporal" or pde is None:
        raise ConfigError(
            f"the solver playground marches DIANO's 2D latent PDE; model "
            f"{getattr(model, 'name', '?')!r} in scenario {getattr(config, 'scenario', '?')!r} "
            "has none"
        )
    shape = (int(config.latent_shape[0]), int(config.latent_shape[1]))
    box = tuple(float(b) for b in pde.box) if pde.box is not None else (1.0, 1.0)
    return shape, (box[0], box[1])


def learned_rate(model: nn.Module) -> nn.Module | None:
    """The model's learned local rate (:class:`~diano.solvers.correction.LocalCorrection2d`)
    of a carrier latent, or ``None``."""
    return getattr(getattr(model, "solver", None), "correction", None)


def settings_from_model(model: nn.Module) -> SolverSettings:
    """The settings the model was trained with (learned ν and velocity included); a carrier
    latent's x boundary is ``"carrier"``, with its source columns, and its learned local
    rate, if it has one, is on."""
    marching_latent(model)
    pde = model.config.pde
    source = getattr(pde, "source", None)
    solver = getattr(model, "solver", None)
    nu, velocity = float(pde.nu), tuple(float(c) for c in pde.velocity)
    if solver is not None:
        nu = float(solver.nu.detach().mean())
        velocity = tuple(float(c) for c in solver.velocity.detach().reshape(-1, 2).mean(0))
    return SolverSettings(
        nu=nu,
        velocity=(velocity[0], velocity[1]),
        dt=float(pde.dt),
        n_substeps=pde.n_substeps,
        scheme=str(pde.scheme),
        boundary=(CARRIER if source else str(pde.boundary[0]), str(pde.boundary[-1])),
        source=None if source is None else (int(source[0]), int(source[1])),
        learned=learned_rate(model) is not None,
    )


def describe_pde(model: nn.Module) -> str | None:
    """One line on the latent PDE a 2D temporal DIANO marches (``None`` for other models):
    the equation, its coefficients in latent units, the carrier and the learned rate."""
    try:
        s = settings_from_model(model)
    except ConfigError:
        return None
    rate = learned_rate(model)
    text = (
        f"∂z/∂t + c·∇z = ν∇²z{' + f(z, x, y)' if rate is not None else ''}, "
        f"c = ({s.velocity[0]:.4g}, {s.velocity[1]:.4g}), ν = {s.nu:.3g}, "
        f"dt = {s.dt:.3g} per snapshot (latent units), {s.scheme}"
    )
    if s.carrier and s.source is not None:
        text += f"; carrier latent fed in columns {s.source[0]}–{s.source[1] - 1}"
    if rate is not None:
        n = sum(p.numel() for p in rate.parameters())
        text += f"; f a learned local rate downstream of them ({n:,} parameters)"
    return text


def build_solver(
    settings: SolverSettings,
    shape: Sequence[int],
    box: Sequence[float],
    rate: nn.Module | None = None,
) -> AdvectionDiffusion2d | CarrierAdvection2d:
    """A fresh solver for ``settings`` on the latent ``shape`` and ``box`` (never raises for
    instability; see :func:`stability`). ``rate`` is the model's learned local rate
    (:func:`learned_rate`), shared, not copied, when ``settings.learned``.

    Raises:
        ConfigError: settings no solver takes: a carrier without source columns, source
            columns that leave too few downstream, a carrier marched against the flow
            (``c_x <= 0``), or a learned rate asked for without a carrier or without one.
    """
    if settings.learned and not (settings.carrier and rate is not None):
        raise ConfigError(
            "the learned local rate is added to a carrier latent's field; "
            + ("choose the 'carrier' x boundary" if rate is not None else "this model has none")
        )
    if settings.carrier:
        if settings.source is None:
            raise ConfigError("a 'carrier' x boundary needs the latent's source columns")
        solver = CarrierAdvection2d(
            (int(shape[0]), int(shape[1])),
            (float(box[0]), float(box[1])),
            source=settings.source,
            y_boundary=settings.boundary[1],
            nu=settings.nu,
            velocity=settings.velocity,
            dt=settings.dt,
            n_substeps="auto",
            scheme=settings.scheme,
        )
        if settings.learned:
            solver.correction = rate
        return solver
    return AdvectionDiffusion2d(
        (int(shape[0]), int(shape[1])),
        (float(box[0]), float(box[1])),
        nu=settings.nu,
        velocity=settings.velocity,
        dt=settings.dt,
        n_substeps="auto",
        scheme=settings.scheme,
        boundary=settings.boundary,
    )


def model_solver(
    settings: SolverSettings, model: nn.Module
) -> AdvectionDiffusion2d | CarrierAdvection2d:
    """:func:`build_solver` on the model's latent grid and box, with its learned local rate."""
    return build_solver(settings, *marching_latent(model), learned_rate(model))


def stability(
    solver: AdvectionDiffusion1d | AdvectionDiffusion2d | CarrierAdvection2d,
    settings: SolverSettings | LineSettings,
) -> StabilityReport:
    """The stability report for the requested sub-steps (``"auto"``: as many as needed); for
    the 2D latent grid and the 1D latent line alike."""
    return solver.stability(n_substeps=settings.n_substeps)


@torch.no_grad()
def march(
    solver: AdvectionDiffusion1d | AdvectionDiffusion2d | CarrierAdvection2d,
    z: Tensor,
    n_steps: int,
    settings: SolverSettings | LineSettings,
    what: str = "latent",
) -> list[Tensor]:
    """March ``z (B, Lc, M_y, M_x)`` (or a line ``(B, Lc, M_x)`` with a 1D solver) ``n_steps``
    steps; returns the ``n_steps`` new states. ``what`` names the latent in messages.

    Raises:
        UnstableSolverError: a fixed number of sub-steps is unstable for these settings (the
            message names the CFL or diffusion number and its limit).
    """
    report = stability(solver, settings)
    if not report.ok:
        raise UnstableSolverError(f"these solver settings are unstable: {report.explain()}")
    states = []
    for _ in range(int(n_steps)):
        z = solver(z, 1, n_substeps=settings.n_substeps)
        if not torch.isfinite(z).all():
            raise UnstableSolverError(
                f"the {what} became non-finite while marching; reduce dt or use more sub-steps"
            )
        states.append(z)
    return states


def latent_residual(
    solver: AdvectionDiffusion2d | CarrierAdvection2d, latents: Tensor, dt: float
) -> Tensor:
    """Relative residual of the latent PDE along ``latents (T, Lc, M_y, M_x)``: ``(T - 1,)``
    (:func:`diano.metrics.advection_diffusion_residual`)."""
    from diano.metrics import advection_diffusion_residual

    if latents.shape[0] < 2:
        return torch.zeros(0)
    with torch.no_grad():
        return advection_diffusion_residual(latents[None], dt, solver)[0]
