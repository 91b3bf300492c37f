// Label rows in chunk files (data/rows/rows-NNNN.js), loaded with <script src> because
// fetch() is blocked on file://. Each chunk calls labelRows(k, rows). A model's chunk is
// FNV-1a of its id (UTF-8) modulo the number of chunks, as in labeler/site/rows.py.
(function () {
  "use strict";
  var received = {};
  var waiting = [];

  window.labelRows = function (k, rows) {
    received[k] = rows;
    waiting.slice().forEach(function (w) { w.check(); });
  };

  function fnv1a(text) {
    var bytes = new TextEncoder().encode(text);
    var h = 0x811c9dc5;
    for (var i = 0; i < bytes.length; i++) {
      h ^= bytes[i];
      h = Math.imul(h, 0x01000193) >>> 0;
    }
    return h >>> 0;
  }

  function decode(config, r) {
    var slug = r[1] || r[0].split("/").join("--");
    return {
      id: r[0], u: "models/" + slug + ".html", t: config.tasks[r[2]], h: config.hardware[r[3]],
      g: r[4], b: r[5], e: r[6], q: r[7], est: (r[8] & 1) === 1, n: (r[8] & 2) === 2, c: (r[8] & 4) === 4,
      l: r[9], s: r[10]
    };
  }

  // Load chunks `wanted` (indices), then call done(rows decoded) or failed(missing indices).
  function load(config, root, wanted, done, failed) {
    var pending = {};
    wanted.forEach(function (k) { pending[k] = true; });
    var waiter = {
      finished: false,
      check: function () {
        if (waiter.finished) { return; }
        var missing = wanted.filter(function (k) { return !received[k]; });
        if (missing.length) { return; }
        waiter.finished = true;
        waiting.splice(waiting.indexOf(waiter), 1);
        var rows = [];
        wanted.forEach(function (k) {
          received[k].forEach(function (r) { rows.push(decode(config, r)); });
        });
        done(rows);
      }
    };
    waiting.push(waiter);
    var errors = [];
    wanted.forEach(function (k) {
      if (received[k]) { return; }
      var script = document.createElement("script");
      script.src = root + "data/rows/rows-" + String(k).padStart(4, "0") + ".js?v=" + config.chunks[k];
      script.async = true;
      script.onerror = function () {
        errors.push(k);
        if (!waiter.finished) { waiter.finished = true; failed(errors); }
      };
      document.head.appendChild(script);
    });
    waiter.check();
  }

  function chunkOf(config, id) { return fnv1a(id) % config.chunks.length; }

  function readConfig() {
    var node = document.getElementById("site-config");
    return node ? JSON.parse(node.textContent) : null;
  }

  window.LabelRows = { load: load, chunkOf: chunkOf, readConfig: readConfig, fnv1a: fnv1a };
})();
