"""Rotating the card-data keys (docs/key-rotation.md): cards hashed or issued under an
old key version keep working during the overlap, move to the current key when their
number is presented, and a key retired too early is a clean refusal, never a 500."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import io
import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core import mail
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from cards import cardnumbers, payments, services
from cards.cardnumbers import KeyConfigError, build_keyring
from cards.models import Card, CardCheckFailure, PaymentMethod, Transaction
from cards.verification import Outcome, card_check
from security import backup_codes, codes
from security.models import OneTimeCode
from tests.cards.conftest import event
from tests.cards.payments_helpers import ROUTING, bank_account
from tests.factories import CardholderFactory, UserFactory, issue_card, open_account, shows_card_id

ROOT = Path(__file__).resolve().parents[2]
NEW_PAN_KEY = "rotated-pan-hash-key-" + "n" * 24
NEW_VERIFICATION_KEY = "rotated-card-verification-key-" + "v" * 16
DOB = dt.date(1979, 11, 3)
IP = "203.0.113.77"


def _hmac_hex(key: str, message: str) -> str:
    """Computed here, independently of the code under test."""
    return hmac.new(key.encode(), message.encode(), hashlib.sha256).hexdigest()


@pytest.fixture
def original_keys(settings):
    return settings.CARD_PAN_HASH_KEY, settings.CARD_VERIFICATION_KEY


@pytest.fixture
def rotate_pan_key(settings, original_keys):
    """Make NEW_PAN_KEY current as version 2; the original stays accepted as version 1
    unless ``keep_old=False`` (a key retired too early)."""

    def rotate(*, keep_old: bool = True):
        settings.CARD_PAN_HASH_KEY = NEW_PAN_KEY
        settings.CARD_PAN_HASH_KEY_VERSION = 2
        settings.CARD_PAN_HASH_OLD_KEYS = {1: original_keys[0]} if keep_old else {}

    return rotate


@pytest.fixture
def rotate_verification_key(settings, original_keys):
    def rotate(*, keep_old: bool = True):
        settings.CARD_VERIFICATION_KEY = NEW_VERIFICATION_KEY
        settings.CARD_VERIFICATION_KEY_VERSION = 2
        settings.CARD_VERIFICATION_OLD_KEYS = {1: original_keys[1]} if keep_old else {}

    return rotate


@pytest.fixture
def holder(db):
    return CardholderFactory(
        legal_name="Rosa Delgado",
        name_on_card="ROSA DELGADO",
        date_of_birth=DOB,
        postal_code="94110",
        email="rosa@example.com",
        phone="+12025550147",
    )


@pytest.fixture
def unenrolled(db, holder):
    return issue_card(account=open_account(holder=holder))


@pytest.fixture
def inactive(db, holder):
    return issue_card(account=open_account(holder=holder), active=False)


def enroll_card_step(client, issued, **overrides):
    data = {
        "card_number": f"{issued.pan[:4]} {issued.pan[4:10]} {issued.pan[10:]}",
        "card_id": issued.card_id,
        "name": "Rosa Delgado",
        "verify_with": "dob",
        "dob_day": DOB.day,
        "dob_month": DOB.month,
        "dob_year": DOB.year,
        "postal_code": "",
    }
    data.update(overrides)
    return client.post(reverse("accounts:enroll"), data)


def activate(client, issued, **overrides):
    card = issued.card
    data = {
        "card_number": issued.pan,
        "card_id": issued.card_id,
        "expiry": f"{card.expiry_month:02d}/{card.expiry_year % 100:02d}",
    }
    data.update(overrides)
    return client.post(reverse("cards:activate"), data)


def assert_on_new_pan_key(card: Card, pan: str) -> None:
    card.refresh_from_db()
    assert card.pan_key_version == 2
    assert card.pan_hash == _hmac_hex(NEW_PAN_KEY, pan)


# --- PAN hash: look-ups during a rotation ---------------------------------------------------


@pytest.mark.django_db
def test_existing_cards_are_on_version_1_and_new_cards_on_the_current_version(unenrolled, rotate_pan_key):
    assert unenrolled.card.pan_key_version == 1 and unenrolled.card.card_id_key_version == 1
    rotate_pan_key()
    issued = issue_card(account=unenrolled.card.account)
    assert issued.card.pan_key_version == 2
    assert issued.card.pan_hash == _hmac_hex(NEW_PAN_KEY, issued.pan)


def test_enrollment_finds_a_card_hashed_under_the_old_key_and_rehashes_it(client, unenrolled, rotate_pan_key, caplog):
    old_hash = unenrolled.card.pan_hash
    rotate_pan_key()
    with caplog.at_level(logging.DEBUG):
        response = enroll_card_step(client, unenrolled)
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:enroll_login")
    assert_on_new_pan_key(unenrolled.card, unenrolled.pan)
    assert unenrolled.card.pan_hash != old_hash
    assert "rehashed from PAN hash key version 1 to 2" in caplog.text
    assert NEW_PAN_KEY not in caplog.text and unenrolled.pan not in caplog.text


def test_activation_finds_a_card_hashed_under_the_old_key_and_rehashes_it(client, inactive, rotate_pan_key):
    rotate_pan_key()
    response = activate(client, inactive)
    assert response.status_code == 302
    inactive.card.refresh_from_db()
    assert inactive.card.status == Card.Status.ACTIVE
    assert_on_new_pan_key(inactive.card, inactive.pan)


def test_webhook_finds_a_card_hashed_under_the_old_key_and_rehashes_it(webhook, credit_card, rotate_pan_key):
    rotate_pan_key()
    response = webhook(event(card=credit_card, amount="12.00"))
    assert response.status_code == 200
    assert response.json()["approved"] is True
    assert Transaction.objects.get(pk=response.json()["transaction_id"]).card_id == credit_card.card.pk
    assert_on_new_pan_key(credit_card.card, credit_card.pan)


def test_a_wrong_card_id_is_still_a_mismatch_after_rotation(client, inactive, rotate_pan_key):
    rotate_pan_key()
    wrong = f"{(int(inactive.card_id) + 1) % 10000:04d}"
    assert "don&#x27;t match our records" in activate(client, inactive, card_id=wrong).content.decode()
    inactive.card.refresh_from_db()
    assert inactive.card.status == Card.Status.INACTIVE


def test_once_rehashed_the_card_is_found_after_the_old_key_is_retired(unenrolled, settings, rotate_pan_key):
    rotate_pan_key()
    assert services.card_find_by_number(pan=unenrolled.pan) == unenrolled.card
    rotate_pan_key(keep_old=False)
    assert services.card_find_by_number(pan=unenrolled.pan) == unenrolled.card


def test_lookup_is_one_query_for_a_current_card_and_two_when_it_moves(
    unenrolled, rotate_pan_key, django_assert_num_queries
):
    rotate_pan_key()
    with django_assert_num_queries(2):
        assert cardnumbers.card_find_by_pan(Card.objects.all(), unenrolled.pan) == unenrolled.card
    with django_assert_num_queries(1):
        assert cardnumbers.card_find_by_pan(Card.objects.all(), unenrolled.pan) == unenrolled.card


def test_a_new_number_is_never_one_already_issued_under_an_old_key(unenrolled, rotate_pan_key, monkeypatch):
    rotate_pan_key()
    fresh = cardnumbers.generate_pan()
    offered = iter([unenrolled.pan, fresh])
    monkeypatch.setattr(cardnumbers, "generate_pan", lambda bin_prefix=None: next(offered))
    issued = issue_card(account=unenrolled.card.account)
    assert issued.pan == fresh
    assert Card.objects.count() == 2


# --- PAN hash: a key retired too early --------------------------------------------------------


def test_card_under_a_removed_pan_key_is_a_clean_mismatch_in_enrollment(client, unenrolled, rotate_pan_key):
    rotate_pan_key(keep_old=False)
    response = enroll_card_step(client, unenrolled)
    assert response.status_code == 200
    assert "don&#x27;t match our records" in response.content.decode()
    unenrolled.card.refresh_from_db()
    assert unenrolled.card.pan_key_version == 1


def test_card_under_a_removed_pan_key_is_declined_by_the_webhook_not_a_500(webhook, credit_card, rotate_pan_key):
    rotate_pan_key(keep_old=False)
    response = webhook(event(card=credit_card, amount="12.00"))
    assert response.status_code == 200
    assert response.json()["approved"] is False
    assert response.json()["reason_code"] == "unknown_card"
    assert not Transaction.objects.filter(card=credit_card.card).exists()


# --- Card ID: checked under the card's own verification key version ---------------------------


def test_card_ids_are_checked_under_each_cards_own_version(client, holder, rotate_verification_key):
    before = issue_card(account=open_account(holder=holder), active=False)
    rotate_verification_key()
    after = issue_card(account=before.card.account, holder=holder, active=False)
    assert (before.card.card_id_key_version, after.card.card_id_key_version) == (1, 2)
    assert after.card_id == cardnumbers.derive_card_id(
        pan=after.pan, expiry_month=after.card.expiry_month, expiry_year=after.card.expiry_year, key_version=2
    )
    for issued in (before, after):
        assert activate(client, issued).status_code == 302
        issued.card.refresh_from_db()
        assert issued.card.status == Card.Status.ACTIVE


def test_a_card_id_is_only_accepted_under_its_own_version(rotate_verification_key):
    rotate_verification_key()
    facts = dict(pan="379764000000001", expiry_month=8, expiry_year=2029)
    under_old = cardnumbers.derive_card_id(**facts, key_version=1)
    under_new = cardnumbers.derive_card_id(**facts, key_version=2)
    assert under_old != under_new  # fixed test keys: deterministic
    assert cardnumbers.card_id_matches(**facts, card_id=under_old, key_version=1)
    assert not cardnumbers.card_id_matches(**facts, card_id=under_old, key_version=2)
    assert not cardnumbers.card_id_matches(**facts, card_id=under_new, key_version=1)


def test_removed_verification_key_refuses_cleanly_and_does_not_lock_the_card(
    client, inactive, rotate_verification_key, caplog
):
    rotate_verification_key(keep_old=False)
    with caplog.at_level(logging.ERROR):
        responses = [activate(client, inactive) for _ in range(6)]
    assert {r.status_code for r in responses} == {200}
    assert all("don&#x27;t match our records" in r.content.decode() for r in responses)
    inactive.card.refresh_from_db()
    assert inactive.card.status == Card.Status.INACTIVE
    assert inactive.card.verification_locked_until is None
    assert not CardCheckFailure.objects.filter(card=inactive.card).exists()
    assert CardCheckFailure.objects.filter(card__isnull=True).count() == 6
    assert "card ID key version 1 is not configured" in caplog.text
    assert NEW_VERIFICATION_KEY not in caplog.text and not shows_card_id(caplog.text, inactive.card_id)
    assert mail.outbox == []


def test_unknown_verification_version_on_a_card_is_a_mismatch(inactive):
    Card.objects.filter(pk=inactive.card.pk).update(card_id_key_version=9)
    result = card_check(pan=inactive.pan, card_id=inactive.card_id, purpose="activation", ip=IP)
    assert result.outcome is Outcome.MISMATCH and result.card is None
    assert not cardnumbers.card_id_matches(
        pan=inactive.pan,
        expiry_month=inactive.card.expiry_month,
        expiry_year=inactive.card.expiry_year,
        card_id=inactive.card_id,
        key_version=9,
    )


def test_deriving_under_an_unconfigured_version_raises_a_lookup_error():
    with pytest.raises(cardnumbers.UnknownKeyVersion, match="version 5 is not configured"):
        cardnumbers.derive_card_id(pan="379764000000001", expiry_month=8, expiry_year=2029, key_version=5)


# --- Bank accounts (hashed under the PAN hash key) ------------------------------------------


@pytest.mark.django_db
def test_a_bank_account_saved_under_the_old_key_is_still_a_duplicate(rotate_pan_key):
    owner = UserFactory()
    first = bank_account(owner)
    assert first.account_key_version == 1
    rotate_pan_key()
    with pytest.raises(payments.PaymentError, match="already on your list"):
        bank_account(owner, nickname="Again")
    other = bank_account(owner, number="000987654321")
    assert other.account_key_version == 2
    assert other.account_hash == _hmac_hex(NEW_PAN_KEY, f"bank-account-v1:{ROUTING}:000987654321")
    assert PaymentMethod.objects.filter(owner=owner).count() == 2


# --- Webhook secret --------------------------------------------------------------------------


def test_webhook_accepts_a_previous_secret_during_rotation(webhook, credit_card, settings, caplog):
    old = settings.PROCESSOR_WEBHOOK_SECRET
    settings.PROCESSOR_WEBHOOK_SECRET = "new-webhook-secret-" + "w" * 30
    settings.PROCESSOR_WEBHOOK_OLD_SECRETS = [old]
    with caplog.at_level(logging.INFO):
        assert webhook(event(card=credit_card), secret=old).status_code == 200
        assert webhook(event(card=credit_card), secret=settings.PROCESSOR_WEBHOOK_SECRET).status_code == 200
    assert "signed with previous secret #1" in caplog.text
    assert old not in caplog.text and settings.PROCESSOR_WEBHOOK_SECRET not in caplog.text


def test_webhook_refuses_a_previous_secret_once_removed(webhook, credit_card, settings):
    old = settings.PROCESSOR_WEBHOOK_SECRET
    settings.PROCESSOR_WEBHOOK_SECRET = "new-webhook-secret-" + "w" * 30
    settings.PROCESSOR_WEBHOOK_OLD_SECRETS = []
    response = webhook(event(card=credit_card), secret=old)
    assert response.status_code == 401
    assert not Transaction.objects.exists()


# --- SECRET_KEY fallbacks (codes keyed with the secret key) ----------------------------------


@pytest.mark.django_db
def test_backup_codes_survive_a_secret_key_rotation_while_the_old_key_is_a_fallback(settings):
    user = UserFactory()
    plain = backup_codes.codes_generate(user=user, tell=False)
    device = backup_codes.backup_device_for(user=user)
    old = settings.SECRET_KEY
    settings.SECRET_KEY = "new-django-secret-key-" + "s" * 40
    settings.SECRET_KEY_FALLBACKS = []
    assert not backup_codes.code_use(device=device, code=plain[0])
    settings.SECRET_KEY_FALLBACKS = [old]
    assert backup_codes.code_use(device=device, code=plain[0])
    assert not backup_codes.code_use(device=device, code=plain[0])  # still single use


@pytest.mark.django_db
def test_a_one_time_code_sent_before_a_secret_key_rotation_still_verifies(settings, django_capture_on_commit_callbacks):
    binding = codes.new_binding()
    with django_capture_on_commit_callbacks(execute=True):
        codes.code_issue(
            purpose=OneTimeCode.Purpose.PASSWORD_RESET, binding=binding, channel="email", destination="a@example.com"
        )
    sent = re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)
    old = settings.SECRET_KEY
    settings.SECRET_KEY = "new-django-secret-key-" + "s" * 40
    settings.SECRET_KEY_FALLBACKS = [old]
    assert codes.code_verify(purpose=OneTimeCode.Purpose.PASSWORD_RESET, binding=binding, code=sent).ok


# --- Configuration ---------------------------------------------------------------------------

GOOD = "k" * 40


@pytest.mark.parametrize(
    ("current_version", "old_keys", "current_key", "message"),
    [
        (2, "2:" + "a" * 40, GOOD, "lists version 2, which is the current"),
        (3, "1:" + "a" * 40 + ",1:" + "b" * 40, GOOD, "version 1 is listed more than once"),
        (2, "one:" + "a" * 40, GOOD, "entry 1 is not VERSION:KEY"),
        (2, "a" * 40, GOOD, "entry 1 is not VERSION:KEY"),
        (2, "1:", GOOD, "the key for version 1 is empty"),
        (2, "1:" + "short", GOOD, "version 1 is shorter than 32 characters"),
        (2, "1:" + GOOD, GOOD, "version 1 has the same key as the current"),
        (3, "1:" + "a" * 40 + ",2:" + "a" * 40, GOOD, "versions 1 and 2 have the same key"),
        (0, "", GOOD, "from 1 to 32767"),
        (40000, "", GOOD, "from 1 to 32767"),
        (1, "", "too-short-key", "CARD_PAN_HASH_KEY is shorter than 32 characters"),
    ],
)
def test_bad_key_configuration_is_refused_without_naming_the_keys(current_version, old_keys, current_key, message):
    with pytest.raises(KeyConfigError, match=message) as caught:
        build_keyring(
            setting="CARD_PAN_HASH_KEY", current_key=current_key, current_version=current_version, old_keys=old_keys
        )
    for secret in re.findall(r"[a-z]{20,}", old_keys) + [current_key]:
        assert secret not in str(caught.value)


def test_old_keys_parse_from_the_environment_format():
    ring = build_keyring(
        setting="CARD_VERIFICATION_KEY",
        current_key=GOOD,
        current_version=3,
        old_keys=" 1:" + "a" * 40 + " , 2:" + "b:" * 20 + ",",
    )
    assert ring.versions == (3, 2, 1)
    assert ring.old_versions == (2, 1)
    assert ring.key(2) == ("b:" * 20).encode()
    assert GOOD not in repr(ring) and "a" * 40 not in repr(ring)


def test_an_invalid_runtime_override_is_improperly_configured(settings):
    settings.CARD_PAN_HASH_KEY_VERSION = 2
    settings.CARD_PAN_HASH_OLD_KEYS = {2: "x" * 40}
    with pytest.raises(ImproperlyConfigured, match="CARD_PAN_HASH_OLD_KEYS lists version 2"):
        cardnumbers.pan_hash("379764000000001")


SECRET_NAMES = ("SECRET_KEY", "CARD_PAN_HASH_KEY", "CARD_VERIFICATION_KEY", "PROCESSOR_WEBHOOK_SECRET")
KEY_ENV = (
    *SECRET_NAMES,
    "SECRET_KEY_FALLBACKS",
    "PROCESSOR_WEBHOOK_OLD_SECRETS",
    "CARD_PAN_HASH_KEY_VERSION",
    "CARD_PAN_HASH_OLD_KEYS",
    "CARD_VERIFICATION_KEY_VERSION",
    "CARD_VERIFICATION_OLD_KEYS",
)


def _start(tmp_path: Path, **overrides: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in KEY_ENV and k != "DJANGO_SETTINGS_MODULE"}
    env.update({name: f"{name.lower()}-{'z' * 40}" for name in SECRET_NAMES})
    env.update({"DJANGO_SETTINGS_MODULE": "portal.settings", "VAR_DIR": str(tmp_path / "var"), "DEBUG": "false"})
    env.update(overrides)
    code = (
        "import json, django; django.setup(); from django.conf import settings as s; print(json.dumps(["
        "s.CARD_PAN_HASH_KEY_VERSION, sorted(s.CARD_PAN_HASH_OLD_KEYS), s.CARD_VERIFICATION_KEY_VERSION, "
        "sorted(s.CARD_VERIFICATION_OLD_KEYS), len(s.PROCESSOR_WEBHOOK_OLD_SECRETS), len(s.SECRET_KEY_FALLBACKS)]))"
    )
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_a_deployment_with_only_the_two_keys_starts_on_version_1(tmp_path):
    result = _start(tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [1, [], 1, [], 0, 0]


def test_a_rotated_configuration_starts(tmp_path):
    old = "o" * 40
    result = _start(
        tmp_path,
        CARD_PAN_HASH_KEY_VERSION="3",
        CARD_PAN_HASH_OLD_KEYS=f"2:{old},1:{'p' * 40}",
        CARD_VERIFICATION_KEY_VERSION="2",
        CARD_VERIFICATION_OLD_KEYS=f"1:{old}",
        PROCESSOR_WEBHOOK_OLD_SECRETS="previous-webhook-secret",
        SECRET_KEY_FALLBACKS="previous-django-secret",
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [3, [1, 2], 2, [1], 1, 1]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"CARD_PAN_HASH_KEY_VERSION": "2", "CARD_PAN_HASH_OLD_KEYS": "2:" + "o" * 40}, "which is the current"),
        ({"CARD_VERIFICATION_KEY_VERSION": "two"}, "CARD_VERIFICATION_KEY_VERSION must be a whole number"),
        ({"CARD_VERIFICATION_OLD_KEYS": "0:" + "o" * 40, "CARD_VERIFICATION_KEY_VERSION": "2"}, "from 1 to 32767"),
        ({"CARD_PAN_HASH_KEY": "short-pan-key"}, "CARD_PAN_HASH_KEY is shorter than 32"),
        ({"PROCESSOR_WEBHOOK_OLD_SECRETS": "processor_webhook_secret-" + "z" * 40}, "PROCESSOR_WEBHOOK_OLD_SECRETS"),
    ],
)
def test_bad_key_settings_stop_start_up_without_printing_keys(tmp_path, overrides, message):
    result = _start(tmp_path, **overrides)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and message in result.stderr
    for value in overrides.values():
        if len(value) > 10:
            assert value.split(":")[-1] not in result.stderr
    assert "z" * 40 not in result.stderr


# --- card_key_status -------------------------------------------------------------------------


def _status(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("card_key_status", *args, stdout=out, stderr=err, no_color=True)
    return out.getvalue(), err.getvalue()


def _section(output: str, title: str) -> str:
    return output.split(title, 1)[1].split("\n\n", 1)[0]


@pytest.fixture
def mixed_world(holder, rotate_pan_key, rotate_verification_key):
    """Before the rotation: a live card and a closed one. After: one more card."""
    account = open_account(holder=holder)
    live = issue_card(account=account)
    closed = issue_card(account=account, holder=holder)
    Card.objects.filter(pk=closed.card.pk).update(status=Card.Status.CLOSED)
    rotate_pan_key()
    rotate_verification_key()
    new = issue_card(account=account, holder=holder)
    return live, closed, new


@pytest.mark.django_db
def test_status_counts_rows_by_version_and_says_old_keys_cannot_go_yet(mixed_world, settings, original_keys):
    live, _closed, _new = mixed_world
    output, _ = _status()
    pan = _section(output, "Card number hash key")
    assert "current version 2; old versions still accepted: 1" in pan
    assert "version 2 (current): cards: 1 (1 in use)" in pan
    assert "version 1 (old): cards: 2 (1 in use)" in pan
    assert "can retire: not yet: 1 card in use still hashed under it" in pan
    verification = _section(output, "Card verification key")
    expiry = f"{live.card.expiry_month:02d}/{live.card.expiry_year}"
    assert f"version 1 (old): cards: 2 (1 in use, the last expires {expiry})" in verification
    assert (
        "can retire: not yet: the card IDs of 1 card in use were derived under it; "
        f"the last expires at the end of {expiry}" in verification
    )
    for secret in (*original_keys, NEW_PAN_KEY, NEW_VERIFICATION_KEY, settings.PROCESSOR_WEBHOOK_SECRET):
        assert secret not in output
    assert live.pan not in output and not shows_card_id(output, live.card_id)


@pytest.mark.django_db
def test_status_says_an_old_key_can_go_once_its_cards_moved_expired_or_closed(mixed_world):
    live, closed, _new = mixed_world
    services.card_find_by_number(pan=live.pan)  # the number is presented: rehashed
    output, _ = _status()
    pan = _section(output, "Card number hash key")
    assert "version 2 (current): cards: 2 (2 in use)" in pan
    assert "can retire: yes, accepting that 1 expired, closed or replaced card under it" in pan
    services.card_find_by_number(pan=closed.pan)
    output, _ = _status()
    assert "version 1 (old): cards: 0 (0 in use)" in output
    assert "can retire: yes: nothing is hashed under it." in output
    last_year = timezone.localdate().year - 1
    Card.objects.filter(pk=live.card.pk).update(expiry_year=last_year)
    output, _ = _status()
    verification = _section(output, "Card verification key")
    assert "version 1 (old): cards: 2 (0 in use)" in verification
    assert "can retire: yes: every card issued under it has expired" in verification


@pytest.mark.django_db
def test_status_counts_saved_bank_accounts_under_the_old_pan_key(rotate_pan_key):
    bank_account(UserFactory())
    rotate_pan_key()
    output, _ = _status()
    pan = _section(output, "Card number hash key")
    assert "version 1 (old): cards: 0 (0 in use), saved bank accounts: 1" in pan
    assert "1 saved bank account under it will not be recognised as already on the list" in pan


@pytest.mark.django_db
def test_status_fails_when_rows_are_under_a_version_that_is_not_configured(mixed_world, rotate_pan_key):
    rotate_pan_key(keep_old=False)
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError, match="2 rows under a key version that is not configured"):
        call_command("card_key_status", stdout=out, stderr=err, no_color=True)
    output = out.getvalue()
    assert "version 1 (not configured): cards: 2" in output
    assert "Put version 1 back in CARD_PAN_HASH_OLD_KEYS" in output
    assert NEW_PAN_KEY not in output


@pytest.mark.django_db
def test_status_reports_previous_webhook_secrets_and_fallbacks_by_count_only(settings):
    settings.PROCESSOR_WEBHOOK_OLD_SECRETS = ["previous-webhook-secret-value"]
    settings.SECRET_KEY_FALLBACKS = ["previous-django-secret-value", "older-django-secret-value"]
    output, _ = _status()
    assert "Processor webhook secret: 1 previous secret still accepted" in output
    assert "Django secret key: 2 fallbacks (SECRET_KEY_FALLBACKS)" in output
    assert "previous-webhook-secret-value" not in output and "django-secret-value" not in output
