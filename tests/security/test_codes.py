import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from security import codes
from security.models import Notification, OneTimeCode

pytestmark = pytest.mark.django_db

PURPOSE = OneTimeCode.Purpose.PASSWORD_RESET


def _sent_code() -> str:
    return re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)


@pytest.fixture
def issued(django_capture_on_commit_callbacks):
    binding = codes.new_binding()
    with django_capture_on_commit_callbacks(execute=True):
        record = codes.code_issue(purpose=PURPOSE, binding=binding, channel="email", destination="ann@example.com")
    return binding, record, _sent_code()


def test_code_is_sent_and_only_its_keyed_hash_is_stored(issued):
    binding, record, code = issued
    record.refresh_from_db()
    stored = " ".join(str(getattr(record, f.attname)) for f in OneTimeCode._meta.concrete_fields)
    assert code not in stored
    assert binding not in stored
    assert record.expires_at - record.created_at == timedelta(minutes=10)


def test_the_code_is_erased_from_the_outbox_after_delivery(issued):
    _, record, code = issued
    notification = Notification.objects.get(idempotency_key=f"otc-{record.pk}")
    assert notification.sensitive
    assert code not in notification.body


def test_right_code_verifies_once(issued):
    binding, _, code = issued
    assert codes.code_verify(purpose=PURPOSE, binding=binding, code=code).ok
    assert codes.code_verify(purpose=PURPOSE, binding=binding, code=code).result is codes.VerifyResult.NO_CODE


def test_code_is_bound_to_its_flow_and_purpose(issued):
    binding, _, code = issued
    assert (
        codes.code_verify(purpose=PURPOSE, binding=codes.new_binding(), code=code).result is codes.VerifyResult.NO_CODE
    )
    other_purpose = OneTimeCode.Purpose.ENROLLMENT
    assert codes.code_verify(purpose=other_purpose, binding=binding, code=code).result is codes.VerifyResult.NO_CODE


def test_wrong_code_counts_down_then_voids_the_code(issued):
    binding, _, code = issued
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for left in (4, 3, 2, 1):
        result = codes.code_verify(purpose=PURPOSE, binding=binding, code=wrong)
        assert result.result is codes.VerifyResult.WRONG
        assert result.attempts_left == left
        assert f"{left} tr" in result.message
    assert codes.code_verify(purpose=PURPOSE, binding=binding, code=wrong).result is codes.VerifyResult.TOO_MANY
    # Even the right code no longer works.
    assert codes.code_verify(purpose=PURPOSE, binding=binding, code=code).result is codes.VerifyResult.TOO_MANY


def test_expired_code_is_refused(issued):
    binding, record, code = issued
    OneTimeCode.objects.filter(pk=record.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    result = codes.code_verify(purpose=PURPOSE, binding=binding, code=code)
    assert result.result is codes.VerifyResult.EXPIRED
    assert "expired" in result.message


def test_resend_needs_a_cooldown_then_voids_the_old_code(issued, django_capture_on_commit_callbacks, monkeypatch):
    binding, record, old_code = issued
    monkeypatch.setattr(codes, "_generate_code", lambda: f"{(int(old_code) + 7) % 1_000_000:06d}")
    with pytest.raises(codes.CodeCooldown):
        codes.code_issue(purpose=PURPOSE, binding=binding, channel="email", destination="ann@example.com")
    OneTimeCode.objects.filter(pk=record.pk).update(created_at=timezone.now() - timedelta(minutes=1))
    with django_capture_on_commit_callbacks(execute=True):
        codes.code_issue(purpose=PURPOSE, binding=binding, channel="email", destination="ann@example.com")
    new_code = _sent_code()
    assert not codes.code_verify(purpose=PURPOSE, binding=binding, code=old_code).ok
    assert codes.code_verify(purpose=PURPOSE, binding=binding, code=new_code).ok


def test_codes_are_six_digits_and_vary():
    generated = {codes._generate_code() for _ in range(300)}
    assert all(len(c) == 6 and c.isdigit() for c in generated)
    assert len(generated) > 290


def test_text_message_fits_in_160_characters(django_capture_on_commit_callbacks, settings):
    for purpose in OneTimeCode.Purpose.values:
        _, body = codes._message(purpose, "123456", "sms")
        assert len(body) <= 160, purpose


def test_an_undelivered_code_sends_nothing_but_behaves_like_a_real_one(django_capture_on_commit_callbacks, monkeypatch):
    monkeypatch.setattr(codes, "_generate_code", lambda: "246810")
    binding = codes.new_binding()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        record = codes.code_issue(purpose=PURPOSE, binding=binding, channel="sms", destination="", deliver=False)
    assert callbacks == []
    assert not Notification.objects.exists()
    assert mail.outbox == []
    assert record.expires_at - record.created_at == timedelta(minutes=10)
    wrong = codes.code_verify(purpose=PURPOSE, binding=binding, code="135791")
    assert (wrong.result, wrong.attempts_left) == (codes.VerifyResult.WRONG, 4)
    with pytest.raises(codes.CodeCooldown):
        codes.code_issue(purpose=PURPOSE, binding=binding, channel="sms", destination="", deliver=False)
    assert codes.code_verify(purpose=PURPOSE, binding=binding, code="246810").ok
