#!/usr/bin/env bash
# Install ipywidgets 7 (the version Colab preinstalls) into .cache/ipywidgets7, beside the
# ipywidgets 8 of the main environment, so tests/test_widgets_ipywidgets7.py can rerun the
# widget tests against it (PYTHONPATH=.cache/ipywidgets7). Skips when already installed.
#
# --no-deps, so only what ipywidgets 7.7.1 needs and the main environment does not have goes
# here (traitlets, IPython, ipykernel and comm come from the main environment):
#   ipython_genutils    imported by ipywidgets 7 (py3compat); 8 dropped it, so it is missing.
#   widgetsnbextension  7.7.1 requires ~=3.6.0, the main environment has 4.x (ipywidgets 8's).
#                       Only the classic-notebook front end, never imported from Python; 3.6.10
#                       is the 3.6.x that pip picks for 7.7.1, as on Colab.
# Not installed: jupyterlab_widgets (7.7.1 requires >=1.0.0, which the main 3.x satisfies).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
TARGET=.cache/ipywidgets7
PINS=(ipywidgets==7.7.1 ipython_genutils==0.2.0 widgetsnbextension==3.6.10)

installed=1
for pin in "${PINS[@]}"; do
  [ -d "$TARGET/${pin/==/-}.dist-info" ] || installed=0
done
if [ "$installed" = 1 ]; then
  echo "ipywidgets 7 already in $TARGET"
  exit 0
fi

# Install into a scratch folder and move it into place, so an interrupted or failed install
# never leaves a half-filled $TARGET that the test would take for a good one (and pip's
# --target does not replace packages already there when the pins change).
mkdir -p .cache
scratch="$(mktemp -d .cache/ipywidgets7.partial.XXXXXX)"
chmod 755 "$scratch"  # mktemp makes it private
trap 'rm -rf "$scratch"' EXIT
"$PYTHON" -m pip install -q --no-deps --disable-pip-version-check --target "$scratch" "${PINS[@]}"
version="$(PYTHONPATH="$scratch" "$PYTHON" -c 'import ipywidgets; print(ipywidgets.__version__)')"
if [ "$version" != 7.7.1 ]; then
  echo "expected ipywidgets 7.7.1 in $scratch, imported $version" >&2
  exit 1
fi
rm -rf "$TARGET"
mv "$scratch" "$TARGET"
trap - EXIT
echo "ipywidgets $version installed in $TARGET"
