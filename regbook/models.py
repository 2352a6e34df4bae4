"""Small pieces of model-building that the experiments share.

Every experiment in the book seeds its own ``torch.Generator``; layers must
therefore be initialised from that generator, never from torch's global one.
"""

from __future__ import annotations

import math
from typing import TypeVar

import torch
from torch import nn

from regbook._checks import check_generator

__all__ = ["init_linear_"]

M = TypeVar("M", bound=nn.Module)


def init_linear_(model: M, *, generator: torch.Generator) -> M:
    r"""Re-draw every ``nn.Linear`` of ``model`` from ``generator``, with torch's default ranges.

    Weight and bias of a layer with :math:`n` inputs are drawn from
    :math:`U(-1/\sqrt n, 1/\sqrt n)` (what ``nn.Linear`` itself does, there from
    the global generator), layer by layer in module order, weight before bias.

    Args:
        model: Any module; its ``nn.Linear`` layers are changed in place.
        generator: The source of randomness.

    Returns:
        ``model``, for chaining.

    Raises:
        TypeError: If ``generator`` is not a ``torch.Generator``.

    Example:
        >>> layer = init_linear_(nn.Linear(4, 2), generator=torch.Generator().manual_seed(0))
        >>> bool(layer.weight.abs().max() <= 0.5)  # 1/sqrt(4)
        True
    """
    check_generator("generator", generator)
    with torch.no_grad():
        for layer in model.modules():
            if isinstance(layer, nn.Linear):
                bound = 1.0 / math.sqrt(layer.in_features)
                layer.weight.uniform_(-bound, bound, generator=generator)
                if layer.bias is not None:
                    layer.bias.uniform_(-bound, bound, generator=generator)
    return model
