# paraspinal: the two commands of the quick start, and a few more.
#   make demo   create .venv, install, run the main job on sample_data/, print where the output is
#   make test   create/update .venv, install the test extras, run the whole test suite
#   make test-portability   the suite again as on another CPU: numpy's baseline kernels only (no AVX2/
#               AVX-512 dispatch) and single-threaded BLAS, so no test may depend on the last bit of a float
#   make docs   build the documentation site into docs/_build/html (warnings are errors; every
#               example is executed), then check that it opens offline
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
DOCS_STAMP := $(VENV)/.docs-installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
# The docs' format pages read the public recordings beside the checkout.
PARASPINAL_TEST_DATA ?= $(abspath ../shared/data)

.PHONY: demo test test-portability bench docs clean venv

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

# numpy's dispatchable SIMD targets of this machine, all switched off (numpy reads
# NPY_DISABLE_CPU_FEATURES at import); OpenBLAS with one thread instead of one per core.
# OPENBLAS_CORETYPE stays as the machine sets it: the workplace pins it on CPUs where other
# OpenBLAS kernels crash or compute wrong results.
NPY_DISPATCH = import numpy._core._multiarray_umath as m; print(' '.join(m.__cpu_dispatch__))
NPY_SHOW = import numpy._core._multiarray_umath as m; print('numpy SIMD kernels in use:', [k for k in m.__cpu_dispatch__ if m.__cpu_features__.get(k)] or 'baseline only', '| OPENBLAS_NUM_THREADS =', __import__('os').environ.get('OPENBLAS_NUM_THREADS'))
test-portability: $(STAMP)
	@export NPY_DISABLE_CPU_FEATURES="$$($(BIN)/python -c "$(NPY_DISPATCH)")" OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1; \
	  $(BIN)/python -c "$(NPY_SHOW)" && $(BIN)/python -m pytest -q -p no:cacheprovider

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
