/* Passkeys: plain-language messages and the page refresh around django-otp-webauthn's
   own script, which runs the WebAuthn ceremonies and announces them with DOM events.
   The library writes its status text first and then fires the "failed" event, so the
   messages set here replace its more technical ones. */
(function () {
  "use strict";

  var TRY_PASSWORD = " Try again, or log in with your User ID and password.";
  var SIGN_IN_ERRORS = {
    NotAllowedError:
      "We couldn't confirm it's you. The request was cancelled or timed out, or your device didn't " +
      "recognize you." + TRY_PASSWORD,
    AbortError: "The passkey request was cancelled." + TRY_PASSWORD,
    SecurityError: "Passkeys can't be used at this web address." + TRY_PASSWORD,
  };
  var REGISTER_ERRORS = {
    NotAllowedError:
      "No passkey was added: the request was cancelled, timed out, or your device didn't confirm it's you. " +
      "Try again when you're ready.",
    AbortError: "No passkey was added: the request was cancelled. Try again when you're ready.",
    InvalidStateError: "This device already has a passkey for your account. It's in the list above.",
    SecurityError: "Passkeys can't be added at this web address.",
  };

  function say(id, text) {
    var status = document.getElementById(id);
    if (status && text) {
      status.textContent = text;
      status.classList.add("visible");
    }
  }

  document.addEventListener("otp_webauthn.verification_failed", function (event) {
    var detail = event.detail || {};
    // Autofill waits quietly in the User ID field and is cancelled when the button is
    // used instead: that is not a failure to report.
    if (detail.fromAutofill || !detail.error) {
      return;
    }
    say("passkey-verification-status-message", SIGN_IN_ERRORS[detail.error.name]);
  });

  document.addEventListener("otp_webauthn.register_failed", function (event) {
    var detail = event.detail || {};
    if (detail.error) {
      say("passkey-register-status-message", REGISTER_ERRORS[detail.error.name]);
    } else if (detail.response && !detail.response.bodyUsed) {
      // The server explains in plain words why it refused the new passkey.
      detail.response
        .json()
        .then(function (data) {
          say("passkey-register-status-message", data.detail);
        })
        .catch(function () {});
    }
  });

  // Show the new passkey in the list, with the server's confirmation message.
  document.addEventListener("otp_webauthn.register_complete", function () {
    window.location.reload();
  });
})();
