"""The whole book as one PDF: ``make pdf`` (``calaim pdf``), after the HTML build.

Where it sits: the last step, after ``book`` (``calaim build`` -> ``OUT/html``). It reads only the
built HTML and writes ``OUT/pdf/calaim-book.pdf`` (and a copy under ``OUT/html/_downloads/`` so the
book's link to the PDF works wherever the HTML folder is published).

How:

1. **order**: from the front page (``index.html`` redirects to it), follow each page's
   ``<link rel="next">`` (Sphinx writes one per page, in table-of-contents order).
2. **print**: headless Chromium (Debian's ``chromium`` and ``chromedriver``, through selenium, as
   ``make check-html`` does) opens each page from a local server on 127.0.0.1 and prints it with
   the DevTools command ``Page.printToPDF``; a print style sheet (``PRINT_CSS``) hides the code
   cells, the toggle buttons, the sidebars and the navigation, and lets tables wrap. The chapter
   title is printed in the header of each of its pages.
3. **merge** (pypdf): the chapters in order, one outline (bookmark) entry each; then a page-number
   layer printed by Chromium for the whole length ("page i of n" in the footer) is stamped onto
   the pages, so the numbers run through the book rather than restarting in each chapter.

4. **link**: the front page of the built HTML gets a line linking the copy in ``_downloads/``
   (``add_link``), inserted after its title. The link is added only here, once the PDF exists, so a
   book built without ``make pdf`` has no dead link; a rebuild of the HTML drops both together.

Folded code (``hide-input``) is left out of the print; other folded blocks (long tables) are
opened, except exercise solutions. Nothing is fetched from the network (Chromium runs with
``check_html.CHROMIUM_FLAGS``).
"""

from __future__ import annotations

import argparse
import base64
import html
import io
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from calaim.book import check_html

PDF_NAME = "calaim-book.pdf"
DOWNLOAD_DIR = "_downloads"  # inside OUT/html; the front page links here
# US Letter (the report's page size), in inches; margins leave room for the header and footer.
PAPER = {
    "paperWidth": 8.5,
    "paperHeight": 11.0,
    "marginTop": 0.7,
    "marginBottom": 0.7,
    "marginLeft": 0.6,
    "marginRight": 0.6,
}
PRINT_CSS = """
@media print {
  .cell_input, .toggle-button, button.toggle-button, .toggle-hidden + .toggle-button,
  .bd-sidebar-primary, .bd-sidebar-secondary, .bd-header, .header-article, .bd-footer, .bd-footer-content,
  .bd-footer-article, .prev-next-area, .prev-next-footer, .search-button-field, .theme-switch-button,
  .headerlink, .bd-search, #pst-back-to-top, .copybtn, nav.bd-links, #jb-print-toc,
  details.above-input, .calaim-pdf-link { display: none !important; }
  .bd-main, .bd-content, .bd-article-container, .bd-page-width, .bd-container, .bd-container__inner,
  .bd-main .bd-content .bd-article-container { max-width: 100% !important; width: 100% !important;
    margin: 0 !important; padding: 0 !important; }
  html { font-size: 10.5pt; }
  img { max-width: 100% !important; height: auto !important; break-inside: avoid; }
  figure, .cell_output img, .output_png { break-inside: avoid; }
  table { width: 100% !important; table-layout: auto; font-size: 8pt; }
  th, td { white-space: normal !important; overflow-wrap: break-word; word-break: normal; hyphens: auto; }
  .table-wrapper, .pst-scrollable-table-container, .output, .cell_output { overflow: visible !important;
    max-height: none !important; }
  h1, h2, h3 { break-after: avoid; }
}
"""
HEADER = '<div style="font-size:8px;width:100%;text-align:center;color:#555;">{title}</div>'
FOOTER_EMPTY = '<div style="font-size:8px;"></div>'
NUMBER_FOOTER = (
    '<div style="font-size:9px;width:100%;text-align:center;color:#333;">'
    'page <span class="pageNumber"></span> of <span class="totalPages"></span></div>'
)


class PdfError(RuntimeError):
    """Something the PDF needs is missing (the built book, a page it links to, the browser)."""


@dataclass(frozen=True)
class Page:
    path: str  # relative to the HTML root, posix
    title: str


@dataclass(frozen=True)
class PdfResult:
    pdf: Path
    copy: Path | None
    chapters: tuple[Page, ...]
    n_pages: int
    seconds: float


# ---------------------------------------------------------------------------- reading order
def _title_of(info_title: str | None, fallback: str) -> str:
    if not info_title:
        return fallback
    title = html.unescape(info_title).split(" \u2014 ")[0].strip()  # "Chapter — Book title"
    return title or fallback


def reading_order(root: Path) -> list[Page]:
    """The pages of a built book in table-of-contents order: the front page, then each page's
    ``<link rel="next">`` in turn. Errors name the page whose link points nowhere."""
    root = Path(root)
    if not (root / "index.html").is_file():
        raise PdfError(f"no built book in {root} (index.html is missing): run `make book` first")
    order: list[Page] = []
    seen: set[str] = set()
    current: str | None = check_html.front_page(root)
    while current:
        if current in seen:
            raise PdfError(f"{current}: the 'next' links loop back to a page already printed")
        path = root / current
        if not path.is_file():
            raise PdfError(f"{order[-1].path if order else 'index.html'}: links to {current}, which is not in {root}")
        seen.add(current)
        info = _HeadParser.of(path)
        order.append(Page(current, _title_of(info.title, Path(current).stem)))
        current = (Path(current).parent / info.next).as_posix() if info.next else None
        if current:
            current = _normalise(current)
    return order


def _normalise(rel: str) -> str:
    parts: list[str] = []
    for part in rel.split("#")[0].split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
            continue
        parts.append(part)
    return "/".join(parts)


class _HeadParser(check_html.HTMLParser):
    def __init__(self):
        super().__init__()
        self.next: str | None = None
        self.title: str | None = None
        self._in_title = False
        self._title_parts: list[str] = []

    @classmethod
    def of(cls, path: Path) -> _HeadParser:
        parser = cls()
        parser.feed(path.read_text(encoding="utf-8", errors="replace"))
        parser.title = "".join(parser._title_parts).strip() or None
        return parser

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "link" and (a.get("rel") or "").lower() == "next" and a.get("href") and self.next is None:
            self.next = a["href"]
        elif tag == "title":
            self._in_title = True

    def handle_endtag(self, tag):
        if tag == "title":
            self._in_title = False

    def handle_data(self, data):
        if self._in_title:
            self._title_parts.append(data)


# ---------------------------------------------------------------------------- printing
_PREPARE_JS = """
const css = document.createElement('style');
css.textContent = arguments[0];
document.head.appendChild(css);
document.querySelectorAll('img').forEach(i => { i.loading = 'eager'; });
document.querySelectorAll('details:not(.above-input):not(.solution)').forEach(d => { d.open = true; });
"""
_IMAGES_READY_JS = "return Array.from(document.images).every(i => i.complete);"


def _print(driver, url: str, header: str, footer: str, wait: float = 20.0) -> bytes:
    driver.get(url)
    driver.execute_script(_PREPARE_JS, PRINT_CSS)
    deadline = time.monotonic() + wait
    while not driver.execute_script(_IMAGES_READY_JS) and time.monotonic() < deadline:
        time.sleep(0.1)
    params = {
        **PAPER,
        "printBackground": True,
        "displayHeaderFooter": True,
        "headerTemplate": header,
        "footerTemplate": footer,
        "preferCSSPageSize": False,
    }
    return base64.b64decode(driver.execute_cdp_cmd("Page.printToPDF", params)["data"])


def _number_layer_html(n: int) -> str:
    pages = '<div style="break-after:page;height:1px;"></div>' * (n - 1) + "<div></div>"
    return f"<!doctype html><html><head><meta charset='utf-8'><title>numbers</title></head><body>{pages}</body></html>"


def merge(chapters: Sequence[tuple[str, bytes]], numbers: bytes | None = None):
    """One pypdf writer: the chapter PDFs in order, an outline entry per chapter at its first
    page, and (when given) the page-number layer stamped page by page onto the result."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for title, data in chapters:
        start = len(writer.pages)
        reader = PdfReader(io.BytesIO(data))
        for page in reader.pages:
            writer.add_page(page)
        writer.add_outline_item(title=title, page_number=start)
    if numbers is not None:
        layer = PdfReader(io.BytesIO(numbers))
        if len(layer.pages) != len(writer.pages):
            raise PdfError(f"page-number layer has {len(layer.pages)} pages, the book {len(writer.pages)}")
        for page, stamp in zip(writer.pages, layer.pages, strict=True):
            page.merge_page(stamp, over=True)
    writer.page_mode = "/UseOutlines"
    writer.add_metadata({"/Title": "CalAIM implementer survey, reproduced", "/Creator": "calaim-book (calaim pdf)"})
    return writer


def build_pdf(
    root: Path,
    out: Path,
    copy_to: Path | None = None,
    chromium: str | None = None,
    chromedriver: str | None = None,
) -> PdfResult:
    """Print every page of the built book at ``root`` and write the merged PDF to ``out``
    (and a copy to ``copy_to`` when given)."""
    t0 = time.monotonic()
    root = Path(root).resolve()
    order = reading_order(root)
    chromium, chromedriver = check_html.find_browser(chromium, chromedriver)
    if not chromium or not chromedriver:
        raise PdfError("chromium and chromedriver are needed (apt-get install chromium chromium-driver)")
    printed: list[tuple[str, bytes]] = []
    with tempfile.TemporaryDirectory(prefix="calaim-pdf-") as tmp:
        tmpdir = Path(tmp)
        (tmpdir / "numbers.html").write_text("", encoding="utf-8")
        with check_html.LocalServer(root) as server:
            driver = check_html._driver(chromium, chromedriver, str(tmpdir / "profile"))
            try:
                for page in order:
                    header = HEADER.format(title=html.escape(page.title))
                    printed.append((page.title, _print(driver, server.url + page.path, header, FOOTER_EMPTY)))
                n = sum(_count_pages(data) for _, data in printed)
                (tmpdir / "numbers.html").write_text(_number_layer_html(n), encoding="utf-8")
                driver.get((tmpdir / "numbers.html").as_uri())
                params = {
                    **PAPER,
                    "printBackground": False,
                    "displayHeaderFooter": True,
                    "headerTemplate": FOOTER_EMPTY,
                    "footerTemplate": NUMBER_FOOTER,
                }
                numbers = base64.b64decode(driver.execute_cdp_cmd("Page.printToPDF", params)["data"])
            finally:
                driver.quit()
    writer = merge(printed, numbers)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("wb") as fh:
        writer.write(fh)
    copied = None
    if copy_to is not None:
        copy_to = Path(copy_to)
        copy_to.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(out, copy_to)
        copied = copy_to
        add_link(root, copy_to, len(writer.pages))
    return PdfResult(out, copied, tuple(order), len(writer.pages), time.monotonic() - t0)


LINK_CLASS = "calaim-pdf-link"


def add_link(root: Path, pdf: Path, n_pages: int) -> Path:
    """Insert (or replace) a line linking ``pdf`` into the front page of the book at ``root``,
    after the article's first heading. Returns the page changed."""
    import os
    import re

    root = Path(root)
    front = root / check_html.front_page(root)
    href = Path(os.path.relpath(Path(pdf).resolve(), front.resolve().parent)).as_posix()
    line = (
        f'<p class="{LINK_CLASS}"><a href="{html.escape(href)}">Download the whole book as one PDF</a> '
        f"({n_pages} pages, code left out; made by <code>make pdf</code>).</p>"
    )
    text = front.read_text(encoding="utf-8")
    text = re.sub(rf'<p class="{LINK_CLASS}">.*?</p>\n?', "", text, flags=re.S)
    start = text.find("<article")
    end = text.find("</h1>", start if start >= 0 else 0)
    if end < 0:
        raise PdfError(f"{front}: no <h1> to put the PDF link after")
    end += len("</h1>")
    front.write_text(text[:end] + "\n" + line + "\n" + text[end:], encoding="utf-8")
    return front


def _count_pages(data: bytes) -> int:
    from pypdf import PdfReader

    return len(PdfReader(io.BytesIO(data)).pages)


# ---------------------------------------------------------------------------- command line
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="calaim pdf", description="Print the built book to one PDF.")
    parser.add_argument("out_dir", nargs="?", default="_build", help="the build folder holding html/ (default _build)")
    parser.add_argument("--pdf", default=None, help=f"where to write the PDF (default OUT/pdf/{PDF_NAME})")
    parser.add_argument("--no-copy", action="store_true", help=f"do not copy it to OUT/html/{DOWNLOAD_DIR}/")
    parser.add_argument("--min-pages", type=int, default=0, help="fail when the PDF has fewer pages than this")
    parser.add_argument("--chromium", default=None, help="Chromium binary (default: chromium on PATH)")
    parser.add_argument("--chromedriver", default=None, help="chromedriver binary (default: on PATH)")
    args = parser.parse_args(argv)
    base = Path(args.out_dir)
    pdf = Path(args.pdf) if args.pdf else base / "pdf" / PDF_NAME
    copy_to = None if args.no_copy else base / "html" / DOWNLOAD_DIR / PDF_NAME
    try:
        result = build_pdf(base / "html", pdf, copy_to, chromium=args.chromium, chromedriver=args.chromedriver)
    except PdfError as exc:
        print(f"pdf: {exc}", file=sys.stderr)
        return 1
    print(
        f"wrote {result.pdf}: {result.n_pages} pages, {len(result.chapters)} chapters, {result.seconds:.0f} s"
        + (f" (copy: {result.copy})" if result.copy else "")
    )
    if result.n_pages < max(args.min_pages, len(result.chapters)):
        print(f"pdf: only {result.n_pages} pages for {len(result.chapters)} chapters", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
