"""The summary pages load in a real headless Chromium: every image decodes, every link resolves.

The page is loaded unmodified in an iframe of a small probe page (file URLs are same-origin
with ``--allow-file-access-from-files``); the probe writes what Chromium saw into its DOM,
which ``--dump-dom`` prints.
"""

from __future__ import annotations

import html
import json
import re
import subprocess
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

CHROMIUM = "/usr/bin/chromium"
PROBE = """<!DOCTYPE html><html><body><iframe id="f" src="{url}"></iframe><pre id="out">none</pre>
<script>
document.getElementById("f").addEventListener("load", function () {{
  var d = this.contentDocument, out = document.getElementById("out");
  out.textContent = JSON.stringify({{
    title: d.title,
    text: d.body.innerText,
    images: Array.from(d.images).map(i => [i.src, i.complete, i.naturalWidth]),
    links: Array.from(d.links).map(a => a.href)}});
}});
</script></body></html>"""


def load_in_chromium(page: Path, tmp_path: Path) -> dict:
    """What Chromium sees on ``page``: title, text, images (src, complete, width), links."""
    probe = tmp_path / f"probe_{page.stem}.html"
    probe.write_text(PROBE.format(url=page.resolve().as_uri()))
    proc = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         f"--user-data-dir={tmp_path / 'profile'}", "--allow-file-access-from-files",
         "--virtual-time-budget=10000", "--dump-dom", probe.as_uri()],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    m = re.search(r'<pre id="out">(.*?)</pre>', proc.stdout, re.S)
    assert m and m.group(1) != "none", (
        f"probe did not run: {proc.stdout[-500:]} {proc.stderr[-500:]}"
    )
    return json.loads(html.unescape(m.group(1)))


def check_resolves(seen: dict, page: Path) -> None:
    assert seen["images"], f"{page}: no images"
    for src, complete, width in seen["images"]:
        assert complete and width > 0, f"{page}: image {src} did not load"
    for href in seen["links"]:
        url = urlparse(href)
        assert url.scheme == "file", f"{page}: link {href} leaves the work tree (offline pages)"
        assert Path(unquote(url.path)).is_file(), f"{page}: link {href} does not resolve"


@pytest.fixture(scope="module")
def pages(reduced):
    return {"readme": reduced["dir"] / "README.html", "index": reduced["dir"].parent / "index.html"}


def test_obsnum_page_loads_with_every_image_and_link(pages, reduced, tmp_path):
    seen = load_in_chromium(pages["readme"], tmp_path)
    check_resolves(seen, pages["readme"])
    obsnum = str(reduced["obsnum"])
    assert obsnum in seen["title"]
    for label in ("Source", "ObsNum", "CalObsNum", "Date (UTC)", "Receiver", "Mode",
                  "Integration time (s)", "Tsys (K, median)", "RMS / radiometer",
                  "Parameters used", "Product files"):  # fmt: skip
        assert label in seen["text"], label
    names = {Path(unquote(urlparse(h).path)).name for h in seen["links"]}
    for product in ("raw", "cal", "base"):
        assert f"{obsnum}__0.{product}.sdfits" in names
    assert reduced["cube"].name in names and f"{obsnum}__0.qa.json" in names
    assert any(n.endswith(".mom0.fits") for n in names)


def test_project_index_lists_the_obsnum_with_a_thumbnail(pages, reduced, tmp_path):
    seen = load_in_chromium(pages["index"], tmp_path)
    check_resolves(seen, pages["index"])
    assert str(reduced["obsnum"]) in seen["text"]
    assert any(h.endswith(f"/{reduced['obsnum']}/README.html") for h in seen["links"])
    assert len(seen["images"]) == 1  # one ObsNum, one bank: one thumbnail
