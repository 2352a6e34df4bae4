/* regbook: search results rank the book's pages above API entries (html_search_scorer in conf.py).
   Sphinx scores a match on an API object's name (11 + 5) above a match in a page title (15), so a
   query such as "dropout" used to list functions before the chapter. Here every API result (an
   object, or a text match on the API page or in the module sources) is moved below every page. */
var Scorer = {
  score: (result) => {
    const [docname, , , , score, , kind] = result;
    const api = kind === "object" || docname === "api" || docname.startsWith("api_") || docname.startsWith("_modules/");
    return api ? score - 1000 : score;
  },
  objNameMatch: 11,
  objPartialMatch: 6,
  objPrio: { 0: 15, 1: 5, 2: -5 },
  objPrioDefault: 0,
  title: 15,
  partialTitle: 7,
  term: 5,
  partialTerm: 2,
};
