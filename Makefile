# regbook -- build the book and run every check.
#
#   make html     build the book into _build/html (sets up .venv first if missing)
#   make pdf      the whole book as one PDF, next to index.html
#   make dist     the deployable site (HTML, PDF, notebooks zip) in _build/dist
#   make test     every check a contributor must pass (lint, pytest + doctests,
#                 strict book build, PDF, Sphinx doctest builder, site tests)
#
# The first run creates .venv and installs torch ($(TORCH_SPEC), the local CPU
# build on our machines; see DEVELOPERS.md) and then the project with its extras.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON     ?= python3
VENV       ?= .venv
TORCH_SPEC ?= torch==2.13.0
BUILDDIR   ?= _build
JOBS       ?= 2
SPHINXOPTS ?=

BIN    := $(VENV)/bin
STAMP  := $(VENV)/.regbook-installed
SPHINX := REGBOOK_BUILDDIR=$(BUILDDIR) $(BIN)/sphinx-build
# Strict: warnings are errors (-W), report them all (--keep-going), every
# cross-reference must resolve (-n). conf.py lives at the root (-c .).
STRICT := -c . -W --keep-going -n -j $(JOBS)

# $(call sphinx,BUILDER): run a strict build; on failure keep the execution
# reports, remove the half-written output and the saved environment (so the
# next build re-reads every page and cannot hide the warnings), and fail.
define sphinx
	@$(SPHINX) -M $(1) book $(BUILDDIR) $(STRICT) $(SPHINXOPTS) || { \
	  rm -rf $(BUILDDIR)/failed-reports; \
	  if [ -d $(BUILDDIR)/html/reports ]; then mv $(BUILDDIR)/html/reports $(BUILDDIR)/failed-reports; fi; \
	  rm -rf $(BUILDDIR)/html $(BUILDDIR)/doctrees $(BUILDDIR)/$(1); \
	  echo "make $(1): FAILED. No output was kept, so no page looks current." >&2; \
	  echo "           Execution reports (if any): $(BUILDDIR)/failed-reports/" >&2; \
	  exit 1; }
endef

.PHONY: help html test lint pytest book-strict doctest site-tests chromium node npm-packages bench clean livehtml \
        venv page pdf print-pdf dist copy-dist weights

help:
	@echo "make html      build the book into $(BUILDDIR)/html (creates $(VENV) on first use)"
	@echo "make pdf       the whole book as one PDF: $(BUILDDIR)/html/$(PDF_NAME)"
	@echo "make dist      the deployable site (HTML, PDF, notebooks zip) in $(BUILDDIR)/dist"
	@echo "make test      lint + pytest (unit, property, parity, doctests) + strict build + PDF"
	@echo "               + doctest builder + site tests"
	@echo "make doctest   run the {doctest} blocks of the book with Sphinx's doctest builder"
	@echo "make site-tests  tests of the built book: Chromium (no console errors, no external"
	@echo "               requests, math, images, search, widgets, navigation at 390 and 1280 px,"
	@echo "               page weights, axe and Lighthouse), the PDF, notebook downloads, publishing,"
	@echo "               build behaviour"
	@echo "make weights   what each page of the built book loads (a table)"
	@echo "make bench     time cold build, no-change rebuild, one-page edit, one-module edit, make test"
	@echo "make livehtml  rebuild and reload in the browser while you edit"
	@echo "make page PAGE=<stem>  build one chapter alone (while writing it) into $(BUILDDIR)/page-<stem>"
	@echo "make clean     remove build output ($(BUILDDIR)/), keep $(VENV)"

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "$(TORCH_SPEC)"
	$(BIN)/python -m pip install --quiet -e ".[book,test]"
	@touch $@

html: $(STAMP) node
	$(call sphinx,html)
	@rm -rf $(BUILDDIR)/failed-reports
	@echo "Book built: $(BUILDDIR)/html/index.html"

doctest: $(STAMP) node
	$(call sphinx,doctest)

lint: $(STAMP)
	$(BIN)/ruff check regbook tests conf.py book/_ext .ci
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/python -m pytest -q -n $(JOBS)

# -E: read every page afresh (warnings from earlier builds cannot hide);
# execution still comes from the cache, which is keyed on regbook's sources.
book-strict: $(STAMP)
	@$(MAKE) --no-print-directory html SPHINXOPTS="-E $(SPHINXOPTS)"

# Debian's Chromium for the site tests and the PDF (Playwright drives it; it never
# downloads a browser). Installed with apt-get when missing, as root or through sudo.
CHROMIUM ?= /usr/bin/chromium
APT = SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
  $$SUDO apt-get update -qq >/dev/null || true; \
  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq
chromium:
	@test -x $(CHROMIUM) && command -v pdftotext >/dev/null || { \
	  echo "Installing Debian's chromium and poppler-utils (PDF and its checks) ..."; \
	  $(APT) chromium poppler-utils >/dev/null; }
	@test -x $(CHROMIUM) || { echo "no Chromium at $(CHROMIUM); set CHROMIUM=/path/to/chromium" >&2; exit 1; }

# Node.js: the build typesets the equations with MathJax under node (book/_ext/regbook_math.py);
# the site tests run axe-core and Lighthouse from ./node_modules (package.json, package-lock.json).
node:
	@command -v node >/dev/null || { echo "Installing Debian's nodejs (the build typesets equations with it) ..."; \
	  $(APT) nodejs >/dev/null; }
	@node -e 'process.exit(+process.versions.node.split(".")[0] >= 18 ? 0 : 1)' || { \
	  echo "node >= 18 is needed (found $$(node --version))" >&2; exit 1; }

NPM_STAMP := node_modules/.package-lock.json
npm-packages: $(NPM_STAMP)
$(NPM_STAMP): package.json package-lock.json | node
	@command -v npm >/dev/null || { echo "Installing Debian's npm ..."; $(APT) npm >/dev/null; }
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# The whole book as one PDF, printed by Chromium from the built HTML (book/_ext/regbook_pdf.py).
PDF_NAME := regularization-in-deep-learning.pdf
pdf: html
	@$(MAKE) --no-print-directory print-pdf
print-pdf: $(STAMP) chromium
	$(BIN)/python book/_ext/regbook_pdf.py --html $(BUILDDIR)/html $(if $(BASE_URL),--base-url $(BASE_URL))

# The deployable site: the HTML with its PDF and notebooks zip, in one folder
# (what .github/workflows/pages.yml publishes to GitHub Pages).
dist: pdf
	@$(MAKE) --no-print-directory copy-dist
copy-dist:
	rm -rf $(BUILDDIR)/dist
	cp -a $(BUILDDIR)/html $(BUILDDIR)/dist
	rm -f $(BUILDDIR)/dist/.buildinfo
	touch $(BUILDDIR)/dist/.nojekyll
	@test -f $(BUILDDIR)/dist/$(PDF_NAME) && test -f $(BUILDDIR)/dist/regbook-notebooks.zip
	@echo "Site ready to deploy: $(BUILDDIR)/dist/ ($$(du -sh $(BUILDDIR)/dist | cut -f1))"

# The built site in a real browser, the PDF, every notebook download executed on
# its own, the publishing workflow. Needs a built book and PDF: `make test` makes them first.
site-tests: $(STAMP) chromium $(NPM_STAMP)
	REGBOOK_SITE_TESTS=1 REGBOOK_BUILDDIR=$(BUILDDIR) REGBOOK_CHROMIUM=$(CHROMIUM) OMP_NUM_THREADS=1 \
	  $(BIN)/python -m pytest -q -p no:cacheprovider -n $(JOBS) --dist loadgroup --durations=10 tests/site

# What each page of the built book loads, as a table (also used by `make bench`).
weights: $(STAMP) chromium
	REGBOOK_CHROMIUM=$(CHROMIUM) $(BIN)/python tests/site/weights.py --builddir $(BUILDDIR)

test: lint pytest book-strict print-pdf copy-dist doctest site-tests
	@echo "make test: all checks passed"

bench: $(STAMP)
	$(BIN)/python .ci/bench.py --runs $(or $(RUNS),3) $(if $(SKIP_TEST),--skip-test)

# One chapter (plus the landing, API and references pages) in its own build
# folder, so chapters can be written side by side. Warnings are printed, not
# fatal (other chapters are missing); a failing cell still fails.
page: $(STAMP) node
	@test -n "$(PAGE)" || { echo "usage: make page PAGE=<chapter stem>" >&2; exit 2; }
	REGBOOK_ONLY=$(PAGE) REGBOOK_BUILDDIR=$(BUILDDIR)/page-$(PAGE) $(BIN)/sphinx-build -M html book $(BUILDDIR)/page-$(PAGE) -c . -n
	@echo "Page built: $(BUILDDIR)/page-$(PAGE)/html/$(PAGE).html"

livehtml: $(STAMP) node
	$(BIN)/python -m pip install --quiet "sphinx-autobuild>=2024.10"
	$(BIN)/sphinx-autobuild book $(BUILDDIR)/html -c . -n --watch regbook --ignore "$(BUILDDIR)/*"

clean:
	rm -rf $(BUILDDIR)
