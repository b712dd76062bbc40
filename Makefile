# Two commands do everything on a fresh machine: `make solutions` and `make test`.
VENV   := .venv
PY     := $(VENV)/bin/python
OUT    ?= build
TEX_PACKAGES := texlive-latex-base texlive-latex-recommended texlive-fonts-recommended latexmk poppler-utils

.PHONY: solutions test check bench setup tex clean

solutions: setup tex
	$(PY) -m solvers build problems --out $(OUT)

check: setup
	$(PY) -m solvers check problems

test: setup tex
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

clean:
	rm -rf $(OUT)
