// Lighthouse (./node_modules, package.json) on a list of URLs, in one Chromium.
//
//   node tests/site/lighthouse.mjs OUT.json URL...            accessibility, best practices, SEO
//   node tests/site/lighthouse.mjs --performance OUT.json URL...   the same and performance
//
// Writes {url: {scores: {category: score}, failing: [{id, title, category}]}} to OUT.json.
// Chromium is $CHROME_PATH (default /usr/bin/chromium). The site tests (test_a11y.py) run it.
import fs from "node:fs";
import lighthouse from "lighthouse";
import * as chromeLauncher from "chrome-launcher";

const argv = process.argv.slice(2);
const performance = argv[0] === "--performance";
const [out, ...urls] = performance ? argv.slice(1) : argv;
const categories = ["accessibility", "best-practices", "seo", ...(performance ? ["performance"] : [])];

const chrome = await chromeLauncher.launch({
  chromePath: process.env.CHROME_PATH || "/usr/bin/chromium",
  chromeFlags: ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--no-first-run"],
});
// A local, static site: no network throttling to simulate, no full-page screenshot (slow on long
// pages, and no audit of these categories reads it), no extra waiting for quiet periods.
const fast = performance ? { onlyCategories: categories } : {
  onlyCategories: categories,
  disableFullPageScreenshot: true,
  throttlingMethod: "provided",
  pauseAfterFcpMs: 0,
  pauseAfterLoadMs: 0,
  networkQuietThresholdMs: 250,
  cpuQuietThresholdMs: 250,
};
const results = {};
try {
  for (const url of urls) {
    const { lhr } = await lighthouse(url, { port: chrome.port, output: "json", logLevel: "error",
                                            onlyCategories: categories },
                                     { extends: "lighthouse:default", settings: fast });
    const failing = [];
    for (const [cat, c] of Object.entries(lhr.categories)) {
      for (const ref of c.auditRefs) {
        const a = lhr.audits[ref.id];
        if (ref.weight > 0 && a.score !== null && a.score < 1) failing.push({ id: ref.id, title: a.title, category: cat });
      }
    }
    results[url] = {
      scores: Object.fromEntries(Object.entries(lhr.categories).map(([k, v]) => [k, v.score])),
      failing,
      runtimeError: lhr.runtimeError ? lhr.runtimeError.message : null,
    };
  }
} finally {
  await chrome.kill();
}
fs.writeFileSync(out, JSON.stringify(results, null, 1));
