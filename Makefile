# paraspinal: the two commands of the quick start, and a few more.
#   make demo   create .venv, install, run the main job on sample_data/, print where the output is
#   make test   create/update .venv, install the test extras, run the whole test suite
#   make docs   build the documentation site into docs/_build/html (warnings are errors; every
#               example is executed), then check that it opens offline
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
DOCS_STAMP := $(VENV)/.docs-installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
# The docs' format pages read the public recordings beside the checkout.
PARASPINAL_TEST_DATA ?= $(abspath ../shared/data)

.PHONY: demo test bench docs clean venv

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	@rm -f $(VENV)/.installed-*
	@touch $@

demo: $(STAMP)
	$(BIN)/python scripts/demo.py

test: $(STAMP)
	$(BIN)/python -m pytest -q

$(DOCS_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[test,docs]"
	@rm -f $(VENV)/.docs-installed-*
	@touch $@

docs: $(DOCS_STAMP)
	rm -rf docs/_build/html docs/_build/doctrees docs/_build/jupyter_execute
	PARASPINAL_TEST_DATA="$(PARASPINAL_TEST_DATA)" QT_QPA_PLATFORM=offscreen \
	  $(BIN)/python -m sphinx -W --keep-going -n -b html docs docs/_build/html
	$(BIN)/python docs/check_offline.py docs/_build/html
	@echo "Open the documentation: file://$(abspath docs/_build/html/index.html)"

bench: $(STAMP)
	$(BIN)/python scripts/bench_io.py

clean:
	rm -rf $(VENV) demo_output bench_results .pytest_cache docs/_build
