"""Disputes: who may open one and when, files checked by their bytes and served only to
the right people, the staff queue's actions moving real money, and the cardholder told
at each step."""

import datetime as dt
import html
from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from cards import disputes, ledger, selectors, services
from cards.models import Card, CardAccount, Dispute, DisputeAttachment, DisputeEvent, RewardEntry, Transaction
from tests.cards.conftest import event
from tests.cards.payments_helpers import commits, handle, spend, staff_console_login
from tests.factories import UserFactory, issue_card

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


def upload(name="receipt.pdf", content=PDF, content_type="application/pdf"):
    return SimpleUploadedFile(name, content, content_type=content_type)


@pytest.fixture
def owner(charge_card):
    return charge_card.card.holder.user


@pytest.fixture
def charge(charge_card):
    spend(charge_card, "80.00", merchant={"name": "Gadget Store", "mcc": "5732", "city": "Austin", "country": "US"})
    return Transaction.objects.get(kind="purchase")


@pytest.fixture
def staff(db):
    return User.objects.create_superuser("disputes.staff", password="staff-password-123")


def open_dispute(actor, txn, **kwargs):
    kwargs.setdefault("reason", "not_received")
    kwargs.setdefault("description", "I ordered headphones and they never arrived.")
    with commits():
        return disputes.dispute_open(actor=actor, transaction_obj=txn, **kwargs)


def balance(txn) -> Decimal:
    return CardAccount.objects.get(pk=txn.account_id).posted_balance


def text(response) -> str:
    return html.unescape(response.content.decode())


# --- Opening -----------------------------------------------------------------------------


def test_a_cardholder_disputes_a_posted_charge_and_is_told(owner, charge):
    dispute = open_dispute(owner, charge)
    assert (dispute.status, dispute.amount, dispute.reason) == ("submitted", Decimal("80.00"), "not_received")
    assert list(dispute.events.values_list("kind", flat=True)) == ["submitted"]
    assert "Your dispute of $80.00 at Gadget Store on your card ending" in mail.outbox[-1].body


def test_one_open_dispute_per_charge(owner, charge):
    open_dispute(owner, charge)
    with pytest.raises(disputes.DisputeError, match="already has an open dispute"):
        open_dispute(owner, charge)


def test_a_pending_charge_cannot_be_disputed_yet(owner, charge_card):
    from tests.cards.conftest import event
    from tests.cards.payments_helpers import handle

    handle(event(card=charge_card, amount="12.00"))
    pending = Transaction.objects.get(status="pending")
    with pytest.raises(disputes.DisputeError, match="still pending"):
        open_dispute(owner, pending)


def test_a_charge_older_than_120_days_cannot_be_disputed_online(owner, charge_card):
    old = (timezone.now() - dt.timedelta(days=121)).isoformat()
    spend(charge_card, "20.00", transacted_at=old)
    with pytest.raises(disputes.DisputeError, match="within 120 days"):
        open_dispute(owner, Transaction.objects.get())


def test_a_charge_on_day_120_can_still_be_disputed(owner, charge_card):
    spend(charge_card, "20.00", transacted_at=(timezone.now() - dt.timedelta(days=120)).isoformat())
    assert open_dispute(owner, Transaction.objects.get()).pk


def test_a_payment_cannot_be_disputed(owner, charge):
    payment = Transaction.objects.create(
        account_id=charge.account_id,
        kind="payment",
        status="posted",
        amount=Decimal("-5.00"),
        network_id="pay-x",
        transacted_at=timezone.now(),
        posted_at=timezone.now(),
    )
    with pytest.raises((disputes.DisputeError, Http404)):
        open_dispute(owner, payment)


def test_a_stranger_cannot_dispute_someone_elses_charge(charge):
    with pytest.raises(Http404):
        open_dispute(UserFactory(), charge)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"reason": "because"}, "reason"),
        ({"description": "short"}, "description"),
        ({"amount": Decimal("80.01")}, "amount"),
        ({"amount": Decimal("0")}, "amount"),
    ],
)
def test_bad_dispute_details_are_refused_with_the_field(owner, charge, kwargs, field):
    with pytest.raises(disputes.DisputeError) as refused:
        open_dispute(owner, charge, **kwargs)
    assert refused.value.field == field


def test_part_of_a_charge_can_be_disputed(owner, charge):
    assert open_dispute(owner, charge, reason="wrong_amount", amount=Decimal("30.00")).amount == Decimal("30.00")


def test_business_administrator_disputes_an_employee_charge(business):
    spend(business["card"], "45.00")
    txn = Transaction.objects.get()
    dispute = open_dispute(business["admin"], txn, reason="not_recognized")
    assert dispute.opened_by == business["admin"]


def test_an_employee_cannot_dispute_a_colleagues_charge(business):
    colleague = issue_card(account=business["account"], holder=UserFactory().cardholder, role=Card.Role.EMPLOYEE)
    spend(colleague, "45.00")
    with pytest.raises(Http404):
        open_dispute(business["employee"], Transaction.objects.get())


# --- Attachments -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [("receipt.pdf", PDF, "application/pdf"), ("photo.png", PNG, "image/png"), ("scan.jpg", JPEG, "image/jpeg")],
)
def test_pdf_png_and_jpeg_are_accepted_by_their_bytes(owner, charge, name, content, expected):
    dispute = open_dispute(owner, charge, attachments=[upload(name, content, "application/octet-stream")])
    attachment = dispute.attachments.get()
    assert (attachment.content_type, attachment.original_name, attachment.size) == (expected, name, len(content))
    assert name not in attachment.file.name  # stored under a random name


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("fake.pdf", b"MZ\x90\x00 this is an executable", "must be a PDF, PNG or JPEG"),
        ("page.png", b"<html><script>alert(1)</script>", "must be a PDF, PNG or JPEG"),
        ("big.pdf", PDF + b"0" * (5 * 1024 * 1024), "larger than 5 MB"),
        ("empty.pdf", b"", "is empty"),
    ],
)
def test_other_files_are_refused(owner, charge, name, content, message):
    with pytest.raises(disputes.DisputeError, match=message):
        open_dispute(owner, charge, attachments=[upload(name, content)])
    assert not Dispute.objects.exists()


def test_at_most_five_files(owner, charge):
    with pytest.raises(disputes.DisputeError, match="up to 5 files"):
        open_dispute(owner, charge, attachments=[upload(f"r{n}.pdf") for n in range(6)])


def test_a_path_in_the_file_name_is_dropped(owner, charge):
    dispute = open_dispute(owner, charge, attachments=[upload("../../etc/passwd.pdf")])
    assert dispute.attachments.get().original_name == "passwd.pdf"


# --- Staff actions move real money -------------------------------------------------------


def test_temporary_credit_then_resolve_keeps_the_credit(owner, charge, staff):
    dispute = open_dispute(owner, charge)
    disputes.dispute_credit_grant(staff=staff, dispute=dispute)
    assert balance(charge) == Decimal("0.00")
    dispute = disputes.dispute_resolve(staff=staff, dispute=dispute, note="The merchant agreed.")
    assert (dispute.status, dispute.resolution_credit_id) == ("resolved", None)
    assert dispute.temporary_credit.kind == "credit" and dispute.temporary_credit.amount == Decimal("-80.00")
    assert balance(charge) == Decimal("0.00")
    assert ledger.ledger_verify(account_ids=[charge.account_id])[1] == []


def test_resolve_without_a_temporary_credit_posts_the_credit(owner, charge, staff):
    dispute = open_dispute(owner, charge, amount=Decimal("30.00"))
    dispute = disputes.dispute_resolve(staff=staff, dispute=dispute, note="Refund agreed.")
    assert dispute.resolution_credit.amount == Decimal("-30.00")
    assert balance(charge) == Decimal("50.00")


def test_declining_reverses_the_temporary_credit(owner, charge, staff):
    dispute = open_dispute(owner, charge)
    disputes.dispute_credit_grant(staff=staff, dispute=dispute)
    with commits():
        dispute = disputes.dispute_decline(staff=staff, dispute=dispute, note="The merchant proved delivery.")
    assert dispute.status == "declined" and dispute.resolved_at is not None
    assert dispute.credit_reversal.kind == Transaction.Kind.CREDIT_REVERSAL
    assert dispute.credit_reversal.amount == Decimal("80.00")
    assert balance(charge) == Decimal("80.00")
    assert "The merchant proved delivery." in mail.outbox[-1].body
    assert "temporary credit of $80.00 has been removed" in mail.outbox[-1].body
    assert ledger.ledger_verify(account_ids=[charge.account_id])[1] == []


def test_request_info_then_the_cardholder_adds_it(owner, charge, staff):
    dispute = open_dispute(owner, charge)
    with commits():
        disputes.dispute_request_info(staff=staff, dispute=dispute, note="Please send the order confirmation.")
    assert "Please send the order confirmation." in mail.outbox[-1].body
    with commits():
        dispute = disputes.dispute_add_info(
            actor=owner, dispute=dispute, note="Attached.", attachments=[upload("order.pdf")]
        )
    assert dispute.status == "under_review"
    assert list(dispute.events.values_list("kind", flat=True)) == ["submitted", "info_requested", "info_added"]
    assert dispute.attachments.count() == 1


def test_every_step_tells_the_cardholder(owner, charge, staff):
    dispute = open_dispute(owner, charge)
    with commits():
        disputes.dispute_review_start(staff=staff, dispute=dispute)
        disputes.dispute_request_info(staff=staff, dispute=dispute, note="Receipt please.")
        disputes.dispute_credit_grant(staff=staff, dispute=dispute)
        disputes.dispute_resolve(staff=staff, dispute=dispute, note="Done.")
    subjects = [message.subject for message in mail.outbox if "dispute" in message.subject.lower()]
    assert len(subjects) == DisputeEvent.objects.count() == 5


def test_closed_disputes_refuse_further_steps(owner, charge, staff):
    dispute = disputes.dispute_resolve(staff=staff, dispute=open_dispute(owner, charge), note="Done.")
    for step in (disputes.dispute_decline, disputes.dispute_request_info):
        with pytest.raises(disputes.DisputeError, match="already resolved"):
            step(staff=staff, dispute=dispute, note="again")
    with pytest.raises(disputes.DisputeError):
        disputes.dispute_credit_grant(staff=staff, dispute=dispute)
    assert Transaction.objects.filter(kind="credit").count() == 1


def test_a_resolved_charge_cannot_be_disputed_again(owner, charge, staff):
    disputes.dispute_resolve(staff=staff, dispute=open_dispute(owner, charge), note="Done.")
    with pytest.raises(disputes.DisputeError, match="already resolved"):
        open_dispute(owner, charge)


def test_notes_are_required_to_resolve_decline_or_ask(owner, charge, staff):
    dispute = open_dispute(owner, charge)
    with pytest.raises(disputes.DisputeError, match="Write a note"):
        disputes.dispute_decline(staff=staff, dispute=dispute, note="  ")


def test_cardholders_cannot_work_the_queue(owner, charge):
    dispute = open_dispute(owner, charge)
    with pytest.raises(PermissionDenied):
        disputes.dispute_resolve(staff=owner, dispute=dispute, note="I win")


# --- Rewards -----------------------------------------------------------------------------

DINNER = {"name": "Steak House", "mcc": "5812", "city": "Austin", "country": "US"}


@pytest.fixture
def dinner(charge_card):
    """A $400.00 dining charge that earned 1,200 points (3X)."""
    spend(charge_card, "400.00", merchant=DINNER, network_id="net-dinner")
    return Transaction.objects.get(network_id="net-dinner")


def points(txn) -> Decimal:
    return selectors.reward_balance(account=txn.account)


def take_backs(txn) -> list[Decimal]:
    entries = RewardEntry.objects.filter(account_id=txn.account_id, kind=RewardEntry.Kind.ADJUST).order_by("pk")
    return list(entries.values_list("quantity", flat=True))


def refund(charge_card, amount: str) -> None:
    handle(event("refund", card=charge_card, amount=amount, merchant=DINNER, original_network_id="net-dinner"))


def resolve(staff, dispute) -> Dispute:
    return disputes.dispute_resolve(staff=staff, dispute=dispute, note="The merchant could not show the meal.")


def test_a_dispute_resolved_in_full_takes_back_all_the_points_the_charge_earned(owner, dinner, staff):
    assert points(dinner) == Decimal("1200.00")
    dispute = resolve(staff, open_dispute(owner, dinner))
    assert points(dinner) == Decimal("0.00")
    entry = RewardEntry.objects.get(kind=RewardEntry.Kind.ADJUST)
    assert (entry.quantity, entry.transaction) == (Decimal("-1200.00"), dispute.resolution_credit)
    assert entry.description == "Points reversed: dispute of Steak House"
    assert ledger.ledger_verify(account_ids=[dinner.account_id])[1] == []


def test_a_temporary_credit_takes_no_points_until_the_dispute_is_resolved(owner, dinner, staff):
    dispute = open_dispute(owner, dinner)
    disputes.dispute_credit_grant(staff=staff, dispute=dispute)
    assert points(dinner) == Decimal("1200.00")
    resolve(staff, dispute)
    assert points(dinner) == Decimal("0.00")
    assert take_backs(dinner) == [Decimal("-1200.00")]
    assert ledger.ledger_verify(account_ids=[dinner.account_id])[1] == []


def test_a_partial_dispute_takes_back_the_credited_share_rounded_down(owner, dinner, staff):
    resolve(staff, open_dispute(owner, dinner, amount=Decimal("100.10")))
    assert take_backs(dinner) == [Decimal("-300.00")]  # 1,200 x 100.10/400 = 300.3
    assert points(dinner) == Decimal("900.00")
    assert ledger.ledger_verify(account_ids=[dinner.account_id])[1] == []


def test_a_declined_dispute_leaves_the_points_and_a_later_resolved_one_takes_them_back(owner, dinner, staff):
    dispute = open_dispute(owner, dinner)
    disputes.dispute_credit_grant(staff=staff, dispute=dispute)
    disputes.dispute_decline(staff=staff, dispute=dispute, note="The merchant proved the meal was served.")
    assert (points(dinner), take_backs(dinner)) == (Decimal("1200.00"), [])
    resolve(staff, open_dispute(owner, dinner, description="The bill was for a table of six, we were two."))
    assert (points(dinner), take_backs(dinner)) == (Decimal("0.00"), [Decimal("-1200.00")])
    assert ledger.ledger_verify(account_ids=[dinner.account_id])[1] == []


def test_resolving_twice_takes_the_points_back_once(owner, dinner, staff):
    dispute = resolve(staff, open_dispute(owner, dinner))
    with pytest.raises(disputes.DisputeError, match="already resolved"):
        resolve(staff, dispute)
    assert (points(dinner), take_backs(dinner)) == (Decimal("0.00"), [Decimal("-1200.00")])


def test_a_dispute_after_a_partial_refund_takes_back_only_what_the_refund_left(owner, dinner, staff, charge_card):
    refund(charge_card, "100.00")
    assert points(dinner) == Decimal("900.00")
    resolve(staff, open_dispute(owner, dinner))  # the whole $400, though $100 came back already
    assert take_backs(dinner) == [Decimal("-300.00"), Decimal("-900.00")]
    assert points(dinner) == Decimal("0.00")
    assert ledger.ledger_verify(account_ids=[dinner.account_id])[1] == []


def test_a_refund_after_a_resolved_dispute_takes_back_only_what_the_dispute_left(owner, dinner, staff, charge_card):
    resolve(staff, open_dispute(owner, dinner, amount=Decimal("300.00")))
    assert points(dinner) == Decimal("300.00")
    refund(charge_card, "400.00")
    assert take_backs(dinner) == [Decimal("-900.00"), Decimal("-300.00")]
    assert points(dinner) == Decimal("0.00")
    assert ledger.ledger_verify(account_ids=[dinner.account_id])[1] == []


def test_points_already_redeemed_are_taken_back_in_full_as_a_refund_would(owner, dinner, staff):
    services.rewards_redeem(actor=owner, account=dinner.account, quantity=Decimal("1000"), idempotency_key="k" * 16)
    assert points(dinner) == Decimal("200.00")
    resolve(staff, open_dispute(owner, dinner))
    # The balance goes below zero, as after a refund; later purchases earn it back.
    assert points(dinner) == Decimal("-1000.00")
    assert ledger.ledger_verify(account_ids=[dinner.account_id])[1] == []


# --- Pages -------------------------------------------------------------------------------


def test_dispute_from_the_form_with_a_file(client, owner, charge):
    client.force_login(owner)
    url = reverse("disputes:start", args=[charge.pk])
    assert "Gadget Store" in text(client.get(url))
    response = client.post(
        url,
        {
            "reason": "duplicate",
            "description": "I was charged twice for one order.",
            "amount": "",
            "attachments": [upload("one.pdf"), upload("two.png", PNG, "image/png")],
        },
    )
    dispute = Dispute.objects.get()
    assert response.url == reverse("disputes:detail", args=[dispute.pk])
    page = text(client.get(response.url))
    assert "Submitted" in page and "one.pdf" in page and "two.png" in page
    assert dispute.attachments.count() == 2


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"reason": ""}, "Choose the reason"),
        ({"description": ""}, "Tell us what happened"),
        ({"amount": "500"}, "can't be more than the charge"),
        ({"amount": "-3"}, "negative"),
        ({"attachments": [SimpleUploadedFile("x.pdf", b"GIF89a....", "application/pdf")]}, "must be a PDF"),
    ],
)
def test_bad_dispute_input_gets_a_clear_error_not_a_500(client, owner, charge, data, message):
    client.force_login(owner)
    form = {"reason": "other", "description": "Something is wrong with this charge."} | data
    response = client.post(reverse("disputes:start", args=[charge.pk]), form)
    assert response.status_code == 200 and message in text(response)
    assert not Dispute.objects.exists()


def test_the_start_page_says_why_a_charge_cannot_be_disputed(client, owner, charge):
    open_dispute(owner, charge)
    client.force_login(owner)
    page = text(client.get(reverse("disputes:start", args=[charge.pk])))
    assert "already has an open dispute" in page and 'name="description"' not in page


def test_attachment_is_served_to_the_owner_as_a_sandboxed_download(client, owner, charge):
    dispute = open_dispute(owner, charge, attachments=[upload("receipt.pdf")])
    attachment = dispute.attachments.get()
    client.force_login(owner)
    response = client.get(reverse("disputes:attachment", args=[dispute.pk, attachment.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    assert "sandbox" in response["Content-Security-Policy"]


def test_staff_download_attachments_from_the_admin(client, owner, charge, staff):
    dispute = open_dispute(owner, charge, attachments=[upload("receipt.pdf")])
    staff_console_login(client, staff)
    attachment = dispute.attachments.get()
    response = client.get(reverse("admin:cards_dispute_attachment", args=[dispute.pk, attachment.pk]))
    assert response.status_code == 200 and b"".join(response.streaming_content) == PDF


def test_a_stored_file_has_no_public_url(client, owner, charge, settings):
    dispute = open_dispute(owner, charge, attachments=[upload("receipt.pdf")])
    stored = dispute.attachments.get().file.name
    client.force_login(owner)
    assert client.get(f"/{stored}").status_code == 404
    assert client.get(f"/media/{stored}").status_code == 404


def test_a_second_user_gets_404_on_every_dispute_page(client, owner, charge):
    dispute = open_dispute(owner, charge, attachments=[upload("receipt.pdf")])
    attachment = dispute.attachments.get()
    client.force_login(UserFactory())
    gets = [
        reverse("disputes:start", args=[charge.pk]),
        reverse("disputes:detail", args=[dispute.pk]),
        reverse("disputes:attachment", args=[dispute.pk, attachment.pk]),
    ]
    assert [client.get(url).status_code for url in gets] == [404, 404, 404]
    posts = [reverse("disputes:start", args=[charge.pk]), reverse("disputes:add_info", args=[dispute.pk])]
    assert [client.post(url, {"note": "mine now"}).status_code for url in posts] == [404, 404]
    assert "No disputes" in text(client.get(reverse("disputes:list")))


def test_an_attachment_id_from_another_dispute_is_404(client, owner, charge, charge_card):
    first = open_dispute(owner, charge, attachments=[upload("a.pdf")])
    spend(charge_card, "10.00")
    second_txn = Transaction.objects.exclude(pk=charge.pk).get(kind="purchase")
    second = open_dispute(owner, second_txn)
    client.force_login(owner)
    url = reverse("disputes:attachment", args=[second.pk, first.attachments.get().pk])
    assert client.get(url).status_code == 404


def test_disputes_list_and_the_transaction_block_show_the_status(client, owner, charge):
    from django.template import Context, Template

    dispute = open_dispute(owner, charge)
    client.force_login(owner)
    assert "Submitted" in text(client.get(reverse("disputes:list")))
    rendered = Template("{% load payments_tags %}{% dispute_status transaction %}").render(
        Context({"transaction": charge})
    )
    assert reverse("disputes:detail", args=[dispute.pk]) in rendered and "Dispute this charge" not in rendered


def test_transaction_block_offers_dispute_for_an_undisputed_charge(charge):
    from django.template import Context, Template

    rendered = Template("{% load payments_tags %}{% dispute_status transaction %}").render(
        Context({"transaction": charge})
    )
    assert reverse("disputes:start", args=[charge.pk]) in rendered


def test_cardholder_adds_information_from_the_page(client, owner, charge, staff):
    dispute = open_dispute(owner, charge)
    disputes.dispute_request_info(staff=staff, dispute=dispute, note="Send the receipt.")
    client.force_login(owner)
    page = text(client.get(reverse("disputes:detail", args=[dispute.pk])))
    assert "We need more information" in page and "Send the receipt." in page
    empty = client.post(reverse("disputes:add_info", args=[dispute.pk]), {"note": ""})
    assert "Write what you want to add" in text(empty)
    client.post(reverse("disputes:add_info", args=[dispute.pk]), {"note": "Receipt number 42."})
    assert Dispute.objects.get().status == "under_review"


# --- The admin queue ---------------------------------------------------------------------


def test_staff_work_the_queue_in_the_admin(client, owner, charge, staff):
    dispute = open_dispute(owner, charge)
    staff_console_login(client, staff)
    queue = text(client.get(reverse("admin:cards_dispute_changelist")))
    assert "Gadget Store" in queue
    change = text(client.get(reverse("admin:cards_dispute_change", args=[dispute.pk])))
    assert "Grant temporary credit" in change and "Request information" in change
    client.post(reverse("admin:cards_dispute_credit", args=[dispute.pk]), {"note": ""})
    assert balance(charge) == Decimal("0.00")
    missing_note = client.post(reverse("admin:cards_dispute_decline", args=[dispute.pk]), {"note": ""})
    assert missing_note.status_code == 200
    done = client.post(reverse("admin:cards_dispute_decline", args=[dispute.pk]), {"note": "Delivered, signed for."})
    assert done.status_code == 302
    dispute.refresh_from_db()
    assert dispute.status == "declined"
    assert balance(charge) == Decimal("80.00")
    assert "Closed" in text(client.get(reverse("admin:cards_dispute_changelist") + "?queue=closed"))


def test_staff_without_the_change_permission_cannot_act(client, owner, charge):
    from django.contrib.auth.models import Permission

    viewer = User.objects.create_user("disputes.viewer", password="viewer-password-123", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_dispute"))
    dispute = open_dispute(owner, charge)
    staff_console_login(client, viewer)
    assert client.get(reverse("admin:cards_dispute_change", args=[dispute.pk])).status_code == 200
    assert client.post(reverse("admin:cards_dispute_resolve", args=[dispute.pk]), {"note": "x"}).status_code == 403
    assert Dispute.objects.get().status == "submitted"


def test_admin_pages_for_the_timeline_and_files_render(client, owner, charge, staff):
    dispute = open_dispute(owner, charge, attachments=[upload("receipt.pdf")])
    staff_console_login(client, staff)
    event = DisputeEvent.objects.get()
    attachment = DisputeAttachment.objects.get()
    pages = [
        reverse("admin:cards_disputeevent_changelist"),
        reverse("admin:cards_disputeevent_change", args=[event.pk]),
        reverse("admin:cards_disputeattachment_changelist"),
        reverse("admin:cards_disputeattachment_change", args=[attachment.pk]),
        reverse("admin:cards_dispute_change", args=[dispute.pk]),
    ]
    responses = [client.get(url) for url in pages]
    assert [r.status_code for r in responses] == [200] * len(pages)
    assert all(attachment.file.name not in text(r) for r in responses)
