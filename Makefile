# The two commands of the README:
#   make book    set everything up, execute every chapter (PROFILE=ci by default) and build the site
#   make test    run the test suite (unit tests, real Stockfish, notebooks in CI profile, site build)
PYTHON  ?= python3
PROFILE ?= ci

.PHONY: book setup execute build test clean

book: setup execute build
	@echo "Open _build/html/index.html"

setup:
	bash scripts/setup.sh

# In the full profile the experiment runs first, as one command: it trains both models side by
# side (one core each), which the chapters, executed one after the other, cannot.
execute:
	if [ "$(PROFILE)" = full ]; then $(PYTHON) -m minitranscend experiment --profile full; fi
	$(PYTHON) -m minitranscend book execute --profile $(PROFILE)

build:
	$(PYTHON) -m minitranscend book build

test:
	$(PYTHON) -m pytest

clean:
	rm -rf _build book/_executed
