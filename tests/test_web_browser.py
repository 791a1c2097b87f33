"""The web service in a real browser: Playwright (PyPI) driving Debian's /usr/bin/chromium
(never ``playwright install``). Log in, tour a project, every image decodes, spectrum zoom,
cube slider, a clicked pixel's spectrum, a downloaded cube, and no request leaves the server.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote, urlsplit

import numpy as np
import pytest
from astropy.io import fits

from .web_helpers import PASSWORD, PROJECT

sync_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
IMAGES_OK = """() => Array.from(document.images).map(i => [i.src, i.complete, i.naturalWidth])"""


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed (install-test-deps.sh)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def session(browser, web_server):
    """One logged-in page for the module; records every request and console error."""
    context = browser.new_context(accept_downloads=True)
    requests, errors, failed = [], [], []
    context.on("request", lambda req: requests.append(req.url))
    context.on("response", lambda r: failed.append((r.status, r.url)) if r.status >= 400 else None)
    page = context.new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{web_server.url}/p/{PROJECT}/")
    assert "/login" in page.url  # a private project sends the visitor to the login page
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{web_server.url}/p/{PROJECT}/")
    yield {"page": page, "requests": requests, "errors": errors, "failed": failed,
           "url": web_server.url}
    context.close()


def _images_decode(page) -> int:
    page.wait_for_load_state("load")
    # lazy thumbnails (loading="lazy") need not have arrived by the load event: wait until every
    # image has finished, then a broken one is complete with no width
    page.wait_for_function("() => Array.from(document.images).every(i => i.complete)",
                           timeout=15_000)  # fmt: skip
    images = page.evaluate(IMAGES_OK)
    for src, complete, width in images:
        assert complete and width > 0, f"{page.url}: image {src} did not decode"
    return len(images)


def test_tour_of_a_project_every_image_decodes(session, web_server):
    page, t = session["page"], web_server.tree
    page.goto(f"{session['url']}/p/{PROJECT}/")
    assert _images_decode(page) == 3
    page.select_option("select[name=mode]", "Ps")  # htmx swaps the table in place
    page.wait_for_function("() => document.querySelector('.count').textContent"
                           ".startsWith('1 of')")  # fmt: skip
    page.wait_for_url(re.compile(r".*mode=Ps.*"))  # htmx pushes the filtered URL after the swap
    page.goto(f"{session['url']}/p/{PROJECT}/")
    page.click(f"a[href='/p/{PROJECT}/o/{t['map']}/?bank=0']")
    assert _images_decode(page) >= 1
    page.click("text=QA page")
    assert _images_decode(page) >= 8 and str(t["map"]) in page.title()
    page.go_back()
    page.click("text=attempts side by side")
    assert _images_decode(page) >= 8 and "coarse" in page.content()
    for label in ("ps", "bs"):
        page.goto(f"{session['url']}/p/{PROJECT}/files/{t[label]}/README.html")
        assert _images_decode(page) >= 4


def _axis_range(page) -> list[float]:
    return page.evaluate("document.getElementById('spectrum').layout.xaxis.range")


def test_spectrum_zoom_changes_the_axis_range(session, web_server):
    page = session["page"]
    page.goto(f"{session['url']}/p/{PROJECT}/o/{web_server.tree['ps']}/spectrum")
    page.wait_for_selector("#spectrum[data-ready='1']")
    before = _axis_range(page)
    box = page.locator("#spectrum .nsewdrag").first.bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.4, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.6, y, steps=8)
    page.mouse.up()
    page.wait_for_function("(b) => document.getElementById('spectrum').layout.xaxis.range[1]"
                           " - document.getElementById('spectrum').layout.xaxis.range[0]"
                           " < 0.5 * (b[1] - b[0])", arg=before)  # fmt: skip
    after = _axis_range(page)
    assert before[0] < after[0] < after[1] < before[1]
    shapes = page.evaluate("document.getElementById('spectrum').layout.shapes.length")
    assert shapes == 3  # two baseline windows, one line window
    page.select_option("#axis", "frequency")
    title = page.evaluate("document.getElementById('spectrum').layout.xaxis.title.text")
    assert title == "frequency (GHz)"


def test_cube_slider_and_clicked_pixel(session, web_server):
    page = session["page"]
    page.goto(f"{session['url']}/p/{PROJECT}/o/{web_server.tree['map']}/cube?chan=10")
    page.wait_for_selector("#spectrum[data-ready='1']")
    img = page.locator("#chan-img")
    assert img.get_attribute("src").split("?")[0].endswith("/chan/10.png")
    page.focus("#chan")
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    page.wait_for_function("() => document.getElementById('chan-img').src"
                           ".includes('/chan/13.png')")  # fmt: skip
    page.wait_for_function("() => document.getElementById('chan-img').complete && "
                           "document.getElementById('chan-img').naturalWidth > 0")  # fmt: skip
    assert "channel 13:" in page.locator("#chan-label").text_content()
    plane = page.locator("#plane-img")
    box = plane.bounding_box()
    nx, ny = int(plane.get_attribute("data-nx")), int(plane.get_attribute("data-ny"))
    px, py = 5, 7  # the pixel to click, counted from the bottom-left (north up)
    plane.click(position={"x": (px + 0.5) * box["width"] / nx,
                          "y": box["height"] - (py + 0.5) * box["height"] / ny})  # fmt: skip
    page.wait_for_function(
        "(t) => document.getElementById('spectrum').layout.title.text.includes(t)",
        arg=f"pixel ({px}, {py})",
    )
    shown = page.evaluate("document.getElementById('spectrum').data[0].y")
    cube = fits.getdata(next((web_server.tree["work"] / PROJECT / str(web_server.tree["map"])
                              / "srdp").glob("*__0.fits")))  # fmt: skip
    want = cube[:, py, px]
    got = np.array([np.nan if v is None else v for v in shown])
    np.testing.assert_allclose(got, want, rtol=1e-6, equal_nan=True)


def test_downloaded_cube_equals_the_file_on_disk(session, web_server, tmp_path):
    page, t = session["page"], web_server.tree
    page.goto(f"{session['url']}/p/{PROJECT}/o/{t['map']}/?bank=0")
    disk = next((t["work"] / PROJECT / str(t["map"]) / "srdp").glob(f"*_{t['map']}__0.fits"))
    with page.expect_download() as info:
        page.click(f"a[href$='{quote(disk.name)}?download=1']")
    saved = tmp_path / info.value.suggested_filename
    info.value.save_as(saved)
    assert saved.name == disk.name
    np.testing.assert_array_equal(fits.getdata(saved), fits.getdata(disk))
    assert fits.getheader(saved) == fits.getheader(disk)


def test_pages_work_without_javascript(browser, web_server):
    """Filters, the cube's channel and pixel choice and the downloads are plain HTML forms and
    links (only the plotted spectrum needs JavaScript)."""
    context = browser.new_context(java_script_enabled=False)
    page, url, t = context.new_page(), web_server.url, web_server.tree
    page.goto(f"{url}/login")
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{url}/p/{PROJECT}/")
    page.select_option("select[name=mode]", "Ps")
    page.click("form.filters button[type=submit]")
    page.wait_for_url(re.compile(r".*mode=Ps.*"))
    assert page.locator(".count").text_content().startswith("1 of 3")
    page.goto(f"{url}/p/{PROJECT}/o/{t['map']}/cube")
    page.fill("#px", "4")
    page.fill("#py", "6")
    page.locator("#chan").evaluate("(e) => { e.value = 12; }")  # a range input, set as by hand
    page.click("form.cube button[type=submit]")
    page.wait_for_url(re.compile(r".*chan=12.*"))
    assert page.locator("#chan-img").get_attribute("src").split("?")[0].endswith("/chan/12.png")
    assert "4, 6" in page.locator("#pixel-xy").text_content()
    assert _images_decode(page) == 2
    context.close()


def test_no_request_left_the_server_and_no_console_error(session):
    """Runs last in this module: every request of the whole tour went to the server."""
    own = urlsplit(session["url"]).netloc
    assert len(session["requests"]) > 50
    foreign = [u for u in session["requests"] if urlsplit(u).netloc != own
               and not u.startswith(("data:", "blob:"))]  # fmt: skip
    assert not foreign, foreign[:5]
    assert all(re.match(r"^127\.0\.0\.1:\d+$", urlsplit(u).netloc)
               for u in session["requests"] if u.startswith("http"))  # fmt: skip
    assert not session["failed"], session["failed"][:5]
    assert not session["errors"], session["errors"][:5]
