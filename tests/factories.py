"""factory_boy factories. Cards are issued through the real service, so tests see the
same hashing and card-ID derivation as production."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import factory
from django.test import Client
from django.utils import timezone

from accounts.models import Cardholder, User
from cards import services as card_services
from cards.models import BusinessProgram, Card, CardAccount, CardProduct, Transaction
from security import carddata_scan

DEFAULT_PASSWORD = "correct-horse-battery-42"


class CardholderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Cardholder

    legal_name = factory.Faker("name")
    name_on_card = factory.LazyAttribute(lambda o: o.legal_name.upper()[:26])
    date_of_birth = factory.Faker("date_of_birth", minimum_age=21, maximum_age=80)
    postal_code = factory.Faker("postcode")
    email = factory.Faker("email")
    phone = factory.Sequence(lambda n: f"+1202555{n % 10000:04d}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"member{n:04d}")
    cardholder = factory.SubFactory(CardholderFactory)
    email = factory.LazyAttribute(lambda o: o.cardholder.email if o.cardholder else "staff@example.com")
    phone = factory.LazyAttribute(lambda o: o.cardholder.phone if o.cardholder else "")
    email_verified_at = factory.LazyFunction(timezone.now)

    @factory.post_generation
    def password(obj, create, extracted, **kwargs):
        obj.set_password(extracted or DEFAULT_PASSWORD)
        if create:
            obj.save(update_fields=["password"])


class CardProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CardProduct
        django_get_or_create = ("code",)

    code = "gold-charge"
    name = "Gold Card"
    kind = CardProduct.Kind.CHARGE
    segment = CardProduct.Segment.PERSONAL
    rewards_kind = CardProduct.RewardsKind.POINTS
    base_earn_rate = Decimal("1.0000")

    class Params:
        credit = factory.Trait(
            code="blue-cash",
            name="Blue Cash Credit Card",
            kind=CardProduct.Kind.CREDIT,
            rewards_kind=CardProduct.RewardsKind.CASHBACK,
            base_earn_rate=Decimal("0.0100"),
            annual_rate=Decimal("24.99"),
        )
        business = factory.Trait(
            code="business-platinum",
            name="Business Platinum Card",
            segment=CardProduct.Segment.BUSINESS,
        )


class BusinessProgramFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BusinessProgram

    name = factory.Faker("company")


def open_account(*, holder: Cardholder, product: CardProduct | None = None, program=None, **kwargs) -> CardAccount:
    product = product or CardProductFactory()
    if product.is_credit:
        kwargs.setdefault("credit_limit", Decimal("5000.00"))
    return card_services.account_open(
        product=product,
        primary_cardholder=holder,
        statement_day=kwargs.pop("statement_day", 15),
        business_program=program,
        **kwargs,
    )


def issue_card(*, account: CardAccount, holder: Cardholder | None = None, role=Card.Role.BASIC, active=True, **kwargs):
    """Returns the ``IssuedCard`` (card, pan, card_id)."""
    today = dt.date.today()
    issued = card_services.card_issue(
        account=account,
        holder=holder or account.primary_cardholder,
        role=role,
        expiry_month=kwargs.pop("expiry_month", 8),
        expiry_year=kwargs.pop("expiry_year", today.year + 3),
        active=active,
        **kwargs,
    )
    # The card-data scanner's witness (a no-op unless CARD_DATA_WITNESS is set).
    carddata_scan.witness_record(pan=issued.pan, card_id=issued.card_id, pk=issued.card.pk)
    return issued


def shows_card_id(text: str, card_id: str) -> bool:
    """Whether ``text`` shows the 4-digit card ID as a number of its own. A plain
    substring test fails by chance once text carries enough digits (timestamps, amounts,
    key fingerprints): every 4-digit window is a 1 in 10,000 match."""
    return re.search(rf"(?<![0-9]){re.escape(card_id)}(?![0-9])", text) is not None


class TransactionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Transaction

    card = None
    account = factory.LazyAttribute(lambda o: o.card.account)
    kind = Transaction.Kind.PURCHASE
    status = Transaction.Status.POSTED
    amount = Decimal("42.50")
    currency = "USD"
    merchant_name = "Corner Coffee"
    mcc = "5814"
    category = "dining"
    network_id = factory.Sequence(lambda n: f"test-{n:08d}")
    transacted_at = factory.LazyFunction(timezone.now)
    posted_at = factory.LazyAttribute(lambda o: o.transacted_at if o.status == Transaction.Status.POSTED else None)


def two_step_app_on(user: User) -> str:
    """Turn on two-step verification with an authenticator app through the service, as
    the setup page does; returns the app's secret (hex) so tests can make codes."""
    from django_otp.oath import totp

    from security import two_step

    key = two_step.secret_new()
    code = f"{totp(bytes.fromhex(key), step=two_step.STEP_SECONDS, digits=two_step.DIGITS):06d}"
    assert two_step.app_confirm(user=user, key_hex=key, token=code) is not None
    return key


def app_code(key: str, *, steps_ahead: int = 1) -> str:
    """The code the app shows ``steps_ahead`` 30-second steps from now. The code of the
    current step was spent turning the app on (django-otp refuses a replay), so tests
    use the next one, which the verifier's one-step tolerance accepts."""
    from django_otp.oath import totp

    return f"{totp(bytes.fromhex(key), step=30, digits=6, drift=steps_ahead):06d}"


# --- Staff sessions ------------------------------------------------------------------------
# The staff console (security.admin_site) opens only for a session confirmed with the
# staff member's authenticator app. tests/conftest.py makes every force_login() of a staff
# member such a session, standing for the sign-in (where staff always give the app's
# code); force_login_without_code() is the plain one, for tests of that gate.

force_login_without_code = Client.force_login


def staff_session_confirm(client: Client, user: User) -> None:
    """Mark the client's session as confirmed by the user's authenticator app (made for
    them when they have none), as a sign-in with the app's code does."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="default", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()


STAFF_PASSWORD = "staff-console-passphrase-42"  # meets the staff policy (16 characters or more)


def staff_member(username: str, *, groups: tuple[str, ...] = (), **fields) -> User:
    """A staff login in the given staff groups (accounts.staff_roles)."""
    from django.contrib.auth.models import Group

    user = User.objects.create_user(username, password=STAFF_PASSWORD, is_staff=True, **fields)
    user.groups.set(Group.objects.filter(name__in=groups))
    assert user.groups.count() == len(groups), f"unknown staff group among {groups}"
    return user


SAFARI_ON_MAC = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 Version/17.0 Safari/605.1.15"


def signed_in_client(user: User, password: str = DEFAULT_PASSWORD, *, user_agent: str = SAFARI_ON_MAC) -> Client:
    """A browser signed in through the real sign-in page with the password alone (the
    user needs no code: no verified contact, or a remembered device)."""
    from django.urls import reverse

    client = Client()
    response = client.post(
        reverse("two_factor:login"),
        {"sign_in_view-current_step": "auth", "auth-username": user.username, "auth-password": password},
        HTTP_USER_AGENT=user_agent,
    )
    assert response.status_code == 302, response.status_code
    return client
