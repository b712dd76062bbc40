# Two commands do everything on a fresh machine: `make solutions` and `make test`.
VENV   := .venv
PY     := $(VENV)/bin/python
OUT    ?= build
TEX_PACKAGES := texlive-latex-base texlive-latex-recommended texlive-fonts-recommended latexmk poppler-utils

.PHONY: solutions test check lock bench setup tex browser clean

# Variants: make solutions SEED=7 VARIANTS=30, or ROSTER=students.csv SALT=course-2026.
VARIANT_OPTIONS = $(if $(SEED),--seed $(SEED)) $(if $(VARIANTS),--variants $(VARIANTS)) \
                  $(if $(ROSTER),--roster $(ROSTER)) $(if $(SALT),--salt $(SALT))

solutions: setup tex
	$(PY) -m solvers build problems --out $(OUT) $(VARIANT_OPTIONS)

# Every answer against torch, and every committed variants.lock against a fresh draw.
check: setup
	$(PY) -m solvers check problems $(VARIANT_OPTIONS)

lock: setup
	$(PY) -m solvers lock problems $(VARIANT_OPTIONS)

test: setup tex browser
	$(PY) -m pytest

bench: setup tex
	$(PY) bench/benchmark.py

setup: $(VENV)/.installed

# torch is pinned and installed first so pip never resolves a multi-GB CUDA build.
$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet torch==2.13.0
	$(VENV)/bin/pip install --quiet -e '.[test]'
	touch $@

# PDFs need latexmk/pdflatex; the tests read PDFs with pdftotext.
tex:
	@if command -v latexmk >/dev/null && command -v pdflatex >/dev/null && command -v pdftotext >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		echo "Installing TeX (missing latexmk, pdflatex or pdftotext)"; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $(TEX_PACKAGES); \
	else \
		echo "TeX is missing. Run: sudo apt-get install -y --no-install-recommends $(TEX_PACKAGES)"; exit 1; \
	fi

# The tests look at the HTML pages as a reader does, in headless Chromium.
browser:
	@if command -v chromium >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		echo "Installing chromium (the tests view the HTML pages in it)"; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium; \
	else \
		echo "chromium is missing. Run: sudo apt-get install -y --no-install-recommends chromium"; exit 1; \
	fi

clean:
	rm -rf $(OUT)
