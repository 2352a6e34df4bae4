/* regbook: the summary under each search result is taken from the article alone.
   Sphinx reads it from [role="main"], which in this theme also holds the download menu,
   the page's table of contents and the previous/next links: their text ("Contents",
   ".ipynb", "previous") showed up as the context of a match. Loaded on search.html only. */
document.addEventListener("DOMContentLoaded", () => {
  if (typeof Search === "undefined") return;
  Search.htmlToText = (htmlString, anchor) => {
    const doc = new DOMParser().parseFromString(htmlString, "text/html");
    const root = doc.querySelector("article.bd-article") || doc.querySelector('[role="main"]');
    if (!root) return "";
    root.querySelectorAll(".headerlink, script, style, button, .d-print-none, .prev-next-area, summary")
      .forEach((el) => el.remove());
    if (anchor) {
      const target = root.querySelector(anchor);
      if (target) return target.textContent;
    }
    return root.textContent;
  };
});

/* Opened from disk (file://), the browser refuses to fetch the pages the summaries come from;
   list the results without summaries instead of failing on each one. */
if (window.location.protocol === "file:" && typeof DOCUMENTATION_OPTIONS !== "undefined") {
  DOCUMENTATION_OPTIONS.SHOW_SEARCH_SUMMARY = false;
}
