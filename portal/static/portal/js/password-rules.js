/* The password checklist, ticked off as the person types. The server runs the same
   validators it enforces on submit, so the list never promises what the form refuses. */
(function () {
  "use strict";
  var list = document.querySelector("[data-check-url]");
  if (!list || !window.fetch) { return; }
  var password = document.getElementById(list.dataset.passwordField);
  var username = document.getElementById(list.dataset.usernameField || "");
  var token = document.querySelector("input[name=csrfmiddlewaretoken]");
  var timer = null;

  function render(rules) {
    var items = list.querySelectorAll(".password-rules__item");
    rules.forEach(function (rule, index) {
      var item = items[index];
      if (!item) { return; }
      item.classList.toggle("password-rules__item--ok", rule.ok);
      item.classList.toggle("password-rules__item--fail", !rule.ok);
      var state = rule.ok ? "done: " : "not yet: ";
      item.textContent = "";
      var hidden = document.createElement("span");
      hidden.className = "visually-hidden";
      hidden.textContent = state;
      item.appendChild(hidden);
      item.appendChild(document.createTextNode(rule.ok || !rule.message ? rule.rule : rule.message));
    });
  }

  function check() {
    if (!password.value) { return; }
    var body = new FormData();
    body.append("password", password.value);
    if (username) { body.append("username", username.value); }
    fetch(list.dataset.checkUrl, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-CSRFToken": token ? token.value : "", "Accept": "application/json" }
    }).then(function (response) {
      return response.ok ? response.json() : null;
    }).then(function (data) {
      if (data) { render(data.rules); }
    }).catch(function () { /* the server still checks on submit */ });
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(check, 300);
  }

  password.addEventListener("input", schedule);
  // The User ID is one of the rules, so changing it re-checks a typed password.
  if (username) { username.addEventListener("input", schedule); }
  // A password typed (or filled in by the browser) before this script ran is checked
  // now, so the list never sits unticked beside a field that has a value.
  if (password.value) { schedule(); }
})();
