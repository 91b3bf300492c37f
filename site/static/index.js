// Sort, filter, search and paginate the label table in the browser. The first page is in
// the HTML; all rows come from the chunk files (rows.js). Cells are built with textContent,
// never innerHTML, so model ids are shown literally whatever they contain. Ticked rows
// (kept across pages) go to the compare page.
(function () {
  "use strict";
  var GRADES = "ABCDEFG";
  var config = window.LabelRows && window.LabelRows.readConfig();
  if (!config) { return; }
  var PAGE_SIZE = config.pageSize || 100;
  var rows = [];
  var loaded = false;
  var picked = [];  // {id, t, h} in the order ticked
  var body = document.getElementById("labels-body");
  var status = document.getElementById("table-status");
  var pager = document.getElementById("pager");
  var pageInfo = document.getElementById("page-info");
  var prev = document.getElementById("page-prev");
  var next = document.getElementById("page-next");
  var search = document.getElementById("search");
  var taskSel = document.getElementById("filter-task");
  var hwSel = document.getElementById("filter-hardware");
  var gradeSel = document.getElementById("filter-grade");
  var compareForm = document.getElementById("compare-form");
  var compareStatus = document.getElementById("compare-status");
  var state = { key: null, dir: 1, page: 0 };
  var view = [];

  function gradeRank(g) { var i = GRADES.indexOf(g); return g && i >= 0 ? i : 99; }

  function compare(a, b) {
    var k = state.key, x, y;
    if (k === null) { return a._order - b._order; }
    if (k === "g" || k === "b") { x = gradeRank(a[k]); y = gradeRank(b[k]); }
    else if (k === "e" || k === "q") {
      // Missing numbers sort last whatever the direction.
      x = a[k]; y = b[k];
      if (x === null && y === null) { return a._order - b._order; }
      if (x === null) { return 1; }
      if (y === null) { return -1; }
    } else { x = String(a[k]).toLowerCase(); y = String(b[k]).toLowerCase(); }
    if (x < y) { return -state.dir; }
    if (x > y) { return state.dir; }
    return a._order - b._order;
  }

  var formatEnergy = window.labelFormat.energy;  // static/format.js

  function formatPercent(v) {
    return v === null || v === undefined ? "\u2013" : (v * 100).toFixed(1) + " %";
  }

  var chip = window.labelFormat.chip;  // static/format.js

  function cell(tr, content, cls) {
    var td = document.createElement("td");
    if (cls) { td.className = cls; }
    if (typeof content === "string") { td.textContent = content; } else { td.appendChild(content); }
    tr.appendChild(td);
  }

  function render() {
    var pages = Math.max(1, Math.ceil(view.length / PAGE_SIZE));
    if (state.page >= pages) { state.page = pages - 1; }
    var start = state.page * PAGE_SIZE;
    var slice = view.slice(start, start + PAGE_SIZE);
    var frag = document.createDocumentFragment();
    slice.forEach(function (r) {
      var tr = document.createElement("tr");
      var link = document.createElement("a");
      link.href = r.u;
      link.textContent = r.id;
      cell(tr, link, "model");
      cell(tr, chip(r.g, r.est, r.n, false, r.c));
      if (r.b) { cell(tr, chip(r.b, false, false)); }
      else { var dash = document.createElement("span"); dash.className = "muted"; dash.textContent = "\u2013"; cell(tr, dash); }
      cell(tr, formatEnergy(r.e), "num");
      cell(tr, formatPercent(r.q), "num");
      cell(tr, r.t);
      cell(tr, r.h);
      cell(tr, pickBox(r), "pick");
      frag.appendChild(tr);
    });
    if (!slice.length) {
      var tr = document.createElement("tr");
      var td = document.createElement("td");
      td.colSpan = 8;
      td.textContent = "No labels match these filters.";
      tr.appendChild(td);
      frag.appendChild(tr);
    }
    body.replaceChildren(frag);
    status.textContent = view.length
      ? "Showing " + (start + 1) + "\u2013" + (start + slice.length) + " of " + view.length +
        " labels" + (view.length !== rows.length ? " (filtered from " + rows.length + ")" : "") + "."
      : "No labels match (of " + rows.length + ").";
    pager.hidden = pages <= 1;
    pageInfo.textContent = "Page " + (state.page + 1) + " of " + pages;
    prev.disabled = state.page === 0;
    next.disabled = state.page >= pages - 1;
  }

  function pickIndex(id, t, h) {
    for (var i = 0; i < picked.length; i++) {
      if (picked[i].id === id && picked[i].t === t && picked[i].h === h) { return i; }
    }
    return -1;
  }

  function pickBox(r) {
    var box = document.createElement("input");
    box.type = "checkbox";
    box.name = "m";
    box.value = r.id;
    box.setAttribute("form", "compare-form");
    box.setAttribute("data-task", r.t);
    box.setAttribute("data-hw", r.h);
    box.setAttribute("aria-label", "compare " + r.id + " (" + r.t + ", " + r.h + ")");
    box.checked = pickIndex(r.id, r.t, r.h) >= 0;
    return box;
  }

  function compareHref() {
    var params = new URLSearchParams();
    picked.forEach(function (p) { params.append("m", p.id); });
    if (picked.length) { params.set("task", picked[0].t); params.set("hw", picked[0].h); }
    return "compare.html?" + params.toString();
  }

  function showPicked() {
    var mixed = picked.some(function (p) { return p.t !== picked[0].t || p.h !== picked[0].h; });
    compareStatus.textContent = picked.length === 0
      ? "Tick 2 to 4 models of one task and hardware."
      : picked.length + " ticked" + (mixed ? "; grades compare only within one task and hardware" : "") +
        (picked.length > 4 ? "; the first 4 are compared" : "") + ".";
  }

  body.addEventListener("change", function (e) {
    var box = e.target;
    if (!box || box.type !== "checkbox") { return; }
    var id = box.value, t = box.getAttribute("data-task"), h = box.getAttribute("data-hw");
    var i = pickIndex(id, t, h);
    if (box.checked && i < 0) { picked.push({ id: id, t: t, h: h }); }
    if (!box.checked && i >= 0) { picked.splice(i, 1); }
    showPicked();
  });
  compareForm.addEventListener("submit", function (e) {
    e.preventDefault();
    window.location.href = compareHref();
  });

  function apply() {
    if (!loaded) { return; }
    var q = search.value.trim().toLowerCase();
    var t = taskSel.value, h = hwSel.value, g = gradeSel.value;
    view = rows.filter(function (r) {
      if (q && r._lid.indexOf(q) === -1) { return false; }
      if (t && r.t !== t) { return false; }
      if (h && r.h !== h) { return false; }
      if (g === "-" && r.g) { return false; }
      if (g && g !== "-" && r.g !== g) { return false; }
      return true;
    });
    view.sort(compare);
    state.page = 0;
    render();
  }

  document.querySelectorAll("button.sort").forEach(function (button) {
    button.addEventListener("click", function () {
      var key = button.getAttribute("data-key");
      state.dir = state.key === key ? -state.dir : 1;
      state.key = key;
      document.querySelectorAll("#labels-table thead th").forEach(function (th) {
        var k = th.getAttribute("data-key");
        if (k === key) { th.setAttribute("aria-sort", state.dir === 1 ? "ascending" : "descending"); }
        else { th.removeAttribute("aria-sort"); }
      });
      apply();
    });
  });
  [taskSel, hwSel, gradeSel].forEach(function (el) { el.addEventListener("change", apply); });
  search.addEventListener("input", apply);
  document.getElementById("filters").addEventListener("submit", function (e) { e.preventDefault(); });
  prev.addEventListener("click", function () { state.page -= 1; render(); });
  next.addEventListener("click", function () { state.page += 1; render(); });

  // Filters from the URL (?task=…&hardware=…&grade=…&q=…) so filtered views can be linked.
  var params = new URLSearchParams(window.location.search);
  if (params.get("q")) { search.value = params.get("q"); }
  [[taskSel, "task"], [hwSel, "hardware"], [gradeSel, "grade"]].forEach(function (pair) {
    var v = params.get(pair[1]);
    if (v !== null) { pair[0].value = v; }
  });
  // Boxes ticked in the server-rendered first page before the rows arrived.
  body.querySelectorAll("input[type=checkbox]:checked").forEach(function (box) {
    picked.push({ id: box.value, t: box.getAttribute("data-task"), h: box.getAttribute("data-hw") });
  });
  showPicked();

  function byDefaultOrder(a, b) {
    var x = gradeRank(a.g), y = gradeRank(b.g);
    if (x !== y) { return x - y; }
    var ea = a.e === null ? Infinity : a.e, eb = b.e === null ? Infinity : b.e;
    if (ea !== eb) { return ea < eb ? -1 : 1; }
    return a.id < b.id ? -1 : (a.id > b.id ? 1 : 0);
  }

  var all = config.chunks.map(function (_, k) { return k; });
  status.textContent = "Loading " + config.labels + " labels…";
  window.LabelRows.load(config, "", all, function (loadedRows) {
    rows = loadedRows.sort(byDefaultOrder);
    rows.forEach(function (r, i) { r._order = i; r._lid = r.id.toLowerCase(); });
    loaded = true;
    apply();
  }, function () {
    status.textContent = "Showing the first " + body.rows.length + " labels: the full list could not be loaded.";
  });
})();
