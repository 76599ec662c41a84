// GOV.UK error summary behaviour: move focus to the summary when the page loads so
// screen readers announce it, and make its links focus the field they point at (with
// its label in view) instead of only scrolling to it.
(function () {
  "use strict";

  function focusField(event) {
    var href = event.currentTarget.getAttribute("href") || "";
    if (href.charAt(0) !== "#") {
      return;
    }
    var field = document.getElementById(href.slice(1));
    if (!field) {
      return;
    }
    event.preventDefault();
    var label = document.querySelector('label[for="' + field.id + '"]');
    (label || field).scrollIntoView();
    field.focus({ preventScroll: true });
  }

  function init() {
    var summary = document.querySelector("[data-module='error-summary']");
    if (!summary) {
      return;
    }
    summary.focus();
    var links = summary.querySelectorAll("a[href^='#']");
    for (var i = 0; i < links.length; i += 1) {
      links[i].addEventListener("click", focusField);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
