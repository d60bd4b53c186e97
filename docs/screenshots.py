"""Screenshots of the built site in headless Chromium, to look at the pages as a reader does.

    mkdocs build --strict --site-dir site
    python docs/screenshots.py --site site --out build/docs_screenshots

Serves the site on a free localhost port and saves one PNG per page (the home page, a paper
page, a notebook page and the pretrained page by default; `--page` picks others). Needs a
Chromium binary (`--chromium`, default the first of chromium / chromium-browser /
google-chrome on the PATH); on Debian, `apt-get install chromium`.
"""

import argparse
import functools
import http.server
import os
import shutil
import subprocess
import sys
import tempfile
import threading

PAGES = ("", "papers/icassp2018/", "notebooks/filter_spectra/", "pretrained/")
# The flags a sandboxed, offline machine needs (no background connections, no GPU, no sandbox as root).
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync")  # fmt: skip


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the site without a log line per request."""

    def log_message(self, *args):
        pass


def find_chromium(name=None):
    for candidate in [name] if name else ["chromium", "chromium-browser", "google-chrome"]:
        path = shutil.which(candidate)
        if path:
            return path
    raise SystemExit("no Chromium found: install it (apt-get install chromium) or pass --chromium PATH")


def screenshot(chromium, url, path, width, height):
    """One page at `url` into `path` (PNG), as a `width` × `height` window shows it."""
    with tempfile.TemporaryDirectory() as profile:
        command = [chromium, *FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}",
                   f"--screenshot={path}", "--virtual-time-budget=5000", url]  # fmt: skip
        subprocess.run(command, check=True, capture_output=True, timeout=120)
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--site", default="site", help="the built site (mkdocs build --site-dir)")
    parser.add_argument("--out", default=os.path.join("build", "docs_screenshots"), help="folder for the PNGs")
    parser.add_argument("--page", action="append", help="a page path such as papers/dcue/ (repeatable)")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=2400)
    parser.add_argument("--chromium", help="the browser binary")
    args = parser.parse_args(argv)
    if not os.path.exists(os.path.join(args.site, "index.html")):
        raise SystemExit(f"{args.site}/index.html not found: build the site first (mkdocs build --site-dir {args.site})")
    chromium = find_chromium(args.chromium)
    os.makedirs(args.out, exist_ok=True)
    handler = functools.partial(QuietHandler, directory=os.path.abspath(args.site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        for page in args.page or PAGES:
            name = page.strip("/").replace("/", "_") or "home"
            url = f"http://127.0.0.1:{server.server_address[1]}/{page}"
            path = screenshot(chromium, url, os.path.abspath(os.path.join(args.out, f"{name}.png")),
                              args.width, args.height)  # fmt: skip
            print(f"{url} -> {path}")
    finally:
        server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
