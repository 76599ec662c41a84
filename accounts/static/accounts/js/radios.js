// GOV.UK conditional reveal for radios: the follow-up question of a choice (a date of
// birth, a ZIP code) shows only while that choice is selected. Without this script
// every follow-up stays visible and the form still works.
(function () {
  "use strict";

  function init() {
    var inputs = document.querySelectorAll("input[type='radio'][data-aria-controls]");
    if (!inputs.length) {
      return;
    }

    function sync() {
      for (var i = 0; i < inputs.length; i += 1) {
        var target = document.getElementById(inputs[i].getAttribute("data-aria-controls"));
        if (target) {
          // No aria-expanded: it is not allowed on a radio (GOV.UK dropped it too).
          target.hidden = !inputs[i].checked;
        }
      }
    }

    for (var i = 0; i < inputs.length; i += 1) {
      var id = inputs[i].getAttribute("data-aria-controls");
      if (document.getElementById(id)) {
        inputs[i].setAttribute("aria-controls", id);
      }
      inputs[i].addEventListener("change", sync);
    }
    sync();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
