// The compare page: up to 4 models named in the URL (?m=id&m=id&task=…&hw=…), side by side,
// with the energy ratio in words. Only the chunks holding those models are loaded. Every
// text is set with textContent, so ids and tags show literally whatever they contain.
(function () {
  "use strict";
  var MAX_MODELS = 4;
  var config = window.LabelRows && window.LabelRows.readConfig();
  var message = document.getElementById("compare-message");
  var result = document.getElementById("compare-result");
  var params = new URLSearchParams(window.location.search);
  var ids = [];
  params.getAll("m").forEach(function (id) {
    id = id.trim();
    if (id && ids.indexOf(id) < 0) { ids.push(id); }
  });
  var task = params.get("task"), hw = params.get("hw");

  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) { node.textContent = text; }
    if (cls) { node.className = cls; }
    return node;
  }

  function say(parts) {
    // parts: strings and [text, href] links, joined into the message box.
    message.replaceChildren();
    parts.forEach(function (part) {
      if (typeof part === "string") { message.appendChild(document.createTextNode(part)); }
      else { var a = el("a", part[0]); a.href = part[1]; message.appendChild(a); }
    });
    message.hidden = parts.length === 0;
  }

  var formatEnergy = window.labelFormat.energy;  // static/format.js
  function formatNumber(v, digits, unit) {
    return v === null || v === undefined ? "\u2013" : v.toFixed(digits) + unit;
  }
  function formatRatio(x) { return x >= 10 ? x.toFixed(0) : x.toFixed(1); }

  function href(list, t, h) {
    var p = new URLSearchParams();
    list.forEach(function (id) { p.append("m", id); });
    if (t) { p.set("task", t); }
    if (h) { p.set("hw", h); }
    return "compare.html?" + p.toString();
  }

  // The add form keeps the models already shown.
  var kept = document.getElementById("compare-kept");
  ids.forEach(function (id) {
    var input = el("input"); input.type = "hidden"; input.name = "m"; input.value = id; kept.appendChild(input);
  });
  [["task", task], ["hw", hw]].forEach(function (pair) {
    if (!pair[1]) { return; }
    var input = el("input"); input.type = "hidden"; input.name = pair[0]; input.value = pair[1]; kept.appendChild(input);
  });

  if (!config || !ids.length) { return; }
  var dropped = ids.slice(MAX_MODELS);
  ids = ids.slice(0, MAX_MODELS);
  var wanted = [];
  ids.forEach(function (id) {
    var k = window.LabelRows.chunkOf(config, id);
    if (wanted.indexOf(k) < 0) { wanted.push(k); }
  });
  say(["Loading\u2026"]);
  window.LabelRows.load(config, "", wanted, show, function () {
    say(["The label data could not be loaded."]);
  });

  function show(rows) {
    var byId = {};
    rows.forEach(function (r) { (byId[r.id] = byId[r.id] || []).push(r); });
    var unknown = ids.filter(function (id) { return !byId[id]; });
    var known = ids.filter(function (id) { return byId[id]; });
    var notes = [];
    if (dropped.length) { notes.push("At most " + MAX_MODELS + " models compare at once; left out: " + dropped.join(", ") + ". "); }
    if (unknown.length) {
      notes.push("No label for " + unknown.map(function (id) { return "\u201c" + id + "\u201d"; }).join(", ") +
        " in this catalog: check the id (case matters). ");
    }
    if (!known.length) { say(notes); return; }

    // The task and hardware: from the URL, else the one all models share.
    if (!task || !hw) {
      var common = null;
      known.forEach(function (id) {
        var pairs = byId[id].map(function (r) { return r.t + "\u0000" + r.h; });
        common = common === null ? pairs : common.filter(function (p) { return pairs.indexOf(p) >= 0; });
      });
      if (!common.length) {
        var each = known.map(function (id) {
          return "\u201c" + id + "\u201d is " + byId[id].map(function (r) { return r.t + " on " + r.h; }).join(" / ");
        });
        say(notes.concat(["These models have no task and hardware in common (" + each.join("; ") +
          "). Grades compare only within one task and hardware profile."]));
        return;
      }
      common.sort();
      task = common[0].split("\u0000")[0];
      hw = common[0].split("\u0000")[1];
    }
    var chosen = [], mismatched = [];
    known.forEach(function (id) {
      var row = byId[id].filter(function (r) { return r.t === task && r.h === hw; })[0];
      if (row) { chosen.push(row); } else { mismatched.push(id); }
    });
    if (mismatched.length) {
      notes.push("Not compared: " + mismatched.map(function (id) {
        return "\u201c" + id + "\u201d (" + byId[id].map(function (r) { return r.t + " on " + r.h; }).join(" / ") + ")";
      }).join(", ") + ": grades compare only within one task and hardware, here " + task + " on " + hw + ". ");
    }
    if (!chosen.length) { say(notes); return; }
    if (chosen.length < 2) {
      notes.push("Add 1 to 3 more models of " + task + " on " + hw + " to compare.");
      suggest(rows, chosen[0]);
    }
    say(notes);
    render(chosen);
  }

  function render(chosen) {
    document.getElementById("compare-h").textContent = task + " on " + hw;
    var head = document.getElementById("compare-head");
    var body = document.getElementById("compare-body");
    var list = chosen.map(function (r) { return r.id; });
    chosen.forEach(function (r) {
      var th = el("th"); th.scope = "col";
      var link = el("a", r.id, "model-link"); link.href = r.u; th.appendChild(link);
      var others = list.filter(function (id) { return id !== r.id; });
      var remove = el("a", "remove", "remove small"); remove.href = href(others, task, hw);
      remove.setAttribute("aria-label", "remove " + r.id + " from the comparison");
      th.appendChild(document.createTextNode(" ")); th.appendChild(remove);
      head.appendChild(th);
    });
    var chip = window.labelFormat.chip;  // static/format.js
    var lines = [
      ["Grade", function (r) { return chip(r.g, r.est, r.n, false, r.c); }],
      ["Achievable", function (r) { return r.b ? chip(r.b) : el("span", "\u2013", "muted"); }],
      ["Energy (Wh / 1k inferences)", function (r) { return formatEnergy(r.e); }, "num"],
      ["Latency p50 (ms per batch)", function (r) { return formatNumber(r.l, 1, ""); }, "num"],
      ["Size (MB)", function (r) { return formatNumber(r.s, 1, ""); }, "num"],
      ["Quality retained", function (r) { return r.q === null ? "\u2013" : (r.q * 100).toFixed(1) + " %"; }, "num"]
    ];
    lines.forEach(function (line) {
      var tr = el("tr");
      var th = el("th", line[0]); th.scope = "row"; tr.appendChild(th);
      chosen.forEach(function (r) {
        var td = el("td", null, line[2]);
        var v = line[1](r);
        if (typeof v === "string") { td.textContent = v; } else { td.appendChild(v); }
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
    var ratios = document.getElementById("compare-ratios");
    var measured = chosen.filter(function (r) { return r.e !== null && r.e > 0; })
      .sort(function (a, b) { return a.e - b.e; });
    if (measured.length >= 2) {
      var least = measured[0];
      ratios.appendChild(sentence([[least.id], " uses the least energy of these models."]));
      measured.slice(1).forEach(function (r) {
        var x = r.e / least.e;
        ratios.appendChild(sentence(x < 1.05
          ? [[r.id], " uses about the same energy as ", [least.id], "."]
          : [[r.id], " uses " + formatRatio(x) + "\u00d7 the energy of ", [least.id], "."]));
      });
    }
    chosen.filter(function (r) { return !(r.e > 0); }).forEach(function (r) {
      ratios.appendChild(sentence([[r.id], " has no energy figure to compare."]));
    });
    result.hidden = false;
  }

  function sentence(parts) {
    var li = el("li");
    parts.forEach(function (p) {
      li.appendChild(typeof p === "string" ? document.createTextNode(p) : el("strong", p[0]));
    });
    return li;
  }

  function suggest(rows, only) {
    var near = rows.filter(function (r) { return r.t === task && r.h === hw && r.id !== only.id && r.e !== null; });
    if (!near.length || only.e === null) { return; }
    near.sort(function (a, b) { return Math.abs(Math.log(a.e / only.e)) - Math.abs(Math.log(b.e / only.e)); });
    var list = document.getElementById("suggest-list");
    near.slice(0, 5).forEach(function (r) {
      var li = el("li");
      var a = el("a", r.id); a.href = href([only.id, r.id], task, hw);
      li.appendChild(a);
      li.appendChild(document.createTextNode(" \u2013 class " + (r.g || "n/a") + ", " + formatEnergy(r.e) + " Wh / 1k"));
      list.appendChild(li);
    });
    document.getElementById("compare-suggest").hidden = false;
  }
})();
