/* regbook widget "mixup": Mixup / CutMix of two images with a λ slider.
 *
 * Markup: .rb-widget[data-widget="mixup"] holding script.rb-widget-data with
 * {"size": S, "lam": 0.7, "a": {"label", "src"}, "b": {"label", "src"}}, where
 * "src" are PNG data URIs of two S x S images. Does nothing on other pages.
 *
 * Mixup:  canvas = λ·A + (1-λ)·B   (draw A, then B with alpha 1-λ).
 * CutMix: a centred box of B pasted into A, cut as regbook.mixup.cutmix_box
 *         cuts it: cut = floor(S·sqrt(1-λ)), the box spans floor(cut/2) pixels
 *         either side of the centre (so an odd cut loses a pixel), and the label
 *         weight is recomputed from that integer box: λ' = 1 - side² / S².
 */
(function () {
  "use strict";

  function fmt(v) { return v.toFixed(2); }

  function build(root, data) {
    var S = data.size;
    var uid = "rb-mixup-" + Math.random().toString(36).slice(2, 8);

    var wrap = document.createElement("div");
    wrap.className = "rb-mixup rb-widget-box";

    var controls = document.createElement("div");
    controls.className = "rb-mixup-controls";

    var lamLabel = document.createElement("label");
    lamLabel.setAttribute("for", uid + "-lam");
    lamLabel.textContent = "λ (share of " + data.a.label + ")";
    var slider = document.createElement("input");
    slider.type = "range"; slider.id = uid + "-lam"; slider.className = "rb-mixup-lambda";
    slider.min = "0"; slider.max = "1"; slider.step = "0.01"; slider.value = String(data.lam);
    var lamOut = document.createElement("output");
    lamOut.className = "rb-mixup-lambda-value"; lamOut.setAttribute("for", slider.id);

    var modeBox = document.createElement("input");
    modeBox.type = "checkbox"; modeBox.id = uid + "-cutmix"; modeBox.className = "rb-mixup-mode";
    var modeLabel = document.createElement("label");
    modeLabel.setAttribute("for", modeBox.id);
    modeLabel.textContent = "CutMix (unchecked: Mixup)";

    controls.appendChild(lamLabel); controls.appendChild(slider); controls.appendChild(lamOut);
    controls.appendChild(modeBox); controls.appendChild(modeLabel);

    var canvas = document.createElement("canvas");
    canvas.width = S; canvas.height = S;
    canvas.className = "rb-mixup-canvas";
    canvas.setAttribute("role", "img");

    var readout = document.createElement("p");
    readout.className = "rb-mixup-readout";
    var labelOut = document.createElement("output");
    labelOut.className = "rb-mixup-label";
    var boxOut = document.createElement("output");
    boxOut.className = "rb-mixup-box";
    readout.appendChild(document.createTextNode("mixed label: "));
    readout.appendChild(labelOut);
    readout.appendChild(document.createElement("br"));
    readout.appendChild(boxOut);

    wrap.appendChild(controls); wrap.appendChild(canvas); wrap.appendChild(readout);
    root.appendChild(wrap);

    var imgA = new Image(), imgB = new Image(), loaded = 0;
    var ctx = canvas.getContext("2d");

    function draw() {
      var lam = parseFloat(slider.value);
      var cut = modeBox.checked;
      var weight = lam, note;
      lamOut.value = fmt(lam);
      if (!cut) {
        if (loaded === 2) {
          ctx.globalAlpha = 1; ctx.drawImage(imgA, 0, 0, S, S);
          ctx.globalAlpha = 1 - lam; ctx.drawImage(imgB, 0, 0, S, S);
          ctx.globalAlpha = 1;
        }
        note = "Mixup: every pixel is " + fmt(lam) + "·" + data.a.label + " + " + fmt(1 - lam) + "·" + data.b.label;
      } else {
        var half = Math.floor(Math.floor(S * Math.sqrt(1 - lam)) / 2);
        var side = 2 * half;
        var x0 = Math.floor(S / 2) - half;
        weight = 1 - (side * side) / (S * S);
        if (loaded === 2) {
          ctx.globalAlpha = 1; ctx.drawImage(imgA, 0, 0, S, S);
          if (side > 0) ctx.drawImage(imgB, x0, x0, side, side, x0, x0, side, side);
        }
        note = "CutMix box " + side + "×" + side + " px of " + S + "×" + S + ", λ recomputed = " + fmt(weight);
      }
      labelOut.value = data.a.label + " " + fmt(weight) + " · " + data.b.label + " " + fmt(1 - weight);
      boxOut.value = note;
      canvas.setAttribute("aria-label", (cut ? "CutMix" : "Mixup") + " of " + data.a.label + " and " +
        data.b.label + ", label " + labelOut.value);
    }

    function onload() { loaded += 1; if (loaded === 2) draw(); }
    imgA.onload = onload; imgB.onload = onload;
    imgA.src = data.a.src; imgB.src = data.b.src;

    slider.addEventListener("input", draw);
    modeBox.addEventListener("change", draw);
    draw();
  }

  window.regbookWidgets.register("mixup", build);
})();
