// Copy buttons for the badge snippets: the Clipboard API where the page may use it,
// else select the textarea and fall back to execCommand("copy").
(function () {
  "use strict";
  function announce(button, text) {
    var status = button.parentNode.parentNode.querySelector(".copy-status");
    if (status) { status.textContent = text; }
  }
  function fallback(area, button) {
    area.focus();
    area.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    announce(button, ok ? "Copied." : "Press Ctrl+C (or \u2318C) to copy the selected text.");
  }
  document.querySelectorAll("button.copy-button").forEach(function (button) {
    button.addEventListener("click", function () {
      var area = document.getElementById(button.getAttribute("data-copy-target"));
      if (!area) { return; }
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(area.value).then(
          function () { announce(button, "Copied."); },
          function () { fallback(area, button); }
        );
      } else {
        fallback(area, button);
      }
    });
  });
})();
