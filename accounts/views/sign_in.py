"""Sign-in: django-two-factor-auth's wizard (auth → token → backup) with device
recognition and risk-based step-up.

After the password, the attempt is scored (security.risk). On a remembered device with
a low score the person goes straight in. Otherwise they confirm a code: from their
authenticator app when they turned on two-step verification, or sent by text or email
to the contact on file ("We don't recognize this device"). After a successful code on
a device that is not high risk, they may remember the device."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.signals import user_login_failed
from django.shortcuts import redirect
from two_factor.utils import default_device
from two_factor.views import LoginView

from accounts import passwords, signin
from accounts import services as account_services
from accounts.stepup import SignInBackupCodeForm, SignInCodeForm
from portal.net import client_ip, ip_network, local_path
from security import backup_codes, codes, devices, passkeys, risk
from security.models import OneTimeCode, OutOfBandDevice, SecurityEvent
from security.services import security_event_record

CONTEXT_KEY = "signin"
# Wrong app or backup codes allowed in one attempt (emailed and texted codes count
# their own tries in OneTimeCode).
MAX_WRONG_DEVICE_CODES = codes.MAX_FAILED_ATTEMPTS


class SignInView(LoginView):
    form_list = (
        (LoginView.AUTH_STEP, signin.SignInForm),
        (LoginView.TOKEN_STEP, SignInCodeForm),
        (LoginView.BACKUP_STEP, SignInBackupCodeForm),
    )
    redirect_authenticated_user = True

    # --- the attempt's context ------------------------------------------------------
    @property
    def attempt(self) -> dict:
        return self.storage.data.get(CONTEXT_KEY) or {}

    def process_step(self, form):
        result = super().process_step(form)
        if self.steps.current == self.AUTH_STEP:
            user = form.is_valid() and form.user_cache
            if user:
                self._start_attempt(user, raw_password=form.cleaned_data.get("password", ""))
        return result

    def _start_attempt(self, user, *, raw_password: str) -> None:
        request = self.request
        devices.code_devices_sync(user=user)
        trusted = devices.trusted_device_for(user=user, request=request)
        assessment = risk.risk_assess(
            user=user,
            ip=client_ip(request),
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
            device_hash=devices.request_device_hash(request),
        )
        self.storage.data[CONTEXT_KEY] = {
            "binding": codes.new_binding(),
            "trusted_device": trusted.pk if trusted else None,
            "risk": {"score": assessment.score, "level": assessment.level, "reasons": assessment.reasons},
            "explanation": assessment.explain(),
            # A login made staff keeps its older, shorter password until it changes it.
            "staff_password_outdated": user.is_staff
            and not passwords.staff_password_meets_policy(user=user, raw_password=raw_password),
        }

    # --- which steps ------------------------------------------------------------------
    def _code_devices(self) -> list:
        """Devices that can confirm this attempt, the preferred one first."""
        user = self.get_user()
        if not user:
            return []
        chosen_2fa = default_device(user)
        if chosen_2fa is not None and not isinstance(chosen_2fa, OutOfBandDevice):
            # The stronger factor the user chose replaces texted and emailed codes, so a
            # swapped SIM or a read mailbox cannot stand in for it; backup codes and a
            # staff-verified recovery remain.
            return [chosen_2fa]
        found = devices.code_devices_for(user=user)
        binding = self.attempt.get("binding")
        for device in found:
            if isinstance(device, OutOfBandDevice):
                device.attempt_binding = binding
        return found

    def needs_code(self) -> bool:
        user = self.get_user()
        if not user or not self.attempt:
            return False
        if user.is_staff:
            # Staff can open the staff console: a code every time, even on a remembered
            # device at low risk. (With no device at all there is no code to ask for;
            # the console then sends them to set up an authenticator app.)
            return bool(self._code_devices())
        level = self.attempt["risk"]["level"]
        if self.attempt.get("trusted_device") and level == risk.LOW:
            return False
        return bool(self._code_devices())

    def has_token_step(self):
        return self.needs_code()

    def has_backup_step(self):
        user = self.get_user()
        return (
            self.needs_code()
            and self.TOKEN_STEP not in self.storage.validated_step_data
            and backup_codes.unused_codes(user=user).exists()
        )

    condition_dict = {LoginView.TOKEN_STEP: has_token_step, LoginView.BACKUP_STEP: has_backup_step}

    # --- devices ------------------------------------------------------------------------
    def get_devices(self):
        return self._code_devices()

    def get_other_devices(self, main_device):
        return [d for d in self._code_devices() if d.persistent_id != getattr(main_device, "persistent_id", None)]

    def get_device(self, step=None):
        if step == self.BACKUP_STEP:
            # Our hashed backup codes (security.backup_codes), never cached as the
            # token step's device.
            return backup_codes.backup_device_for(user=self.get_user())
        if not self.device_cache:
            candidates = self._code_devices()
            wanted = self.request.POST.get("challenge_device") or self.storage.data.get("challenge_device")
            if wanted:
                self.device_cache = next((d for d in candidates if d.persistent_id == wanted), None)
            if not self.device_cache and candidates:
                self.device_cache = candidates[0]
        return self.device_cache

    def get_form(self, step=None, data=None, files=None):
        # Skip the parent's per-method form switch: one code form serves every device.
        form = super(LoginView, self).get_form(step=step, data=data, files=files)
        if self.show_timeout_error:
            form.cleaned_data = getattr(form, "cleaned_data", {})
            form.add_error(None, "For your security, logging in has to be finished within 10 minutes. Start again.")
        return form

    def may_remember_device(self) -> bool:
        """Remembering a device skips the code next time: never for staff (a code every
        time) and never at high risk."""
        user = self.get_user()
        return self.attempt.get("risk", {}).get("level") != risk.HIGH and not (user and user.is_staff)

    def get_form_kwargs(self, step=None):
        kwargs = super().get_form_kwargs(step)
        if step == self.TOKEN_STEP:
            kwargs["can_remember"] = self.may_remember_device()
        return kwargs

    def render_goto_step(self, goto_step, **kwargs):
        # django-two-factor-auth jumps to the code step whenever "challenge_device" is
        # posted, even before any password: with no one to send a code to, that step
        # does not exist, so show the first one.
        if goto_step not in self.get_form_list():
            goto_step = self.FIRST_STEP
        return super().render_goto_step(goto_step, **kwargs)

    # --- wrong codes ----------------------------------------------------------------------
    def render(self, form=None, **kwargs):
        in_code_step = self.steps.current in (self.TOKEN_STEP, self.BACKUP_STEP)
        if in_code_step and form is not None and form.is_bound and not form.is_valid():
            return self._code_failed(form, **kwargs)
        return super().render(form, **kwargs)

    def _code_failed(self, form, **kwargs):
        user = self.get_user()
        security_event_record(
            kind=SecurityEvent.Kind.CODE_FAILED,
            outcome=SecurityEvent.Outcome.FAILURE,
            user=user,
            request=self.request,
            detail={"step": self.steps.current},
        )
        if self._wrong_device_code_counted() or codes.attempt_exhausted(
            purpose=OneTimeCode.Purpose.SIGN_IN, binding=self.attempt.get("binding", "")
        ):
            # An attempt ended by wrong codes counts towards the User ID lock like a
            # wrong password does, so guessing codes across attempts also locks.
            user_login_failed.send(sender=__name__, credentials={"username": user.username}, request=self.request)
            self.storage.reset()
            messages.error(self.request, "Too many wrong codes. For your security, please log in again.")
            return redirect("two_factor:login")
        if getattr(self.request, "axes_locked_out", False):
            self.storage.reset()
            return signin.lockout_response(self.request)
        return super().render(form, **kwargs)

    def _wrong_device_code_counted(self) -> bool:
        """Count a wrong app or backup code in this attempt; whether the attempt is
        now over. (django-otp's throttling only slows guessing down.)"""
        if self.steps.current == self.TOKEN_STEP and isinstance(self.get_device(), OutOfBandDevice):
            return False
        attempt = self.storage.data.get(CONTEXT_KEY)
        if not attempt:
            return False
        attempt["wrong_codes"] = attempt.get("wrong_codes", 0) + 1
        self.storage.data[CONTEXT_KEY] = attempt
        return attempt["wrong_codes"] >= MAX_WRONG_DEVICE_CODES

    def get_context_data(self, form, **kwargs):
        context = super().get_context_data(form, **kwargs)
        if self.steps.current == self.TOKEN_STEP:
            # The parent counts django-otp's plain-text StaticTokens; ours are hashed.
            context["backup_tokens"] = backup_codes.unused_codes(user=self.get_user()).count()
        context["risk_explanation"] = self.attempt.get("explanation", "")
        context["challenge_note"] = getattr(context.get("device"), "challenge_note", "")
        context["support_phone"] = settings.SUPPORT_PHONE
        context["passkey_sign_in"] = passkeys.passkeys_usable_here(self.request)
        return context

    # --- in -----------------------------------------------------------------------------------
    def get_redirect_url(self):
        # Only a path on this site: the parent's check accepts "abc", which redirect()
        # then reads as a view name (a 500). "" falls back to LOGIN_REDIRECT_URL.
        candidate = self.request.POST.get(self.redirect_field_name, self.request.GET.get(self.redirect_field_name, ""))
        return local_path(self.request, candidate, "")

    def done(self, form_list, **kwargs):
        user = self.get_user()
        attempt = self.attempt
        # The code form's validated value, never the raw POST: the field is not on the
        # form when the device may not be remembered (staff, high risk).
        token_cleaned = self.storage.validated_step_data.get(self.TOKEN_STEP) or {}
        remember = bool(token_cleaned.get("remember_device")) and self.may_remember_device()
        self.request.sign_in_context = {
            "risk": attempt.get("risk", {}),
            "device": devices.request_device_hash(self.request),
            "network": ip_network(client_ip(self.request)),
            "code_confirmed": self.needs_code(),
        }
        response = super().done(form_list, **kwargs)
        if attempt.get("staff_password_outdated"):
            passwords.staff_password_outdated_mark(request=self.request, user=user)
        trusted_id = attempt.get("trusted_device")
        if trusted_id:
            device = user.trusted_devices.filter(pk=trusted_id, revoked_at__isnull=True).first()
            if device is not None:
                devices.trusted_device_touch(device=device, request=self.request)
        elif remember and self.needs_code():
            devices.device_trust(user=user, request=self.request, response=response)
        if not trusted_id or attempt.get("risk", {}).get("level") == risk.HIGH:
            explanation = attempt.get("explanation", "")
            account_services.new_device_alert(user=user, request=self.request, explanation=explanation)
        return response

    def post(self, *args, **kwargs):
        if self._may_check_a_password() and signin.ip_is_blocked(signin.request_ip(self.request)):
            return signin.ip_blocked_response(self.request)
        return super().post(*args, **kwargs)

    def _may_check_a_password(self) -> bool:
        """Whether this POST can reach the password check. formtools validates the step
        the posted management form names, not only the one saved in the session, so a
        session parked at the code step can still post the password step."""
        posted_step = self.request.POST.get(f"{self.prefix}-current_step")
        return self.AUTH_STEP in (self.steps.current, posted_step)
