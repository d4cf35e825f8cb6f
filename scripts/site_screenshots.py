"""Screenshots of the generated site for the README: the index, one board and one run page at
1280 px wide in headless Chromium, cropped to their content (at most MAX_HEIGHT px) and reduced
to a 256-colour palette so each stays a few hundred KB.

    python scripts/site_screenshots.py leaderboards mc_maze_small RUN_ID [--report FIGURE.png]

writes leaderboards/screenshots/{index,board,run,plot[,report]}.png. The plot is the board's own
PNG; ``--report`` adds a ``bench report`` figure (scaled to 1280 px wide).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from pathlib import Path

WIDTH = 1280
MAX_HEIGHT = 1600
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--no-first-run", "--hide-scrollbars"]


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    raise SystemExit("no chromium on PATH (Debian: apt-get install chromium)")


def small_png(image, path: Path) -> None:
    """Save ``image`` (PIL) as a 256-colour PNG."""
    image.convert("RGB").quantize(colors=256, dither=0).save(path, optimize=True)


def shoot(page: Path, out: Path) -> None:
    from PIL import Image, ImageChops

    with tempfile.TemporaryDirectory() as profile:
        raw = Path(profile) / "shot.png"
        subprocess.run([chromium(), *FLAGS, f"--user-data-dir={profile}/p", f"--window-size={WIDTH},{MAX_HEIGHT + 400}",
                        f"--screenshot={raw}", page.resolve().as_uri()], capture_output=True, timeout=120, check=False)
        image = Image.open(raw).convert("RGB")
    content = ImageChops.difference(image, Image.new("RGB", image.size, "white")).getbbox()
    bottom = min(MAX_HEIGHT, (content[3] + 16) if content else image.height)
    small_png(image.crop((0, 0, WIDTH, bottom)), out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("boards", type=Path, help="the folder bench leaderboard wrote (with site/)")
    parser.add_argument("board", help="the board key to show (e.g. mc_maze_small)")
    parser.add_argument("run", help="the run id whose page to show")
    parser.add_argument("--report", type=Path, help="a bench report figure to include")
    args = parser.parse_args()
    from PIL import Image

    site, out = args.boards / "site", args.boards / "screenshots"
    out.mkdir(exist_ok=True)
    shoot(site / "index.html", out / "index.png")
    shoot(site / f"{args.board}.html", out / "board.png")
    shoot(site / "runs" / f"{args.run}.html", out / "run.png")
    small_png(Image.open(args.boards / f"{args.board}.png"), out / "plot.png")
    if args.report is not None:
        figure = Image.open(args.report)
        if figure.width > WIDTH:
            figure = figure.resize((WIDTH, round(figure.height * WIDTH / figure.width)), Image.LANCZOS)
        small_png(figure, out / "report.png")
    for path in sorted(out.glob("*.png")):
        print(f"{path} {path.stat().st_size // 1024} KiB")


if __name__ == "__main__":
    main()
