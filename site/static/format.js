// Number formats shared by the index and the compare page, the same as labeler/figures.py's
// format_energy: about three significant digits, thousands grouped, a dash for no value.
(function () {
  "use strict";
  window.labelFormat = {
    energy: function (v) {
      if (v === null || v === undefined) { return "\u2013"; }
      if (v === 0) { return "0"; }
      if (Math.abs(v) >= 100) { return Math.round(v).toLocaleString("en-US"); }
      var decimals = Math.max(0, 2 - Math.floor(Math.log10(Math.abs(v))));
      return v.toFixed(Math.min(decimals, 6));
    }
  };
})();
