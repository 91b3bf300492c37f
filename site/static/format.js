// Number formats and the grade chip, shared by the index and the compare page. Energy is
// formatted as labeler/figures.py's format_energy: about three significant digits,
// thousands grouped, a dash for no value.
(function () {
  "use strict";
  window.labelFormat = {
    energy: function (v) {
      if (v === null || v === undefined) { return "\u2013"; }
      if (v === 0) { return "0"; }
      if (Math.abs(v) >= 100) { return Math.round(v).toLocaleString("en-US"); }
      var decimals = Math.max(0, 2 - Math.floor(Math.log10(Math.abs(v))));
      return v.toFixed(Math.min(decimals, 6));
    },
    // The grade chip and its flags, as the grade_chip macro of templates/_macros.html.j2
    // writes them on the server-rendered pages: keep the two the same.
    chip: function (grade, estimated, noisy, borderline, contended) {
      var frag = document.createDocumentFragment();
      var span = document.createElement("span");
      span.className = "grade grade-" + (grade || "na");
      span.title = grade ? "class " + grade : "not graded";
      span.textContent = grade || "n/a";
      frag.appendChild(span);
      if (estimated) { frag.appendChild(flag("est.", "flag-est", "estimated energy, not measured by a counter")); }
      if (noisy) { frag.appendChild(flag("noisy", "flag-noisy", "noisy: the windows vary more than the scheme allows")); }
      if (borderline) { frag.appendChild(flag("borderline", "flag-borderline", "borderline: the EEI interval crosses a class boundary")); }
      if (contended) { frag.appendChild(flag("contended", "flag-contended", "contended: measured while other processes kept the host busy, graded anyway (--allow-busy-host)")); }
      return frag;
    }
  };

  function flag(text, cls, title) {
    var wrap = document.createDocumentFragment();
    var el = document.createElement("abbr");
    el.className = "flag " + cls;
    el.title = title;
    el.textContent = text;
    wrap.appendChild(document.createTextNode(" "));
    wrap.appendChild(el);
    return wrap;
  }
})();
