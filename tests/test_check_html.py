"""calaim.book.check_html on a tiny hand-written site: a clean one passes, every kind of fault is reported.

The site is written the way the build writes the book: every page carries the data banner
(calaim.book.banner) and the figures record at least 150 dpi, so the reader checks pass on it;
the tests below then break one property at a time and assert that its check fires."""

from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from calaim.book import banner, check_html


def _png(path: Path, blank: bool = False, size=(40, 30), dpi: int | None = 200) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    im = Image.new("RGB", size, "white")
    if not blank:
        ImageDraw.Draw(im).rectangle([5, 5, 20, 20], fill="navy")
    im.save(path, **({"dpi": (dpi, dpi)} if dpi else {}))


BANNER = banner.banner_html("calaim_synthetic.csv", synthetic=True)


def _page(body: str, title: str = "t", with_banner: bool = True) -> str:
    top = f'<div class="bd-header-announcement">{BANNER}</div>' if with_banner else ""
    return f"<!DOCTYPE html><html><head><title>{title}</title></head><body>{top}{body}</body></html>"


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


def test_command_line_fails_on_a_page_without_the_banner(clean_site, capsys):
    (clean_site / "chapters" / "other.html").write_text(
        _page('<h2 id="part">Part</h2><a href="front.html">back</a>', with_banner=False)
    )
    assert check_html.main([str(clean_site), "--static-only"]) == 1
    out = capsys.readouterr().out
    assert "chapters/other.html: no data banner" in out
    assert "chapters/front.html" not in out


def test_the_clean_site_passes_the_reader_checks(clean_site):
    assert check_html.reader_check(clean_site) == []
    assert check_html.BANNER_CLASS == banner.BANNER_CLASS


def _reader_problems(root: Path, body: str, **page) -> set[tuple[str, str]]:
    (root / "chapters" / "bad.html").write_text(_page(body, **page))
    problems = check_html.reader_check(root)
    assert all(p.page == "chapters/bad.html" for p in problems), problems
    return {(p.kind, p.detail) for p in problems}


def test_reader_check_fires_on_each_fault(clean_site):
    _png(clean_site / "_images" / "low.png", dpi=100)
    _png(clean_site / "_images" / "none.png", dpi=None)
    _png(clean_site / "_images" / "twin.png")
    body = (
        '<article class="bd-article">'
        "<table><tr><th>what</th></tr><tr><td>Partnerships with community-based...</td></tr></table>"
        "<p>Statewide mean NaN, a change of -0.0 points, p = 1.2e-59.</p>"
        '<img src="../_images/low.png" alt="a low figure"> <img src="../_images/none.png" alt="no dpi figure">'
        '<img src="../_images/fig.png" alt="../_images/fig.png"> <img src="../_images/twin.png" alt="a twin">'
        '<img src="../_images/fig.png" alt="a twin">'
        "</article>"
    )
    found = _reader_problems(clean_site, body, with_banner=False)
    kinds = sorted(k for k, _ in found)
    assert ("no data banner", "no element of class calaim-data-banner (calaim.book.banner)") in found
    assert ("truncated label", "1 table cell(s), e.g. 'Partnerships with community-based...'") in found
    assert {"raw value: NaN", "raw value: -0", "raw value: scientific notation"} <= set(kinds)
    assert ("low resolution figure", "../_images/low.png: 100 dpi (at least 150)") in found
    assert ("low resolution figure", "../_images/none.png: no resolution recorded (at least 150)") in found
    assert ("alt text", "../_images/fig.png: the alt text is a file path (../_images/fig.png)") in found
    assert ("alt text", "2 different images share the alt text 'a twin'") in found
    assert len(found) == 9


def test_reader_check_leaves_code_and_good_values_alone(clean_site):
    body = (
        '<article class="bd-article">'
        '<div class="cell"><details class="hide above-input"><div class="cell_input">'
        '<pre>x = float("nan")  # 1e-5</pre></div></details></div>'
        "<p>p &lt; 0.001; 0.04; from 10 to 0; 7.5 to 11.0; &gt; 90%; 1,196 respondents; range 0-0.</p>"
        '<img src="../_images/fig.png" alt="the same figure"> <img src="../_images/fig.png" alt="the same figure">'
        "</article>"
    )
    assert _reader_problems(clean_site, body) == set()


def test_reader_check_wants_most_code_folded(clean_site):
    shown = '<div class="cell"><div class="cell_input"><pre>x = 1</pre></div></div>'
    folded = '<div class="cell"><details><div class="cell_input"><pre>y = 2</pre></div></details></div>'
    assert _reader_problems(clean_site, shown + folded * 2) == set()  # 67% folded
    found = _reader_problems(clean_site, shown * 2 + folded)
    assert found == {
        ("code not folded", "2 of 3 code cells show their code (33% folded, at least 60% wanted)"),
    }


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


def test_path_like_alt_text_is_one_token_with_a_slash_or_an_image_name():
    from calaim.book.check_html import _PATHLIKE

    for path in ("../_images/ab12.png", "figure_data/x.csv", "C:\\figs\\a", "chart.PNG"):
        assert _PATHLIKE.search(path), path
    for sentence in ('"unsure / not applicable" is a grey block', "Figure 22 (reproduced): bars, n = 1,196"):
        assert not _PATHLIKE.search(sentence), sentence
