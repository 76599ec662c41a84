import secrets
from datetime import timedelta

import pytest
from django.http import HttpResponse
from django.test import RequestFactory
from django.utils import timezone

from portal.net import ip_network
from security import risk
from security.devices import DEVICE_COOKIE_NAME, device_trust, devices_revoke_all, token_hash
from security.models import SecurityEvent
from security.services import security_event_record
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

CHROME_ON_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
)
SAFARI_ON_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
HOME_IP = "198.51.100.23"
AWAY_IP = "203.0.113.77"
STUFFING_IP = "192.0.2.66"

rf = RequestFactory()


def _event(*, user=None, kind, ip, user_agent=CHROME_ON_WINDOWS, device_hash=None, at=None, username=""):
    request = rf.post("/account/login/", REMOTE_ADDR=ip, HTTP_USER_AGENT=user_agent)
    detail = {"network": ip_network(ip)}
    if device_hash:
        detail["device"] = device_hash
    succeeded = kind == SecurityEvent.Kind.SIGN_IN_SUCCEEDED
    event = security_event_record(
        kind=kind,
        outcome=SecurityEvent.Outcome.SUCCESS if succeeded else SecurityEvent.Outcome.FAILURE,
        user=user,
        request=request,
        username_attempted=username,
        detail=detail,
    )
    if at is not None:
        # The audit trail is append-only for application code; a test places its events
        # in time through the plain base manager.
        SecurityEvent._base_manager.filter(pk=event.pk).update(created_at=at)
    return event


def _signed_in(user, **kwargs):
    return _event(user=user, kind=SecurityEvent.Kind.SIGN_IN_SUCCEEDED, **kwargs)


def _failed(*, ip, username, user=None, **kwargs):
    return _event(user=user, kind=SecurityEvent.Kind.SIGN_IN_FAILED, ip=ip, username=username, **kwargs)


@pytest.fixture
def midnight():
    return timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)


@pytest.fixture
def regular(midnight):
    """A two-year-old account that signed in on each of the last 100 mornings, around
    9 a.m., from one remembered Chrome-on-Windows browser on one home network."""
    user = UserFactory(date_joined=timezone.now() - timedelta(days=730))
    response = HttpResponse()
    device_trust(
        user=user, request=rf.get("/", REMOTE_ADDR=HOME_IP, HTTP_USER_AGENT=CHROME_ON_WINDOWS), response=response
    )
    token = response.cookies[DEVICE_COOKIE_NAME].value
    for day in range(1, 101):
        at = midnight - timedelta(days=day) + timedelta(hours=9, minutes=day % 50)
        _signed_in(user, ip=HOME_IP, device_hash=token_hash(token), at=at)
    return user, token


def test_new_user_on_a_new_device_is_medium_not_high():
    user = UserFactory()
    assessment = risk.risk_assess(user=user, ip=HOME_IP, user_agent=CHROME_ON_WINDOWS, device_hash=None)
    assert assessment.level == risk.MEDIUM
    assert assessment.reasons == ["new_device", "new_account"]
    # No history, so no feature of the sign-in counts against them: the code comes
    # from the rule that an unremembered device always gets one.
    assert assessment.score < 2.0
    assert assessment.explain() == "We asked for a code because this is a new device and your account is new."


def test_regular_user_on_their_remembered_device_at_the_usual_time_is_low(regular, midnight):
    user, token = regular
    assessment = risk.risk_assess(
        user=user,
        ip=HOME_IP,
        user_agent=CHROME_ON_WINDOWS,
        device_hash=token_hash(token),
        now=midnight + timedelta(hours=9, minutes=30),
    )
    assert assessment.level == risk.LOW
    assert assessment.reasons == []
    assert not assessment.step_up_required
    assert assessment.explain() == "We recognized this device, so we didn't ask for a code."


def test_regular_user_from_a_new_device_and_network_at_3_am_is_high(regular, midnight):
    user, _ = regular
    assessment = risk.risk_assess(
        user=user, ip=AWAY_IP, user_agent=CHROME_ON_WINDOWS, device_hash=None, now=midnight + timedelta(hours=3)
    )
    assert assessment.level == risk.HIGH
    assert assessment.reasons == ["new_device", "new_network", "unusual_time"]
    assert assessment.explain() == (
        "We asked for a code because this is a new device, a new network and an unusual time of day for you."
    )
    assert not assessment.may_remember_device
    assert assessment.alert_user


def test_regular_user_on_a_new_laptop_in_a_cafe_at_the_usual_time_is_medium(regular, midnight):
    user, _ = regular
    assessment = risk.risk_assess(
        user=user,
        ip=AWAY_IP,
        user_agent=CHROME_ON_WINDOWS,
        device_hash=token_hash(secrets.token_urlsafe(32)),
        now=midnight + timedelta(hours=10),
    )
    assert assessment.level == risk.MEDIUM
    assert assessment.reasons == ["new_device", "new_network"]
    assert assessment.explain() == "We asked for a code because this is a new device and a new network."
    assert assessment.may_remember_device
    assert not assessment.alert_user


def test_a_new_phone_on_the_home_network_counts_browser_and_system_once(regular, midnight):
    user, _ = regular
    assessment = risk.risk_assess(
        user=user, ip=HOME_IP, user_agent=SAFARI_ON_IPHONE, device_hash=None, now=midnight + timedelta(hours=9)
    )
    assert assessment.level == risk.MEDIUM
    assert assessment.reasons == ["new_device", "unusual_browser", "unusual_os"]
    assert assessment.explain() == (
        "We asked for a code because this is a new device, a browser you don't usually use and an operating "
        "system you don't usually use."
    )


def test_a_removed_device_needs_a_code_again(regular, midnight):
    user, token = regular
    devices_revoke_all(user=user)
    assessment = risk.risk_assess(
        user=user,
        ip=HOME_IP,
        user_agent=CHROME_ON_WINDOWS,
        device_hash=token_hash(token),
        now=midnight + timedelta(hours=9, minutes=30),
    )
    assert assessment.level == risk.MEDIUM
    assert assessment.reasons == ["device_not_remembered"]
    assert assessment.explain() == "We asked for a code because you haven't asked us to remember this device."


def test_a_remembered_device_on_a_new_network_is_still_low(regular, midnight):
    user, token = regular
    assessment = risk.risk_assess(
        user=user,
        ip=AWAY_IP,
        user_agent=CHROME_ON_WINDOWS,
        device_hash=token_hash(token),
        now=midnight + timedelta(hours=9),
    )
    assert assessment.level == risk.LOW
    assert assessment.reasons == ["new_network"]


@pytest.mark.parametrize("with_history", [False, True], ids=["new user", "regular user"])
def test_many_recent_failures_then_a_new_device_and_network_is_high(with_history, regular):
    user = regular[0] if with_history else UserFactory()
    for _ in range(4):
        _failed(user=user, ip=STUFFING_IP, username=user.username)
    assessment = risk.risk_assess(user=user, ip=AWAY_IP, user_agent=CHROME_ON_WINDOWS, device_hash=None)
    assert assessment.level == risk.HIGH
    assert "recent_failures" in assessment.reasons
    assert "there were recent failed sign-ins to your User ID" in assessment.explain()


def test_failures_before_the_last_good_sign_in_are_forgiven(regular):
    user, token = regular
    an_hour_ago = timezone.now() - timedelta(hours=1)
    for minutes in (3, 2, 1):
        _failed(user=user, ip=HOME_IP, username=user.username, at=an_hour_ago - timedelta(minutes=minutes))
    _signed_in(user, ip=HOME_IP, device_hash=token_hash(token), at=an_hour_ago)
    assessment = risk.risk_assess(user=user, ip=HOME_IP, user_agent=CHROME_ON_WINDOWS, device_hash=token_hash(token))
    assert "recent_failures" not in assessment.reasons
    assert assessment.contributions["user_failures"] == 0


def test_an_ip_address_that_tried_many_user_ids_is_high():
    user = UserFactory(date_joined=timezone.now() - timedelta(days=400))
    for n in range(12):
        _failed(ip=STUFFING_IP, username=f"victim{n:03d}")
    assessment = risk.risk_assess(user=user, ip=STUFFING_IP, user_agent=CHROME_ON_WINDOWS, device_hash=None)
    assert assessment.level == risk.HIGH
    assert assessment.reasons == ["new_device", "network_failures", "many_user_ids"]
    assert assessment.explain() == (
        "We asked for a code because this is a new device, there were many failed sign-ins from this "
        "internet address and this internet address tried to sign in to many User IDs."
    )


def test_a_remembered_device_does_not_hide_a_stuffing_ip_address(regular, midnight):
    user, token = regular
    for n in range(12):
        _failed(ip=STUFFING_IP, username=f"victim{n:03d}")
    assessment = risk.risk_assess(
        user=user, ip=STUFFING_IP, user_agent=CHROME_ON_WINDOWS, device_hash=token_hash(token)
    )
    assert assessment.level != risk.LOW
    assert "many_user_ids" in assessment.reasons


def test_reasons_carry_neither_the_address_nor_the_token(regular, midnight):
    user, token = regular
    for _ in range(4):
        _failed(user=user, ip=STUFFING_IP, username=user.username)
    assessment = risk.risk_assess(
        user=user, ip=STUFFING_IP, user_agent=SAFARI_ON_IPHONE, device_hash=token_hash(secrets.token_urlsafe(32))
    )
    assert set(assessment.reasons) <= set(risk.REASON_TEXT)
    shown = f"{assessment.reasons} {assessment.contributions} {assessment.explain()}"
    for secret in (STUFFING_IP, ip_network(STUFFING_IP), "192.0.2", token, token_hash(token), user.username):
        assert secret not in shown


@pytest.mark.parametrize("past_sign_ins", [5, 500])
def test_assessment_costs_the_same_queries_however_long_the_history(past_sign_ins, django_assert_num_queries):
    user = UserFactory()
    device_hash = token_hash(secrets.token_urlsafe(32))
    for _ in range(past_sign_ins):
        _signed_in(user, ip=HOME_IP, device_hash=device_hash)
    risk.risk_assess(user=user, ip=HOME_IP, user_agent=CHROME_ON_WINDOWS, device_hash=device_hash)
    # Population cached: the history, the trusted device, the failure counts.
    with django_assert_num_queries(3):
        risk.risk_assess(user=user, ip=HOME_IP, user_agent=CHROME_ON_WINDOWS, device_hash=device_hash)


def test_reasons_read_as_one_natural_sentence():
    assert risk.risk_reasons_sentence(["new_device", "new_network"]) == "this is a new device and a new network"
    assert risk.risk_reasons_sentence(["new_device", "new_network", "recent_failures"]) == (
        "this is a new device and a new network, and there were recent failed sign-ins to your User ID"
    )
    assert risk.risk_reasons_sentence(["recent_failures", "a_code_from_a_later_version"]) == (
        "there were recent failed sign-ins to your User ID"
    )


# --- The adaptive lockout limit for django-axes ------------------------------------------


def _login_request(*, ip, token=None):
    request = rf.post("/account/login/", REMOTE_ADDR=ip)
    if token is not None:
        request.COOKIES[DEVICE_COOKIE_NAME] = token
    return request


def test_a_remembered_device_gets_more_password_attempts_than_an_unrecognized_one(regular):
    user, token = regular
    credentials = {"username": user.username.upper()}  # User IDs are case-insensitive
    assert risk.failure_limit_for(_login_request(ip=AWAY_IP, token=token), credentials) == 5
    assert risk.failure_limit_for(_login_request(ip=AWAY_IP), credentials) == 3
    assert risk.failure_limit_for(_login_request(ip=AWAY_IP, token=secrets.token_urlsafe(32)), credentials) == 3


def test_a_known_network_can_sit_between(regular, settings):
    # Off by default (equal to the unrecognized limit, so the count cannot reveal which
    # User IDs exist); an operator may choose a middle tier.
    settings.RISK_FAILURE_LIMIT_KNOWN_NETWORK = 4
    user, _ = regular
    assert risk.failure_limit_for(_login_request(ip="198.51.100.200"), {"username": user.username}) == 4


def test_an_unknown_user_id_gets_the_unrecognized_limit(regular):
    _, token = regular
    assert risk.failure_limit_for(_login_request(ip=HOME_IP, token=token), {"username": "nobody.here"}) == 3


def test_failure_limits_come_from_settings(regular, settings):
    user, token = regular
    settings.RISK_FAILURE_LIMIT_TRUSTED = 8
    settings.RISK_FAILURE_LIMIT_UNRECOGNIZED = 2
    credentials = {"username": user.username}
    assert risk.failure_limit_for(_login_request(ip=AWAY_IP, token=token), credentials) == 8
    assert risk.failure_limit_for(_login_request(ip=AWAY_IP), credentials) == 2


def test_the_failure_limit_is_worked_out_once_per_request(regular, django_assert_num_queries):
    user, token = regular
    request = _login_request(ip=AWAY_IP, token=token)
    risk.failure_limit_for(request, {"username": user.username})
    with django_assert_num_queries(0):
        assert risk.failure_limit_for(request, {"username": user.username}) == 5
