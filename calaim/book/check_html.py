"""Check a built book the way a reader meets it: ``make check-html`` (``python -m calaim.book.check_html``).

Two passes over every page of the HTML folder:

1. **static** (no browser): each page is parsed with :mod:`html.parser`; every image, stylesheet,
   script and internal link must point to a file of the book (and a link's ``#anchor`` to an id on
   the target page), and no figure may be empty (an image file that is blank or a few pixels).
2. **browser**: headless Chromium (Debian's ``chromium`` and ``chromedriver``, driven by selenium)
   opens each page from a local HTTP server on 127.0.0.1; it fails on a JavaScript console error,
   an image the browser could not load, or a figure drawn with no size. Screenshots of the front
   page and one chapter are saved (``--screenshots``).

The exit status is 1 when anything is wrong; each problem is printed as ``page: kind: detail``.
Nothing is fetched from the network: Chromium runs with the flags below.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import re
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)
SCREENSHOT_CHAPTER = "chapters/s1_implementer_views.html"
WINDOW = (1400, 1000)  # a desktop: figures and text are judged at this width
PHONE = (390, 844)  # a phone: screenshots only
MIN_TEXT_PX = 10.0  # calaim.book.plots.MIN_TEXT_PX
MAX_SCREENSHOT_HEIGHT = 6000
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp"}


@dataclass(frozen=True, order=True)
class Problem:
    page: str
    kind: str
    detail: str

    def __str__(self) -> str:
        return f"{self.page}: {self.kind}: {self.detail}"


# ---------------------------------------------------------------------------- static pass
@dataclass
class PageInfo:
    ids: set = field(default_factory=set)
    links: list = field(default_factory=list)  # (tag, attribute value)
    images: list = field(default_factory=list)
    figures_without_image: int = 0
    refresh: str | None = None


class _Parser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.info = PageInfo()
        self._figures: list[bool] = []  # one flag per open <figure>: has an image

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        if "id" in a:
            self.info.ids.add(a["id"])
        if tag == "a" and "name" in a:
            self.info.ids.add(a["name"])
        if tag == "a" and "href" in a:
            self.info.links.append(("a", a["href"]))
        elif tag == "link" and "href" in a and a.get("rel", "") in ("stylesheet", "preload", "icon"):
            self.info.links.append(("link", a["href"]))
        elif tag == "script" and a.get("src"):
            self.info.links.append(("script", a["src"]))
        elif tag == "img":
            self.info.images.append(a.get("src", ""))
            if self._figures:
                self._figures[-1] = True
        elif tag == "meta" and a.get("http-equiv", "").lower() == "refresh":
            self.info.refresh = a.get("content", "").split("url=", 1)[-1].strip() or None
            if self.info.refresh:
                self.info.links.append(("meta", self.info.refresh))
        if tag == "figure":
            self._figures.append(False)

    def handle_endtag(self, tag):
        if tag == "figure" and self._figures:
            if not self._figures.pop():
                self.info.figures_without_image += 1


def parse_page(path: Path) -> PageInfo:
    parser = _Parser()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    parser.close()
    return parser.info


def pages_of(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.html") if "_static" not in p.relative_to(root).parts)


def _internal_target(page: Path, root: Path, url: str) -> tuple[Path | None, str]:
    """(file, fragment) of an internal URL; file None for a link to the page itself or for an
    external / special URL (not checked: the book is read offline)."""
    parts = urlsplit(url)
    if parts.scheme or url.startswith("//"):
        return None, ""
    if not parts.path:
        return page, parts.fragment
    target = (page.parent / unquote(parts.path)).resolve()
    if target.is_dir():
        target = target / "index.html"
    return target, parts.fragment


def is_external(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") or url.startswith("//")


def blank_image(path: Path) -> str | None:
    """Why an image file would show as an empty figure (None when it looks fine)."""
    if path.stat().st_size == 0:
        return "empty file"
    if path.suffix.lower() not in {".png", ".jpg", ".jpeg", ".gif", ".webp"}:
        return None
    from PIL import Image

    with Image.open(path) as im:
        if im.width < 10 or im.height < 10:
            return f"only {im.width} x {im.height} pixels"
        extrema = im.convert("RGB").getextrema()
        if all(lo == hi for lo, hi in extrema):
            return "a single colour (nothing drawn)"
    return None


def static_check(root: Path, pages: Iterable[Path] | None = None) -> tuple[list[Problem], dict]:
    """Check images, resources and internal links of every page; return the problems and counts."""
    root = root.resolve()
    pages = [p.resolve() for p in (pages or pages_of(root))]
    infos = {p: parse_page(p) for p in pages}
    problems: list[Problem] = []
    counts = {"pages": len(pages), "images": 0, "links": 0}
    checked_images: dict[Path, str | None] = {}

    def ids_of(path: Path) -> set:
        if path not in infos:
            infos[path] = parse_page(path)
        return infos[path].ids

    for page in pages:
        name = page.relative_to(root).as_posix()
        info = infos[page]
        for src in info.images:
            counts["images"] += 1
            if src.startswith("data:"):
                if "," not in src or not src.split(",", 1)[1]:
                    problems.append(Problem(name, "empty figure", "image with an empty data: URL"))
                continue
            if is_external(src):
                problems.append(Problem(name, "external image", f"{src} (the book must work offline)"))
                continue
            target, _ = _internal_target(page, root, src)
            if target is None or not target.is_file():
                problems.append(Problem(name, "missing image", src))
                continue
            if target not in checked_images:
                checked_images[target] = blank_image(target)
            if checked_images[target]:
                problems.append(Problem(name, "empty figure", f"{src}: {checked_images[target]}"))
        if info.figures_without_image:
            problems.append(
                Problem(name, "empty figure", f"{info.figures_without_image} <figure> element(s) without an image")
            )
        for tag, url in info.links:
            if url.startswith(("mailto:", "javascript:", "tel:")):
                continue
            if is_external(url):
                if tag in ("script", "link"):
                    problems.append(Problem(name, "external resource", f"{url} (the book must work offline)"))
                continue
            target, fragment = _internal_target(page, root, url)
            if target is None:
                continue
            counts["links"] += 1
            if not target.is_file():
                problems.append(Problem(name, "broken link", url))
            elif fragment and target.suffix == ".html" and unquote(fragment) not in ids_of(target):
                problems.append(Problem(name, "broken link", f"{url} (no such anchor)"))
    return sorted(set(problems)), counts


# ---------------------------------------------------------------------------- reader pass
# What a reader must never meet (issue 15): cut-off table labels, raw values (NaN, -0, p-values
# in scientific notation), alt text that is a file path or shared by two different images, figures
# under 150 dpi, a page without the data banner, a chapter that shows most of its code.
MIN_DPI = 150
BANNER_CLASS = "calaim-data-banner"  # calaim.book.banner.BANNER_CLASS
MIN_FOLDED_SHARE = 0.6  # calaim.book.folding.MIN_FOLDED_SHARE
NOT_READER_PAGES = {"search.html", "genindex.html", "py-modindex.html"}
RAW_VALUES = {
    "NaN": re.compile(r"(?<![\w])(?:NaN|nan|<NA>)(?![\w])"),
    # a full stop after the value ends a sentence; only a digit after it continues the number
    "-0": re.compile(r"(?<![\w.])[-\u2212]0(?:\.0+)?%?(?!\w|\.\d)"),
    "scientific notation": re.compile(r"(?<![\w.])\d+(?:\.\d+)?[eE][-+]?\d+(?!\w|\.\d)"),
}
# a file path is one token (no spaces) holding a slash or backslash, or ends as an image file; a
# sentence such as 'unsure / not applicable' is not one
_PATHLIKE = re.compile(r"^\S*[/\\]\S*$|\.(png|jpe?g|gif|svg|webp)$", re.IGNORECASE)


def _article(soup):
    return soup.select_one("article.bd-article") or soup.select_one('[role="main"]') or soup.body or soup


def image_dpi(path: Path) -> float | None:
    """The resolution a PNG or JPEG records (None when it records none)."""
    from PIL import Image

    with Image.open(path) as im:
        dpi = im.info.get("dpi")
    return float(dpi[0]) if dpi else None


def reader_check(root: Path, pages: Iterable[Path] | None = None) -> list[Problem]:
    """The reader checks of every page (see the comment above); problems sorted."""
    from bs4 import BeautifulSoup

    root = root.resolve()
    pages = [p.resolve() for p in (pages or pages_of(root))]
    problems: list[Problem] = []
    alts: dict[str, set] = {}
    dpis: dict[Path, float | None] = {}
    for page in pages:
        name = page.relative_to(root).as_posix()
        if (
            page.name in NOT_READER_PAGES
            or page.parent == root
            and page.name == "index.html"
            and parse_page(page).refresh
        ):
            continue
        soup = BeautifulSoup(page.read_text(encoding="utf-8", errors="replace"), "html.parser")
        if not soup.select(f".{BANNER_CLASS}"):
            problems.append(Problem(name, "no data banner", f"no element of class {BANNER_CLASS} (calaim.book.banner)"))
        art = _article(soup)
        cut = [c.get_text(" ", strip=True) for c in art.select("td, th")]
        cut = [t for t in cut if t.endswith(("...", "…"))]
        if cut:
            problems.append(Problem(name, "truncated label", f"{len(cut)} table cell(s), e.g. {cut[0][-60:]!r}"))
        cells = soup.select("div.cell")
        with_code = [c for c in cells if c.select_one(".cell_input")]
        if with_code:
            shown = [c for c in with_code if c.select_one(".cell_input").find_parent("details") is None]
            folded = 1 - len(shown) / len(with_code)
            if folded < MIN_FOLDED_SHARE:
                problems.append(
                    Problem(
                        name,
                        "code not folded",
                        f"{len(shown)} of {len(with_code)} code cells show their code ({folded:.0%} folded, "
                        f"at least {MIN_FOLDED_SHARE:.0%} wanted)",
                    )
                )
        # the code is not reader text: drop it before looking for raw values
        for junk in art.select(".cell_input, script, style, .highlight"):
            junk.decompose()
        text = art.get_text(" ")
        for kind, pattern in RAW_VALUES.items():
            hits = [m.group(0) for m in pattern.finditer(text)]
            if hits:
                i = pattern.search(text).start()
                around = " ".join(text[max(0, i - 50) : i + 30].split())
                problems.append(Problem(name, f"raw value: {kind}", f"{len(hits)} time(s), e.g. '...{around}...'"))
        for img in art.find_all("img"):
            src, alt = img.get("src", ""), (img.get("alt") or "").strip()
            if not alt:
                problems.append(Problem(name, "alt text", f"{src}: no alt text"))
            elif _PATHLIKE.search(alt):
                problems.append(Problem(name, "alt text", f"{src}: the alt text is a file path ({alt[:60]})"))
            else:
                alts.setdefault(alt, set()).add((name, src))
            target, _ = _internal_target(page, root, src)
            if target is not None and target.is_file() and target.suffix.lower() in {".png", ".jpg", ".jpeg"}:
                if target not in dpis:
                    dpis[target] = image_dpi(target)
                dpi = dpis[target]
                if dpi is None or dpi < MIN_DPI - 0.5:
                    shown = "no resolution recorded" if dpi is None else f"{dpi:.0f} dpi"
                    problems.append(Problem(name, "low resolution figure", f"{src}: {shown} (at least {MIN_DPI})"))
    for alt, where in alts.items():
        if len({src for _, src in where}) > 1:
            pages_ = sorted({p for p, _ in where})
            problems.append(
                Problem(pages_[0], "alt text", f"{len(where)} different images share the alt text {alt[:70]!r}")
            )
    return sorted(set(problems))


# ---------------------------------------------------------------------------- browser pass
class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # noqa: D102 - keep the console for the results
        pass


class LocalServer:
    """``python -m http.server`` on 127.0.0.1 (a free port) in a thread, for ``with``."""

    def __init__(self, root: Path):
        handler = functools.partial(_QuietHandler, directory=str(root))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


def find_browser(chromium: str | None = None, chromedriver: str | None = None) -> tuple[str | None, str | None]:
    chromium = chromium or shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    chromedriver = chromedriver or shutil.which("chromedriver")
    return chromium, chromedriver


def _driver(chromium: str, chromedriver: str, profile: str):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--window-size={WINDOW[0]},{WINDOW[1]}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=chromedriver))
    driver.set_page_load_timeout(60)
    return driver


_IMAGES_JS = """
const imgs = Array.from(document.images);
imgs.forEach(i => { i.loading = 'eager'; });
return imgs.map(i => ({src: i.getAttribute('src') || '', complete: i.complete, natural: i.naturalWidth,
                       width: i.getBoundingClientRect().width, height: i.getBoundingClientRect().height,
                       hidden: i.closest('details:not([open]), .toggle-hidden, [hidden]') !== null}));
"""


def _images(driver, wait: float = 10.0) -> list[dict]:
    deadline = time.monotonic() + wait
    while True:
        imgs = driver.execute_script(_IMAGES_JS)
        if all(i["complete"] for i in imgs) or time.monotonic() > deadline:
            return imgs
        time.sleep(0.2)


def _console_errors(driver) -> list[str]:
    out = []
    for entry in driver.get_log("browser"):
        if entry.get("level") != "SEVERE":
            continue
        msg = entry.get("message", "")
        if "favicon.ico" in msg:  # browsers ask for it unprompted; the book has none
            continue
        out.append(msg)
    return out


def screenshot(driver, path: Path, size: tuple[int, int] = WINDOW) -> None:
    """A screenshot of the whole page (up to MAX_SCREENSHOT_HEIGHT pixels tall) at ``size``'s width."""
    driver.set_window_size(*size)
    time.sleep(0.3)
    height = int(
        driver.execute_script("return Math.max(document.body.scrollHeight, document.documentElement.scrollHeight)")
    )
    driver.set_window_size(size[0], min(max(height, size[1]), MAX_SCREENSHOT_HEIGHT))
    path.parent.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(path))
    driver.set_window_size(*WINDOW)


def min_font_pt(path: Path) -> float | None:
    """The smallest font size a figure of the book records (``calaim:min-font-pt``), or None."""
    from PIL import Image

    with Image.open(path) as im:
        value = im.info.get("calaim:min-font-pt")
    return float(value) if value else None


def small_text(page: Path, root: Path, name: str, imgs: list[dict]) -> list[Problem]:
    """Figures whose smallest text is under MIN_TEXT_PX CSS px as the browser draws them."""
    problems = []
    for img in imgs:
        if img["hidden"] or not img["natural"] or img["width"] < 2:
            continue
        target, _ = _internal_target(page, root, img["src"])
        if target is None or not target.is_file() or target.suffix.lower() != ".png":
            continue
        pt, dpi = min_font_pt(target), image_dpi(target)
        if pt is None or not dpi:
            continue
        px = pt / 72 * img["width"] / (img["natural"] / dpi)
        if px < MIN_TEXT_PX - 0.05:
            problems.append(
                Problem(
                    name,
                    "small text in figure",
                    f"{img['src']}: {px:.1f} px at {WINDOW[0]} px (at least {MIN_TEXT_PX:g})",
                )
            )
    return problems


def front_page(root: Path) -> str:
    """The page ``index.html`` redirects to (jupyter-book's root document), or index.html."""
    index = root / "index.html"
    if index.is_file():
        target = parse_page(index).refresh
        if target and (root / target).is_file():
            return target
    return "index.html"


def browser_check(
    root: Path,
    pages: Iterable[Path] | None = None,
    screenshots: Path | None = None,
    chromium: str | None = None,
    chromedriver: str | None = None,
) -> list[Problem]:
    """Open every page in headless Chromium; report console errors, images that did not load and
    figures drawn with no size; save screenshots of the front page and one chapter."""
    root = root.resolve()
    pages = [p.resolve() for p in (pages or pages_of(root))]
    chromium, chromedriver = find_browser(chromium, chromedriver)
    if not chromium or not chromedriver:
        return [
            Problem(
                "-", "no browser", "chromium and chromedriver are needed (apt-get install chromium chromium-driver)"
            )
        ]
    shots = {}
    if screenshots is not None:
        shots = {front_page(root): "front_page", SCREENSHOT_CHAPTER: "chapter"}
    problems: list[Problem] = []
    with tempfile.TemporaryDirectory(prefix="calaim-chromium-") as profile, LocalServer(root) as server:
        driver = _driver(chromium, chromedriver, profile)
        try:
            for page in pages:
                name = page.relative_to(root).as_posix()
                driver.get(server.url + name)
                imgs = _images(driver)
                for img in imgs:
                    if not img["complete"] or img["natural"] == 0:
                        problems.append(Problem(name, "missing image", f"{img['src']} (the browser could not load it)"))
                    elif not img["hidden"] and (img["width"] < 2 or img["height"] < 2):
                        problems.append(
                            Problem(
                                name,
                                "empty figure",
                                f"{img['src']} is drawn {img['width']:.0f} x {img['height']:.0f} px",
                            )
                        )
                problems += small_text(page, root, name, imgs)
                for msg in _console_errors(driver):
                    problems.append(Problem(name, "JavaScript console error", msg))
                if name in shots:
                    screenshot(driver, screenshots / f"{shots[name]}.png")
                    screenshot(driver, screenshots / f"{shots[name]}_{WINDOW[0]}.png")
                    screenshot(driver, screenshots / f"{shots[name]}_{PHONE[0]}.png", size=PHONE)
        finally:
            driver.quit()
    return sorted(set(problems))


# ---------------------------------------------------------------------------- command line
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m calaim.book.check_html", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "html", nargs="?", default="_build/html", help="the built book's HTML folder (default: _build/html)"
    )
    parser.add_argument(
        "--screenshots",
        default=None,
        help="folder for front_page.png and chapter.png (default: next to the HTML folder)",
    )
    parser.add_argument("--static-only", action="store_true", help="skip the browser pass")
    parser.add_argument("--chromium", default=None, help="Chromium binary (default: chromium on PATH)")
    parser.add_argument("--chromedriver", default=None, help="chromedriver binary (default: chromedriver on PATH)")
    args = parser.parse_args(argv)

    root = Path(args.html)
    if not (root / "index.html").is_file():
        print(f"check-html: no book in {root} (index.html missing); build it first (make book)", file=sys.stderr)
        return 2
    t0 = time.monotonic()
    problems, counts = static_check(root)
    problems += reader_check(root)
    shots = Path(args.screenshots) if args.screenshots else root.parent / "screenshots"
    if not args.static_only:
        problems += browser_check(root, screenshots=shots, chromium=args.chromium, chromedriver=args.chromedriver)
    for p in problems:
        print(p)
    passes = "static" if args.static_only else "static + browser"
    print(
        f"check-html: {counts['pages']} pages, {counts['images']} images, {counts['links']} internal links ({passes}, "
        f"{time.monotonic() - t0:.0f} s): "
        + (f"{len(problems)} problem(s)" if problems else "no problems")
        + ("" if args.static_only else f"; screenshots in {shots}")
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
