/* calaim-book reader scripts (issue 15): click a figure to see it full size; sort and filter the
   tables marked data-sortable / data-filterable (the scorecard). No network, no dependencies. */
(function () {
  "use strict";

  function zoom(img) {
    var box = document.createElement("div");
    box.className = "calaim-zoom";
    box.setAttribute("role", "dialog");
    box.setAttribute("aria-label", "Figure at full size (click or press Escape to close)");
    var big = document.createElement("img");
    big.src = img.currentSrc || img.src;
    big.alt = img.alt;
    var hint = document.createElement("p");
    hint.textContent = "Click or press Escape to close";
    box.appendChild(hint);
    box.appendChild(big);
    function close() { box.remove(); document.removeEventListener("keydown", onKey); img.focus(); }
    function onKey(e) { if (e.key === "Escape") close(); }
    box.addEventListener("click", close);
    document.addEventListener("keydown", onKey);
    document.body.appendChild(box);
  }

  function setUpFigures() {
    document.querySelectorAll(".cell_output img").forEach(function (img) {
      img.tabIndex = 0;
      img.title = "Click to enlarge";
      img.addEventListener("click", function () { zoom(img); });
      img.addEventListener("keydown", function (e) { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); zoom(img); } });
    });
  }

  // "1,196" -> 1196; "< 0.001" -> 0.0009; "> 90" -> 90; "12 to 20" -> 12; "–" or text -> null
  function number(text) {
    var t = text.replace(/,/g, "").replace(/[%≥≤]/g, "").trim();
    var lt = /^<\s*/.test(t);
    t = t.replace(/^[<>]\s*/, "");
    var m = /^-?\d+(\.\d+)?/.exec(t);
    if (!m) return null;
    var v = parseFloat(m[0]);
    return lt ? v * 0.9 : v;
  }

  function sortBy(table, col, dir) {
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var keyed = rows.map(function (r, i) {
      var text = r.cells[col] ? r.cells[col].textContent : "";
      return { row: r, i: i, n: number(text), t: text.toLowerCase() };
    });
    keyed.sort(function (a, b) {
      var c;
      if (a.n !== null && b.n !== null) c = a.n - b.n;
      else if (a.n !== null) c = -1;
      else if (b.n !== null) c = 1;
      else c = a.t < b.t ? -1 : a.t > b.t ? 1 : 0;
      return (c || a.i - b.i) * dir;
    });
    keyed.forEach(function (k) { body.appendChild(k.row); });
  }

  function setUpSorting(table) {
    var heads = table.tHead ? table.tHead.rows[0].cells : [];
    Array.prototype.forEach.call(heads, function (th, col) {
      var button = document.createElement("button");
      button.type = "button";
      button.textContent = th.textContent;
      button.title = "Sort by " + th.textContent;
      th.textContent = "";
      th.appendChild(button);
      th.setAttribute("aria-sort", "none");
      button.addEventListener("click", function () {
        var dir = th.getAttribute("aria-sort") === "ascending" ? -1 : 1;
        Array.prototype.forEach.call(heads, function (h) { h.setAttribute("aria-sort", "none"); });
        th.setAttribute("aria-sort", dir === 1 ? "ascending" : "descending");
        sortBy(table, col, dir);
      });
    });
  }

  function setUpFilter(table) {
    var input = document.createElement("input");
    input.type = "search";
    input.className = "calaim-table-filter";
    input.placeholder = "Filter rows (e.g. miss, Fig 7, FQHC)";
    input.setAttribute("aria-label", "Filter the rows of the table below");
    var wrap = table.closest(".calaim-table-wrap") || table;
    wrap.parentNode.insertBefore(input, wrap);
    input.addEventListener("input", function () {
      var q = input.value.toLowerCase().trim();
      Array.prototype.forEach.call(table.tBodies[0].rows, function (r) {
        r.hidden = q !== "" && r.textContent.toLowerCase().indexOf(q) === -1 && (r.title || "").toLowerCase().indexOf(q) === -1;
      });
    });
  }

  function setUp() {
    setUpFigures();
    document.querySelectorAll("table.calaim-table[data-sortable]").forEach(setUpSorting);
    document.querySelectorAll("table.calaim-table[data-filterable]").forEach(setUpFilter);
    // printing: folded tables print whole
    window.addEventListener("beforeprint", function () {
      document.querySelectorAll("details.calaim-table-fold").forEach(function (d) { d.open = true; });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setUp);
  else setUp();
})();
