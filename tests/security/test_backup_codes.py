"""Backup codes: made with the CSPRNG, kept only as keyed hashes, single use, shown once."""

import re

import pytest
from django.core import mail

from security import backup_codes
from security.models import BackupCode, BackupCodeDevice, SecurityEvent
from tests.factories import UserFactory
from tests.security.dbscan import rows_containing

pytestmark = pytest.mark.django_db


@pytest.fixture
def member():
    return UserFactory(email="kim@example.com")


def test_ten_codes_in_two_groups_of_four(member):
    codes = backup_codes.codes_generate(user=member)
    assert len(codes) == len(set(codes)) == 10
    assert all(re.fullmatch(r"[a-z2-9]{4}-[a-z2-9]{4}", code) for code in codes)
    assert BackupCode.objects.filter(device__user=member).count() == 10


def test_codes_are_stored_only_as_keyed_hashes(member, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        codes = backup_codes.codes_generate(user=member)
    for code in codes:
        assert rows_containing(code) == []
    stored = set(BackupCode.objects.values_list("code_hash", flat=True))
    device = BackupCodeDevice.objects.get(user=member)
    assert stored == {backup_codes.code_hash(device_id=device.pk, code=code) for code in codes}


def test_a_code_works_once(member):
    code = backup_codes.codes_generate(user=member)[0]
    device = backup_codes.backup_device_for(user=member)
    assert device.verify_token(code) is True
    device.refresh_from_db()
    device.throttle_reset()
    assert device.verify_token(code) is False
    assert backup_codes.unused_codes(user=member).count() == 9


def test_codes_are_accepted_in_any_case_and_without_the_hyphen(member):
    code = backup_codes.codes_generate(user=member)[0]
    device = backup_codes.backup_device_for(user=member)
    assert device.verify_token(code.upper().replace("-", " ")) is True


def test_a_wrong_code_is_refused_and_throttled(member):
    backup_codes.codes_generate(user=member)
    device = backup_codes.backup_device_for(user=member)
    assert device.verify_token("aaaa-aaaa") is False
    device.refresh_from_db()
    assert device.throttling_failure_count == 1


def test_new_codes_void_the_old_ones(member):
    old = backup_codes.codes_generate(user=member)
    new = backup_codes.codes_generate(user=member)
    device = backup_codes.backup_device_for(user=member)
    assert device.verify_token(old[0]) is False
    device.throttle_reset()
    assert device.verify_token(new[0]) is True
    assert BackupCodeDevice.objects.filter(user=member).count() == 1


def test_another_users_code_does_not_work(member):
    other = UserFactory()
    code = backup_codes.codes_generate(user=other)[0]
    backup_codes.codes_generate(user=member)
    assert backup_codes.backup_device_for(user=member).verify_token(code) is False
    assert backup_codes.unused_codes(user=other).count() == 10


def test_making_codes_is_logged_and_the_cardholder_is_told(member, django_capture_on_commit_callbacks):
    backup_codes.codes_generate(user=member)
    with django_capture_on_commit_callbacks(execute=True):
        backup_codes.codes_generate(user=member)
    events = SecurityEvent.objects.filter(user=member, kind="two_factor_changed")
    assert [e.detail["change"] for e in events] == ["backup_codes_generated"] * 2
    assert events.first().detail["replaced_unused"] == 10
    assert [m.subject for m in mail.outbox] == ["You have new backup codes"]
