"""Tests for regbook.models: seeded initialisation."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from regbook.models import init_linear_


def test_ranges_follow_fan_in_and_other_layers_are_untouched() -> None:
    net = nn.Sequential(nn.Linear(64, 16), nn.LayerNorm(16), nn.Linear(16, 3))
    before = net[1].weight.clone()
    init_linear_(net, generator=torch.Generator().manual_seed(0))
    assert float(net[0].weight.detach().abs().max()) <= 1 / math.sqrt(64)   # 0.125
    assert float(net[2].bias.detach().abs().max()) <= 1 / math.sqrt(16)     # 0.25
    assert torch.equal(net[1].weight, before)


def test_same_seed_same_weights_and_draw_order() -> None:
    a = init_linear_(nn.Linear(4, 2), generator=torch.Generator().manual_seed(7))
    g = torch.Generator().manual_seed(7)
    w = torch.empty(2, 4).uniform_(-0.5, 0.5, generator=g)   # weight first, bound 1/sqrt(4)
    b = torch.empty(2).uniform_(-0.5, 0.5, generator=g)      # then bias
    assert torch.equal(a.weight, w) and torch.equal(a.bias, b)


def test_global_rng_is_not_used() -> None:
    layer = nn.Linear(8, 8)  # (constructing it draws from the global RNG; re-initialising must not)
    state = torch.get_rng_state()
    init_linear_(layer, generator=torch.Generator().manual_seed(1))
    assert torch.equal(torch.get_rng_state(), state)


def test_bad_generator() -> None:
    with pytest.raises(TypeError, match=r"generator must be a torch.Generator \(got int\)"):
        init_linear_(nn.Linear(2, 2), generator=0)  # type: ignore[arg-type]
