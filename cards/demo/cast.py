"""Who lives in the demo world: people, their accounts and cards, their logins.

Every demo cardholder's email is under ``demo.example`` (a reserved, never-delivered
domain); that is how ``--reset`` finds the demo world and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from cards.models import Card, Category

from .catalog import BLUE_CASH, BUSINESS_PLATINUM, GOLD, ProductSpec

DEMO_EMAIL_DOMAIN = "demo.example"
PROGRAM_NAME = "Northwind Logistics"
PROGRAM_EMAIL_DOMAIN = f"northwind.{DEMO_EMAIL_DOMAIN}"
STAFF_USERNAME = "demo.staff"

C = Category


@dataclass(frozen=True)
class Person:
    key: str
    legal_name: str
    city: str
    postal_code: str
    phone: str
    email: str = ""

    @property
    def name_on_card(self) -> str:
        return self.legal_name.upper()[:26]


@dataclass(frozen=True)
class Profile:
    """How a card is used: purchases per month at home and their categories."""

    per_month: float
    weights: dict[str, float]
    subscriptions: tuple[str, ...] = ()
    trips: tuple[str, ...] = ()  # foreign cities, roughly one stay a year each
    domestic_trips_per_year: int = 0
    foreign_online: float = 0.0  # chance per month of an online purchase from abroad
    business: bool = False  # business merchants, quiet weekends
    roaming: tuple[str, ...] = ()  # cities a driver buys in, besides home


@dataclass(frozen=True)
class CardPlan:
    holder: str
    role: str = Card.Role.BASIC
    profile: Profile | None = None
    status: str = Card.Status.ACTIVE
    monthly_limit: Decimal | None = None
    months_ago: float | None = None  # issued this long ago; None: when the account opened
    stopped_days_ago: int | None = None  # frozen or closed this many days ago
    printable: bool = False  # its number is printed (the holder has no login yet)


@dataclass(frozen=True)
class AccountPlan:
    key: str
    product: ProductSpec
    holder: str
    statement_day: int
    opened_months_ago: float
    cards: tuple[CardPlan, ...]
    credit_limit: Decimal | None = None
    revolver: bool = False  # pays part of the balance some months, and is charged interest
    business: bool = False


@dataclass(frozen=True)
class LoginPlan:
    username: str
    password: str
    holder: str | None
    description: str
    display_name: str = ""
    email: str = ""
    phone: str = ""
    staff: bool = False
    program_admin: bool = False


def _email(name: str, domain: str = DEMO_EMAIL_DOMAIN) -> str:
    local = ".".join("".join(ch for ch in part if ch.isalpha()) for part in name.lower().split())
    return f"{local}@{domain}"


def _person(key, name, city, postal, phone, domain=DEMO_EMAIL_DOMAIN) -> Person:
    return Person(key, name, city, postal, phone, _email(name, domain))


# --- Personal cardholders ------------------------------------------------------------

PERSONAL_PEOPLE = (
    _person("olivia", "Olivia Bennett", "New York", "10011", "+12125550141"),
    _person("marcus", "Marcus Reyes", "Austin", "78704", "+15125550162"),
    _person("sofia", "Sofia Reyes", "Austin", "78704", "+15125550163"),
    _person("priya", "Priya Natarajan", "Seattle", "98103", "+12065550127"),
    _person("daniel", "Daniel Okafor", "Chicago", "60614", "+13125550184"),
    _person("hannah", "Hannah Kowalski", "Denver", "80206", "+13035550119"),
    _person("ethan", "Ethan Brooks", "Boston", "02116", "+16175550153"),
)

FOODIE_TRAVELLER = Profile(
    per_month=42,
    weights={
        C.DINING: 38,
        C.GROCERIES: 14,
        C.TRANSPORT: 14,
        C.SHOPPING: 14,
        C.ENTERTAINMENT: 7,
        C.HEALTH: 5,
        C.OTHER: 3,
        C.TRAVEL: 5,
    },
    subscriptions=("netflix", "nyt", "gym"),
    trips=("Paris", "London", "Tokyo"),
    domestic_trips_per_year=2,
    foreign_online=0.15,
)
FAMILY_EVERYDAY = Profile(
    per_month=34,
    weights={
        C.GROCERIES: 30,
        C.FUEL: 18,
        C.DINING: 18,
        C.SHOPPING: 16,
        C.ENTERTAINMENT: 6,
        C.HEALTH: 6,
        C.TRANSPORT: 3,
        C.OTHER: 3,
    },
    subscriptions=("spotify", "att", "comcast", "planetfitness"),
    trips=("Mexico City",),
    domestic_trips_per_year=1,
)
SUPPLEMENTARY_SHOPPER = Profile(
    per_month=22,
    weights={C.SHOPPING: 34, C.DINING: 26, C.GROCERIES: 18, C.HEALTH: 8, C.ENTERTAINMENT: 8, C.OTHER: 6},
    subscriptions=("disney", "icloud"),
    foreign_online=0.2,
)
TRAVEL_AND_DINING = Profile(
    per_month=24,
    weights={C.DINING: 46, C.TRAVEL: 10, C.SHOPPING: 18, C.ENTERTAINMENT: 12, C.TRANSPORT: 14},
    trips=("London", "Toronto"),
    domestic_trips_per_year=2,
)
EVERYDAY_CASHBACK = Profile(
    per_month=28,
    weights={C.GROCERIES: 36, C.FUEL: 16, C.TRANSPORT: 16, C.ENTERTAINMENT: 10, C.HEALTH: 10, C.SHOPPING: 12},
    subscriptions=("netflix", "spotify", "verizon", "peloton"),
)
CITY_PROFESSIONAL = Profile(
    per_month=32,
    weights={C.DINING: 32, C.GROCERIES: 22, C.TRANSPORT: 16, C.SHOPPING: 16, C.ENTERTAINMENT: 8, C.HEALTH: 6},
    subscriptions=("netflix", "verizon"),
    trips=("Toronto",),
    domestic_trips_per_year=1,
    foreign_online=0.1,
)
STRETCHED_BUDGET = Profile(
    per_month=22,
    weights={C.GROCERIES: 30, C.FUEL: 16, C.DINING: 20, C.SHOPPING: 20, C.HEALTH: 8, C.OTHER: 6},
    subscriptions=("spotify", "att"),
)

PERSONAL_ACCOUNTS = (
    AccountPlan(
        "olivia-gold",
        GOLD,
        "olivia",
        statement_day=3,
        opened_months_ago=74,
        cards=(CardPlan("olivia", profile=FOODIE_TRAVELLER),),
    ),
    AccountPlan(
        "marcus-cash",
        BLUE_CASH,
        "marcus",
        statement_day=12,
        opened_months_ago=52,
        credit_limit=Decimal("15000.00"),
        cards=(
            CardPlan("marcus", profile=FAMILY_EVERYDAY),
            CardPlan("sofia", role=Card.Role.SUPPLEMENTARY, profile=SUPPLEMENTARY_SHOPPER, months_ago=30),
        ),
    ),
    AccountPlan(
        "priya-gold",
        GOLD,
        "priya",
        statement_day=20,
        opened_months_ago=41,
        cards=(CardPlan("priya", profile=TRAVEL_AND_DINING),),
    ),
    AccountPlan(
        "priya-cash",
        BLUE_CASH,
        "priya",
        statement_day=25,
        opened_months_ago=14,
        credit_limit=Decimal("12000.00"),
        cards=(CardPlan("priya", profile=EVERYDAY_CASHBACK),),
    ),
    AccountPlan(
        "daniel-gold",
        GOLD,
        "daniel",
        statement_day=8,
        opened_months_ago=30,
        cards=(CardPlan("daniel", profile=CITY_PROFESSIONAL, printable=True),),
    ),
    AccountPlan(
        "hannah-cash",
        BLUE_CASH,
        "hannah",
        statement_day=17,
        opened_months_ago=22,
        credit_limit=Decimal("6000.00"),
        revolver=True,
        cards=(CardPlan("hannah", profile=STRETCHED_BUDGET, printable=True),),
    ),
    AccountPlan(
        "ethan-gold",
        GOLD,
        "ethan",
        statement_day=5,
        opened_months_ago=0.3,
        cards=(CardPlan("ethan", status=Card.Status.INACTIVE, printable=True),),
    ),
)

# --- The business program ------------------------------------------------------------

_P = PROGRAM_EMAIL_DOMAIN
EXECUTIVE = Profile(
    per_month=18,
    weights={C.DINING: 40, C.TRANSPORT: 20, C.SERVICES: 25, C.TRAVEL: 15},
    trips=("London", "Toronto"),
    domestic_trips_per_year=5,
    business=True,
)
SALES = Profile(
    per_month=16,
    weights={C.DINING: 48, C.TRANSPORT: 22, C.FUEL: 12, C.SERVICES: 10, C.TRAVEL: 8},
    domestic_trips_per_year=8,
    business=True,
)
FLEET = Profile(
    per_month=14,
    weights={C.FUEL: 62, C.TRANSPORT: 22, C.DINING: 16},
    business=True,
    roaming=("Columbus", "Indianapolis", "Pittsburgh", "Louisville", "Cincinnati", "Dayton", "Toledo", "Fort Wayne"),
)
OFFICE = Profile(
    per_month=5,
    weights={C.SERVICES: 70, C.DINING: 20, C.SHOPPING: 10},
    business=True,
)

GRACE = _person("grace", "Grace Whitfield", "Columbus", "43215", "+16145550101", _P)
SALES_TEAM = (
    ("jamal", "Jamal Carter"),
    ("emily", "Emily Watson"),
    ("rafael", "Rafael Mendes"),
    ("aisha", "Aisha Rahman"),
    ("kevin", "Kevin O'Brien"),
    ("meilin", "Mei Lin Chen"),
    ("lucas", "Lucas Schneider"),
    ("natalie", "Natalie Foster"),
    ("diego", "Diego Hernandez"),
    ("sarah", "Sarah Goldberg"),
)
FLEET_TEAM = (
    ("mike", "Mike Kowalczyk"),
    ("darnell", "Darnell Washington"),
    ("luis", "Luis Ortega"),
    ("brandon", "Brandon Miller"),
    ("tyrone", "Tyrone Jackson"),
    ("cody", "Cody Sullivan"),
    ("andrei", "Andrei Popescu"),
    ("jose", "Jose Ramirez"),
    ("travis", "Travis Henderson"),
    ("ahmed", "Ahmed Hassan"),
    ("kyle", "Kyle Peterson"),
    ("marisol", "Marisol Vega"),
)
OFFICE_TEAM = (
    ("rachel", "Rachel Kim"),
    ("samuel", "Samuel Adeyemi"),
    ("laura", "Laura Fischer"),
    ("nikhil", "Nikhil Mehta"),
    ("jennifer", "Jennifer Park"),
    ("owen", "Owen Murphy"),
    ("chloe", "Chloe Dubois"),
    ("victor", "Victor Nguyen"),
)
_COLUMBUS_ZIPS = ("43215", "43201", "43202", "43206", "43209", "43212", "43214", "43085", "43017", "43081", "43123")

EMPLOYEES = tuple(
    _person(key, name, "Columbus", _COLUMBUS_ZIPS[i % len(_COLUMBUS_ZIPS)], f"+161455501{i + 10:02d}", _P)
    for i, (key, name) in enumerate(SALES_TEAM + FLEET_TEAM + OFFICE_TEAM)
)

# Varied on purpose: hired later (months_ago), a frozen card, a closed card, and the
# monthly limits an administrator would actually set for each job.
_SALES_CARDS = (
    CardPlan("jamal", Card.Role.EMPLOYEE, SALES, monthly_limit=Decimal("5000.00")),
    CardPlan("emily", Card.Role.EMPLOYEE, SALES, monthly_limit=Decimal("5000.00"), printable=True),
    CardPlan("rafael", Card.Role.EMPLOYEE, SALES, monthly_limit=Decimal("7500.00")),
    CardPlan("aisha", Card.Role.EMPLOYEE, SALES, monthly_limit=Decimal("5000.00"), months_ago=20),
    CardPlan(
        "kevin",
        Card.Role.EMPLOYEE,
        SALES,
        monthly_limit=Decimal("3000.00"),
        status=Card.Status.CLOSED,
        stopped_days_ago=130,
    ),
    CardPlan("meilin", Card.Role.EMPLOYEE, SALES, monthly_limit=Decimal("5000.00")),
    CardPlan("lucas", Card.Role.EMPLOYEE, SALES, monthly_limit=Decimal("3500.00"), months_ago=9),
    CardPlan("natalie", Card.Role.EMPLOYEE, SALES, monthly_limit=Decimal("5000.00")),
    CardPlan("diego", Card.Role.EMPLOYEE, SALES, monthly_limit=Decimal("4000.00"), months_ago=15),
    CardPlan("sarah", Card.Role.EMPLOYEE, SALES, monthly_limit=Decimal("7500.00")),
)
_FLEET_CARDS = (
    CardPlan("mike", Card.Role.EMPLOYEE, FLEET, monthly_limit=Decimal("4000.00"), printable=True),
    CardPlan("darnell", Card.Role.EMPLOYEE, FLEET, monthly_limit=Decimal("4000.00")),
    CardPlan("luis", Card.Role.EMPLOYEE, FLEET, monthly_limit=Decimal("3500.00")),
    CardPlan(
        "brandon",
        Card.Role.EMPLOYEE,
        FLEET,
        monthly_limit=Decimal("3500.00"),
        status=Card.Status.FROZEN,
        stopped_days_ago=6,
    ),
    CardPlan("tyrone", Card.Role.EMPLOYEE, FLEET, monthly_limit=Decimal("4000.00")),
    CardPlan("cody", Card.Role.EMPLOYEE, FLEET, monthly_limit=Decimal("3000.00"), months_ago=11),
    CardPlan("andrei", Card.Role.EMPLOYEE, FLEET, monthly_limit=Decimal("4000.00")),
    CardPlan("jose", Card.Role.EMPLOYEE, FLEET, monthly_limit=Decimal("3500.00"), months_ago=26),
    CardPlan("travis", Card.Role.EMPLOYEE, FLEET, monthly_limit=Decimal("4000.00")),
    CardPlan("ahmed", Card.Role.EMPLOYEE, FLEET, monthly_limit=Decimal("3000.00"), months_ago=4),
    CardPlan("kyle", Card.Role.EMPLOYEE, FLEET, monthly_limit=Decimal("3500.00")),
    CardPlan("marisol", Card.Role.EMPLOYEE, FLEET, monthly_limit=Decimal("4000.00"), months_ago=17),
)
IT_TOOLS = Profile(
    per_month=5,
    weights=OFFICE.weights,
    subscriptions=("aws", "m365", "slack", "zoom"),
    business=True,
)
_OFFICE_CARDS = (
    CardPlan("rachel", Card.Role.EMPLOYEE, OFFICE, monthly_limit=Decimal("3000.00"), printable=True),
    CardPlan("samuel", Card.Role.EMPLOYEE, OFFICE, monthly_limit=Decimal("2500.00")),
    CardPlan("laura", Card.Role.EMPLOYEE, replace(OFFICE, subscriptions=("adobe",)), monthly_limit=Decimal("3000.00")),
    CardPlan("nikhil", Card.Role.EMPLOYEE, IT_TOOLS, monthly_limit=Decimal("10000.00")),
    CardPlan("jennifer", Card.Role.EMPLOYEE, OFFICE, monthly_limit=Decimal("2000.00"), months_ago=7),
    CardPlan("owen", Card.Role.EMPLOYEE, replace(OFFICE, subscriptions=("samsara",)), monthly_limit=Decimal("4000.00")),
    CardPlan("chloe", Card.Role.EMPLOYEE, OFFICE, monthly_limit=Decimal("2500.00")),
    CardPlan("victor", Card.Role.EMPLOYEE, OFFICE, monthly_limit=Decimal("3000.00"), months_ago=28),
)

BUSINESS_ACCOUNTS = (
    AccountPlan(
        "northwind-sales",
        BUSINESS_PLATINUM,
        "grace",
        statement_day=26,
        opened_months_ago=62,
        business=True,
        cards=(CardPlan("grace", profile=EXECUTIVE), *_SALES_CARDS),
    ),
    AccountPlan(
        "northwind-fleet",
        BUSINESS_PLATINUM,
        "grace",
        statement_day=26,
        opened_months_ago=62,
        business=True,
        cards=_FLEET_CARDS,
    ),
    AccountPlan(
        "northwind-office",
        BUSINESS_PLATINUM,
        "grace",
        statement_day=26,
        opened_months_ago=48,
        business=True,
        cards=_OFFICE_CARDS,
    ),
)

PEOPLE: tuple[Person, ...] = (*PERSONAL_PEOPLE, GRACE, *EMPLOYEES)
ACCOUNTS: tuple[AccountPlan, ...] = (*PERSONAL_ACCOUNTS, *BUSINESS_ACCOUNTS)

# --- Logins --------------------------------------------------------------------------
# Demo passwords are public (they are printed and live in this file); each is distinct
# and passes the portal's own password validators, which the builder runs on them.

LOGINS = (
    LoginPlan("demo.gold", "Gold-Member-Demo-2026", "olivia", "Gold Card (charge, points), trips abroad"),
    LoginPlan("demo.cash", "Blue-Cash-Demo-2026", "marcus", "Blue Cash credit card with a supplementary card"),
    LoginPlan("demo.supp", "Second-Holder-Demo-2026", "sofia", "Supplementary card on demo.cash's account"),
    LoginPlan("demo.both", "Two-Accounts-Demo-2026", "priya", "Gold Card and Blue Cash credit card"),
    LoginPlan(
        "demo.admin1",
        "Northwind-Admin-One-26",
        "grace",
        f"{PROGRAM_NAME} administrator, with her own card",
        program_admin=True,
    ),
    LoginPlan(
        "demo.admin2",
        "Northwind-Admin-Two-26",
        None,
        f"{PROGRAM_NAME} administrator, no card",
        display_name="Tom Alvarez",
        email=f"tom.alvarez@{PROGRAM_EMAIL_DOMAIN}",
        phone="+16145550102",
        program_admin=True,
    ),
    LoginPlan("demo.employee", "Northwind-Sales-Team-26", "jamal", f"{PROGRAM_NAME} employee card"),
    LoginPlan(
        STAFF_USERNAME,
        "Staff-Console-Demo-2026",
        None,
        "Staff superuser for the admin",
        display_name="Demo Support Agent",
        email=f"support.agent@{DEMO_EMAIL_DOMAIN}",
        staff=True,
    ),
)

DEMO_USERNAMES = tuple(login.username for login in LOGINS)
