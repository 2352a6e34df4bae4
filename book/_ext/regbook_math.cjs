// Typeset TeX with MathJax 3 at build time (book/_ext/regbook_math.py runs this with node).
//
//   node regbook_math.cjs <mathjax directory> <answer.json>  < request.json
//
// request: [{"page": name, "items": [[tex, display], ...]}, ...]
// answer:  [{"page": name, "html": [CHTML markup, ...], "css": stylesheet, "errors": [tex, ...]}, ...]
//
// The MathJax directory is the one sphinx-mathjax-offline installs from PyPI (its node-main.js
// and components); nothing is fetched. Each page gets its own stylesheet holding only the rules
// for the characters it uses; @font-face rules point at "MATHJAX_FONT_URL", which the caller
// replaces with the page's relative path to the fonts. The markup carries MathJax's hidden
// MathML (a11y/assistive-mml), which is what screen readers read.
"use strict";
const fs = require("fs");
const path = require("path");

const [mathjaxDir, answerPath] = process.argv.slice(2);
const MathJax = require(path.join(mathjaxDir, "node-main.js"));

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", () => {
  MathJax.init({
    loader: {
      paths: { mathjax: mathjaxDir },
      load: ["input/tex", "output/chtml", "a11y/assistive-mml", "adaptors/liteDOM"],
    },
    tex: { packages: { "[+]": ["ams"] } },
    chtml: { fontURL: "MATHJAX_FONT_URL" },
    startup: { typeset: false },
  })
    .then(async (MJ) => {
      const adaptor = MJ.startup.adaptor;
      const answer = [];
      for (const { page, items } of JSON.parse(input)) {
        MJ.startup.output.clearCache(); // a stylesheet per page, for its own characters only
        const html = [];
        const errors = [];
        for (const [tex, display] of items) {
          const node = await MJ.tex2chtmlPromise(tex, { display });
          const markup = adaptor.outerHTML(node);
          if (markup.includes("<mjx-merror")) errors.push(tex);
          html.push(markup);
        }
        answer.push({ page, html, css: adaptor.textContent(MJ.chtmlStylesheet()), errors });
      }
      fs.writeFileSync(answerPath, JSON.stringify(answer));
    })
    .catch((err) => {
      process.stderr.write(`MathJax failed: ${err && err.stack ? err.stack : err}\n`);
      process.exit(1);
    });
});
