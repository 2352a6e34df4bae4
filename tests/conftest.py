"""Shared settings for the test suite."""

import torch
from hypothesis import settings

# Every test is deterministic: seeds are explicit, and Hypothesis runs a fixed
# set of examples per test (derandomized) so CI and laptops agree.
settings.register_profile("regbook", derandomize=True, max_examples=60, deadline=None)
settings.load_profile("regbook")

torch.set_num_threads(1)
