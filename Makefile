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

execute:
	$(PYTHON) -m minitranscend book execute --profile $(PROFILE)

build:
	$(PYTHON) -m minitranscend book build

test:
	$(PYTHON) -m pytest

clean:
	rm -rf _build book/_executed
