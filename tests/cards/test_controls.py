import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied
from django.http import Http404

from cards import cardnumbers, processing, services
from cards.forms import new_idempotency_key
from cards.models import Card, CardRequest
from security.models import Notification, SecurityEvent
from tests.cards.conftest import event
from tests.factories import BusinessProgramFactory, UserFactory, issue_card

pytestmark = pytest.mark.django_db


def authorize(issued, **fields) -> dict:
    return processing.processor_event_handle(event=processing.event_parse(event(card=issued, **fields))).body


def refreshed(card: Card) -> Card:
    return Card.objects.get(pk=card.pk)


def status_events():
    return SecurityEvent.objects.filter(kind=SecurityEvent.Kind.CARD_STATUS_CHANGED).order_by("created_at", "pk")


def fraud_analyst():
    """Staff holding only ``cards.freeze_card``, as the fraud team does."""
    analyst = UserFactory(cardholder=None, is_staff=True)
    analyst.user_permissions.add(Permission.objects.get(codename="freeze_card"))
    return UserFactory._meta.model.objects.get(pk=analyst.pk)  # a fresh permission cache


@pytest.fixture
def supplementary(credit_card):
    holder = UserFactory()
    card = issue_card(account=credit_card.card.account, holder=holder.cardholder, role=Card.Role.SUPPLEMENTARY)
    return {"basic": credit_card.card.holder.user, "holder": holder, "card": card}


# --- Freeze -------------------------------------------------------------------------------


def test_freeze_declines_the_next_authorization_and_unfreeze_restores_it(credit_card):
    user = credit_card.card.holder.user
    services.card_freeze(actor=user, card=credit_card.card)
    assert authorize(credit_card)["reason_code"] == "card_frozen"
    services.card_unfreeze(actor=user, card=credit_card.card)
    assert authorize(credit_card)["approved"] is True
    events = list(status_events())
    assert [e.detail["action"] for e in events] == ["freeze", "unfreeze"]
    assert events[0].detail == {
        "card": credit_card.card.masked_number,
        "action": "freeze",
        "from": "active",
        "to": "frozen",
    }
    assert all(e.actor == user and e.user == user for e in events)


def test_freezing_a_frozen_card_changes_nothing(credit_card):
    user = credit_card.card.holder.user
    services.card_freeze(actor=user, card=credit_card.card)
    services.card_freeze(actor=user, card=credit_card.card)
    assert status_events().count() == 1


def test_only_an_active_card_can_be_frozen(credit_card):
    Card.objects.filter(pk=credit_card.card.pk).update(status=Card.Status.INACTIVE)
    with pytest.raises(services.CardServiceError):
        services.card_freeze(actor=credit_card.card.holder.user, card=credit_card.card)


def test_someone_else_cannot_freeze_a_card_it_looks_missing(credit_card, other_user):
    with pytest.raises(Http404):
        services.card_freeze(actor=other_user, card=credit_card.card)
    assert refreshed(credit_card.card).status == Card.Status.ACTIVE
    assert not status_events().exists()


def test_supplementary_holder_cannot_lift_the_basic_members_freeze(supplementary):
    card = supplementary["card"].card
    services.card_freeze(actor=supplementary["basic"], card=card)
    with pytest.raises(PermissionDenied):
        services.card_unfreeze(actor=supplementary["holder"], card=card)
    services.card_unfreeze(actor=supplementary["basic"], card=card)
    assert refreshed(card).status == Card.Status.ACTIVE


def test_supplementary_holder_can_lift_their_own_freeze(supplementary):
    card = supplementary["card"].card
    services.card_freeze(actor=supplementary["holder"], card=card)
    services.card_unfreeze(actor=supplementary["holder"], card=card)
    assert refreshed(card).status == Card.Status.ACTIVE


def test_administrator_freezes_an_employee_card_the_employee_cannot_lift_it(business):
    card = business["card"].card
    services.card_freeze(actor=business["admin"], card=card)
    assert authorize(business["card"])["reason_code"] == "card_frozen"
    with pytest.raises(PermissionDenied):
        services.card_unfreeze(actor=business["employee"], card=card)
    services.card_unfreeze(actor=business["admin"], card=card)
    event_ = status_events().last()
    assert event_.actor == business["admin"] and event_.user == business["employee"]


def test_staff_with_the_card_permission_may_act_on_any_card(credit_card):
    agent = UserFactory(cardholder=None, is_staff=True)
    agent.user_permissions.add(Permission.objects.get(codename="change_card"))
    services.card_freeze(actor=agent, card=credit_card.card)
    assert refreshed(credit_card.card).status == Card.Status.FROZEN
    assert status_events().get().actor == agent


def test_staff_without_the_permission_are_strangers(credit_card):
    with pytest.raises(Http404):
        services.card_freeze(actor=UserFactory(cardholder=None, is_staff=True), card=credit_card.card)


def test_fraud_team_freeze_takes_over_the_cardholders_own_freeze(credit_card):
    member, card = credit_card.card.holder.user, credit_card.card
    services.card_freeze(actor=member, card=card)
    analyst = fraud_analyst()
    services.card_freeze(actor=analyst, card=card, reason="suspected account takeover")
    assert refreshed(card).frozen_by == analyst
    with pytest.raises(PermissionDenied, match="fraud team"):
        services.card_unfreeze(actor=member, card=card)
    assert refreshed(card).status == Card.Status.FROZEN
    taken_over = status_events().last()
    assert (taken_over.actor, taken_over.user) == (analyst, member)
    assert taken_over.detail == {
        "card": card.masked_number,
        "action": "freeze",
        "from": "frozen",
        "to": "frozen",
        "reason": "suspected account takeover",
    }


def test_fraud_team_freeze_takes_over_the_administrators_and_no_lesser_freeze_takes_it_back(business):
    card = business["card"].card
    analyst = fraud_analyst()
    services.card_freeze(actor=business["admin"], card=card)
    services.card_freeze(actor=analyst, card=card, reason="card number found on a carding forum")
    services.card_freeze(actor=business["admin"], card=card)  # the same or less authority: no change
    services.card_freeze(actor=business["employee"], card=card)
    assert refreshed(card).frozen_by == analyst
    assert [(e.detail["action"], e.actor) for e in status_events()] == [
        ("freeze", business["admin"]),
        ("freeze", analyst),
    ]
    with pytest.raises(PermissionDenied, match="fraud team"):
        services.card_unfreeze(actor=business["admin"], card=card)
    assert refreshed(card).status == Card.Status.FROZEN


def test_administrator_freeze_takes_over_the_employees_own_freeze_and_only_they_lift_it(business):
    card = business["card"].card
    services.card_freeze(actor=business["employee"], card=card)
    services.card_freeze(actor=business["admin"], card=card)  # from a page drawn before the employee's freeze
    assert refreshed(card).frozen_by == business["admin"]
    with pytest.raises(PermissionDenied):
        services.card_unfreeze(actor=business["employee"], card=card)
    assert refreshed(card).status == Card.Status.FROZEN
    services.card_unfreeze(actor=business["admin"], card=card)
    assert refreshed(card).status == Card.Status.ACTIVE
    assert [(e.detail["action"], e.actor) for e in status_events()] == [
        ("freeze", business["employee"]),
        ("freeze", business["admin"]),
        ("unfreeze", business["admin"]),
    ]


def test_basic_member_freeze_takes_over_the_supplementary_holders_own_freeze(supplementary):
    card = supplementary["card"].card
    services.card_freeze(actor=supplementary["holder"], card=card)
    services.card_freeze(actor=supplementary["basic"], card=card)
    with pytest.raises(PermissionDenied):
        services.card_unfreeze(actor=supplementary["holder"], card=card)
    assert (refreshed(card).status, refreshed(card).frozen_by) == (Card.Status.FROZEN, supplementary["basic"])


# --- Lost or stolen -----------------------------------------------------------------------


def test_lost_card_is_closed_and_replaced_inactive_on_the_same_account(credit_card):
    user = credit_card.card.holder.user
    issued = services.card_report_lost_stolen(actor=user, card=credit_card.card)
    old, new = refreshed(credit_card.card), refreshed(issued.card)
    assert old.status == Card.Status.LOST_STOLEN
    assert (new.status, new.account_id, new.holder_id, new.role) == ("inactive", old.account_id, old.holder_id, "basic")
    assert new.replaces == old
    assert issued.pan != credit_card.pan and new.pan_hash == cardnumbers.pan_hash(issued.pan)
    assert new.processor_token != old.processor_token
    assert authorize(credit_card)["reason_code"] == "card_lost_stolen"
    assert authorize(issued)["reason_code"] == "card_inactive"
    services.card_activate(card=new)
    assert authorize(issued)["approved"] is True


def test_lost_card_report_alerts_the_holder_and_is_audited(credit_card):
    user = credit_card.card.holder.user
    issued = services.card_report_lost_stolen(actor=user, card=credit_card.card)
    alerts = Notification.objects.filter(kind="card_lost_stolen")
    assert sorted(alerts.values_list("channel", flat=True)) == ["email", "sms"]
    assert all(credit_card.pan not in n.body and issued.pan not in n.body for n in alerts)
    assert credit_card.card.last4 in alerts.get(channel="email").body
    audit = status_events().get()
    assert audit.detail["action"] == "report_lost_stolen"
    assert audit.detail["replacement"] == issued.card.masked_number
    assert audit.actor == user


def test_a_card_cannot_be_reported_lost_twice(credit_card):
    user = credit_card.card.holder.user
    services.card_report_lost_stolen(actor=user, card=credit_card.card)
    with pytest.raises(services.CardServiceError):
        services.card_report_lost_stolen(actor=user, card=credit_card.card)
    assert Card.objects.filter(account=credit_card.card.account).count() == 2


def test_replacement_of_an_employee_card_keeps_its_controls(business):
    Card.objects.filter(pk=business["card"].card.pk).update(blocked_categories=["travel"])
    issued = services.card_report_lost_stolen(actor=business["employee"], card=business["card"].card)
    assert issued.card.monthly_limit == Decimal("500.00")
    assert refreshed(issued.card).blocked_categories == ["travel"]


# --- Close --------------------------------------------------------------------------------


def test_administrator_closes_an_employee_card(business):
    card = business["card"].card
    authorize(business["card"], amount="10.00", network_id="before-close")
    services.card_close(actor=business["admin"], card=card)
    assert authorize(business["card"])["reason_code"] == "card_closed"
    clearing = event("clearing", card=business["card"], amount="10.00", network_id="before-close")
    assert processing.processor_event_handle(event=processing.event_parse(clearing)).body["result"] == "posted"
    assert status_events().last().detail["action"] == "close"


def test_an_employee_cannot_close_their_own_card(business):
    with pytest.raises(PermissionDenied):
        services.card_close(actor=business["employee"], card=business["card"].card)


def test_the_basic_card_closes_only_with_the_account(credit_card):
    with pytest.raises(services.CardServiceError, match="account"):
        services.card_close(actor=credit_card.card.holder.user, card=credit_card.card)


def test_basic_member_closes_a_supplementary_card(supplementary):
    services.card_close(actor=supplementary["basic"], card=supplementary["card"].card)
    assert refreshed(supplementary["card"].card).status == Card.Status.CLOSED


# --- Employee controls ----------------------------------------------------------------------


def test_administrator_sets_the_monthly_limit_used_by_the_next_authorization(business):
    card = business["card"].card
    authorize(business["card"], amount="150.00")
    services.employee_card_limit_set(actor=business["admin"], card=card, monthly_limit=Decimal("200"))
    assert refreshed(card).monthly_limit == Decimal("200.00")
    assert authorize(business["card"], amount="60.00")["reason_code"] == "over_monthly_limit"
    services.employee_card_limit_set(actor=business["admin"], card=card, monthly_limit=None)
    assert authorize(business["card"], amount="60.00")["approved"] is True
    assert [e.detail["to"] for e in status_events()] == ["200.00", None]


@pytest.mark.parametrize("limit", [Decimal("0"), Decimal("-5")])
def test_monthly_limit_must_be_positive(business, limit):
    with pytest.raises(services.CardServiceError):
        services.employee_card_limit_set(actor=business["admin"], card=business["card"].card, monthly_limit=limit)


def test_employee_and_other_programs_administrators_cannot_set_limits(business):
    card = business["card"].card
    with pytest.raises(PermissionDenied):
        services.employee_card_limit_set(actor=business["employee"], card=card, monthly_limit=Decimal("9999"))
    other_admin = UserFactory(cardholder=None)
    BusinessProgramFactory().administrators.add(other_admin)
    with pytest.raises(Http404):
        services.employee_card_limit_set(actor=other_admin, card=card, monthly_limit=Decimal("9999"))
    assert refreshed(card).monthly_limit == Decimal("500.00")


def test_spending_controls_are_for_employee_cards(business):
    company_card = issue_card(account=business["account"]).card  # the account's basic card
    with pytest.raises(services.CardServiceError, match="employee cards"):
        services.employee_card_categories_block(actor=business["admin"], card=company_card, categories=["travel"])


def test_a_personal_cardholder_has_no_spending_controls(credit_card):
    with pytest.raises(PermissionDenied):
        services.employee_card_limit_set(
            actor=credit_card.card.holder.user, card=credit_card.card, monthly_limit=Decimal("10")
        )


def test_administrator_blocks_categories(business):
    card = business["card"].card
    services.employee_card_categories_block(
        actor=business["admin"], card=card, categories=["travel", "dining", "travel"]
    )
    assert refreshed(card).blocked_categories == ["dining", "travel"]
    assert authorize(business["card"])["reason_code"] == "blocked_category"
    with pytest.raises(services.CardServiceError):
        services.employee_card_categories_block(actor=business["admin"], card=card, categories=["casinos"])
    services.employee_card_categories_block(actor=business["admin"], card=card, categories=[])
    assert authorize(business["card"])["approved"] is True


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (Card.Status.CLOSED, "This card is closed, so its spending controls can't be changed."),
        (Card.Status.LOST_STOLEN, "This card was reported lost or stolen, so its spending controls can't be changed."),
    ],
)
def test_spending_controls_of_a_closed_or_lost_card_cannot_be_changed(business, status, message):
    card = business["card"].card
    Card.objects.filter(pk=card.pk).update(status=status)
    with pytest.raises(services.CardServiceError) as limit_refusal:
        services.employee_card_limit_set(actor=business["admin"], card=card, monthly_limit=Decimal("9000"))
    with pytest.raises(services.CardServiceError) as categories_refusal:
        services.employee_card_categories_block(actor=business["admin"], card=card, categories=["travel"])
    assert str(limit_refusal.value) == str(categories_refusal.value) == message
    assert (refreshed(card).monthly_limit, refreshed(card).blocked_categories) == (Decimal("500.00"), [])
    assert not status_events().exists()


def test_the_refusal_on_a_lost_card_points_to_its_replacement(business):
    issued = services.card_report_lost_stolen(actor=business["employee"], card=business["card"].card)
    with pytest.raises(services.CardServiceError) as refusal:
        services.employee_card_limit_set(
            actor=business["admin"], card=business["card"].card, monthly_limit=Decimal("100")
        )
    assert str(refusal.value) == (
        "This card was reported lost or stolen, so its spending controls can't be changed. "
        f"Change them on its replacement, the card ending {issued.card.last4}."
    )
    assert refreshed(issued.card).monthly_limit == Decimal("500.00")
    services.employee_card_limit_set(actor=business["admin"], card=issued.card, monthly_limit=Decimal("100"))
    assert refreshed(issued.card).monthly_limit == Decimal("100.00")


# --- New employee card requests -------------------------------------------------------------


def request_card(business, actor=None, **overrides):
    fields = {
        "legal_name": "Dana Whitfield",
        "name_on_card": "Dana Whitfield",
        "date_of_birth": dt.date(1990, 4, 2),
        "postal_code": "10001",
        "email": "dana@example.com",
        "monthly_limit": Decimal("750.00"),
        "blocked_categories": ["entertainment"],
    }
    fields.update(overrides)
    return services.employee_card_request(actor=actor or business["admin"], account=business["account"], **fields)


def test_administrator_requests_a_card_staff_issue_it(business):
    card_request = request_card(business)
    assert (card_request.status, card_request.name_on_card) == ("requested", "DANA WHITFIELD")
    assert status_events().get().detail["action"] == "employee_card_requested"
    staff = UserFactory(cardholder=None, is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="change_card"))
    issued = services.card_request_fulfil(staff=staff, card_request=card_request)
    card = refreshed(issued.card)
    assert (card.status, card.role, card.account_id) == ("inactive", "employee", business["account"].pk)
    assert (card.monthly_limit, card.blocked_categories) == (Decimal("750.00"), ["entertainment"])
    assert card.holder.legal_name == "Dana Whitfield"
    card_request.refresh_from_db()
    assert (card_request.status, card_request.card, card_request.resolved_by) == ("issued", card, staff)
    with pytest.raises(services.CardServiceError):
        services.card_request_fulfil(staff=staff, card_request=card_request)


def test_only_staff_issue_requested_cards(business):
    card_request = request_card(business)
    with pytest.raises(PermissionDenied):
        services.card_request_fulfil(staff=business["admin"], card_request=card_request)
    assert CardRequest.objects.get().status == "requested"


def test_employees_and_other_administrators_cannot_request_cards(business):
    other_admin = UserFactory(cardholder=None)
    BusinessProgramFactory().administrators.add(other_admin)
    for actor in (business["employee"], other_admin):
        with pytest.raises(Http404):
            request_card(business, actor=actor)
    assert not CardRequest.objects.exists()


def test_the_same_idempotency_key_queues_one_card_request(business):
    key = new_idempotency_key()
    first = request_card(business, idempotency_key=key)
    again = request_card(business, idempotency_key=key)
    assert again.pk == first.pk
    assert CardRequest.objects.get().idempotency_key == key
    assert status_events().count() == 1
    assert request_card(business, idempotency_key=new_idempotency_key()).pk != first.pk


def test_another_administrators_idempotency_key_is_refused(business):
    key = new_idempotency_key()
    request_card(business, idempotency_key=key)
    colleague = UserFactory(cardholder=None)
    business["program"].administrators.add(colleague)
    with pytest.raises(services.CardServiceError, match="This form has expired"):
        request_card(business, actor=colleague, idempotency_key=key)
    assert CardRequest.objects.get().requested_by == business["admin"]


def test_the_service_never_cuts_the_name_on_the_card(business):
    with pytest.raises(services.CardServiceError, match="at most 26 characters"):
        request_card(business, name_on_card="Maria Großmann-Straßburger")  # 28 in capitals
    assert not CardRequest.objects.exists()
    exactly_26 = "Alexandra Montgomery-Smyth"
    assert len(exactly_26) == 26
    assert request_card(business, name_on_card=exactly_26).name_on_card == exactly_26.upper()


def test_a_fraud_team_freeze_cannot_be_lifted_by_the_cardholder():
    from django.core.exceptions import PermissionDenied

    from cards import services
    from cards.models import Card
    from tests.factories import UserFactory, issue_card, open_account

    member = UserFactory()
    card = issue_card(account=open_account(holder=member.cardholder)).card
    analyst = UserFactory(cardholder=None, is_staff=True, is_superuser=True)
    services.card_freeze(actor=analyst, card=card, reason="suspected fraud")
    with pytest.raises(PermissionDenied, match="fraud team"):
        services.card_unfreeze(actor=member, card=card)
    card.refresh_from_db()
    assert card.status == Card.Status.FROZEN
    services.card_unfreeze(actor=analyst, card=card)
    card.refresh_from_db()
    assert card.status == Card.Status.ACTIVE
