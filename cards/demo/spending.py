"""Card activity, simulated: purchases at home and on trips, subscriptions, refunds,
declines, statement closes, payments, interest, annual fees and rewards.

Pure Python over plain ``Row`` objects (no database) so the whole world is computed in
memory and then written with a few bulk inserts. Everything random comes from the
``random.Random`` handed in, so a fixed seed gives the same world relative to today.
"""

from __future__ import annotations

import calendar
import datetime as dt
import heapq
import math
import random
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from functools import cache
from zoneinfo import ZoneInfo

from cards.models import CardProduct, Category, Transaction
from portal.money import quantize

from .cast import Profile
from .catalog import (
    BUSINESS,
    FOREIGN_ONLINE,
    LOCAL,
    SUBSCRIPTIONS,
    TRAVEL,
    TRIPS_BY_CITY,
    VARIABLE_SUBSCRIPTIONS,
    Merchant,
    Trip,
)

K = Transaction.Kind
S = Transaction.Status
ONE = Decimal("1")
AIRLINES = tuple(m for m in TRAVEL if m.mcc.startswith("30"))
HOTELS = tuple(m for m in TRAVEL if m.mcc in {"3509", "3504", "3640"})
CAR_RENTALS = tuple(m for m in TRAVEL if m.mcc in {"3357", "3405"})
DOMESTIC_DESTINATIONS = (
    "Chicago",
    "Atlanta",
    "Dallas",
    "Nashville",
    "Pittsburgh",
    "Detroit",
    "Charlotte",
    "Denver",
    "Boston",
    "Minneapolis",
    "Philadelphia",
    "St. Louis",
)
# Local hours at which each kind of purchase happens.
HOURS = {
    Category.DINING: ((7, 10), (11, 14), (18, 22)),
    Category.GROCERIES: ((9, 20),),
    Category.FUEL: ((6, 21),),
    Category.TRANSPORT: ((6, 23),),
    Category.SHOPPING: ((10, 21),),
    Category.ENTERTAINMENT: ((17, 23),),
    Category.TRAVEL: ((8, 23),),
}
WORKDAY_HOURS = ((8, 18),)
FOREIGN_TRIPS_PER_CITY_YEAR = 0.5
# Purchases per weekday (Monday first) relative to the average: businesses buy on
# weekdays; people eat out and shop more from Friday on.
DAY_FACTORS = {True: (1.34,) * 5 + (0.15,) * 2, False: (0.9,) * 4 + (1.25,) * 3}


@dataclass(slots=True, eq=False)
class Row:
    """One future ``Transaction`` (and its reward entry, if any)."""

    kind: str
    amount: Decimal
    transacted_at: dt.datetime
    posted_at: dt.datetime | None  # when it posts; later than now means still pending
    card: int | None = None  # index of the card in the builder's list
    merchant: str = ""
    city: str = ""
    country: str = ""
    mcc: str = ""
    category: str = Category.OTHER
    card_present: bool = False
    original_amount: Decimal | None = None
    original_currency: str = ""
    status: str = S.POSTED
    decline_reason: str = ""
    refund_of: Row | None = None
    risky: bool = False  # cross-border card-not-present: the fraud engine may decline it
    reward: Decimal | None = None  # earned (purchase), reversed (refund) or redeemed (credit)
    reward_note: str = ""


@cache
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def poisson(rng: random.Random, lam: float) -> int:
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def _at(rng: random.Random, day: dt.date, windows, tz) -> dt.datetime:
    low, high = rng.choice(windows)
    return dt.datetime(
        day.year, day.month, day.day, rng.randint(low, high), rng.randrange(60), rng.randrange(60), tzinfo=tz
    )


def _draw(rng: random.Random, merchant: Merchant, currency: str = "USD") -> Decimal:
    # Skewed towards the low end: most coffees are small, few laptops are bought.
    value = merchant.low * (merchant.high / merchant.low) ** (rng.random() ** 1.7)
    if currency == "JPY":
        return Decimal(int(round(value, -1))).quantize(Decimal("0.01"))
    return Decimal(f"{value:.2f}")


def _fx_rate(rng: random.Random, band: tuple[float, float], day: dt.date) -> Decimal:
    """A slowly drifting rate inside the band, plus a little daily noise."""
    low, high = band
    wave = 0.5 + 0.45 * math.sin(day.toordinal() / 160.0 + low * 7)
    rate = low + (high - low) * wave * rng.uniform(0.995, 1.005)
    return Decimal(f"{rate:.6f}")


def _post_lag(rng: random.Random, transacted: dt.datetime, category: str) -> dt.datetime:
    days = 1 if category not in (Category.TRAVEL,) else rng.choice((1, 2, 2, 3))
    if transacted.weekday() == 4 and rng.random() < 0.6:  # Friday purchases often post on Monday
        days += 2
    return transacted + dt.timedelta(days=days, hours=rng.randint(0, 6), minutes=rng.randrange(60))


class CardSimulator:
    """The purchases one card makes between ``start`` and ``end`` (dates, inclusive)."""

    def __init__(self, *, rng, profile: Profile, card: int, home_city: str, start: dt.date, end: dt.date, tz):
        self.rng, self.profile, self.card, self.home_city, self.tz = rng, profile, card, home_city, tz
        self.start, self.end = start, end
        categories = list(profile.weights)
        self.categories = categories
        self.cum_weights = list(_cumulative(profile.weights[c] for c in categories))
        self.rows: list[Row] = []

    def run(self) -> list[Row]:
        if self.start > self.end:
            return []
        trips = self._trips()
        away = {}
        for trip in trips:
            for offset in range((trip[1] - trip[0]).days + 1):
                away[trip[0] + dt.timedelta(days=offset)] = trip
        daily = self.profile.per_month / 30.4
        day = self.start
        while day <= self.end:
            trip = away.get(day)
            if trip is not None:
                self._day_away(day, trip, daily)
            else:
                self._day_home(day, daily)
            day += dt.timedelta(days=1)
        for trip in trips:
            self._trip_bookings(trip)
        self._subscriptions()
        self._foreign_online()
        self._refunds()
        return self.rows

    # --- everyday spending -----------------------------------------------------------

    def _day_home(self, day: dt.date, daily: float) -> None:
        rng = self.rng
        factor = DAY_FACTORS[self.profile.business][day.weekday()]
        for _ in range(poisson(rng, daily * factor)):
            category = rng.choices(self.categories, cum_weights=self.cum_weights)[0]
            if category == Category.TRAVEL:
                merchant = rng.choice(TRAVEL)
            elif (
                self.profile.business
                and (category == Category.SERVICES or self.profile.roaming)
                and (category in BUSINESS)
            ):
                # Truck stops and tolls are for the drivers; everyone else buys fuel in town.
                merchant = rng.choice(BUSINESS[category])
            else:
                merchant = rng.choice(LOCAL[category])
            city = merchant.city or (rng.choice(self.profile.roaming) if self.profile.roaming else self.home_city)
            windows = (
                WORKDAY_HOURS
                if self.profile.business and category == Category.SERVICES
                else HOURS.get(category, ((9, 19),))
            )
            self._purchase(merchant, _at(rng, day, windows, self.tz), city=city)

    def _purchase(
        self,
        merchant: Merchant,
        when: dt.datetime,
        *,
        city: str,
        amount: Decimal | None = None,
        country: str = "US",
        trip: Trip | None = None,
    ) -> Row:
        rng = self.rng
        if trip is not None:
            original = amount if amount is not None else _draw(rng, merchant, trip.currency)
            usd = quantize(original * _fx_rate(rng, trip.rate, when.date()))
            row = Row(
                K.PURCHASE,
                usd,
                when,
                _post_lag(rng, when, merchant.category),
                self.card,
                original_amount=original,
                original_currency=trip.currency,
            )
        else:
            usd = amount if amount is not None else _draw(rng, merchant)
            row = Row(K.PURCHASE, usd, when, _post_lag(rng, when, merchant.category), self.card)
        row.merchant, row.city, row.country = merchant.name, city, country
        row.mcc, row.category = merchant.mcc, merchant.category
        row.card_present = rng.random() < merchant.present
        self.rows.append(row)
        return row

    # --- trips -----------------------------------------------------------------------

    def _trips(self) -> list[tuple[dt.date, dt.date, Trip | None, str]]:
        """Stays away from home: (first day, last day, foreign trip or None, city)."""
        rng, trips = self.rng, []
        span = (self.end - self.start).days
        wanted = [
            (TRIPS_BY_CITY[city], city)
            for city in self.profile.trips
            for _ in range(self._how_many(FOREIGN_TRIPS_PER_CITY_YEAR * span / 365))
        ]
        wanted += [
            (None, rng.choice(DOMESTIC_DESTINATIONS))
            for _ in range(self._how_many(self.profile.domestic_trips_per_year * span / 365))
        ]
        for trip, city in wanted:
            length = rng.randint(5, 10) if trip else rng.randint(2, 4)
            for _attempt in range(6):  # no overlapping stays
                first = self.start + dt.timedelta(days=rng.randrange(max(1, span - 1)))
                last = first + dt.timedelta(days=length - 1)
                if last <= self.end and all(last < a or first > b for a, b, *_ in trips):
                    trips.append((first, last, trip, city))
                    break
        return sorted(trips, key=lambda t: t[0])

    def _how_many(self, expected: float) -> int:
        whole = int(expected)
        return whole + (self.rng.random() < expected - whole)

    def _day_away(self, day: dt.date, stay, daily: float) -> None:
        rng = self.rng
        first, last, trip, city = stay
        if trip is None:  # a domestic trip: meals and rides in the destination city
            for _ in range(poisson(rng, 2.2)):
                category = rng.choice((Category.DINING, Category.DINING, Category.TRANSPORT))
                merchant = rng.choice(LOCAL[category][:8])
                self._purchase(merchant, _at(rng, day, HOURS[category], self.tz), city=city)
            return
        local = zone(trip.tz)
        for _ in range(poisson(rng, max(2.5, daily * 1.4))):
            merchant = rng.choice([m for m in trip.merchants if m.category != Category.TRAVEL])
            self._purchase(
                merchant,
                _at(rng, day, HOURS.get(merchant.category, ((9, 21),)), local),
                city=trip.city,
                country=trip.country,
                trip=trip,
            )

    def _trip_bookings(self, stay) -> None:
        rng = self.rng
        first, last, trip, city = stay
        nights = max(1, (last - first).days)
        booked = first - dt.timedelta(days=rng.randint(14, 50))
        if booked >= self.start:
            airline = rng.choice(AIRLINES)
            fare = _draw(rng, airline) * (Decimal("2.2") if trip else ONE)
            self._purchase(
                airline, _at(rng, booked, HOURS[Category.TRAVEL], self.tz), city=airline.city, amount=quantize(fare)
            )
        checkout = dt.datetime(
            last.year,
            last.month,
            last.day,
            rng.randint(7, 11),
            rng.randrange(60),
            tzinfo=zone(trip.tz) if trip else self.tz,
        )
        if trip is not None:
            hotel = next(m for m in trip.merchants if m.category == Category.TRAVEL)
            nightly = _draw(rng, hotel, trip.currency)
            self._purchase(hotel, checkout, city=trip.city, country=trip.country, trip=trip, amount=nightly * nights)
        else:
            hotel = rng.choice(HOTELS)
            self._purchase(hotel, checkout, city=city, amount=_draw(rng, hotel) * nights)
            if rng.random() < 0.5:
                car = rng.choice(CAR_RENTALS)
                self._purchase(car, checkout + dt.timedelta(hours=2), city=city, amount=_draw(rng, car))

    # --- recurring and occasional ------------------------------------------------------

    def _subscriptions(self) -> None:
        rng = self.rng
        for key in self.profile.subscriptions:
            merchant, price = SUBSCRIPTIONS[key]
            billing_day = rng.randint(1, 28)
            for year, month in _months(self.start, self.end):
                day = dt.date(year, month, billing_day)
                if not self.start <= day <= self.end:
                    continue
                # Prices rise about 6% a year; utility bills swing with the season.
                years_ago = (self.end - day).days / 365
                amount = price / Decimal(f"{1.06**years_ago:.6f}")
                if key in VARIABLE_SUBSCRIPTIONS:
                    amount *= Decimal(f"{rng.uniform(0.82, 1.22):.4f}")
                when = dt.datetime(year, month, billing_day, rng.randint(1, 5), rng.randrange(60), tzinfo=self.tz)
                self._purchase(merchant, when, city=merchant.city or self.home_city, amount=quantize(amount))

    def _foreign_online(self) -> None:
        rng = self.rng
        if not self.profile.foreign_online:
            return
        for year, month in _months(self.start, self.end):
            if rng.random() >= self.profile.foreign_online:
                continue
            day = dt.date(year, month, rng.randint(1, calendar.monthrange(year, month)[1]))
            if not self.start <= day <= self.end:
                continue
            merchant, currency, band = rng.choice(FOREIGN_ONLINE)
            trip = Trip(merchant.city, merchant.country, currency, band)
            row = self._purchase(
                merchant, _at(rng, day, ((7, 23),), self.tz), city=merchant.city, country=merchant.country, trip=trip
            )
            row.risky = True

    def _refunds(self) -> None:
        rng = self.rng
        for row in list(self.rows):
            if row.kind != K.PURCHASE or rng.random() >= 0.035:
                continue
            merchant = _merchant_by_name(row.merchant)
            if merchant is None or not merchant.refundable:
                continue
            when = row.transacted_at + dt.timedelta(days=rng.randint(4, 25), hours=rng.randint(0, 8))
            if when.date() > self.end:
                continue
            share = ONE if rng.random() < 0.7 else Decimal(f"{rng.uniform(0.2, 0.8):.2f}")
            refund = Row(K.REFUND, -quantize(row.amount * share), when, _post_lag(rng, when, row.category), self.card)
            refund.merchant, refund.city, refund.country = row.merchant, row.city, row.country
            refund.mcc, refund.category, refund.refund_of = row.mcc, row.category, row
            self.rows.append(refund)


_MERCHANTS = {m.name: m for group in LOCAL.values() for m in group}


def _merchant_by_name(name: str) -> Merchant | None:
    return _MERCHANTS.get(name)


def _cumulative(values: Iterable[float]):
    total = 0.0
    for value in values:
        total += value
        yield total


def _months(start: dt.date, end: dt.date):
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month):
        yield year, month
        month += 1
        if month == 13:
            year, month = year + 1, 1


# --- The account: closes, payments, interest, fees, rewards ------------------------------


@dataclass(frozen=True)
class RewardRules:
    points: bool
    base: Decimal
    rates: dict[str, Decimal]
    step: int
    step_value: Decimal
    labels: dict[str, str]

    @classmethod
    def for_product(cls, product: CardProduct) -> RewardRules:
        return cls(
            points=product.rewards_kind == CardProduct.RewardsKind.POINTS,
            base=product.base_earn_rate,
            rates={rate.category: rate.rate for rate in product.earn_rates.all()},
            step=product.redemption_step,
            step_value=product.redemption_step_value,
            labels=dict(Category.choices),
        )

    def earn(self, row: Row) -> tuple[Decimal, str]:
        rate = self.rates.get(row.category, self.base)
        label = self.labels.get(row.category, row.category)
        if self.points:
            return (row.amount * rate).quantize(ONE, rounding=ROUND_HALF_EVEN) + Decimal("0.00"), (
                f"{rate.normalize():f}X points on {label}"
            )
        return quantize(row.amount * rate), f"{(rate * 100).normalize():f}% cash back on {label}"


@dataclass(frozen=True)
class AccountTerms:
    rewards: RewardRules
    statement_day: int
    opened_on: dt.date
    annual_fee: Decimal
    credit_limit: Decimal | None = None
    apr: Decimal | None = None
    revolver: bool = False
    monthly_limits: dict[int, Decimal] | None = None  # card index → employee limit


_ROW, _CLOSE, _PAY = 0, 1, 2


def _system_row(kind: str, amount: Decimal, when: dt.datetime, merchant: str) -> Row:
    return Row(kind, amount, when, when, None, merchant=merchant)


def settle_account(
    *,
    rng: random.Random,
    terms: AccountTerms,
    rows: list[Row],
    start: dt.date,
    today: dt.date,
    now: dt.datetime,
    tz,
) -> list[Row]:
    """Walk the account's life in time order, deciding declines and adding the account's
    own movements. Returns every row, final status set."""
    # Nothing happens after "now": today's purchases stop at the current time.
    rows = [row for row in rows if row.transacted_at <= now] + _annual_fees(terms, start, today, tz)
    events: list = [(row.transacted_at, n, _ROW, row) for n, row in enumerate(rows)]
    seq = len(events)
    for close in _closes(terms.statement_day, start, today, tz):
        if close > now:
            break
        events.append((close, seq, _CLOSE, None))
        seq += 1
    heapq.heapify(events)

    out: list[Row] = []
    limits = terms.monthly_limits or {}
    outstanding = Decimal("0.00")  # what the account owes right now, pending included
    statement_balance = Decimal("0.00")
    carried = Decimal("0.00")  # unpaid statement balance that attracts interest
    rewards_settled = Decimal("0.00")
    spent: dict[tuple[int, int, int], Decimal] = defaultdict(Decimal)
    unsettled: list[Row] = []
    redeem_months = (
        {terms.opened_on.month}
        if terms.rewards.points
        else {terms.opened_on.month, (terms.opened_on.month + 5) % 12 + 1}
    )

    while events:
        when, _, what, payload = heapq.heappop(events)
        if what == _ROW:
            row: Row = payload
            if row.kind == K.REFUND and row.refund_of is not None and row.refund_of.status == S.DECLINED:
                continue
            if row.kind == K.PURCHASE:
                month_key = (row.card, when.year, when.month)
                limit = limits.get(row.card)
                if limit is not None and spent[month_key] + row.amount > limit:
                    row.status, row.decline_reason = S.DECLINED, "over_monthly_limit"
                elif terms.credit_limit is not None and outstanding + row.amount > terms.credit_limit:
                    row.status, row.decline_reason = S.DECLINED, "over_credit_limit"
                elif row.risky and rng.random() < 0.12:
                    row.status, row.decline_reason = S.DECLINED, "suspected_fraud"
                if row.status == S.DECLINED:
                    row.posted_at = None
                    out.append(row)
                    continue
                spent[month_key] += row.amount
            outstanding += row.amount
            if row.posted_at is not None and row.posted_at > now:
                row.status, row.posted_at = S.PENDING, None
            else:
                row.status = S.POSTED
                _reward(terms.rewards, row)
                unsettled.append(row)
            out.append(row)
        elif what == _CLOSE:
            settled = [r for r in unsettled if r.posted_at <= when]
            unsettled = [r for r in unsettled if r.posted_at > when]
            statement_balance += sum((r.amount for r in settled), Decimal("0.00"))
            rewards_settled += sum((r.reward for r in settled if r.reward is not None), Decimal("0.00"))
            if carried > 0 and terms.apr:
                interest = quantize(carried * terms.apr / Decimal(1200))
                if interest > 0:
                    row = _system_row(K.INTEREST, interest, when - dt.timedelta(seconds=30), "Interest on purchases")
                    out.append(row)
                    statement_balance += interest
                    outstanding += interest
            carried = Decimal("0.00")
            if when.month in redeem_months:
                credit = _redeem(terms.rewards, rewards_settled, when.replace(hour=rng.randint(9, 18)))
                if credit is not None:
                    out.append(credit)
                    rewards_settled += credit.reward
                    statement_balance += credit.amount
                    outstanding += credit.amount
            if statement_balance > 0:
                pay_day = when.date() + dt.timedelta(days=rng.randint(9, 23))
                pay_at = dt.datetime.combine(pay_day, dt.time(rng.randint(6, 21), rng.randrange(60)), tzinfo=tz)
                if pay_at <= now:
                    paid = _payment_amount(rng, terms, statement_balance)
                    heapq.heappush(events, (pay_at, seq, _PAY, (paid, statement_balance)))
                    seq += 1
        else:
            amount, owed = payload
            row = _system_row(K.PAYMENT, -amount, when, "Payment received, thank you")
            out.append(row)
            unsettled.append(row)
            outstanding -= amount
            carried = owed - amount if amount < owed else Decimal("0.00")
    return out


def _reward(rules: RewardRules, row: Row) -> None:
    if row.kind == K.PURCHASE:
        quantity, note = rules.earn(row)
        if quantity > 0:
            row.reward, row.reward_note = quantity, note
    elif row.kind == K.REFUND and row.refund_of is not None and row.refund_of.reward:
        share = -row.amount / row.refund_of.amount
        reversed_ = row.refund_of.reward * share
        reversed_ = reversed_.quantize(ONE) + Decimal("0.00") if rules.points else quantize(reversed_)
        if reversed_ > 0:
            unit = "Points" if rules.points else "Cash back"
            row.reward, row.reward_note = -reversed_, f"{unit} reversed: refund from {row.merchant}"


def _redeem(rules: RewardRules, available: Decimal, when: dt.datetime) -> Row | None:
    usable = available * Decimal("0.8") if rules.points else available
    steps = int(usable // rules.step)
    if steps < (5 if rules.points else 1):
        return None
    quantity = quantize(steps * rules.step)
    value = quantize(rules.step_value * steps)
    note = "Points redeemed for a statement credit" if rules.points else "Cash back redeemed as a statement credit"
    row = _system_row(K.CREDIT, -value, when, note)
    row.reward, row.reward_note = -quantity, note
    return row


def _payment_amount(rng: random.Random, terms: AccountTerms, balance: Decimal) -> Decimal:
    if terms.revolver and rng.random() < 0.4:
        minimum = max(Decimal("35.00"), quantize(balance * Decimal("0.02")))
        part = quantize(balance * Decimal(f"{rng.uniform(0.15, 0.55):.4f}"))
        return min(balance, max(minimum, part))
    return balance


def _annual_fees(terms: AccountTerms, start: dt.date, today: dt.date, tz) -> list[Row]:
    if not terms.annual_fee:
        return []
    rows = []
    opened = terms.opened_on
    for year in range(start.year, today.year + 1):
        day = dt.date(year, opened.month, min(opened.day, 28))
        if start <= day < today and day > opened:
            when = dt.datetime(year, day.month, day.day, 4, 0, tzinfo=tz)
            rows.append(_system_row(K.FEE, terms.annual_fee, when, "Annual membership fee"))
    return rows


def _closes(statement_day: int, start: dt.date, today: dt.date, tz):
    for year, month in _months(start, today):
        day = dt.date(year, month, statement_day)
        if start < day <= today:
            yield dt.datetime(year, month, statement_day, 23, 59, 59, tzinfo=tz)
