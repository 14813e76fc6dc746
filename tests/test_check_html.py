"""calaim.book.check_html on a tiny hand-written site: a clean one passes, every kind of fault is reported."""

from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from calaim.book import check_html


def _png(path: Path, blank: bool = False, size=(40, 30)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    im = Image.new("RGB", size, "white")
    if not blank:
        ImageDraw.Draw(im).rectangle([5, 5, 20, 20], fill="navy")
    im.save(path)


def _page(body: str, title: str = "t") -> str:
    return f"<!DOCTYPE html><html><head><title>{title}</title></head><body>{body}</body></html>"


@pytest.fixture
def clean_site(tmp_path) -> Path:
    root = tmp_path / "html"
    (root / "chapters").mkdir(parents=True)
    (root / "index.html").write_text('<meta http-equiv="Refresh" content="0; url=chapters/front.html" />')
    _png(root / "_images" / "fig.png")
    (root / "_downloads" / "abc").mkdir(parents=True)
    (root / "_downloads" / "abc" / "fig.csv").write_text("a,b\n1,2\n")
    (root / "chapters" / "front.html").write_text(
        _page(
            '<h1 id="top">Front</h1><figure><img src="../_images/fig.png" alt="a figure"></figure>'
            '<a href="../_downloads/abc/fig.csv">data</a> <a href="other.html#part">other</a> <a href="#top">up</a>'
            ' <a href="https://example.org/">outside</a> <a href="mailto:x@example.org">mail</a>'
        )
    )
    (root / "chapters" / "other.html").write_text(_page('<h2 id="part">Part</h2><a href="front.html">back</a>'))
    return root


def test_a_clean_site_has_no_problems(clean_site):
    problems, counts = check_html.static_check(clean_site)
    assert problems == []
    assert counts == {"pages": 3, "images": 1, "links": 5}
    assert check_html.front_page(clean_site) == "chapters/front.html"


def test_every_kind_of_fault_is_reported(clean_site):
    _png(clean_site / "_images" / "blank.png", blank=True)
    _png(clean_site / "_images" / "dot.png", size=(3, 3))
    (clean_site / "chapters" / "bad.html").write_text(
        _page(
            '<img src="../_images/none.png"> <img src="../_images/blank.png"> <img src="../_images/dot.png">'
            "<figure><p>no picture</p></figure>"
            '<a href="missing.html">gone</a> <a href="other.html#nowhere">no anchor</a> <a href="#here">no id</a>'
            '<script src="../_static/none.js"></script> <script src="https://cdn.example.org/x.js"></script>'
        )
    )
    problems, _ = check_html.static_check(clean_site)
    found = {(p.kind, p.detail) for p in problems}
    assert all(p.page == "chapters/bad.html" for p in problems)
    assert ("missing image", "../_images/none.png") in found
    assert ("empty figure", "../_images/blank.png: a single colour (nothing drawn)") in found
    assert ("empty figure", "../_images/dot.png: only 3 x 3 pixels") in found
    assert ("empty figure", "1 <figure> element(s) without an image") in found
    assert ("broken link", "missing.html") in found
    assert ("broken link", "other.html#nowhere (no such anchor)") in found
    assert ("broken link", "#here (no such anchor)") in found
    assert ("broken link", "../_static/none.js") in found
    assert ("external resource", "https://cdn.example.org/x.js (the book must work offline)") in found
    assert len(problems) == 9


def test_command_line_exit_status(clean_site, tmp_path, capsys):
    assert check_html.main([str(clean_site), "--static-only"]) == 0
    assert "no problems" in capsys.readouterr().out
    (clean_site / "chapters" / "other.html").write_text(_page('<a href="nothing.html">x</a>'))
    assert check_html.main([str(clean_site), "--static-only"]) == 1
    out = capsys.readouterr().out
    assert "chapters/front.html: broken link: other.html#part (no such anchor)" in out
    assert "chapters/other.html: broken link: nothing.html" in out
    assert check_html.main([str(tmp_path / "nowhere")]) == 2


def _has_browser() -> bool:
    chromium, driver = check_html.find_browser()
    try:
        import selenium  # noqa: F401
    except ImportError:
        return False
    return bool(chromium and driver)


@pytest.mark.skipif(not _has_browser(), reason="needs chromium, chromedriver and selenium")
def test_browser_reports_console_errors_and_unloadable_images(clean_site, tmp_path):
    (clean_site / "chapters" / "broken.html").write_text(
        _page('<img src="../_images/fig.png"><img src="../_images/absent.png"><script>notDefinedAnywhere();</script>')
    )
    shots = tmp_path / "shots"
    problems = check_html.browser_check(clean_site, screenshots=shots)
    kinds = {(p.page, p.kind) for p in problems}
    assert ("chapters/broken.html", "JavaScript console error") in kinds
    assert ("chapters/broken.html", "missing image") in kinds
    assert not any(p.page == "chapters/front.html" for p in problems)
    assert (shots / "front_page.png").stat().st_size > 0
