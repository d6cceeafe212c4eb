"""Checkpoints: safetensors round trips, metadata, the manifest, every failure mode,
``load_pretrained`` and the ``diano checkpoints`` command (tiny models in tmp_path)."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

import diano.checkpoints as ckpt
from diano.checkpoints import (
    checkpoint_path,
    list_checkpoints,
    load_checkpoint,
    load_pretrained,
    read_checkpoint_info,
    save_checkpoint,
    update_manifest,
    verify_manifest,
)
from diano.errors import CheckpointError, ConfigError
from diano.models import build_model, default_config

METRICS = {"rel_l2": 0.123, "rollout_rel_l2": [0.1, 0.2, 0.3], "note": "tiny test model"}
EXTRA = {"trained_horizon": 32, "latent_dt": 0.01}


def tiny_model(name: str = "diano", benchmark: str = "cylinder2d", scenario: str | None = None):
    torch.manual_seed(0)
    model = build_model(name, default_config(name, benchmark, scenario, size="tiny"))
    n_in, n_out = len(model.config.in_channels), len(model.config.out_channels)
    model.set_normalizer(
        {"mean": [0.25] * n_in, "std": [1.5] * n_in}, {"mean": [-0.5] * n_out, "std": [2.0] * n_out}
    )
    return model.eval()


def write(model, root: Path, benchmark: str = "cylinder2d", half: bool = False) -> Path:
    path = checkpoint_path(benchmark, model.name, model.scenario, root)
    save_checkpoint(
        model,
        path,
        benchmark=benchmark,
        metrics=METRICS,
        data_sha256="ab" * 32,
        command="diano train cylinder2d --model diano --size tiny",
        extra=EXTRA,
        half=half,
    )
    update_manifest(path, root)
    return path


def sample_input(model) -> torch.Tensor:
    torch.manual_seed(1)
    return torch.randn(2, len(model.config.in_channels), *model.config.grid_shape)


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DIANO_CHECKPOINT_DIR", str(tmp_path))
    (tmp_path / "manifest.json").write_text('{"format": 1, "files": {}}\n')
    return tmp_path


@pytest.mark.parametrize(
    ("name", "benchmark"),
    [
        ("diano", "cylinder2d"),
        ("cno", "cylinder2d"),
        ("cnn_ae", "coronary3d"),
        ("mlp_ae", "stenosis2d"),
    ],
)
def test_round_trip_gives_identical_outputs(root: Path, name: str, benchmark: str) -> None:
    model = tiny_model(name, benchmark)
    path = write(model, root, benchmark)
    loaded = load_pretrained(benchmark, name)  # root from DIANO_CHECKPOINT_DIR
    assert not loaded.training and type(loaded) is type(model)
    assert loaded.config == model.config
    u = sample_input(model)
    with torch.no_grad():
        torch.testing.assert_close(loaded(u), model(u), rtol=0, atol=0)
    assert path == root / benchmark / f"{name}-{model.scenario}.safetensors"


def test_half_storage_is_smaller_and_close(root: Path) -> None:
    model = tiny_model("cnn_ae")
    full = write(model, root)
    full_size = full.stat().st_size
    half = write(model, root, half=True)  # same path: overwritten atomically
    assert half.stat().st_size < 0.7 * full_size
    loaded, info = load_checkpoint(half, manifest=root / "manifest.json")
    assert info.dtype == "float16"
    assert all(p.dtype == torch.float32 for p in loaded.parameters())
    # normaliser buffers are stored exactly
    assert loaded.in_norm.mean.tolist() == [0.25] and loaded.out_norm.std.tolist() == [2.0]
    with safe_open(str(half), framework="pt") as f:
        assert f.get_tensor("in_norm.std").dtype == torch.float32
        assert f.get_tensor("decoder.0.weight").dtype == torch.float16
    u = sample_input(model)
    with torch.no_grad():
        ref, out = model(u), loaded(u)
    assert (out - ref).norm() / ref.norm() < 5e-3


def test_metadata_round_trips(root: Path) -> None:
    model = tiny_model()
    path = write(model, root)
    _, info = load_checkpoint(path, manifest=root / "manifest.json")
    assert (info.model, info.benchmark, info.scenario) == ("diano", "cylinder2d", "temporal")
    assert info.metrics == METRICS and info.extra == EXTRA
    assert info.data_sha256 == "ab" * 32 and info.command.startswith("diano train")
    assert info.normalizer == {
        "in": {"mean": [0.25], "std": [1.5]},
        "out": {"mean": [-0.5], "std": [2.0]},
    }
    assert build_model("diano", info.config).config == model.config
    assert read_checkpoint_info(path) == info  # the same, without building the model
    assert re.match(r"\d+\.\d+\.\d+", info.code_version)
    entry = list_checkpoints(root)[0]
    assert entry.path == "cylinder2d/diano-temporal.safetensors"
    assert entry.sha256 == info.sha256 and entry.size == path.stat().st_size
    assert entry.metrics == {"rel_l2": 0.123, "note": "tiny test model"}  # scalars only
    assert verify_manifest(root) == []


def _expect(match: str, path: Path, fn, *args, **kwargs) -> None:
    with pytest.raises(CheckpointError) as exc:
        fn(*args, **kwargs)
    message = str(exc.value)
    assert str(path) in message, message
    assert re.search(match, message), message


def test_missing_file(root: Path) -> None:
    path = checkpoint_path("cylinder2d", "cno", "temporal", root)
    _expect("missing", path, load_pretrained, "cylinder2d", "cno")
    _expect("missing", path, load_checkpoint, path)


def test_truncated_file(root: Path) -> None:
    path = write(tiny_model(), root)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    _expect("truncated", path, load_pretrained, "cylinder2d", "diano")
    _expect("truncated|unreadable", path, load_checkpoint, path)  # without the manifest
    path.write_bytes(data[:5])
    _expect("unreadable header", path, load_checkpoint, path)
    assert any(str(path) in p and "truncated" in p for p in verify_manifest(root))


def test_corrupted_bytes(root: Path) -> None:
    path = write(tiny_model(), root)
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF  # inside the last tensor: the header still parses
    path.write_bytes(bytes(data))
    _expect("sha256 mismatch", path, load_pretrained, "cylinder2d", "diano")
    data[8] = ord("#")  # the opening brace of the JSON header
    path.write_bytes(bytes(data))
    _expect("unreadable header|not JSON", path, load_checkpoint, path)


def test_metadata_naming_another_model(root: Path) -> None:
    cno = tiny_model("cno")
    cno_path = write(cno, root)
    wrong = checkpoint_path("cylinder2d", "cnn_ae", "temporal", root)
    wrong.write_bytes(cno_path.read_bytes())
    update_manifest(cno_path, root)
    manifest = json.loads((root / "manifest.json").read_text())
    manifest["files"]["cylinder2d/cnn_ae-temporal.safetensors"] = dict(
        manifest["files"]["cylinder2d/cno-temporal.safetensors"], model="cnn_ae"
    )
    (root / "manifest.json").write_text(json.dumps(manifest))
    _expect("metadata names model 'cno'", wrong, load_pretrained, "cylinder2d", "cnn_ae")
    problems = verify_manifest(root)
    assert len(problems) == 1 and str(wrong) in problems[0]
    with pytest.raises(CheckpointError, match="the path says model 'cnn_ae'"):
        save_checkpoint(cno, wrong, benchmark="cylinder2d", metrics={}, data_sha256="", command="")


def test_config_that_does_not_fit_the_weights(root: Path) -> None:
    model = tiny_model("cnn_ae")
    path = write(model, root)
    with safe_open(str(path), framework="pt") as f:
        metadata = f.metadata()
        tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118
    config = json.loads(metadata["config"])
    config["hidden_channels"] *= 2
    save_file(tensors, str(path), metadata={**metadata, "config": json.dumps(config)})
    update_manifest(path, root)  # the file is intact, only inconsistent
    _expect("does not fit the weights.*shape", path, load_pretrained, "cylinder2d", "cnn_ae")
    del tensors["encoder.0.bias"]
    save_file(tensors, str(path), metadata=metadata)
    _expect(
        "does not fit the weights.*missing tensors \\['encoder.0.bias'\\]",
        path,
        load_checkpoint,
        path,
    )
    config["scenario"] = "static"  # builds, but contradicts the scenario in the metadata
    save_file(tensors, str(path), metadata={**metadata, "config": json.dumps(config)})
    _expect("scenario", path, load_checkpoint, path)


def test_manifest_entry_missing(root: Path) -> None:
    path = write(tiny_model(), root)
    (root / "manifest.json").write_text('{"format": 1, "files": {}}')
    _expect("not listed in the manifest", path, load_pretrained, "cylinder2d", "diano")
    problems = verify_manifest(root)
    assert len(problems) == 1 and "not listed" in problems[0] and str(path) in problems[0]
    (root / "manifest.json").unlink()
    _expect("manifest.*missing", root / "manifest.json", load_pretrained, "cylinder2d", "diano")


def test_unknown_names_raise_config_error_listing_valid_names(root: Path) -> None:
    with pytest.raises(ConfigError, match=r"unknown model 'unet'.*cnn_ae"):
        load_pretrained("cylinder2d", "unet")
    with pytest.raises(ConfigError, match=r"unknown benchmark 'airfoil2d'.*cylinder2d"):
        load_pretrained("airfoil2d", "diano")
    with pytest.raises(ConfigError, match=r"unknown scenario 'sideways'.*temporal"):
        load_pretrained("cylinder2d", "diano", scenario="sideways")
    with pytest.raises(ConfigError, match=r"no scenario 'many_to_one'.*temporal"):
        load_pretrained("cylinder2d", "cno", scenario="many_to_one")
    with pytest.raises(ConfigError, match=r"'mlp_ae' has no 'coronary3d'.*cylinder2d"):
        load_pretrained("coronary3d", "mlp_ae")


def test_default_scenarios_and_root(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for benchmark, scenario in [
        ("cylinder2d", "temporal"),
        ("stenosis2d", "geometric"),
        ("coronary3d", "many_to_one"),
    ]:
        model = tiny_model("diano", benchmark)
        assert model.scenario == scenario
        write(model, root, benchmark)
        assert load_pretrained(benchmark, "diano").scenario == scenario
    monkeypatch.delenv("DIANO_CHECKPOINT_DIR")
    assert ckpt.default_root() == Path(ckpt.__file__).resolve().parents[1] / "checkpoints"


def test_cli_list_and_verify(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tiny_model(), root)
    parser = argparse.ArgumentParser()
    ckpt.add_arguments(parser)
    assert ckpt.run(parser.parse_args(["list", "--root", str(root)])) == 0
    assert "cylinder2d/diano-temporal.safetensors" in capsys.readouterr().out
    assert ckpt.run(parser.parse_args(["verify"])) == 0  # root from the environment
    path.write_bytes(path.read_bytes()[:-4])
    assert ckpt.run(parser.parse_args(["verify", "--root", str(root)])) == 1
    out = capsys.readouterr().out
    assert str(path) in out and "truncated" in out


def test_shipped_manifest_is_valid() -> None:
    assert verify_manifest(Path(ckpt.__file__).resolve().parents[1] / "checkpoints") == []


def test_module_never_unpickles() -> None:
    source = Path(ckpt.__file__).read_text()
    assert "pickle" not in source
    assert "torch.load" not in source
