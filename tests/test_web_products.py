"""Browsing and inspecting products over real HTTP: the project page (rows, thumbnails,
attempts, filters), every link and image of every page resolving, spectra and cube planes
equal to the files on disk, downloads streamed with Range."""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections import deque
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import numpy as np
import pytest
from astropy.io import fits
from PIL import Image

from lmtflow.web.science import read_table_txt

from .web_helpers import OTHER, PROJECT, login


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        a = dict(attrs)
        for key in ("href", "src", "data-src"):
            if a.get(key):
                self.urls.append(a[key])


def links(html: str) -> list[str]:
    p = _Links()
    p.feed(html)
    return p.urls


@pytest.fixture(scope="module")
def alice(web_server):
    return login(web_server.url, "alice")


def test_project_page_lists_every_product_with_qa_numbers(web_server, alice):
    t = web_server.tree
    page = alice.get(f"/p/{PROJECT}/").text
    for n in (t["map"], t["ps"], t["bs"]):
        assert f'/o/{n}/?bank=0">{n}</a>' in page
    qa = json.loads((t["work"] / PROJECT / str(t["ps"]) / "qa" / f"{t['ps']}__0.qa.json")
                    .read_text())  # fmt: skip
    assert f"{qa['spectrum']['rms_mK']:.3g}" in page  # the Ps RMS as on index.html
    assert f"/o/{t['map']}/?bank=0&amp;attempt=coarse" in page
    thumbs = re.findall(r'<img class="thumb" loading="lazy" src="([^"]+)"', page)
    assert len(thumbs) == 3
    for src in thumbs:
        r = alice.get(src)
        assert r.status_code == 200 and Image.open(io.BytesIO(r.content)).size[0] > 0


def test_project_filters(web_server, alice):
    t = web_server.tree
    ps_only = alice.get(f"/p/{PROJECT}/", params={"mode": "Ps"}).text
    assert f"/o/{t['ps']}/" in ps_only and f"/o/{t['map']}/" not in ps_only
    assert "1 of 3" in ps_only
    none = alice.get(f"/p/{PROJECT}/", params={"date_from": "2030-01-01"}).text
    assert "0 of 3" in none
    one_day = alice.get(f"/p/{PROJECT}/", params={"date_from": "2018-11-16",
                                                  "date_to": "2018-11-16"}).text  # fmt: skip
    assert "3 of 3" in one_day
    fragment = alice.get(f"/p/{PROJECT}/", params={"source": "nope"},
                         headers={"HX-Request": "true"}).text  # fmt: skip
    assert fragment.startswith('<div id="products">') and "0 of 3" in fragment
    assert alice.get(f"/p/{PROJECT}/", params={"date_from": "yesterday"}).status_code == 422


def test_every_link_and_image_resolves(web_server, alice):
    """Breadth-first over the project's pages, the QA pages served from the work tree
    included: every link, image and data URL inside the project answers 200."""
    start = f"{web_server.url}/p/{PROJECT}/"
    seen, queue, pages = {start}, deque([start]), 0
    while queue:
        url = queue.popleft()
        with alice.stream("GET", url) as r:
            assert r.status_code == 200, url
            if not r.headers["content-type"].startswith("text/html"):
                continue
            html = r.read().decode()
        pages += 1
        for link in links(html):
            target = urljoin(url, link).split("#")[0]
            parts = urlsplit(target)
            assert parts.netloc == urlsplit(web_server.url).netloc, f"{url} links off-site: {link}"
            inside = parts.path.startswith((f"/p/{PROJECT}/", "/static/"))
            if inside and target not in seen:
                seen.add(target)
                queue.append(target)
    assert pages >= 10 and len(seen) >= 60, (pages, len(seen))
    assert any(u.endswith("/attempts.html") for u in seen)
    assert any(u.endswith("/README.html") for u in seen)
    assert any(".sdfits" in u for u in seen) and any("_SRDP.zip" in u for u in seen)


@pytest.mark.parametrize("label", ["ps", "bs"])
def test_spectrum_json_equals_the_spec_txt(web_server, alice, label):
    t = web_server.tree
    n = t[label]
    txt = next((t["work"] / PROJECT / str(n) / "srdp").glob("*.spec.txt"))
    cols, _ = read_table_txt(txt)
    data = alice.get(f"/p/{PROJECT}/o/{n}/spectrum.json").json()
    assert set(data["columns"]) == set(cols)
    for name, values in cols.items():
        np.testing.assert_allclose(data["columns"][name], values)
    np.testing.assert_allclose(data["velocity"], cols["vlsr_kms"])
    f = np.asarray(data["frequency"])
    assert abs(f.mean() - data["restfreq_GHz"]) < 1e-3 * data["restfreq_GHz"]
    params = json.loads(next((t["work"] / PROJECT / str(n) / "srdp").glob("*.params.json"))
                        .read_text())["steps"]["baseline"]  # fmt: skip
    assert data["windows"]["baseline"] == params["b_regions"]
    lo, hi = params["b_regions"][0][1], params["b_regions"][1][0]
    assert data["windows"]["line"] == [[lo, hi]] and lo < params["vlsr"] < hi


def test_cube_channels_pixels_and_planes_equal_the_cube(web_server, alice):
    t = web_server.tree
    n = t["map"]
    cube_path = next((t["work"] / PROJECT / str(n) / "srdp").glob(f"*_{n}__0.fits"))
    cube = fits.getdata(cube_path)
    nchan, ny, nx = cube.shape
    x, y = nx // 3, ny // 2
    data = alice.get(f"/p/{PROJECT}/o/{n}/spectrum.json", params={"x": x, "y": y}).json()
    got = np.array([np.nan if v is None else v for v in data["y"]])
    np.testing.assert_allclose(got, cube[:, y, x], rtol=1e-6, equal_nan=True)
    h = fits.getheader(cube_path)
    v0 = (h["CRVAL3"] + (1 - h["CRPIX3"]) * h["CDELT3"]) / 1e3
    assert data["velocity"][0] == pytest.approx(v0)
    assert alice.get(f"/p/{PROJECT}/o/{n}/spectrum.json",
                     params={"x": nx, "y": 0}).status_code == 404  # fmt: skip
    images = []
    for k in (0, nchan // 2):
        r = alice.get(f"/p/{PROJECT}/o/{n}/cube/0/chan/{k}.png")
        img = Image.open(io.BytesIO(r.content))
        assert r.headers["content-type"] == "image/png" and img.size == (nx, ny)
        images.append(np.asarray(img))
    assert not np.array_equal(*images)
    assert alice.get(f"/p/{PROJECT}/o/{n}/cube/0/chan/{nchan}.png").status_code == 404
    mom0 = Image.open(io.BytesIO(alice.get(f"/p/{PROJECT}/o/{n}/cube/0/mom0.png").content))
    assert mom0.size == (nx, ny)
    page = alice.get(f"/p/{PROJECT}/o/{n}/cube", params={"chan": 5}).text
    assert 'chan/5.png?attempt=base' in page and 'value="5"' in page
    coarse = alice.get(f"/p/{PROJECT}/o/{n}/cube", params={"attempt": "coarse"})
    assert coarse.status_code == 200 and "chan/" in coarse.text


def test_downloads_stream_with_range_and_open_in_astropy(web_server, alice, tmp_path):
    t = web_server.tree
    n = t["map"]
    cube_path = next((t["work"] / PROJECT / str(n) / "srdp").glob(f"*_{n}__0.fits"))
    url = f"/p/{PROJECT}/files/{n}/srdp/{cube_path.name}"
    r = alice.get(url)
    assert r.status_code == 200 and int(r.headers["content-length"]) == cube_path.stat().st_size
    assert "attachment" in r.headers["content-disposition"]
    (tmp_path / "cube.fits").write_bytes(r.content)
    np.testing.assert_array_equal(fits.getdata(tmp_path / "cube.fits"), fits.getdata(cube_path))
    part = alice.get(url, headers={"Range": "bytes=2880-5759"})
    assert part.status_code == 206 and part.content == cube_path.read_bytes()[2880:5760]
    assert part.headers["content-range"] == f"bytes 2880-5759/{cube_path.stat().st_size}"
    z = alice.get(f"/p/{PROJECT}/files/{n}/{n}_SRDP.zip?download=1")
    names = zipfile.ZipFile(io.BytesIO(z.content)).namelist()
    assert any(name.endswith(cube_path.name) for name in names)
    sd = alice.get(f"/p/{PROJECT}/files/{n}/{n}__0.base.sdfits", headers={"Range": "bytes=0-79"})
    assert sd.status_code == 206 and sd.content.startswith(b"SIMPLE  =")


def test_project_page_follows_changed_qa_files(web_server):
    """The QA index in the database is a cache: a rewritten qa.json shows at the next view."""
    t = web_server.tree
    bob = login(web_server.url, "bob")
    qa_path = t["work"] / OTHER / str(t["ps"]) / "qa" / f"{t['ps']}__0.qa.json"
    assert ">987<" not in bob.get(f"/p/{OTHER}/").text
    qa = json.loads(qa_path.read_text())
    qa["spectrum"]["rms_mK"] = 987.0
    qa_path.write_text(json.dumps(qa))
    assert ">987<" in bob.get(f"/p/{OTHER}/").text
