"""Write the README's headline figure (docs/headline.png) from the shipped full-profile results.

    python scripts/headline_figure.py [--source DIR] [--out docs/headline.png]

Uses kaleido (plotly's static image export) when it is installed, else a headless Chromium
(Debian's `chromium`) on the figure's HTML.
"""
import argparse
import shutil
import subprocess
import tempfile
from pathlib import Path

from minitranscend.experiment import headline_figure, published, published_config


def write_png(fig, out: Path) -> None:
    try:
        import kaleido  # noqa: F401
    except ImportError:
        browser = shutil.which("chromium") or shutil.which("chromium-browser")
        if browser is None:
            raise SystemExit("needs kaleido (pip install kaleido) or Chromium (apt-get install chromium)")
        with tempfile.TemporaryDirectory() as tmp:
            html = Path(tmp) / "figure.html"
            fig.write_html(html, include_plotlyjs=True, config={"displayModeBar": False})
            w, h = int(fig.layout.width or 1000), int(fig.layout.height or 500)
            subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                            "--no-first-run", "--disable-background-networking",
                            "--disable-component-update", "--disable-sync", "--hide-scrollbars",
                            f"--user-data-dir={tmp}/profile", f"--screenshot={out.resolve()}",
                            f"--window-size={w + 20},{h + 20}", html.as_uri()],
                           check=True, capture_output=True, timeout=120)
        return
    fig.write_image(out, scale=2)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--source", type=Path, default=None, help="results folder (default: shipped full)")
    ap.add_argument("--out", type=Path, default=Path("docs/headline.png"))
    args = ap.parse_args()
    source = args.source or published("full")
    if source is None:
        raise SystemExit("no results: run `minitranscend experiment --profile full --publish` first")
    fig = headline_figure(source, published_config() if args.source is None else None)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_png(fig, args.out)
    print(f"wrote {args.out}")
