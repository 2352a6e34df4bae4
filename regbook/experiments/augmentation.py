r"""The experiments of the chapter *augmentation*, run on the shared harness.

* :func:`augmentation_experiment` -- a small MLP trained on a hundred digits
  with no augmentation, with small label-preserving warps, and with
  label-breaking mirroring; test accuracy per seed.
* :func:`digit_label_flip` -- what a classifier trained on upright digits
  reads in mirrored and upside-down 6s and 9s, per seed.

Both train ``k = len(seeds)`` networks together
(:func:`regbook.experiments.harness.build_mlp` and
:func:`~regbook.experiments.harness.fit`); seed ``s`` draws its own digits
subsample, initial weights, data order and augmentations
(:func:`~regbook.experiments.harness.seed_streams`). The chapter turns the
per-seed values into intervals with :mod:`regbook.experiments.stats`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from regbook._checks import (
    check_callable,
    check_choice,
    check_choices,
    check_count,
    check_generator,
    check_in_range,
    check_int,
    check_seed_sequence,
    check_sequence,
)
from regbook.augmentation import randaugment, random_affine, random_horizontal_flip
from regbook.experiments.harness import (
    _MAX_STREAM_SEED,
    SeedSplit,
    build_mlp,
    digit_splits,
    evaluate,
    fit,
    seed_streams,
)
from regbook.experiments.stats import BOOK_SEEDS, paired

__all__ = [
    "AFFINE_DEGREES",
    "AFFINE_SCALE",
    "AFFINE_TRANSLATE",
    "POLICIES",
    "TRANSFORMS",
    "AugmentResult",
    "LabelFlipResult",
    "augmentation_experiment",
    "digit_label_flip",
    "per_network",
    "policy",
]

#: The augmentation policies :func:`augmentation_experiment` knows.
POLICIES = ("none", "affine", "flip", "randaugment")
#: The transforms :func:`digit_label_flip` shows the test digits through.
TRANSFORMS = ("original", "hflip", "rot180")
#: The "affine" policy's warps (:func:`~regbook.augmentation.random_affine`), label-preserving for digits:
#: largest rotation in degrees, largest shift in pixels, range of the zoom.
AFFINE_DEGREES, AFFINE_TRANSLATE, AFFINE_SCALE = 12.0, 0.8, (0.9, 1.1)

Augment = Callable[[torch.Tensor, torch.Generator], torch.Tensor]


def policy(name: str) -> Augment | None:
    """The per-seed augmentation callback of policy ``name`` for :func:`~regbook.experiments.harness.fit`.

    * ``"none"``: ``None`` (no callback);
    * ``"affine"``: :func:`~regbook.augmentation.random_affine` with rotations
      up to 12°, shifts up to 0.8 pixel and zoom 0.9-1.1 (label-preserving for digits);
    * ``"flip"``: :func:`~regbook.augmentation.random_horizontal_flip`, ``p = 0.5``
      (*not* label-preserving for digits);
    * ``"randaugment"``: :func:`~regbook.augmentation.randaugment`, ``N = 2, M = 9``.

    Args:
        name: One of :data:`POLICIES` (a :class:`str`).

    Returns:
        ``None`` for ``"none"``, else a callback ``(x, generator) -> x_augmented`` that draws
        from the generator it is given (and from no other source of randomness).

    Raises:
        ValueError: If ``name`` is not one of :data:`POLICIES` (a non-string included).

    Example:
        >>> policy("none") is None, callable(policy("affine"))
        (True, True)
    """
    name = check_choice("name", name, POLICIES)
    if name == "affine":
        return lambda x, g: random_affine(x, degrees=AFFINE_DEGREES, translate=AFFINE_TRANSLATE,
                                          scale=AFFINE_SCALE, generator=g)
    if name == "flip":
        return lambda x, g: random_horizontal_flip(x, p=0.5, generator=g)
    if name == "randaugment":
        return lambda x, g: randaugment(x, num_ops=2, magnitude=9, generator=g)
    return None


def per_network(
    callbacks: Sequence[Callable[..., Any] | None], generators: Sequence[torch.Generator]
) -> Callable[..., Any]:
    """One ``augment`` or ``mix`` callback for :func:`~regbook.experiments.harness.fit` that differs per network.

    :func:`~regbook.experiments.harness.fit` calls ``augment(x, streams[i].aug)`` and
    ``mix(x, t, streams[i].mix)`` for network ``i``; the generator comes last. This callback
    recognises network ``i`` by that generator object and applies ``callbacks[i]`` (``None``:
    return the data unchanged). So networks trained under different policies share one batched
    fit, each exactly as it would train alone. (A generic capability: it belongs in the harness.)

    Args:
        callbacks: A non-empty list or tuple: one callable (or ``None``) per network.
        generators: A list or tuple of :class:`torch.Generator`: the generator ``fit`` passes for
            each network (``[s.aug for s in streams]`` or ``[s.mix for s in streams]``), distinct objects.

    Returns:
        The combined callback; it mutates nothing itself (the chosen callback may draw from
        the generator it is given).

    Raises:
        TypeError: If ``callbacks`` or ``generators`` is not a list or tuple, a callback is neither
            callable nor ``None``, or a generator is not a :class:`torch.Generator`.
        ValueError: If they are empty, the lengths differ or a generator appears twice.

    Example:
        >>> g0, g1 = torch.Generator(), torch.Generator()
        >>> aug = per_network([None, lambda x, g: 2 * x], [g0, g1])
        >>> aug(torch.ones(2), g0).tolist(), aug(torch.ones(2), g1).tolist()
        ([1.0, 1.0], [2.0, 2.0])
    """
    cbs = check_sequence("callbacks", callbacks)
    gens = check_sequence("generators", generators)
    for i, cb in enumerate(cbs):
        check_callable(f"callbacks[{i}]", cb, allow_none=True)
    for i, g in enumerate(gens):
        check_generator(f"generators[{i}]", g)
    if len(callbacks) != len(generators):
        raise ValueError(f"callbacks and generators must have the same length "
                         f"(got {len(callbacks)} and {len(generators)})")
    table = {id(g): cb for g, cb in zip(generators, callbacks, strict=True)}
    if len(table) != len(generators):
        raise ValueError("generators must be distinct objects, one per network")

    def call(*args: Any) -> Any:
        *data, g = args
        chosen = table[id(g)]
        if chosen is not None:
            return chosen(*args)
        return data[0] if len(data) == 1 else tuple(data)

    return call


@dataclass(frozen=True)
class AugmentResult:
    """Test accuracy per augmentation policy, one value per seed.

    Attributes:
        policies: Names of the policies, e.g. ``("none", "affine", "flip")``.
        accuracy: ``accuracy[policy]``: one test accuracy per seed, in seed order.
        seeds: The seeds.
        n_train: Training digits per seed.
        steps: Full-batch Adam steps per run.
        hidden: Hidden width of the MLP.
    """

    policies: tuple[str, ...]
    accuracy: dict[str, list[float]]
    seeds: tuple[int, ...]
    n_train: int
    steps: int
    hidden: int

    def gain(self, name: str, baseline: str = "none") -> list[float]:
        """Per-seed accuracy of ``name`` minus that of ``baseline`` (the same seed, the same start).

        Raises:
            ValueError: If ``name`` or ``baseline`` is not one of :attr:`policies`.
        """
        name = check_choice("name", name, self.policies)
        baseline = check_choice("baseline", baseline, self.policies)
        return paired(self.accuracy[name], self.accuracy[baseline])


def augmentation_experiment(
    *,
    n_train: int = 100,
    policies: Sequence[str] = ("none", "affine", "flip"),
    seeds: Sequence[int] = BOOK_SEEDS,
    steps: int = 600,
    hidden: int = 128,
    lr: float = 3e-3,
) -> AugmentResult:
    """Train one MLP per seed on a few digits under each policy; report test accuracy.

    Seed ``s`` draws its ``n_train`` training digits
    (:func:`~regbook.experiments.harness.digit_splits`), tests on all the
    remaining ones, and starts every policy from the same initial weights, so
    a policy's effect is a paired, per-seed difference. All seeds and policies
    train together as one batched fit (:func:`per_network`), each network
    exactly as it would alone. Full-batch Adam; the augmentation is redrawn at
    every step from the seed's own ``aug`` stream.

    Args:
        n_train: Training digits per seed, an int in [10, 1000].
        policies: A non-empty list or tuple of distinct names from :data:`POLICIES` (see :func:`policy`).
        seeds: A non-empty list or tuple of distinct int seeds ``>= 0`` (each trains its own
            network on its own subsample).
        steps: Full-batch Adam steps, an int in [1, 2**31 - 1].
        hidden: Width of the one hidden layer, an int in [1, 2**31 - 1].
        lr: Adam's learning rate, a real number in (0, 100].

    Returns:
        An :class:`AugmentResult`. Nothing passed in is mutated; all randomness comes from
        :func:`~regbook.experiments.harness.seed_streams` of each seed.

    Raises:
        TypeError: If an argument has the wrong type (a bool for an int, a scalar for a sequence).
        ValueError: On an unknown or repeated policy, repeated seeds, or a setting out of range;
            raised before any data is loaded or any network trained.

    Example:
        >>> r = augmentation_experiment(n_train=50, policies=("none", "flip"), seeds=(0, 1), steps=3, hidden=8)
        >>> len(r.accuracy["flip"]), len(r.gain("flip"))
        (2, 2)
    """
    n_train = check_int("n_train", n_train, minimum=10, maximum=1000)
    names = check_choices("policies", policies, POLICIES)
    seed_list = check_seed_sequence("seeds", seeds, maximum=_MAX_STREAM_SEED)
    steps = check_count("steps", steps)
    hidden = check_count("hidden", hidden)
    lr = check_in_range("lr", lr, 0.0, 100.0, low_inclusive=False)
    augments = {p: policy(p) for p in names}
    k = len(seed_list)
    train, _, test = digit_splits(n_train, 0, seed_list)
    train = train.reshape(1, 8, 8)
    # Every policy of every seed is one network of a single batched fit: network p * k + i is
    # seed i under policy p, with seed i's own streams, so it trains exactly as it would alone.
    streams = [seed_streams(s) for _ in names for s in seed_list]
    net = build_mlp(64, [hidden], 10, streams=streams)
    augment = per_network([augments[p] for p in names for _ in seed_list], [s.aug for s in streams])
    stacked = SeedSplit(train.x.repeat(len(names), 1, 1, 1, 1), train.y.repeat(len(names), 1))
    fit(net, stacked, streams=streams, num_classes=10, steps=steps, optimizer="adam", lr=lr, augment=augment)
    acc = evaluate(net, SeedSplit(test.x.repeat(len(names), 1, 1), test.y.repeat(len(names), 1)))["accuracy"]
    accuracy = {p: acc[j * k : (j + 1) * k].tolist() for j, p in enumerate(names)}
    return AugmentResult(names, accuracy, seed_list, n_train, steps, hidden)


@dataclass(frozen=True)
class LabelFlipResult:
    """What digit classifiers trained on upright digits predict for transformed 6s and 9s, per seed.

    Every mapping holds one value per seed, in seed order.

    Attributes:
        transforms: :data:`TRANSFORMS`: ``"original"``, ``"hflip"`` (mirrored
            left-right), ``"rot180"`` (turned by 180°).
        six_as_nine: ``[t]``: fraction of the test 6s, transformed by ``t``, predicted as 9.
        six_as_six: ``[t]``: fraction still predicted as 6.
        nine_as_six: ``[t]``: fraction of the transformed test 9s predicted as 6.
        six_mode: ``[t]``: the most frequent prediction for the transformed 6s and its share.
        test_accuracy: Accuracy on the untransformed test digits.
        n_six, n_nine: Number of test 6s and 9s.
        seeds, n_train, steps: The settings.
    """

    transforms: tuple[str, ...]
    six_as_nine: dict[str, list[float]]
    six_as_six: dict[str, list[float]]
    nine_as_six: dict[str, list[float]]
    six_mode: dict[str, list[tuple[int, float]]]
    test_accuracy: list[float]
    n_six: list[int]
    n_nine: list[int]
    seeds: tuple[int, ...]
    n_train: int
    steps: int

    def nine_minus_six(self, transform: str) -> list[float]:
        """Per seed: share of transformed 6s read as 9 minus the share still read as 6.

        Positive when the transform makes a 6 look more like a 9 than like a 6.

        Raises:
            ValueError: If ``transform`` is not one of :attr:`transforms`.
        """
        transform = check_choice("transform", transform, self.transforms)
        return paired(self.six_as_nine[transform], self.six_as_six[transform])


_TRANSFORM_FNS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "original": lambda z: z,
    "hflip": lambda z: z.flip(-1),
    "rot180": lambda z: torch.rot90(z, 2, dims=(-2, -1)),
}


def digit_label_flip(
    *,
    n_train: int = 500,
    steps: int = 200,
    seeds: Sequence[int] = BOOK_SEEDS,
    hidden: int = 128,
    lr: float = 3e-3,
) -> LabelFlipResult:
    """Train MLPs on upright digits, then ask them what mirrored and upside-down 6s and 9s are.

    The ``k`` seeds train together (full-batch Adam, no augmentation); seed
    ``s`` trains on its own ``n_train`` digits and is questioned on its own
    test 6s and 9s, seen as they are, mirrored left-right and turned by 180°.

    Args:
        n_train: Training digits per seed, an int in [10, 1000].
        steps: Full-batch Adam steps, an int in [1, 2**31 - 1].
        seeds: A non-empty list or tuple of distinct int seeds ``>= 0``.
        hidden: Hidden width, an int in [1, 2**31 - 1].
        lr: Adam's learning rate, a real number in (0, 100].

    Returns:
        A :class:`LabelFlipResult`. Nothing passed in is mutated.

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: If a setting is out of range or a seed repeats; raised before any data is
            loaded or any network trained.

    Example:
        >>> r = digit_label_flip(n_train=100, steps=3, seeds=(0, 1), hidden=8)
        >>> sorted(r.six_as_nine) == ["hflip", "original", "rot180"], len(r.six_as_nine["rot180"])
        (True, 2)
    """
    n_train = check_int("n_train", n_train, minimum=10, maximum=1000)
    steps = check_count("steps", steps)
    seed_list = check_seed_sequence("seeds", seeds, maximum=_MAX_STREAM_SEED)
    hidden = check_count("hidden", hidden)
    lr = check_in_range("lr", lr, 0.0, 100.0, low_inclusive=False)
    streams = [seed_streams(s) for s in seed_list]
    train, _, test = digit_splits(n_train, 0, seed_list)
    net = build_mlp(64, [hidden], 10, streams=streams)
    fit(net, train, streams=streams, num_classes=10, steps=steps, optimizer="adam", lr=lr)
    acc = evaluate(net, test)["accuracy"].tolist()
    k = len(seed_list)
    s9: dict[str, list[float]] = {t: [] for t in TRANSFORMS}
    s6: dict[str, list[float]] = {t: [] for t in TRANSFORMS}
    n6: dict[str, list[float]] = {t: [] for t in TRANSFORMS}
    mode: dict[str, list[tuple[int, float]]] = {t: [] for t in TRANSFORMS}
    n_six, n_nine = [], []
    with torch.no_grad():
        for i in range(k):
            xt = test.x[i].reshape(-1, 1, 8, 8)
            six, nine = xt[test.y[i] == 6], xt[test.y[i] == 9]
            n_six.append(len(six))
            n_nine.append(len(nine))
            for t in TRANSFORMS:
                fn = _TRANSFORM_FNS[t]
                # every seed's network sees seed i's digits; keep row i of the answers
                p6 = net(fn(six).unsqueeze(0).expand(k, *six.shape))[i].argmax(-1)
                p9 = net(fn(nine).unsqueeze(0).expand(k, *nine.shape))[i].argmax(-1)
                s9[t].append(float((p6 == 9).double().mean()))
                s6[t].append(float((p6 == 6).double().mean()))
                n6[t].append(float((p9 == 6).double().mean()))
                counts = torch.bincount(p6, minlength=10)
                mode[t].append((int(counts.argmax()), float(counts.max()) / len(p6)))
    return LabelFlipResult(TRANSFORMS, s9, s6, n6, mode, acc, n_six, n_nine, seed_list, n_train, steps)
