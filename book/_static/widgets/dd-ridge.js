/* regbook widget "dd-ridge": the double-descent curve under a ridge slider.
 *
 * Data (computed at build time by regbook.experiments.double_descent.double_descent_curve):
 *   widths  - numbers of random features p (x axis, log scale)
 *   n_train - number of training examples (the interpolation threshold p = n)
 *   lams    - ridge strengths, the first one 0 (minimum-norm fit)
 *   curves  - one list of median (over seeds) test squared errors per lambda, one value per width
 *   lo, hi  - optional: per lambda, the smallest and largest value over the seeds at each width
 * The slider picks lambda (its index along the log-spaced grid); the SVG redraws
 * that curve and its band over the seeds over faint copies of all the other
 * curves; the threshold line stays.
 * Outputs: the current lambda, the highest test error on the curve (its peak) and
 * the test error at the width closest to the threshold. Plain JavaScript, no
 * libraries, no network access; it does nothing on pages without its markup.
 */
(function () {
  "use strict";

  var el = window.regbookWidgets.el, svg = window.regbookWidgets.svg;
  var W = 560, H = 300, M = { left: 58, right: 14, top: 14, bottom: 44 };

  function fmtLam(lam) {
    if (lam === 0) { return "0 (minimum norm)"; }
    return lam >= 0.01 ? String(lam) : lam.toExponential().replace("e-", "e\u2212");
  }

  function fmtNum(x) {
    return x >= 10 ? x.toFixed(1) : x.toFixed(3);
  }

  function build(root, data, index) {
    var widths = data.widths, lams = data.lams, curves = data.curves, n = data.n_train;
    if (!widths || !lams || !curves || curves.length !== lams.length) {
      throw new Error("dd-ridge: incomplete data");
    }

    // threshold index: the width closest to n on a log scale
    var iThr = 0;
    widths.forEach(function (p, i) {
      if (Math.abs(Math.log(p / n)) < Math.abs(Math.log(widths[iThr] / n))) { iThr = i; }
    });

    var id = "rb-dd-ridge-" + index;
    var box = el("div", { "class": "rb-dd-ridge rb-widget-box" });

    // --- controls ------------------------------------------------------------
    var controls = el("div", { "class": "rb-dd-ridge-controls" });
    var label = el("label", { "for": id + "-lam" }, "ridge λ ");
    var slider = el("input", {
      type: "range", id: id + "-lam", "class": "rb-dd-ridge-lam",
      min: "0", max: String(lams.length - 1), step: "1", value: "0",
      "aria-describedby": id + "-lam-out"
    });
    label.appendChild(slider);
    controls.appendChild(label);

    var outs = el("div", { "class": "rb-dd-ridge-outputs" });
    function outRow(text, cls) {
      var row = el("span", {});
      row.appendChild(document.createTextNode(text));
      var o = el("output", { "class": cls, "for": id + "-lam" });
      row.appendChild(o);
      outs.appendChild(row);
      return o;
    }
    var outLam = outRow("λ = ", "rb-dd-ridge-lam-out");
    outLam.id = id + "-lam-out";
    var outPeak = outRow("highest test error on this curve = ", "rb-dd-ridge-peak");
    var outThr = outRow("at p = " + widths[iThr] + ": ", "rb-dd-ridge-threshold");
    controls.appendChild(outs);

    // --- plot ------------------------------------------------------------------
    var lo = data.lo, hi = data.hi;
    var hasBand = !!(lo && hi && lo.length === lams.length && hi.length === lams.length);
    var all = [];
    curves.forEach(function (c) { all = all.concat(c); });
    if (hasBand) { lo.concat(hi).forEach(function (c) { all = all.concat(c); }); }
    var yMin = Math.min.apply(null, all), yMax = Math.max.apply(null, all);
    var lx0 = Math.log10(widths[0]), lx1 = Math.log10(widths[widths.length - 1]);
    var ly0 = Math.floor(Math.log10(yMin) * 4) / 4, ly1 = Math.ceil(Math.log10(yMax) * 4) / 4;
    function sx(p) { return M.left + (Math.log10(p) - lx0) / (lx1 - lx0) * (W - M.left - M.right); }
    function sy(v) { return H - M.bottom - (Math.log10(v) - ly0) / (ly1 - ly0) * (H - M.top - M.bottom); }
    function path(c) {
      return c.map(function (v, i) { return (i ? "L" : "M") + sx(widths[i]).toFixed(1) + "," + sy(v).toFixed(1); }).join("");
    }

    var plot = svg("svg", {
      "class": "rb-dd-ridge-plot", viewBox: "0 0 " + W + " " + H, role: "img",
      "aria-label": "Test squared error against the number of random features, log-log axes"
    });
    var axes = svg("g", { "class": "rb-dd-ridge-axes" });
    axes.appendChild(svg("line", { x1: M.left, y1: H - M.bottom, x2: W - M.right, y2: H - M.bottom }));
    axes.appendChild(svg("line", { x1: M.left, y1: M.top, x2: M.left, y2: H - M.bottom }));
    for (var e = Math.ceil(lx0); e <= Math.floor(lx1); e++) {
      var x = sx(Math.pow(10, e));
      axes.appendChild(svg("line", { x1: x, y1: H - M.bottom, x2: x, y2: H - M.bottom + 4 }));
      axes.appendChild(svg("text", { x: x, y: H - M.bottom + 16, "text-anchor": "middle" }, String(Math.pow(10, e))));
    }
    [0.1, 0.2, 0.5, 1, 2, 5, 10, 100, 1000, 10000].forEach(function (v) {
      var l = Math.log10(v);
      if (l < ly0 - 1e-9 || l > ly1 + 1e-9) { return; }
      var y = sy(v);
      axes.appendChild(svg("line", { x1: M.left - 4, y1: y, x2: M.left, y2: y }));
      axes.appendChild(svg("text", { x: M.left - 7, y: y + 4, "text-anchor": "end" }, String(v)));
    });
    axes.appendChild(svg("text", { x: (M.left + W - M.right) / 2, y: H - 6, "text-anchor": "middle" },
      "random features p (log scale)"));
    axes.appendChild(svg("text", {
      x: 14, y: (M.top + H - M.bottom) / 2, "text-anchor": "middle",
      transform: "rotate(-90 14 " + (M.top + H - M.bottom) / 2 + ")"
    }, "test squared error (log)"));
    plot.appendChild(axes);

    var ghosts = svg("g", { "class": "rb-dd-ridge-ghosts" });
    curves.forEach(function (c) { ghosts.appendChild(svg("path", { d: path(c) })); });
    plot.appendChild(ghosts);

    var xt = sx(n);
    plot.appendChild(svg("line", { "class": "rb-dd-ridge-thr", x1: xt, y1: M.top, x2: xt, y2: H - M.bottom }));
    plot.appendChild(svg("text", { "class": "rb-dd-ridge-thr-label", x: xt + 5, y: M.top + 10 }, "p = n = " + n));

    var band = svg("path", { "class": "rb-dd-ridge-band" });
    plot.appendChild(band);
    var line = svg("path", { "class": "rb-dd-ridge-curve" });
    plot.appendChild(line);
    var dots = svg("g", { "class": "rb-dd-ridge-dots" });
    plot.appendChild(dots);
    var peakMark = svg("circle", { "class": "rb-dd-ridge-peakmark", r: 5 });
    plot.appendChild(peakMark);

    function update() {
      var k = parseInt(slider.value, 10);
      var c = curves[k];
      line.setAttribute("d", path(c));
      if (hasBand) {
        var back = hi[k].map(function (v, i) {
          var j = widths.length - 1 - i;
          return "L" + sx(widths[j]).toFixed(1) + "," + sy(hi[k][j]).toFixed(1);
        }).join("");
        band.setAttribute("d", path(lo[k]) + back + "Z");
      }
      while (dots.firstChild) { dots.removeChild(dots.firstChild); }
      c.forEach(function (v, i) { dots.appendChild(svg("circle", { cx: sx(widths[i]), cy: sy(v), r: 2.2 })); });
      var iPeak = 0;
      c.forEach(function (v, i) { if (v > c[iPeak]) { iPeak = i; } });
      peakMark.setAttribute("cx", sx(widths[iPeak]));
      peakMark.setAttribute("cy", sy(c[iPeak]));
      outLam.value = fmtLam(lams[k]);
      outLam.textContent = outLam.value;
      outPeak.textContent = fmtNum(c[iPeak]) + " (at p = " + widths[iPeak] + ")";
      outThr.textContent = fmtNum(c[iThr]);
      slider.setAttribute("aria-valuetext", "lambda " + fmtLam(lams[k]));
    }
    slider.addEventListener("input", update);
    slider.addEventListener("change", update);

    box.appendChild(controls);
    box.appendChild(plot);
    root.appendChild(box);
    update();
  }

  window.regbookWidgets.register("dd-ridge", build);
})();
