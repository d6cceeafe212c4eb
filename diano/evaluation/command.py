"""``diano evaluate``: score the shipped checkpoints (and ablation runs) and write the results.

    diano evaluate [--source cache|samples] [--ablation DIR ...] [--out docs/results.md]
                   [--json docs/results.json] [--img docs/img] [--only BENCH/MODEL-SCENARIO]

For every checkpoint in the manifest: parameters, latent size and compression ratio; on the
held-out cases (``--source cache``: the full generated set's ``heldout`` split; ``samples``:
the committed samples) the reconstruction or map error (rel-L2 and MSE, also in the paper's
units, vorticity divided by 4.4), latent-only and re-encoded rollout errors at 0.1, 0.5, 1
and 2 periods next to persistence and the time-mean field (PNG curves), the latent's
correlation with the pooled truth, its radial energy spectrum against the truth's with the
k⁻³ reference (PNG), and the error under 0–25 % Gaussian input noise. Checkpoints found
under ``--ablation`` folders are scored the same way for the ablation table.

The tables replace the section between the ``evaluate`` markers of ``--out``; text outside
the markers (the discussion of the paper's claims) is kept. With ``--only``, the results of the
other checkpoints are kept from ``--json`` (and their figures from ``--img``), so scoring one
new checkpoint does not drop the rest of the report. Every row names the data it was scored on.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch

from diano.reporting import markers, portable_path, write_section

BEGIN, END = markers("evaluate")
NOISE_LEVELS = (0.0, 0.05, 0.10, 0.15, 0.25)
#: the paper's vorticity normalisation (their code divides vorticity by 4.4)
PAPER_VORTICITY_SCALE = 4.4


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--source", choices=("cache", "samples"), default="cache", help="held-out data"
    )
    parser.add_argument(
        "--ablation", type=Path, nargs="*", default=[], help="folders of ablation checkpoints"
    )
    parser.add_argument("--out", type=Path, default=Path("docs/results.md"), help="markdown report")
    parser.add_argument("--json", type=Path, default=Path("docs/results.json"), help="JSON results")
    parser.add_argument("--img", type=Path, default=Path("docs/img"), help="folder of the figures")
    parser.add_argument(
        "--only",
        nargs="*",
        default=None,
        help="manifest entries to score (the other results are kept from --json)",
    )
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    parser.add_argument("--starts", type=int, default=5, help="rollout starts per case")


# -- scoring ----------------------------------------------------------------------------
@torch.no_grad()
def noise_robustness(
    model: Any,
    flow: Any,
    device: torch.device,
    levels: tuple[float, ...] = NOISE_LEVELS,
    n: int = 16,
    seed: int = 0,
) -> dict[str, float]:
    """Error of the model's main output when Gaussian noise of ``level × std`` is added to
    its input (reconstruction for static, one step for marching models, the map)."""
    from diano.evaluation.scores import _tensor
    from diano.metrics import rel_l2
    from diano.training.objectives import encode, map_fields

    g = torch.Generator().manual_seed(seed)
    u, mask = _tensor(flow, model.config.in_channels, device)
    idx = (
        torch.linspace(0, u.shape[0] - 2 if u.shape[0] > 1 else 0, min(n, u.shape[0]))
        .round()
        .long()
    )
    x = u[idx]
    std = x.flatten(2).std(-1).mean(0).view(1, -1, *([1] * (x.dim() - 2)))
    out: dict[str, float] = {}
    for level in levels:
        noisy = x + level * std * torch.randn(x.shape, generator=g).to(device)
        if model.scenario == "many_to_one":
            target, _ = _tensor(flow, model.config.out_channels, device)
            pred = map_fields(model, noisy, mask)
            err = rel_l2(pred, target[idx], mask)
        elif model.scenario == "static":
            err = rel_l2(model.decode(encode(model, noisy, mask), tuple(x.shape[2:])), x, mask)
        else:
            z = model.step(encode(model, noisy, mask))
            err = rel_l2(model.decode(z, tuple(x.shape[2:])), u[idx + 1], mask)
        out[f"{level:.0%}"] = float(err)
    return out


@torch.no_grad()
def spectra(model: Any, flow: Any, device: torch.device, n: int = 8) -> dict[str, Any]:
    """Radial spectra of the latent, the pooled truth and the truth (means over snapshots),
    with fitted slopes over the inertial range of each."""
    from diano.evaluation.scores import _tensor
    from diano.metrics import pool_to, radial_energy_spectrum, spectrum_slope
    from diano.training.objectives import encode

    u, mask = _tensor(flow, model.config.in_channels, device)
    x = u[torch.linspace(0, u.shape[0] - 1, min(n, u.shape[0])).round().long()]
    z = encode(model, x, mask)
    if z.dim() != x.dim():
        return {}
    k_t, e_t = radial_energy_spectrum(x[:, :1], mask=mask[0, 0], ndim=x.dim() - 2)
    k_z, e_z = radial_energy_spectrum(z[:, :1], ndim=z.dim() - 2)
    pooled = pool_to(x[:, :1], tuple(z.shape[2:]), mask[0, 0])
    k_p, e_p = radial_energy_spectrum(pooled, ndim=z.dim() - 2)
    k_hi = max(3.0, float(k_z[-1]) * 0.7)

    def listed(a: torch.Tensor) -> list[float]:  # JSON-ready, five significant digits
        return [float(f"{v:.5g}") for v in a.detach().cpu().double().reshape(-1).tolist()]

    def mean_spectrum(e: torch.Tensor) -> list[float]:
        return listed(e.reshape(-1, e.shape[-1]).mean(0))

    return {
        "k_truth": listed(k_t), "E_truth": mean_spectrum(e_t),
        "k_latent": listed(k_z), "E_latent": mean_spectrum(e_z),
        "E_pooled": mean_spectrum(e_p),
        "slope_truth": float(spectrum_slope(k_t, e_t, (2.0, k_hi))),
        "slope_latent": float(spectrum_slope(k_z, e_z, (2.0, k_hi))),
        "slope_pooled": float(spectrum_slope(k_p, e_p, (2.0, k_hi))),
    }  # fmt: skip


def learned_coefficients(model: Any, extra: dict[str, Any]) -> dict[str, Any] | None:
    """For a model whose latent PDE coefficients were trained: the fixed values it started
    from and the learned ones, both in the data's units (velocity in U∞, ν in D·U∞ for the
    cylinder); ``None`` otherwise."""
    from diano.models.diano import AdvectionPDE, physical_coefficients

    pde, learned = getattr(model.config, "pde", None), extra.get("learned_pde")
    snapshot_dt = extra.get("snapshot_dt")
    if not learned or not isinstance(pde, AdvectionPDE) or not snapshot_dt:
        return None
    trained = dataclasses.replace(
        pde,
        nu=float(learned.get("nu", [pde.nu])[0]),
        velocity=tuple(float(c) for c in learned.get("velocity", pde.velocity)),
    )
    extent = model.config.extent
    return {
        "fixed": physical_coefficients(pde, snapshot_dt, extent),
        "learned": physical_coefficients(trained, snapshot_dt, extent),
    }


def score_checkpoint(
    path: Path, cases: list[Any], device: torch.device, starts: int
) -> dict[str, Any]:
    """Everything the report shows for one checkpoint."""
    from diano.checkpoints import load_checkpoint
    from diano.evaluation.protocols import evaluate_cases
    from diano.metrics import compression_ratio

    model, info = load_checkpoint(path, device=device)
    in_shape = (len(model.config.in_channels), *model.config.grid_shape)
    result: dict[str, Any] = {
        "path": portable_path(path),
        "benchmark": info.benchmark,
        "model": info.model,
        "scenario": info.scenario,
        "n_parameters": model.n_parameters,
        "latent_shape": list(model.latent_shape),
        "compression_ratio": compression_ratio(in_shape, model.latent_shape),
        "preset": info.extra.get("preset", ""),
        "train_minutes": info.metrics.get("train_minutes"),
        "trained_horizon": info.extra.get("trained_horizon"),
        "command": info.command,
        "sha256": info.sha256,
        "learned_pde": learned_coefficients(model, info.extra),
    }
    marching = model.scenario in ("temporal", "geometric")
    scored = evaluate_cases(
        model, cases, device, reencode=marching, n_starts=starts, curves=marching
    )
    result["scores"] = scored
    first = cases[0]
    result["noise"] = noise_robustness(model, first, device)
    # the k^-3 claim is about the cylinder wake's vorticity; a steady vessel's velocity
    # spectrum is the mask's, so no spectrum is drawn for the many-to-one map
    result["spectra"] = spectra(model, first, device) if model.scenario != "many_to_one" else {}
    if model.scenario == "temporal" and len(model.latent_shape) == 3 and "x" in first.coords:
        from diano.evaluation.edit import vortex_edit_response

        result["edit"] = {
            f"{cells:g} cells": vortex_edit_response(model, first, bump_cells=cells)
            for cells in (1.0, 2.0)
        }
    return result


# -- report -----------------------------------------------------------------------------
def _fmt(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, float):
        if abs(value) >= 1e4:
            return f"{value:.3e}"
        text = f"{value:.{digits}g}"
        while abs(value) < 1 <= abs(float(text)) and digits < 6:  # 0.9997 is not "1"
            digits += 1
            text = f"{value:.{digits}g}"
        return text
    return str(value)


def _row(*cells: Any) -> str:
    """One markdown table row."""
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _header(*names: str) -> list[str]:
    """A markdown table header and its rule (first column left, the rest left too)."""
    return [_row(*names), "|" + "---|" * len(names)]


def _plots(results: list[dict[str, Any]], img: Path) -> list[str]:
    """Rollout curves per benchmark and latent spectra; returns the image paths written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    img.mkdir(parents=True, exist_ok=True)
    written = []
    benchmarks = sorted({r["benchmark"] for r in results})
    for bench in benchmarks:
        rows = [
            r
            for r in results
            if r["benchmark"] == bench
            and r["scenario"] in ("temporal", "geometric")
            and not r.get("ablation")  # the ablation has its own table
        ]
        if rows:
            cases = sorted(rows[0]["scores"]["cases"])
            fig, axes = plt.subplots(
                1, len(cases), figsize=(5 * len(cases) + 2, 3.6), squeeze=False
            )
            for ax, case in zip(axes[0], cases, strict=True):
                for r in rows:
                    c = r["scores"]["cases"][case]
                    label = r["model"]
                    line = ax.plot(c["curve"]["model"], label=f"{label} latent-only")[0]
                    if "curve_reencoded" in c:
                        ax.plot(
                            c["curve_reencoded"],
                            ls=":",
                            color=line.get_color(),
                            label=f"{label} re-encoded",
                        )
                c = rows[0]["scores"]["cases"][case]
                ax.plot(c["curve"]["persistence"], color="grey", ls="--", label="persistence")
                ax.plot(c["curve"]["time_mean"], color="black", ls="-.", label="time-mean field")
                per = c.get("snapshots_per_period")
                if per:
                    for f in (0.5, 1.0, 2.0):
                        ax.axvline(f * per, color="0.85", lw=0.8)
                ax.set(title=case, xlabel="steps", ylabel="rel-L2", ylim=(0, 1.5))
            axes[0][-1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0))
            fig.tight_layout()
            path = img / f"results_rollout_{bench}.png"
            fig.savefig(path, dpi=90)
            plt.close(fig)
            written.append(str(path))
        shipped = [r for r in results if r["benchmark"] == bench and not r.get("ablation")]
        if any("spectra" not in r for r in shipped if r["scenario"] != "many_to_one"):
            # a result kept from a report written without spectra: keep its figure as it is
            old = img / f"results_spectrum_{bench}.png"
            written += [str(old)] if old.is_file() else []
            continue
        spec = [r for r in shipped if r.get("spectra")]
        if spec:
            fig, ax = plt.subplots(figsize=(5, 3.6))
            s0 = spec[0]["spectra"]
            k, e = np.asarray(s0["k_truth"]), np.asarray(s0["E_truth"])
            ax.loglog(k, e / e.sum(), color="black", label=f"truth (slope {s0['slope_truth']:.2f})")
            for r in spec:
                s = r["spectra"]
                kz, ez = np.asarray(s["k_latent"]), np.asarray(s["E_latent"])
                ax.loglog(
                    kz,
                    ez / ez.sum(),
                    label=f"{r['model']}-{r['scenario']} latent (slope {s['slope_latent']:.2f})",
                )
            ep = np.asarray(s0["E_pooled"])
            ax.loglog(
                np.asarray(s0["k_latent"]),
                ep / ep.sum(),
                ls="--",
                color="grey",
                label=f"pooled truth (slope {s0['slope_pooled']:.2f})",
            )
            ref = (k / k[1]) ** -3.0 * (e[1] / e.sum())
            ax.loglog(k, ref, ls=":", color="red", label="k^-3")
            ax.set(xlabel="k (modes per box)", ylabel="E(k) / ΣE", title=f"{bench}: energy spectra")
            ax.legend(fontsize=7)
            fig.tight_layout()
            path = img / f"results_spectrum_{bench}.png"
            fig.savefig(path, dpi=90)
            plt.close(fig)
            written.append(str(path))
    return written


HORIZONS = ("0.1T", "0.5T", "1T", "2T")


def _variant(result: dict[str, Any]) -> str:
    """An ablation run's variant: its folder name without the ``-s<seed>`` suffix."""
    return re.sub(r"-s\d+$", "", _recipe_label(result))


def _spread(values: list[float | None]) -> str:
    """Mean over seeds, with the range when there are several: ``0.12 (0.10–0.14)``."""
    vals = [v for v in values if v is not None and not math.isnan(v)]
    if not vals:
        return "–"
    if len(vals) == 1:
        return _fmt(vals[0])
    return f"{_fmt(float(np.mean(vals)))} ({_fmt(min(vals))}–{_fmt(max(vals))})"


def _by_variant(runs: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Ablation runs grouped by ``"<variant> (<benchmark>)"``, in the order they come."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in runs:
        groups.setdefault(f"{_variant(r)} ({r['benchmark']})", []).append(r)
    return groups


def _static_ablation_table(runs: list[dict[str, Any]]) -> list[str]:
    """Static ablation runs (e.g. the latent tied to the pooled input) over seeds:
    reconstruction error and latent correlation, next to the shipped static models."""
    if not runs:
        return []
    lines = ["", "### Static ablation over seeds (reconstruction and latent correlation)", ""]
    lines += _header("variant", "seeds", "train min", "reconstruction", "latent corr.")
    for name, rows in _by_variant(runs).items():
        means = [r["scores"]["mean"] for r in rows]
        lines.append(
            _row(
                name, len(rows),
                _fmt(float(np.mean([r.get("train_minutes") or math.nan for r in rows]))),
                _spread([m.get("rel_l2", m.get("reconstruction")) for m in means]),
                _spread([m.get("latent_corr") for m in means]),
            )
        )  # fmt: skip
    return lines


def _ablation_tables(runs: list[dict[str, Any]]) -> list[str]:
    """Ablation runs grouped by variant over seeds, and the coefficients the learned-PDE
    runs found against the fixed ones they started from."""
    lines = _static_ablation_table([r for r in runs if r["scenario"] == "static"])
    runs = [r for r in runs if r["scenario"] in ("temporal", "geometric")]
    if not runs:
        return lines
    lines += ["", "### Ablation over seeds (mean over seeds, range in brackets)", ""]
    lines += _header(
        "variant", "seeds", "train min", "one step", "0.1T", "0.5T", "1T", "2T",
        "re-encoded 1T", "corr. wake (line) 0T", "corr. wake (line) 1T", "corr. box 0T",
    )  # fmt: skip
    for name, rows in _by_variant(runs).items():
        means = [r["scores"]["mean"] for r in rows]

        def col(get: Any, means: list[dict[str, Any]] = means) -> str:
            return _spread([get(m) for m in means])

        lines.append(
            _row(
                name, len(rows),
                _fmt(float(np.mean([r.get("train_minutes") or math.nan for r in rows]))),
                col(lambda m: m.get("one_step")),
                *(col(lambda m, k=k: m.get("model", {}).get(k)) for k in HORIZONS),
                col(lambda m: m.get("reencoded", {}).get("1T")),
                col(lambda m: _marched_corr(m).get("0T")),
                col(lambda m: _marched_corr(m).get("1T")),
                col(lambda m: m.get("latent_corr_box", {}).get("0T")),
            )
        )  # fmt: skip
    learned = [r for r in runs if r.get("learned_pde")]
    if learned:
        lines += [
            "",
            "### Learned latent PDE (coefficients trained with the networks, in the data's units)",
            "",
        ]
        lines += _header(
            "run", "ν fixed → learned", "velocity fixed → learned", "one step", "1T", "2T"
        )
        for r in learned:
            fixed, found = r["learned_pde"]["fixed"], r["learned_pde"]["learned"]
            m = r["scores"]["mean"]
            lines.append(
                _row(
                    f"{_recipe_label(r)} ({r['benchmark']})",
                    f"{_fmt(fixed['nu'])} → {_fmt(found['nu'])}",
                    f"({', '.join(map(_fmt, fixed['velocity']))}) → "
                    f"({', '.join(map(_fmt, found['velocity']))})",
                    _fmt(m.get("one_step")),
                    _fmt(m.get("model", {}).get("1T")),
                    _fmt(m.get("model", {}).get("2T")),
                )
            )
    return lines


def _recipe_label(result: dict[str, Any]) -> str:
    """The preset of a shipped checkpoint; for an ablation run, its variant folder
    (``runs/ablation/<variant>-s<seed>/<benchmark>/<file>``), which names what it changes."""
    if result.get("ablation"):
        return Path(result["path"]).parent.parent.name
    return result.get("preset") or "default"


def _source(result: dict[str, Any]) -> str:
    """Where a row was scored: ``samples`` or ``cache`` and the number of cases."""
    source = result.get("source")
    if not source:
        return "–"
    n = len(result.get("scores", {}).get("cases", {}))
    return f"{source}, {n} case{'s' * (n != 1)}"


def _merge_kept(
    scored: list[dict[str, Any]], json_path: Path, img: Path
) -> tuple[list[dict[str, Any]], list[str]]:
    """Results in ``json_path`` that were not scored again, and the figures of benchmarks that
    only they cover (kept from ``img``)."""
    if not json_path.is_file():
        return [], []
    done = {(r["path"], bool(r.get("ablation"))) for r in scored}
    kept = [
        {**r, "path": portable_path(r["path"])}
        for r in json.loads(json_path.read_text())
        if (portable_path(r["path"]), bool(r.get("ablation"))) not in done
    ]
    rescored = {r["benchmark"] for r in scored}
    figures = sorted(
        str(p)
        for bench in sorted({r["benchmark"] for r in kept} - rescored)
        for p in img.glob(f"results_*_{bench}.png")
    )
    return kept, figures


def _transport_lines(
    transport: dict[str, dict[str, float]], results: list[dict[str, Any]]
) -> list[str]:
    """The transport bound next to the marched latents of the temporal cylinder DIANOs."""
    horizons = ("0.1T", "0.5T", "1T", "2T")
    lines = [
        "",
        "### What transport allows: the pooled vorticity carried downstream exactly "
        "(wake correlation)",
        "",
        "The vorticity at the start, carried downstream at one speed with no numerical error "
        "and fed at the source edge (x = 1.5 D) by the true vorticity there, pooled to the "
        "latent grid and correlated in the wake with the pooled truth "
        "(`diano/evaluation/transport.py`). No latent advected at one speed can read better "
        "after marching, unless its encoder anticipates what transport misses. With the "
        "amplitude matched, each carried column is rescaled to the truth's rms along x: the "
        "best a growth or decay term could add.",
        "",
        *_header("marched field", *horizons),
    ]
    for key, row in transport.items():
        speed, _, amplitude = key.partition(" ")
        label = f"truth, exact transport at {speed} U∞" + (
            ", amplitude matched along x" if amplitude else ""
        )
        lines.append(_row(label, *(_fmt(row.get(h)) for h in horizons)))
    for r in results:
        wake = r["scores"]["mean"].get("latent_corr_wake") or {}
        if r["benchmark"] == "cylinder2d" and r["model"] == "diano" and wake:
            label = f"{r['model']} latent, marched ({_recipe_label(r)})"
            lines.append(_row(label, *(_fmt(wake.get(h)) for h in horizons)))
    return lines


def _marched_corr(mean: dict[str, Any]) -> dict[str, float]:
    """The marched latent's correlation per horizon: in the cylinder's wake, or of DIANO's
    stenosis line with the centreline velocity."""
    return mean.get("latent_corr_wake") or mean.get("latent_corr_line") or {}


def markdown(
    results: list[dict[str, Any]],
    images: list[str],
    out: Path,
    transport: dict[str, dict[str, float]] | None = None,
) -> str:
    """The tables of the report (the text between the markers); ``transport`` is the
    :func:`~diano.evaluation.transport.transport_table` of the cylinder, when scored."""
    lines = [
        "Errors are relative L2 over fluid cells, on held-out data: `samples` are the committed "
        "samples, `cache` the generated set's held-out cases.",
        "",
        "### Models",
        "",
        *_header(
            "benchmark", "model", "scenario", "parameters", "latent", "compression",
            "train min", "error", "MSE (paper units)", "latent corr.", "held-out data",
        ),
    ]  # fmt: skip
    for r in [r for r in results if not r.get("ablation")]:
        mean = r["scores"]["mean"]
        err = mean.get("rel_l2", mean.get("reconstruction"))
        mse = r.get("mse_paper")
        corr = mean.get("latent_corr", _marched_corr(mean).get("0T"))
        lines.append(
            _row(
                r["benchmark"], r["model"], r["scenario"], f"{r['n_parameters']:,}",
                "×".join(map(str, r["latent_shape"])), _fmt(r["compression_ratio"]),
                _fmt(r["train_minutes"]), _fmt(err), _fmt(mse), _fmt(corr),
                _source(r),
            )
        )  # fmt: skip
    march = [r for r in results if r["scenario"] in ("temporal", "geometric")]
    if march:
        lines += ["", "### Rollouts (mean over held-out cases and starts)", ""]
        lines += _header(
            "model", "preset", "K trained", "one step", "0.1T", "0.5T", "1T", "2T",
            "re-encoded 1T", "corr. wake (line) 0 / 1T", "corr. box 0",
        )  # fmt: skip
        for bench in dict.fromkeys(r["benchmark"] for r in march):
            rows = [r for r in march if r["benchmark"] == bench]
            for r in rows:
                m = r["scores"]["mean"]
                model = m.get("model", {})
                wake, box = _marched_corr(m), m.get("latent_corr_box", {})
                lines.append(
                    _row(
                        f"{r['model']} ({bench})", _recipe_label(r),
                        r["trained_horizon"], _fmt(m.get("one_step")),
                        *(_fmt(model.get(k)) for k in ("0.1T", "0.5T", "1T", "2T")),
                        _fmt(m.get("reencoded", {}).get("1T")),
                        f"{_fmt(wake.get('0T'))} / {_fmt(wake.get('1T'))}", _fmt(box.get("0T")),
                    )
                )  # fmt: skip
            # the references of the benchmark's first model's held-out data and starts
            ref = rows[0]["scores"]["mean"]
            for name in ("persistence", "time_mean"):
                vals = ref.get(name, {})
                lines.append(
                    f"| {name.replace('_', '-')} ({bench}) | | | | "
                    + " | ".join(_fmt(vals.get(k)) for k in ("0.1T", "0.5T", "1T", "2T"))
                    + " | | | |"
                )
    lines += _ablation_tables([r for r in results if r.get("ablation")])
    if transport:
        lines += _transport_lines(transport, results)
    edits = [r for r in results if r.get("edit")]
    if edits:
        lines += ["", "### Latent vortex edit (bump at x = 2 D on the axis; decoded response)", ""]
        lines += _header(
            "model", "preset", "bump σ", "sign", "offset at 0 / 40 steps (cells)",
            "locality (2 cells)", "speed / latent speed (U∞)",
        )  # fmt: skip
        for r in edits:
            for size, e in r["edit"].items():
                lines.append(
                    _row(
                        r["model"], _recipe_label(r), size, _fmt(e.get("sign")),
                        f"{_fmt(e['offset_cells'][0])} / {_fmt(e['offset_cells'][-1])}",
                        _fmt(min(e["locality"])),
                        f"{_fmt(e['speed'])} / {_fmt(e['expected_speed'])}",
                    )
                )  # fmt: skip
    lines += [
        "",
        "### Noise robustness (error at Gaussian input noise, fraction of the field's std)",
        "",
    ]
    levels = [f"{x:.0%}" for x in NOISE_LEVELS]
    lines += ["| model | " + " | ".join(levels) + " |", "|---" * (len(levels) + 1) + "|"]
    for r in [r for r in results if not r.get("ablation")]:
        lines.append(
            f"| {r['benchmark']} {r['model']}-{r['scenario']} | "
            + " | ".join(_fmt(r["noise"].get(x)) for x in levels)
            + " |"
        )
    lines += ["", "### Figures", ""]
    for path in images:
        rel = (
            Path(path).resolve().relative_to(out.resolve().parent)
            if out.resolve().parent in Path(path).resolve().parents
            else Path(path)
        )
        lines.append(f"![{Path(path).stem}]({rel.as_posix()})")
    return "\n".join(lines) + "\n"


def _entry(result: dict[str, Any], root: Path) -> str:
    """The manifest entry of a result (its path relative to the checkpoint root)."""
    path = Path(result["path"])
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def run(args: argparse.Namespace) -> int:
    from diano.checkpoints import MANIFEST, default_root
    from diano.data import load
    from diano.device import resolve_device
    from diano.errors import DataError
    from diano.evaluation.scores import summary
    from diano.training.data import open_cases

    device = resolve_device(args.device)
    root = default_root()
    entries = all_entries = sorted(json.loads((root / MANIFEST).read_text())["files"])
    if args.only:
        entries = [e for e in entries if any(o in e for o in args.only)]
    paths = [(root / e, False) for e in entries]
    for folder in args.ablation:
        paths += [(p, True) for p in sorted(Path(folder).rglob("*.safetensors"))]
    if not paths:
        raise DataError(
            "no checkpoints to evaluate: the manifest is empty and no --ablation folder has any"
        )
    cache: dict[str, list[Any]] = {}
    results = []
    for path, ablation in paths:
        from diano.checkpoints import read_checkpoint_info

        bench = read_checkpoint_info(path).benchmark
        if bench not in cache:
            cases = load(bench) if args.source == "samples" else open_cases(bench, None, "heldout")
            cache[bench] = list(cases)
        print(f"scoring {path} on {len(cache[bench])} {bench} cases")
        result = score_checkpoint(path, cache[bench], device, args.starts)
        result["ablation"] = ablation
        result["source"] = args.source
        mean = result["scores"]["mean"]
        err = mean.get("rel_l2", mean.get("reconstruction"))
        if err is not None and bench == "cylinder2d":
            # MSE in the paper's units (vorticity / 4.4) from rel-L2 and the truth's energy
            e2 = float(
                np.mean(
                    [
                        np.mean(np.asarray(c.fields[:, 0], dtype=np.float64) ** 2)
                        for c in cache[bench]
                    ]
                )
            )
            result["mse_paper"] = err**2 * e2 / PAPER_VORTICITY_SCALE**2
        results.append(summary(result))
    figures: list[str] = []
    if args.only is not None:
        kept, figures = _merge_kept(results, args.json, args.img)
        order = {e: i for i, e in enumerate(all_entries)}
        results = sorted(
            results + kept,
            key=lambda r: (
                bool(r.get("ablation")),
                order.get(_entry(r, root), len(order)),
                r["path"],
            ),
        )
    # figures of every benchmark from all results, the kept ones included (their curves and
    # spectra are in the JSON), so a partial evaluation never draws a partial figure
    images = sorted(set(_plots(results, args.img)) | set(figures))
    transport = None
    temporal = [
        r
        for r in results
        if r["benchmark"] == "cylinder2d" and r["model"] == "diano" and r["scenario"] == "temporal"
    ]
    if temporal:
        from diano.evaluation.transport import transport_table
        from diano.models.presets import CYLINDER_SOURCE

        if "cylinder2d" not in cache:
            source = args.source
            cache["cylinder2d"] = list(
                load("cylinder2d")
                if source == "samples"
                else open_cases("cylinder2d", None, "heldout")
            )
        shape = tuple(temporal[0]["latent_shape"][1:])
        transport = transport_table(cache["cylinder2d"], shape, CYLINDER_SOURCE[1])
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=1))
    report = markdown(results, images, args.out, transport)
    write_section(args.out, "evaluate", report, title="# Results")
    print(f"wrote {args.out}, {args.json} and {len(images)} figures")
    return 0
