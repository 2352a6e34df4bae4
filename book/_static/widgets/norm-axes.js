/* regbook widget "norm-axes": which entries share statistics in BN / LN / RMSNorm / GN.
 *
 * Data (from the chapter's hidden cell, regbook.norms.stat_groups):
 *   {"x": [[...], ...] (N rows × D columns), "eps": number,
 *    "kinds": [{"key", "label", "center": bool, "groups": [[int]] (N × D labels)}]}
 * Controls: radio inputs choose the norm; two range inputs rescale (×10^v) and shift sample n0
 * (to show which layers ignore that); every grid cell is a <button>, and hovering or focusing it
 * (mouse, Tab, arrow keys) selects it. The cells with the same label as the selected cell are
 * highlighted; <output>s give that set's mean, its denominator sqrt(var + eps) (or
 * sqrt(mean(x^2) + eps) for RMSNorm) and the cell's normalized value. A checkbox switches the
 * grid between raw and normalized values.
 */
(function () {
  "use strict";

  function fmt(v) {
    var s = v.toFixed(3);
    return s === "-0.000" ? "0.000" : s;
  }

  function stats(x, groups, label, center, eps) {
    var vals = [];
    for (var i = 0; i < x.length; i++) {
      for (var j = 0; j < x[i].length; j++) {
        if (groups[i][j] === label) vals.push(x[i][j]);
      }
    }
    var mean = 0;
    vals.forEach(function (v) { mean += v; });
    mean /= vals.length;
    var mu = center ? mean : 0;
    var sq = 0;
    vals.forEach(function (v) { sq += (v - mu) * (v - mu); });  // two-pass variance
    sq /= vals.length;
    return { mean: mean, mu: mu, denom: Math.sqrt(sq + eps), count: vals.length };
  }

  var el = window.regbookWidgets.el;

  function build(root, data, uid) {
    var x0 = data.x, kinds = data.kinds, eps = data.eps;
    var n = x0.length, d = x0[0].length;
    // start on LayerNorm with a cell of sample n0 selected, so that the sliders visibly matter
    var state = { kind: Math.min(1, kinds.length - 1), row: 0, col: Math.min(2, d - 1),
                  normalized: false, logScale: 0, shift: 0 };
    var x = x0;
    function current() {
      var s = Math.pow(10, state.logScale);
      return x0.map(function (r, i) {
        return i === 0 ? r.map(function (v) { return s * v + state.shift; }) : r.slice();
      });
    }

    var box = el("div", { "class": "rb-na rb-widget-box" });
    var controls = el("fieldset", { "class": "rb-na-controls" });
    controls.appendChild(el("legend", {}, "Normalization"));
    kinds.forEach(function (k, i) {
      var id = "rb-na-" + uid + "-" + k.key;
      var input = el("input", { type: "radio", name: "rb-na-kind-" + uid, id: id, value: k.key });
      if (i === state.kind) input.checked = true;
      input.addEventListener("change", function () {
        if (input.checked) { state.kind = i; render(); }
      });
      var label = el("label", { "for": id }, k.label);
      var wrap = el("span", { "class": "rb-na-choice" });
      wrap.appendChild(input);
      wrap.appendChild(label);
      controls.appendChild(wrap);
    });
    var tid = "rb-na-" + uid + "-norm";
    var toggle = el("input", { type: "checkbox", id: tid, "class": "rb-na-toggle" });
    toggle.addEventListener("change", function () { state.normalized = toggle.checked; render(); });
    var twrap = el("span", { "class": "rb-na-choice" });
    twrap.appendChild(toggle);
    twrap.appendChild(el("label", { "for": tid }, "show normalized values"));
    controls.appendChild(twrap);
    function slider(name, label, min, max, step, fmtv) {
      var id = "rb-na-" + uid + "-" + name;
      var wrap = el("span", { "class": "rb-na-choice rb-na-slider" });
      wrap.appendChild(el("label", { "for": id }, label + " "));
      var input = el("input", { type: "range", id: id, min: min, max: max, step: step, value: 0,
                                "class": "rb-na-" + name });
      var o = el("output", { "for": id, "class": "rb-na-" + name + "-value" }, fmtv(0));
      input.addEventListener("input", function () {
        var v = parseFloat(input.value);
        if (name === "scale") state.logScale = v; else state.shift = v;
        o.textContent = fmtv(v);
        render();
      });
      wrap.appendChild(input);
      wrap.appendChild(o);
      return wrap;
    }
    var sliders = el("fieldset", { "class": "rb-na-controls" });
    sliders.appendChild(el("legend", {}, "Transform sample n0"));
    sliders.appendChild(slider("scale", "scale ×", -1, 1, 0.1,
      function (v) { return Math.pow(10, v).toFixed(2); }));
    sliders.appendChild(slider("shift", "shift +", -5, 5, 0.5,
      function (v) { return v.toFixed(1); }));
    box.appendChild(controls);
    box.appendChild(sliders);

    var grid = el("div", { "class": "rb-na-grid", role: "group", "aria-label": "activations, rows are samples; arrow keys move between cells" });
    grid.style.gridTemplateColumns = "auto repeat(" + d + ", minmax(3.2em, 1fr))";
    grid.appendChild(el("span", { "class": "rb-na-head" }, ""));
    for (var j = 0; j < d; j++) grid.appendChild(el("span", { "class": "rb-na-head" }, "d" + j));
    var cells = [];
    for (var i = 0; i < n; i++) {
      grid.appendChild(el("span", { "class": "rb-na-head" }, "n" + i));
      cells.push([]);
      for (var jj = 0; jj < d; jj++) {
        var c = el("button", { type: "button", "class": "rb-na-cell", "data-row": i, "data-col": jj });
        (function (r, q) {
          function pick() { state.row = r; state.col = q; render(); }
          c.addEventListener("mouseenter", pick);
          c.addEventListener("focus", pick);
          c.addEventListener("click", pick);
          c.addEventListener("keydown", function (ev) {
            var dr = 0, dc = 0;
            if (ev.key === "ArrowUp") dr = -1;
            else if (ev.key === "ArrowDown") dr = 1;
            else if (ev.key === "ArrowLeft") dc = -1;
            else if (ev.key === "ArrowRight") dc = 1;
            else return;
            ev.preventDefault();
            var nr = Math.min(n - 1, Math.max(0, r + dr)), nc = Math.min(d - 1, Math.max(0, q + dc));
            cells[nr][nc].focus();
          });
        })(i, jj);
        cells[i].push(c);
        grid.appendChild(c);
      }
    }
    box.appendChild(grid);

    var out = el("p", { "class": "rb-na-outputs", "aria-live": "polite" });
    function addOut(name, label) {
      var o = el("output", { "class": "rb-na-" + name, name: name });
      var span = el("span", { "class": "rb-na-out" });
      span.appendChild(document.createTextNode(label + " "));
      span.appendChild(o);
      out.appendChild(span);
      return o;
    }
    var oCell = addOut("cell", "cell");
    var oSize = addOut("size", "shares statistics with");
    var oMean = addOut("mean", "mean μ =");
    var oDen = addOut("rms", "rms (denominator) =");
    var oVal = addOut("value", "normalized value =");
    box.appendChild(out);
    root.appendChild(box);

    function render() {
      x = current();
      var k = kinds[state.kind];
      var label = k.groups[state.row][state.col];
      var s = stats(x, k.groups, label, k.center, eps);
      var cache = {};
      for (var i = 0; i < n; i++) {
        for (var j = 0; j < d; j++) {
          var g = k.groups[i][j];
          if (!(g in cache)) cache[g] = stats(x, k.groups, g, k.center, eps);
          var cs = cache[g];
          var cell = cells[i][j];
          var v = state.normalized ? (x[i][j] - cs.mu) / cs.denom : x[i][j];
          cell.textContent = fmt(v);
          var same = g === label;
          cell.classList.toggle("rb-na-same", same);
          cell.classList.toggle("rb-na-sel", i === state.row && j === state.col);
          cell.setAttribute("aria-label", "row " + i + ", column " + j + ", value " + fmt(x[i][j]) +
            (same ? ", in the selected set" : ""));
        }
      }
      oCell.textContent = "(n" + state.row + ", d" + state.col + ")";
      oSize.textContent = (s.count - 1) + " other entries";
      oMean.textContent = k.center ? fmt(s.mean) : fmt(s.mean) + " (not subtracted)";
      oDen.textContent = fmt(s.denom);
      oVal.textContent = fmt((x[state.row][state.col] - s.mu) / s.denom);
    }
    render();
  }

  window.regbookWidgets.register("norm-axes", build);
})();
