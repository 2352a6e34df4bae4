# regbook -- build the book and run every check.
#
#   make html     build the book into _build/html (sets up .venv first if missing)
#   make test     every check a contributor must pass (lint, pytest + doctests,
#                 strict book build, Sphinx doctest builder)
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

.PHONY: help html test lint pytest book-strict doctest site-tests chromium bench clean livehtml venv page

help:
	@echo "make html      build the book into $(BUILDDIR)/html (creates $(VENV) on first use)"
	@echo "make test      lint + pytest (unit, property, parity, doctests) + strict build + doctest builder"
	@echo "make doctest   run the {doctest} blocks of the book with Sphinx's doctest builder"
	@echo "make site-tests  tests of the built book: Chromium (no console errors, no external"
	@echo "               requests, math, images, search, widgets), notebook downloads, build behaviour"
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

html: $(STAMP)
	$(call sphinx,html)
	@rm -rf $(BUILDDIR)/failed-reports
	@echo "Book built: $(BUILDDIR)/html/index.html"

doctest: $(STAMP)
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

# Debian's Chromium for the site tests (Playwright drives it; it never downloads
# a browser). Installed with apt-get when missing, as root or through sudo.
CHROMIUM ?= /usr/bin/chromium
chromium:
	@test -x $(CHROMIUM) || { \
	  SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  echo "Installing Debian's chromium for the site tests ..."; \
	  $$SUDO apt-get update -qq >/dev/null || true; \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }
	@test -x $(CHROMIUM) || { echo "no Chromium at $(CHROMIUM); set CHROMIUM=/path/to/chromium" >&2; exit 1; }

# The built site in a real browser, and every notebook download executed on its
# own. Needs a built book: `make test` builds it first.
site-tests: $(STAMP) chromium
	REGBOOK_SITE_TESTS=1 REGBOOK_BUILDDIR=$(BUILDDIR) REGBOOK_CHROMIUM=$(CHROMIUM) OMP_NUM_THREADS=1 \
	  $(BIN)/python -m pytest -q -p no:cacheprovider -n $(JOBS) --dist loadgroup tests/site

test: lint pytest book-strict doctest site-tests
	@echo "make test: all checks passed"

bench: $(STAMP)
	$(BIN)/python .ci/bench.py --runs $(or $(RUNS),3)

# One chapter (plus the landing, API and references pages) in its own build
# folder, so chapters can be written side by side. Warnings are printed, not
# fatal (other chapters are missing); a failing cell still fails.
page: $(STAMP)
	@test -n "$(PAGE)" || { echo "usage: make page PAGE=<chapter stem>" >&2; exit 2; }
	REGBOOK_ONLY=$(PAGE) REGBOOK_BUILDDIR=$(BUILDDIR)/page-$(PAGE) $(BIN)/sphinx-build -M html book $(BUILDDIR)/page-$(PAGE) -c . -n
	@echo "Page built: $(BUILDDIR)/page-$(PAGE)/html/$(PAGE).html"

livehtml: $(STAMP)
	$(BIN)/python -m pip install --quiet "sphinx-autobuild>=2024.10"
	$(BIN)/sphinx-autobuild book $(BUILDDIR)/html -c . -n --watch regbook --ignore "$(BUILDDIR)/*"

clean:
	rm -rf $(BUILDDIR)
