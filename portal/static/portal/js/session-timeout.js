// Idle-session warning (WCAG 2.2.1 Timing Adjustable). The server signs a person out
// after data-timeout seconds without a request (accounts.middleware). Shortly before
// that, this opens the dialog in base.html with a live countdown and two real forms:
// "Stay signed in" (posted here with fetch, so the page keeps its state) and "Sign out".
//
// The server's clock is the one that counts: another tab of the same session may have
// been active, so before warning and again at zero this asks the session-status URL
// (which does not itself count as activity) how long is really left. At zero the page
// reloads; the server then sends the person to the sign-in page with its message.
(function () {
  "use strict";

  var dialog;
  var extendForm;
  var stayButton;
  var countdown;
  var spoken;
  var announcer;
  var statusUrl;
  var warnBefore; // seconds before the limit that the warning opens
  var expiresAt = 0; // this page's estimate of the server's deadline (ms since epoch)
  var timer = null;
  var shownRemaining = null;
  var returnFocus = null;
  var extending = false;

  // Spoken at these points while the dialog is open; every second would drown a screen
  // reader user (the visible countdown is hidden from assistive technology).
  var ANNOUNCE_AT = [60, 30, 10];

  function clock(seconds) {
    var minutes = Math.floor(seconds / 60);
    var rest = seconds % 60;
    return minutes + ":" + (rest < 10 ? "0" : "") + rest;
  }

  function plural(count, unit) {
    return count + " " + unit + (count === 1 ? "" : "s");
  }

  function words(seconds) {
    var minutes = Math.floor(seconds / 60);
    var rest = seconds % 60;
    if (minutes === 0) {
      return plural(rest, "second");
    }
    return rest === 0 ? plural(minutes, "minute") : plural(minutes, "minute") + " " + plural(rest, "second");
  }

  function secondsUntil(deadline) {
    return Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
  }

  function stop() {
    if (timer !== null) {
      window.clearTimeout(timer);
      timer = null;
    }
  }

  function later(callback, ms) {
    stop();
    timer = window.setTimeout(callback, ms);
  }

  function leave() {
    stop();
    // The server has signed the person out (or will on this request): reloading the
    // page lands on the sign-in page with the reason, and clears what was on screen.
    window.location.reload();
  }

  // Resolves to {signedIn, secondsLeft}; rejects when the server cannot be reached.
  function askServer() {
    return window
      .fetch(statusUrl, {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
        cache: "no-store",
      })
      .then(function (response) {
        // 401: the idle limit passed. A redirect: signed out some other way (another
        // tab), so the view sent the request to the sign-in page.
        if (response.status === 401 || response.redirected) {
          return { signedIn: false, secondsLeft: 0 };
        }
        if (!response.ok) {
          throw new Error("session status answered " + response.status);
        }
        return response.json().then(function (data) {
          return { signedIn: data.signed_in === true, secondsLeft: Number(data.seconds_left) || 0 };
        });
      });
  }

  function render(remaining) {
    if (remaining === shownRemaining) {
      return;
    }
    shownRemaining = remaining;
    countdown.textContent = clock(remaining);
    spoken.textContent = words(remaining);
    if (ANNOUNCE_AT.indexOf(remaining) !== -1) {
      announcer.textContent = "We'll sign you out in " + words(remaining) + ".";
    }
  }

  function tick() {
    var msLeft = expiresAt - Date.now();
    var remaining = secondsUntil(expiresAt);
    render(remaining);
    if (remaining === 0) {
      // The server signs out once the limit has fully passed; ask again in a second.
      later(sync, 1000);
      return;
    }
    // Wake just after the next whole second so the display never skips or stalls.
    later(tick, (msLeft % 1000) + 20);
  }

  function open(secondsLeft) {
    expiresAt = Date.now() + secondsLeft * 1000;
    if (!dialog.open) {
      shownRemaining = null;
      announcer.textContent = "";
      returnFocus = document.activeElement;
      dialog.showModal();
      stayButton.focus();
    }
    tick();
  }

  function close() {
    if (!dialog.open) {
      return;
    }
    dialog.close();
    if (returnFocus && returnFocus !== document.body && document.contains(returnFocus)) {
      returnFocus.focus();
    }
    returnFocus = null;
  }

  function schedule(secondsLeft) {
    expiresAt = Date.now() + secondsLeft * 1000;
    later(sync, Math.max(0, secondsLeft - warnBefore) * 1000);
  }

  // Decide from what the server says: keep waiting, warn, or leave.
  function follow(signedIn, secondsLeft) {
    if (!signedIn) {
      leave();
    } else if (secondsLeft > warnBefore) {
      // Someone was active in another tab: the limit moved.
      close();
      schedule(secondsLeft);
    } else {
      open(secondsLeft);
    }
  }

  function sync() {
    stop();
    askServer().then(
      function (status) {
        follow(status.signedIn, status.secondsLeft);
      },
      function () {
        // Offline, or the server did not answer: go by this page's own estimate. At zero
        // leave anyway, so an unattended screen does not keep showing the account.
        var left = secondsUntil(expiresAt);
        if (left === 0) {
          leave();
        } else {
          follow(true, left);
        }
      }
    );
  }

  function stay() {
    if (extending) {
      return;
    }
    extending = true;
    window
      .fetch(extendForm.action, {
        method: "POST",
        body: new FormData(extendForm),
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      })
      .then(function (response) {
        if (response.status === 401 || response.redirected) {
          leave();
          return;
        }
        if (!response.ok) {
          throw new Error("session extend answered " + response.status);
        }
        return response.json().then(function (data) {
          close();
          schedule(Number(data.seconds_left) || 0);
        });
      })
      .catch(function () {
        // Let the browser post the form itself: the server's full answer (a redirect
        // back, the sign-in page, the CSRF explanation) is better than nothing.
        extendForm.submit();
      })
      .then(function () {
        extending = false;
      });
  }

  function init() {
    dialog = document.querySelector("dialog[data-module='session-timeout']");
    if (!dialog || typeof dialog.showModal !== "function" || !window.fetch) {
      return;
    }
    extendForm = dialog.querySelector("form[data-extend-form]");
    stayButton = extendForm && extendForm.querySelector("button[type='submit']");
    countdown = dialog.querySelector("[data-countdown]");
    spoken = dialog.querySelector("[data-countdown-spoken]");
    announcer = dialog.querySelector("[data-countdown-announce]");
    statusUrl = dialog.getAttribute("data-status-url");
    var timeout = parseInt(dialog.getAttribute("data-timeout"), 10);
    var before = parseInt(dialog.getAttribute("data-warn-before"), 10);
    if (!stayButton || !countdown || !spoken || !announcer || !statusUrl || !(timeout > 0) || !(before > 0)) {
      return;
    }
    // Never warn for more than half the idle time (short limits in tests, for one).
    warnBefore = Math.max(1, Math.min(before, Math.floor(timeout / 2)));

    extendForm.addEventListener("submit", function (event) {
      event.preventDefault();
      stay();
    });
    // Escape means "I'm still here".
    dialog.addEventListener("cancel", function (event) {
      event.preventDefault();
      stay();
    });
    // Timers are slowed or paused in background tabs and while a laptop sleeps; check
    // with the server as soon as the page can be seen again.
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible") {
        sync();
      }
    });
    window.addEventListener("pageshow", function (event) {
      if (event.persisted) {
        sync();
      }
    });

    // Loading this page was activity: the full idle time starts now.
    schedule(timeout);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
