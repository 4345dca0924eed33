# The two commands the README promises on a fresh machine:
#   make report   set up a virtual environment, install digimeter, run the main job on the bundled data
#   make test     same set-up, then the whole test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
OUT    ?= out
export DIGIMETER_HOME ?= $(CURDIR)/.digimeter-home

.PHONY: venv report test clean snapshot docs

$(BIN)/digimeter: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(BIN)/digimeter

venv: $(BIN)/digimeter

report: venv
	$(BIN)/digimeter rank KAZ egdi --top 25
	$(BIN)/digimeter rank KAZ digital-nation --top 25
	$(BIN)/digimeter report --unit KAZ --out $(OUT)

test: venv
	sh scripts/ensure_chromium.sh
	$(BIN)/python -m pytest -n 2 -q

# Rebuild the bundled Parquet snapshot from ../shared/data (maintainers only; the result is committed).
snapshot: venv
	$(BIN)/python scripts/make_snapshot.py --shared ../shared/data

# Regenerate docs/cli.md from the CLI (a test fails when it is out of date).
docs: venv
	$(BIN)/python scripts/make_cli_docs.py
	$(BIN)/python scripts/make_backtest_doc.py
	$(BIN)/python scripts/make_pot.py

clean:
	rm -rf $(VENV) .digimeter-home $(OUT)
