/* regbook widgets: what every interactive figure shares.
 *
 * Loaded before the widgets (files load in name order). A widget script calls
 *   regbookWidgets.register("<name>", function build(root, data, index) { ... })
 * and this runtime, once the page is parsed, finds each
 * `.rb-widget[data-widget="<name>"]` (markup from regbook.plotting.widget_html),
 * parses its JSON, calls build, then hides the static fallback and marks the
 * root `data-ready="1"`. If the data cannot be read or build throws, the
 * fallback stays visible. Plain JavaScript, no libraries, no network.
 */
window.regbookWidgets = (function () {
  "use strict";

  var SVGNS = "http://www.w3.org/2000/svg";

  function setAll(node, attrs, text) {
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  /* An HTML element with attributes and optional text. */
  function el(tag, attrs, text) { return setAll(document.createElement(tag), attrs, text); }

  /* An SVG element with attributes and optional text. */
  function svg(tag, attrs, text) { return setAll(document.createElementNS(SVGNS, tag), attrs, text); }

  function register(name, build) {
    function init() {
      var roots = document.querySelectorAll('.rb-widget[data-widget="' + name + '"]');
      Array.prototype.forEach.call(roots, function (root, index) {
        if (root.getAttribute("data-ready") === "1") { return; }
        var data;
        try {
          data = JSON.parse(root.querySelector("script.rb-widget-data").textContent);
        } catch (err) {
          return; // no readable data: the fallback stays
        }
        build(root, data, index); // an error here reaches the console; the fallback stays
        var fallback = root.querySelector(".rb-widget-fallback");
        if (fallback) { fallback.hidden = true; }
        root.setAttribute("data-ready", "1");
      });
    }
    if (document.readyState === "loading") {
      document.addEventListener("DOMContentLoaded", init);
    } else {
      init();
    }
  }

  return { el: el, svg: svg, register: register };
})();
