#!/usr/bin/env bash
# Install everything minitranscend needs: Stockfish (where we can) and the pinned Python packages.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"

have_stockfish() {
  [ -n "${STOCKFISH_PATH:-}" ] && [ -x "${STOCKFISH_PATH}" ] && return 0
  command -v stockfish >/dev/null 2>&1 || [ -x /usr/games/stockfish ]
}

if ! have_stockfish; then
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then
      if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else SUDO="none"; fi
    fi
    if [ "$SUDO" != "none" ]; then
      echo "Installing Stockfish with apt-get ..."
      $SUDO apt-get update -qq
      DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq stockfish
    fi
  elif command -v brew >/dev/null 2>&1; then
    brew install stockfish
  fi
fi
if ! have_stockfish; then
  echo "Stockfish is not installed and could not be installed automatically." >&2
  echo "Install it (apt-get install stockfish / brew install stockfish) or set STOCKFISH_PATH." >&2
  exit 1
fi

"$PYTHON" -m pip install -q -r requirements.txt
"$PYTHON" -m pip install -q -e .
"$PYTHON" -m ipykernel install --user --name python3 >/dev/null 2>&1 || true
"$PYTHON" -m minitranscend info
