/* regbook widget "dropout": the dropout playground.
 *
 * A small network (layer sizes from the page's data) whose hidden units are
 * dropped at random; a drop-rate slider, a training/evaluation switch, a
 * resample button and an animation switch. Outputs: drop rate, keep
 * probability, the inverted-dropout scale 1/(1-p), the mask of the worked
 * example's h and the resulting h_drop. Plain JavaScript, no libraries, no
 * network access; it does nothing on pages without its markup.
 */
(function () {
  "use strict";

  var el = window.regbookWidgets.el, svg = window.regbookWidgets.svg;

  // Small seeded PRNG (mulberry32), so the masks are reproducible per page load.
  function mulberry32(seed) {
    var a = seed >>> 0;
    return function () {
      a = (a + 0x6d2b79f5) >>> 0;
      var t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  function fmt(x, digits) {
    var s = x.toFixed(digits);
    return s === "-0" || /^-0\.0*$/.test(s) ? s.slice(1) : s;
  }

  function build(root, data, index) {
    var sizes = data.sizes || [4, 6, 6, 3];
    var h = data.h || [2.0, 1.5, 0.5, 3.0];
    var rand = mulberry32(data.seed || 1);
    var interval = data.interval_ms || 600;
    var reduce = window.matchMedia ? window.matchMedia("(prefers-reduced-motion: reduce)") : null;

    var id = "rb-dropout-" + index;
    var box = el("div", { "class": "rb-dropout rb-widget-box" });

    // --- controls ---------------------------------------------------------
    var controls = el("div", { "class": "rb-dropout-controls" });
    var rateLabel = el("label", { "for": id + "-rate" }, "drop rate p ");
    var rate = el("input", {
      type: "range", id: id + "-rate", "class": "rb-dropout-rate",
      min: "0", max: "0.9", step: "0.05", value: String(data.drop === undefined ? 0.5 : data.drop)
    });
    rateLabel.appendChild(rate);

    var trainLabel = el("label", { "for": id + "-train" });
    var train = el("input", { type: "checkbox", id: id + "-train", "class": "rb-dropout-train" });
    train.checked = true;
    trainLabel.appendChild(train);
    trainLabel.appendChild(document.createTextNode(" training mode (off = model.eval())"));

    var animLabel = el("label", { "for": id + "-animate" });
    var animate = el("input", { type: "checkbox", id: id + "-animate", "class": "rb-dropout-animate" });
    animate.checked = !(reduce && reduce.matches);
    animLabel.appendChild(animate);
    animLabel.appendChild(document.createTextNode(" new mask every " + (interval / 1000) + " s"));

    var resample = el("button", { type: "button", "class": "rb-dropout-resample" }, "Resample mask");

    controls.appendChild(rateLabel);
    controls.appendChild(trainLabel);
    controls.appendChild(animLabel);
    controls.appendChild(resample);

    // --- outputs ------------------------------------------------------------
    var outs = el("dl", { "class": "rb-dropout-outputs" });
    function addOut(cls, label) {
      var o = el("output", { "class": cls, "for": id + "-rate " + id + "-train" });
      outs.appendChild(el("dt", {}, label));
      var dd = el("dd");
      dd.appendChild(o);
      outs.appendChild(dd);
      return o;
    }
    var outP = addOut("rb-dropout-p", "drop rate p (nn.Dropout)");
    var outKeep = addOut("rb-dropout-keep", "keep probability 1 − p");
    var outScale = addOut("rb-dropout-scale", "scale of survivors 1/(1 − p)");
    var outKept = addOut("rb-dropout-kept", "hidden units kept");
    var outMask = addOut("rb-dropout-mask", "mask m for h");
    var outH = addOut("rb-dropout-hdrop", "h = [" + h.map(function (v) { return fmt(v, 1); }).join(", ") + "] → h_drop");

    // --- drawing --------------------------------------------------------------
    var W = 360, H = 200, padX = 40, padY = 22;
    var maxN = Math.max.apply(null, sizes);
    var pic = svg("svg", { viewBox: "0 0 " + W + " " + H, "class": "rb-dropout-net", role: "img" });
    var title = svg("title");
    pic.appendChild(title);
    var pos = sizes.map(function (n, l) {
      var x = padX + l * (W - 2 * padX) / (sizes.length - 1);
      var gap = (H - 2 * padY) / Math.max(maxN - 1, 1);
      var top = H / 2 - gap * (n - 1) / 2;
      var col = [];
      for (var i = 0; i < n; i++) { col.push([x, top + i * gap]); }
      return col;
    });
    var edges = [], nodes = [];
    for (var l = 0; l + 1 < sizes.length; l++) {
      pos[l].forEach(function (a, i) {
        pos[l + 1].forEach(function (b, j) {
          var line = svg("line", { x1: a[0], y1: a[1], x2: b[0], y2: b[1], "class": "rb-dropout-edge" });
          edges.push({ line: line, l: l, i: i, j: j });
          pic.appendChild(line);
        });
      });
    }
    pos.forEach(function (col, l) {
      nodes.push(col.map(function (p) {
        var c = svg("circle", { cx: p[0], cy: p[1], r: 9, "class": "rb-dropout-node" });
        pic.appendChild(c);
        return c;
      }));
    });

    box.appendChild(controls);
    var row = el("div", { "class": "rb-dropout-row" });
    row.appendChild(pic);
    row.appendChild(outs);
    box.appendChild(row);
    root.appendChild(box);

    // --- state ------------------------------------------------------------------
    var masks = [];      // one array of 0/1 per layer (input and output always 1)
    var hMask = [];      // the worked example's own mask

    function sample() {
      var p = parseFloat(rate.value);
      masks = sizes.map(function (n, l) {
        var m = [];
        for (var i = 0; i < n; i++) {
          var hidden = l > 0 && l < sizes.length - 1;
          m.push(hidden ? (rand() < 1 - p ? 1 : 0) : 1);
        }
        return m;
      });
      hMask = h.map(function () { return rand() < 1 - p ? 1 : 0; });
    }

    function render() {
      var p = parseFloat(rate.value);
      var keep = 1 - p;
      var training = train.checked;
      var on = function (l, i) { return !training || masks[l][i] === 1; };
      nodes.forEach(function (col, l) {
        col.forEach(function (c, i) {
          c.setAttribute("class", "rb-dropout-node" + (on(l, i) ? "" : " rb-dropout-off"));
        });
      });
      edges.forEach(function (e) {
        var alive = on(e.l, e.i) && on(e.l + 1, e.j);
        e.line.setAttribute("class", "rb-dropout-edge" + (alive ? "" : " rb-dropout-off"));
      });
      var hiddenTotal = 0, hiddenKept = 0;
      for (var l = 1; l < sizes.length - 1; l++) {
        for (var i = 0; i < sizes[l]; i++) { hiddenTotal++; if (on(l, i)) { hiddenKept++; } }
      }
      outP.textContent = fmt(p, 2);
      outKeep.textContent = fmt(keep, 2);
      var m = training ? hMask : h.map(function () { return 1; });
      var hDrop = h.map(function (v, i) { return training ? v * m[i] / keep : v; });
      outScale.textContent = training ? fmt(1 / keep, 3) : "none: evaluation uses h as is";
      outKept.textContent = hiddenKept + " of " + hiddenTotal;
      outMask.textContent = training ? "[" + m.join(", ") + "]" : "none (evaluation)";
      outH.textContent = "[" + hDrop.map(function (v) { return fmt(v, 3); }).join(", ") + "]";
      title.textContent = "Network " + sizes.join("-") + ": " + hiddenKept + " of " + hiddenTotal +
        " hidden units active (" + (training ? "training" : "evaluation") + " mode)";
      resample.disabled = !training;
    }

    var timer = null;
    function schedule() {
      if (timer !== null) { window.clearInterval(timer); timer = null; }
      if (animate.checked && train.checked) {
        timer = window.setInterval(function () { sample(); render(); }, interval);
      }
    }

    rate.addEventListener("input", function () { sample(); render(); });
    train.addEventListener("change", function () { render(); schedule(); });
    animate.addEventListener("change", schedule);
    resample.addEventListener("click", function () { sample(); render(); });
    if (reduce && reduce.addEventListener) {
      reduce.addEventListener("change", function () {
        if (reduce.matches) { animate.checked = false; }
        schedule();
      });
    }

    sample();
    render();
    schedule();
  }

  window.regbookWidgets.register("dropout", build);
})();
