"""Shared settings for the test suite."""

import os

import torch
from hypothesis import settings

# Every test is deterministic: seeds are explicit, and Hypothesis runs a fixed
# set of examples per test (derandomized) so CI and laptops agree.
settings.register_profile("regbook", derandomize=True, max_examples=60, deadline=None)
settings.load_profile("regbook")

torch.set_num_threads(1)

# The site tests (tests/site) need a built book and Chromium: `make site-tests`
# (part of `make test`, after the build) runs them with REGBOOK_SITE_TESTS=1.
collect_ignore = [] if os.environ.get("REGBOOK_SITE_TESTS") == "1" else ["site"]

# The book trains every experiment on regbook.experiments.stats.BOOK_SEEDS
# (0..4). Tests that rerun an experiment use these seeds instead, so a test is
# independent evidence, not a replay of the book's run.
TEST_SEEDS: tuple[int, ...] = (1001, 1002, 1003, 1004, 1005)
