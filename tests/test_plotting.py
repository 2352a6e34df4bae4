"""The figure style and provenance stamp."""

from __future__ import annotations

import platform

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy
import pytest
import torch

from regbook import plotting
from regbook.plotting import provenance, stamp, use_book_style


def test_provenance_names_seed_runtime_and_versions():
    text = provenance(seed=7, seconds=1.25)
    assert text.split(" · ") == [
        "seed 7", "1.2 s", f"torch {torch.__version__.split('+')[0]}", f"numpy {numpy.__version__}",
        f"Python {platform.python_version()}",
    ]
    assert provenance(seed=None).startswith("deterministic · torch ")


def test_stamp_writes_the_text_on_the_figure():
    use_book_style()
    fig = plt.figure()
    assert stamp(fig, seed=3) is fig
    assert [t.get_text() for t in fig.texts] == [provenance(seed=3)]
    plt.close(fig)


@pytest.mark.parametrize("seed", [1.5, "3", True])
def test_bad_seed(seed):
    with pytest.raises(TypeError, match="seed must be an int or None"):
        provenance(seed=seed)


@pytest.mark.parametrize("seconds", [-1.0, float("nan")])
def test_bad_seconds(seconds):
    with pytest.raises(ValueError, match=r"seconds must be (>= 0|finite)"):
        provenance(seed=0, seconds=seconds)


def test_widget_html_carries_json_and_fallback() -> None:
    import json

    out = plotting.widget_html("dd-ridge", {"x": [1.5, 2], "s": "</script>"}, fallback="a <b> figure")
    start = out.index('class="rb-widget-data">') + len('class="rb-widget-data">')
    payload = out[start : out.index("</script>")]
    assert json.loads(payload) == {"x": [1.5, 2], "s": "</script>"}
    assert "a &lt;b&gt; figure" in out


def test_widget_html_rejects_bad_name_and_data() -> None:
    with pytest.raises(ValueError, match="name must be lowercase"):
        plotting.widget_html("Bad Name", {}, fallback="")
    with pytest.raises(ValueError, match="JSON-serialisable"):
        plotting.widget_html("ok", {"x": float("nan")}, fallback="")


def test_no_text_in_a_book_figure_is_under_11_px_on_a_desktop() -> None:
    """Log-axis exponents and label subscripts included (matplotlib draws them at 0.7 of their text).

    A figure is WIDTH inches wide and shown at 96 px per inch; SVG user units are points (72 per inch).
    """
    import io
    import re

    use_book_style()
    fig, ax = plt.subplots()
    ax.semilogy([1, 2, 3], [1e-9, 1e-5, 1e-1])
    ax.set_xlabel("$w_1$ (body-mass index)")
    stamp(fig, seed=0)
    buf = io.StringIO()
    fig.savefig(buf, format="svg")
    plt.close(fig)
    sizes = [float(s) for s in re.findall(r"font-size: ([\d.]+)px", buf.getvalue())]
    assert sizes, "no text found: the SVG keeps text as text (svg.fonttype none)"
    assert min(sizes) * 96 / 72 >= 11, sorted(set(sizes))
