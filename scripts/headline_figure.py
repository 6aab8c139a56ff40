"""Write the README's headline figure (docs/headline.png) from the shipped full-profile results.

    python scripts/headline_figure.py [--source DIR] [--out docs/headline.png]

Needs kaleido (plotly's static image export) and a Chrome/Chromium it can find.
"""
import argparse
from pathlib import Path

from minitranscend.experiment import headline_figure, published
from minitranscend.settings import experiment_config

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--source", type=Path, default=None, help="results folder (default: shipped full)")
    ap.add_argument("--out", type=Path, default=Path("docs/headline.png"))
    args = ap.parse_args()
    source = args.source or published("full")
    if source is None:
        raise SystemExit("no results: run `minitranscend experiment --profile full --publish` first")
    fig = headline_figure(source, experiment_config("full"))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.write_image(args.out, scale=2)
    print(f"wrote {args.out}")
