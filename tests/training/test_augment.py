"""The cross-section symmetries of the coronary vessels are exact: the lattice-Boltzmann flow
through a mirrored or transposed vessel is the transformed flow, and the transformed velocity
keeps its divergence a scalar."""

from __future__ import annotations

import pytest
import torch

from diano.data.simulators import D3Q19Channel
from diano.training.augment import ELEMENTS, CrossSectionSymmetry, apply_element


def _obstructed_duct(n: int = 10, nx: int = 16) -> torch.Tensor:
    """Square duct ``(z, y, x)`` with an off-centre, asymmetric obstacle (no symmetry left)."""
    solid = torch.zeros(n, n, nx, dtype=torch.bool)
    solid[0], solid[-1], solid[:, 0], solid[:, -1] = True, True, True, True
    solid[2:5, 3:6, 6:8] = True
    solid[6, 2, 9:12] = True
    return solid


def _lbm_fields(solid: torch.Tensor, steps: int = 120) -> torch.Tensor:
    sim = D3Q19Channel(solid, 0.8, u0=0.02, device="cpu", dtype=torch.float64, compile=False)
    sim.run(steps, 0.02)
    _, (ux, uy, uz), p = sim.macroscopic()
    return torch.stack([ux, uy, uz, p])  # velocity components (x, y, z) = (u, v, w), then p


@pytest.mark.parametrize("element", ELEMENTS[1:])
def test_lattice_flow_of_the_transformed_vessel_is_the_transformed_flow(element):
    solid = _obstructed_duct()
    fields = _lbm_fields(solid)
    mirrored = _lbm_fields(apply_element(solid[None], element)[0])
    expected_uvw = apply_element(fields[:3], element, velocity=True)
    expected_p = apply_element(fields[3:], element)
    assert (fields[:3] - expected_uvw).abs().max() > 1e-4  # the obstacle breaks the symmetry
    torch.testing.assert_close(mirrored[:3], expected_uvw, atol=1e-12, rtol=0)
    torch.testing.assert_close(mirrored[3:], expected_p, atol=1e-12, rtol=0)


def _divergence(uvw: torch.Tensor) -> torch.Tensor:
    u, v, w = uvw  # components along x, y, z; tensor axes (z, y, x)
    return torch.gradient(u, dim=2)[0] + torch.gradient(v, dim=1)[0] + torch.gradient(w, dim=0)[0]


@pytest.mark.parametrize("element", ELEMENTS)
def test_divergence_transforms_as_a_scalar(element):
    g = torch.Generator().manual_seed(3)
    uvw = torch.randn(3, 7, 7, 9, generator=g, dtype=torch.float64)
    div = _divergence(uvw)
    moved = apply_element(uvw, element, velocity=True)
    torch.testing.assert_close(_divergence(moved), apply_element(div[None], element)[0])


def test_the_eight_elements_are_distinct_and_closed():
    x = torch.randn(3, 5, 5, 4, generator=torch.Generator().manual_seed(0))
    images = [apply_element(x, e, velocity=True) for e in ELEMENTS]
    for i in range(8):
        for j in range(i):
            assert not torch.equal(images[i], images[j])
    for a in ELEMENTS:
        for b in ELEMENTS:
            twice = apply_element(images[ELEMENTS.index(a)], b, velocity=True)
            assert any(torch.equal(twice, im) for im in images)


def test_dataset_draws_every_element_and_keeps_pairs_consistent():
    g = torch.Generator().manual_seed(1)
    inputs = torch.randn(3, 6, 6, 5, generator=g)
    target = torch.randn(1, 6, 6, 5, generator=g)
    mask = torch.rand(1, 6, 6, 5, generator=g) > 0.5
    base = [{"inputs": inputs, "target": target, "mask": mask, "case": 0, "t": 0}]
    data = CrossSectionSymmetry(base, seed=0)
    seen = set()
    for _ in range(200):
        item = data[0]
        match = [
            e
            for e in ELEMENTS
            if torch.equal(item["inputs"], apply_element(inputs, e, velocity=True))
        ]
        assert len(match) == 1
        assert torch.equal(item["target"], apply_element(target, match[0]))
        assert torch.equal(item["mask"], apply_element(mask, match[0]))
        seen.add(match[0])
    assert seen == set(ELEMENTS)
    assert len(data) == 1
