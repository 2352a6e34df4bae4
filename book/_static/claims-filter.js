// Claims ledger: filter the claim cards by status and by chapter (progressive
// enhancement: without JavaScript every card is shown and the form stays hidden).
(function () {
  "use strict";
  function setup() {
    var form = document.querySelector("form.claims-filter");
    if (!form) return;
    var cards = Array.prototype.slice.call(document.querySelectorAll(".claim-card"));
    var sections = Array.prototype.slice.call(document.querySelectorAll("section.claims-chapter"));
    var out = form.querySelector("output");
    function apply() {
      var status = form.elements.status.value, chapter = form.elements.chapter.value, shown = 0;
      cards.forEach(function (card) {
        var ok = (!status || card.classList.contains("claim-is-" + status)) &&
                 (!chapter || card.classList.contains("claim-chapter-" + chapter));
        card.hidden = !ok;
        if (ok) shown += 1;
      });
      sections.forEach(function (sec) {
        sec.hidden = !sec.querySelector(".claim-card:not([hidden])");
      });
      out.textContent = shown + " of " + cards.length + " claims shown";
    }
    form.addEventListener("change", apply);
    form.addEventListener("submit", function (e) { e.preventDefault(); });
    form.hidden = false;
    apply();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setup);
  else setup();
})();
