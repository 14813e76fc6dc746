"""calaim.book.pdf on a tiny hand-written book of two pages: reading order from the pages' "next"
links, the front-page link, and (with Chromium) the merged PDF's page order, outline and page numbers."""

from pathlib import Path

import pytest

from calaim.book import check_html, pdf

LONG = "<p>" + "Filler text to run over one printed page. " * 40 + "</p>"


def _page(title: str, body: str, next_href: str | None = None) -> str:
    link = f'<link rel="next" title="n" href="{next_href}" />' if next_href else ""
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title} &#8212; Tiny book</title>{link}</head>"
        f"<body><article><h1>{title}</h1>{body}</article></body></html>"
    )


@pytest.fixture
def tiny_book(tmp_path) -> Path:
    root = tmp_path / "html"
    (root / "chapters").mkdir(parents=True)
    (root / "index.html").write_text('<meta http-equiv="Refresh" content="0; url=chapters/alpha.html" />')
    code = '<div class="cell_input docutils container"><pre>HIDDEN_CODE_CELL = 1</pre></div>'
    (root / "chapters" / "alpha.html").write_text(
        _page("Alpha chapter", code + "<p>ALPHA_TEXT</p>" + LONG * 6, "beta.html")
    )
    (root / "chapters" / "beta.html").write_text(_page("Beta chapter", "<p>BETA_TEXT</p>"))
    return root


def test_reading_order_follows_next_links(tiny_book):
    order = pdf.reading_order(tiny_book)
    assert [p.path for p in order] == ["chapters/alpha.html", "chapters/beta.html"]
    assert [p.title for p in order] == ["Alpha chapter", "Beta chapter"]


def test_reading_order_names_a_dead_next_link(tiny_book):
    (tiny_book / "chapters" / "beta.html").write_text(_page("Beta chapter", "", "gamma.html"))
    with pytest.raises(pdf.PdfError, match=r"chapters/beta.html: links to chapters/gamma.html"):
        pdf.reading_order(tiny_book)


def test_reading_order_refuses_a_loop(tiny_book):
    (tiny_book / "chapters" / "beta.html").write_text(_page("Beta chapter", "", "alpha.html"))
    with pytest.raises(pdf.PdfError, match="loop"):
        pdf.reading_order(tiny_book)


def test_no_book_is_a_clear_error(tmp_path):
    with pytest.raises(pdf.PdfError, match="make book"):
        pdf.reading_order(tmp_path)


def test_add_link_once_after_the_title(tiny_book):
    target = tiny_book / "_downloads" / "calaim-book.pdf"
    for n in (3, 4):  # a second run replaces the line, never adds another
        front = pdf.add_link(tiny_book, target, n)
    text = front.read_text()
    assert text.count(pdf.LINK_CLASS) == 1
    assert '<a href="../_downloads/calaim-book.pdf">' in text and "(4 pages" in text
    assert text.index("</h1>") < text.index(pdf.LINK_CLASS)


def _has_browser() -> bool:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return False
    return all(check_html.find_browser())


@pytest.mark.book
@pytest.mark.skipif(not _has_browser(), reason="needs chromium, chromedriver and selenium")
def test_pdf_of_two_pages(tiny_book, tmp_path):
    from pypdf import PdfReader

    out = tmp_path / "pdf" / "book.pdf"
    copy = tiny_book / "_downloads" / "book.pdf"
    result = pdf.build_pdf(tiny_book, out, copy)
    reader = PdfReader(out)
    n = len(reader.pages)
    assert n == result.n_pages and n >= 3  # alpha runs over at least two pages, beta one
    texts = [page.extract_text() for page in reader.pages]
    # the pages in reading order: alpha's text on the first page, beta's only on the last
    assert "ALPHA_TEXT" in texts[0] and "BETA_TEXT" in texts[-1]
    assert not any("BETA_TEXT" in t for t in texts[:-1])
    # continuous page numbers, stamped on every page
    for i, text in enumerate(texts, start=1):
        assert f"page {i} of {n}" in text
    # the code cell is left out; the header names the chapter
    assert not any("HIDDEN_CODE_CELL" in t for t in texts)
    assert "Beta chapter" in texts[-1]
    # one outline entry per chapter, at its first page
    outline = [(item.title, reader.get_destination_page_number(item)) for item in reader.outline]
    assert outline == [("Alpha chapter", 0), ("Beta chapter", n - 1)]
    # the copy exists and the front page links to it
    assert copy.read_bytes() == out.read_bytes()
    assert pdf.LINK_CLASS in (tiny_book / "chapters" / "alpha.html").read_text()
