"""The demo world's fixed reference data: products, merchants, exchange rates.

Merchant names are those of real, widely known businesses so that activity pages look
like a real statement; MCCs are the ISO 18245 codes those merchants typically use.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from cards.models import CardProduct, Category

# --- Products --------------------------------------------------------------------------


@dataclass(frozen=True)
class ProductSpec:
    code: str
    name: str
    kind: str
    segment: str
    rewards_kind: str
    base_earn_rate: Decimal
    earn_rates: dict[str, Decimal]
    annual_fee: Decimal
    card_colour: str
    annual_rate: Decimal | None = None
    redemption_step: int = 1000
    redemption_step_value: Decimal = Decimal("10.00")


GOLD = ProductSpec(
    code="gold-charge",
    name="Gold Card",
    kind=CardProduct.Kind.CHARGE,
    segment=CardProduct.Segment.PERSONAL,
    rewards_kind=CardProduct.RewardsKind.POINTS,
    base_earn_rate=Decimal("1.0000"),
    earn_rates={
        Category.DINING: Decimal("4.0000"),
        Category.GROCERIES: Decimal("4.0000"),
        Category.TRAVEL: Decimal("3.0000"),
    },
    annual_fee=Decimal("325.00"),
    card_colour="#b08d3c",
)
BLUE_CASH = ProductSpec(
    code="blue-cash",
    name="Blue Cash Credit Card",
    kind=CardProduct.Kind.CREDIT,
    segment=CardProduct.Segment.PERSONAL,
    rewards_kind=CardProduct.RewardsKind.CASHBACK,
    base_earn_rate=Decimal("0.0100"),
    earn_rates={
        Category.GROCERIES: Decimal("0.0300"),
        Category.FUEL: Decimal("0.0300"),
        Category.TRANSPORT: Decimal("0.0300"),
        Category.ENTERTAINMENT: Decimal("0.0300"),
    },
    annual_fee=Decimal("0.00"),
    card_colour="#1f6fb2",
    annual_rate=Decimal("24.99"),
    redemption_step=25,
    redemption_step_value=Decimal("25.00"),
)
BUSINESS_PLATINUM = ProductSpec(
    code="business-platinum",
    name="Business Platinum Card",
    kind=CardProduct.Kind.CHARGE,
    segment=CardProduct.Segment.BUSINESS,
    rewards_kind=CardProduct.RewardsKind.POINTS,
    base_earn_rate=Decimal("1.0000"),
    earn_rates={
        Category.TRAVEL: Decimal("5.0000"),
        Category.SERVICES: Decimal("1.5000"),
        Category.FUEL: Decimal("1.5000"),
    },
    annual_fee=Decimal("695.00"),
    card_colour="#6d7378",
)
PRODUCTS = (GOLD, BLUE_CASH, BUSINESS_PLATINUM)


# --- Merchants -------------------------------------------------------------------------


@dataclass(frozen=True)
class Merchant:
    name: str
    mcc: str
    category: str
    low: float  # typical amount range in the merchant's currency
    high: float
    present: float = 0.9  # share of purchases made with the card in hand
    city: str = ""  # empty: the cardholder's home city
    country: str = "US"
    refundable: bool = False


def _m(name, mcc, category, low, high, present=0.9, city="", country="US", refundable=False) -> Merchant:
    return Merchant(name, mcc, category, low, high, present, city, country, refundable)


C = Category
# Local merchants: bought in the cardholder's home city (chains found everywhere).
LOCAL: dict[str, tuple[Merchant, ...]] = {
    C.DINING: (
        _m("Starbucks", "5814", C.DINING, 4.25, 14.50, 0.85),
        _m("Chipotle Mexican Grill", "5814", C.DINING, 9.80, 24.00, 0.8),
        _m("Sweetgreen", "5814", C.DINING, 12.50, 21.00, 0.7),
        _m("Shake Shack", "5814", C.DINING, 11.00, 38.00),
        _m("The Cheesecake Factory", "5812", C.DINING, 42.00, 165.00, 0.98),
        _m("Olive Garden", "5812", C.DINING, 35.00, 120.00, 0.98),
        _m("Panera Bread", "5814", C.DINING, 9.50, 28.00, 0.85),
        _m("DoorDash", "5812", C.DINING, 18.00, 72.00, 0.0),
        _m("Uber Eats", "5812", C.DINING, 16.00, 64.00, 0.0),
        _m("Blue Bottle Coffee", "5814", C.DINING, 5.00, 16.00),
        _m("Ruth's Chris Steak House", "5812", C.DINING, 95.00, 340.00, 0.99),
        _m("Local Tap House", "5813", C.DINING, 18.00, 86.00, 0.97),
    ),
    C.GROCERIES: (
        _m("Whole Foods Market", "5411", C.GROCERIES, 18.00, 210.00, 0.95),
        _m("Trader Joe's", "5411", C.GROCERIES, 22.00, 140.00, 0.99),
        _m("Kroger", "5411", C.GROCERIES, 25.00, 190.00, 0.97),
        _m("Safeway", "5411", C.GROCERIES, 15.00, 160.00, 0.97),
        _m("Instacart", "5411", C.GROCERIES, 45.00, 220.00, 0.0),
        _m("Costco Wholesale", "5300", C.GROCERIES, 60.00, 420.00, 0.99),
    ),
    C.TRANSPORT: (
        _m("Uber Trip", "4121", C.TRANSPORT, 9.00, 48.00, 0.0),
        _m("Lyft Ride", "4121", C.TRANSPORT, 8.50, 42.00, 0.0),
        _m("E-ZPass Toll", "4784", C.TRANSPORT, 10.00, 35.00, 0.0),
        _m("SpotHero Parking", "7523", C.TRANSPORT, 12.00, 45.00, 0.0),
        _m("Amtrak", "4112", C.TRANSPORT, 39.00, 189.00, 0.3),
    ),
    C.FUEL: (
        _m("Shell Oil", "5541", C.FUEL, 28.00, 78.00, 1.0),
        _m("Chevron", "5541", C.FUEL, 30.00, 82.00, 1.0),
        _m("ExxonMobil", "5542", C.FUEL, 25.00, 74.00, 1.0),
        _m("BP Gas Station", "5541", C.FUEL, 26.00, 70.00, 1.0),
    ),
    C.SHOPPING: (
        _m("Amazon.com", "5942", C.SHOPPING, 9.99, 180.00, 0.0, "Seattle", refundable=True),
        _m("AMZN Mktp US", "5999", C.SHOPPING, 12.00, 95.00, 0.0, "Seattle", refundable=True),
        _m("Target", "5310", C.SHOPPING, 14.00, 160.00, 0.95, refundable=True),
        _m("Apple Store", "5732", C.SHOPPING, 29.00, 1299.00, 0.9, refundable=True),
        _m("Best Buy", "5732", C.SHOPPING, 25.00, 650.00, 0.9, refundable=True),
        _m("Nordstrom", "5311", C.SHOPPING, 45.00, 380.00, 0.85, refundable=True),
        _m("The Home Depot", "5200", C.SHOPPING, 18.00, 340.00, 0.97, refundable=True),
        _m("Uniqlo", "5651", C.SHOPPING, 25.00, 140.00, 0.9, refundable=True),
        _m("Barnes & Noble", "5942", C.SHOPPING, 12.00, 60.00),
        _m("Petco", "5995", C.SHOPPING, 18.00, 95.00),
    ),
    C.ENTERTAINMENT: (
        _m("AMC Theatres", "7832", C.ENTERTAINMENT, 14.00, 48.00, 0.6),
        _m("Ticketmaster", "7922", C.ENTERTAINMENT, 45.00, 320.00, 0.0),
        _m("Steam Games", "5816", C.ENTERTAINMENT, 4.99, 59.99, 0.0, "Bellevue"),
        _m("Regal Cinemas", "7832", C.ENTERTAINMENT, 13.00, 42.00, 0.7),
    ),
    C.HEALTH: (
        _m("CVS Pharmacy", "5912", C.HEALTH, 6.00, 85.00, 0.97),
        _m("Walgreens", "5912", C.HEALTH, 5.00, 70.00, 0.97),
        _m("One Medical", "8011", C.HEALTH, 25.00, 199.00, 0.2),
        _m("Smile Dental Group", "8021", C.HEALTH, 40.00, 420.00, 0.95),
    ),
    C.OTHER: (
        _m("USPS PO", "9402", C.OTHER, 4.50, 38.00),
        _m("Great Clips", "7230", C.OTHER, 18.00, 45.00),
        _m("American Red Cross", "8398", C.OTHER, 25.00, 150.00, 0.0, "Washington"),
    ),
}

# Travel booked from home (airlines, hotels, car rental): the city is the destination.
TRAVEL: tuple[Merchant, ...] = (
    _m("Delta Air Lines", "3058", C.TRAVEL, 149.00, 780.00, 0.0, "Atlanta"),
    _m("United Airlines", "3000", C.TRAVEL, 139.00, 820.00, 0.0, "Chicago"),
    _m("American Airlines", "3001", C.TRAVEL, 129.00, 760.00, 0.0, "Fort Worth"),
    _m("Southwest Airlines", "3066", C.TRAVEL, 79.00, 420.00, 0.0, "Dallas"),
    _m("Marriott Hotels", "3509", C.TRAVEL, 189.00, 980.00, 0.95, "Chicago"),
    _m("Hilton Hotels", "3504", C.TRAVEL, 169.00, 860.00, 0.95, "San Francisco"),
    _m("Hyatt Regency", "3640", C.TRAVEL, 199.00, 1040.00, 0.95, "Denver"),
    _m("Airbnb", "7011", C.TRAVEL, 180.00, 1250.00, 0.0, "San Francisco"),
    _m("Hertz Rent-A-Car", "3357", C.TRAVEL, 110.00, 540.00, 0.9, "Orlando"),
    _m("Enterprise Rent-A-Car", "3405", C.TRAVEL, 95.00, 480.00, 0.9, "Phoenix"),
    _m("Expedia", "4722", C.TRAVEL, 120.00, 900.00, 0.0, "Seattle"),
)

# Fixed monthly charges, billed card-not-present: (merchant, amount, extra yearly rise).
SUBSCRIPTIONS: dict[str, tuple[Merchant, Decimal]] = {
    "netflix": (_m("Netflix.com", "4899", C.ENTERTAINMENT, 0, 0, 0.0, "Los Gatos"), Decimal("15.49")),
    "spotify": (_m("Spotify USA", "5815", C.ENTERTAINMENT, 0, 0, 0.0, "New York"), Decimal("11.99")),
    "disney": (_m("Disney Plus", "4899", C.ENTERTAINMENT, 0, 0, 0.0, "Burbank"), Decimal("13.99")),
    "icloud": (_m("Apple.com/bill", "5818", C.ENTERTAINMENT, 0, 0, 0.0, "Cupertino"), Decimal("2.99")),
    "nyt": (_m("The New York Times", "5994", C.OTHER, 0, 0, 0.0, "New York"), Decimal("17.00")),
    "verizon": (_m("Verizon Wireless", "4814", C.UTILITIES, 0, 0, 0.0, "Basking Ridge"), Decimal("85.00")),
    "att": (_m("AT&T Wireless", "4814", C.UTILITIES, 0, 0, 0.0, "Dallas"), Decimal("72.00")),
    "comcast": (_m("Comcast Xfinity", "4899", C.UTILITIES, 0, 0, 0.0, "Philadelphia"), Decimal("79.99")),
    "coned": (_m("Con Edison", "4900", C.UTILITIES, 0, 0, 0.0, "New York"), Decimal("96.00")),
    "gym": (_m("Equinox", "7997", C.HEALTH, 0, 0, 0.0, ""), Decimal("245.00")),
    "planetfitness": (_m("Planet Fitness", "7997", C.HEALTH, 0, 0, 0.0, ""), Decimal("24.99")),
    "peloton": (_m("Peloton Membership", "7997", C.HEALTH, 0, 0, 0.0, "New York"), Decimal("44.00")),
    # Business tools, on employee cards.
    "slack": (_m("Slack Technologies", "5734", C.SERVICES, 0, 0, 0.0, "San Francisco"), Decimal("87.50")),
    "m365": (_m("Microsoft 365", "5734", C.SERVICES, 0, 0, 0.0, "Redmond"), Decimal("264.00")),
    "aws": (_m("Amazon Web Services", "7399", C.SERVICES, 0, 0, 0.0, "Seattle"), Decimal("1840.00")),
    "zoom": (_m("Zoom.us", "4816", C.SERVICES, 0, 0, 0.0, "San Jose"), Decimal("149.90")),
    "adobe": (_m("Adobe Creative Cloud", "5734", C.SERVICES, 0, 0, 0.0, "San Jose"), Decimal("59.99")),
    "samsara": (_m("Samsara Fleet", "7399", C.SERVICES, 0, 0, 0.0, "San Francisco"), Decimal("1260.00")),
}
# Subscriptions whose bill varies month to month (utilities): spread around the amount.
VARIABLE_SUBSCRIPTIONS = frozenset({"coned", "aws", "verizon", "att"})

# Business spend for employees of the logistics company.
BUSINESS: dict[str, tuple[Merchant, ...]] = {
    C.SERVICES: (
        _m("FedEx Office", "4215", C.SERVICES, 18.00, 420.00, 0.6),
        _m("UPS Store", "4215", C.SERVICES, 12.00, 260.00, 0.8),
        _m("Staples", "5943", C.SERVICES, 15.00, 380.00, 0.8),
        _m("Google Ads", "7311", C.SERVICES, 150.00, 2400.00, 0.0, "Mountain View"),
        _m("LinkedIn Jobs", "7311", C.SERVICES, 199.00, 1200.00, 0.0, "Sunnyvale"),
        _m("DocuSign", "5734", C.SERVICES, 25.00, 120.00, 0.0, "San Francisco"),
        _m("Grainger Industrial Supply", "5085", C.SERVICES, 45.00, 1800.00, 0.3, "Lake Forest"),
        _m("Uline Shipping Supplies", "5111", C.SERVICES, 60.00, 1450.00, 0.0, "Pleasant Prairie"),
    ),
    C.FUEL: (
        _m("Pilot Travel Center", "5541", C.FUEL, 180.00, 720.00, 1.0),
        _m("Love's Travel Stop", "5541", C.FUEL, 160.00, 690.00, 1.0),
        _m("TA Petro Truck Stop", "5542", C.FUEL, 150.00, 650.00, 1.0),
        _m("Speedway", "5541", C.FUEL, 35.00, 95.00, 1.0),
    ),
    C.TRANSPORT: (
        _m("Ohio Turnpike Toll", "4784", C.TRANSPORT, 6.00, 48.00, 1.0, "Berea"),
        _m("Uber Trip", "4121", C.TRANSPORT, 12.00, 65.00, 0.0),
        _m("Airport Parking CMH", "7523", C.TRANSPORT, 24.00, 120.00, 1.0, "Columbus"),
        _m("CAT Scale", "4214", C.TRANSPORT, 12.00, 16.00, 1.0, "Walcott"),
    ),
}


# --- Home cities and trips -------------------------------------------------------------


@dataclass(frozen=True)
class Trip:
    """A stay abroad: purchases are made in ``currency`` and converted to USD."""

    city: str
    country: str
    currency: str
    rate: tuple[float, float]  # USD per unit, low and high over the period
    merchants: tuple[Merchant, ...] = field(default_factory=tuple)
    tz: str = ""  # purchases happen at local hours there


def _f(name, mcc, category, low, high, present=0.95) -> Merchant:
    return Merchant(name, mcc, category, low, high, present)


TRIPS: tuple[Trip, ...] = (
    Trip(
        "Paris",
        "FR",
        "EUR",
        (1.04, 1.12),
        (
            _f("Hotel Le Marais", "7011", C.TRAVEL, 190.00, 540.00),
            _f("Café de Flore", "5812", C.DINING, 14.00, 62.00),
            _f("Le Comptoir du Relais", "5812", C.DINING, 38.00, 160.00),
            _f("Monoprix", "5411", C.GROCERIES, 8.00, 55.00),
            _f("RATP Metro", "4111", C.TRANSPORT, 2.15, 21.00),
            _f("G7 Taxi", "4121", C.TRANSPORT, 14.00, 58.00),
            _f("Galeries Lafayette", "5311", C.SHOPPING, 45.00, 420.00),
            _f("Musée du Louvre", "7991", C.ENTERTAINMENT, 22.00, 44.00, 0.3),
            _f("Pharmacie Monge", "5912", C.HEALTH, 6.00, 38.00),
        ),
        "Europe/Paris",
    ),
    Trip(
        "London",
        "GB",
        "GBP",
        (1.21, 1.33),
        (
            _f("The Hoxton Holborn", "7011", C.TRAVEL, 180.00, 460.00),
            _f("Dishoom", "5812", C.DINING, 24.00, 95.00),
            _f("Pret A Manger", "5814", C.DINING, 5.50, 16.00),
            _f("Tesco Express", "5411", C.GROCERIES, 4.00, 38.00),
            _f("TfL Travel Charge", "4111", C.TRANSPORT, 2.80, 15.60, 1.0),
            _f("Addison Lee", "4121", C.TRANSPORT, 18.00, 72.00, 0.0),
            _f("Liberty London", "5311", C.SHOPPING, 30.00, 280.00),
            _f("National Theatre", "7922", C.ENTERTAINMENT, 25.00, 120.00, 0.2),
        ),
        "Europe/London",
    ),
    Trip(
        "Tokyo",
        "JP",
        "JPY",
        (0.0064, 0.0073),
        (
            _f("Park Hotel Tokyo", "7011", C.TRAVEL, 28000, 72000),
            _f("Ichiran Ramen", "5814", C.DINING, 1200, 3400),
            _f("Sushi Dai", "5812", C.DINING, 4500, 14000),
            _f("FamilyMart", "5411", C.GROCERIES, 350, 2600),
            _f("JR East Suica", "4112", C.TRANSPORT, 1000, 14500),
            _f("Bic Camera", "5732", C.SHOPPING, 3000, 46000),
            _f("Uniqlo Ginza", "5651", C.SHOPPING, 1990, 15000),
            _f("teamLab Planets", "7991", C.ENTERTAINMENT, 3800, 7600, 0.2),
        ),
        "Asia/Tokyo",
    ),
    Trip(
        "Toronto",
        "CA",
        "CAD",
        (0.71, 0.76),
        (
            _f("Fairmont Royal York", "3516", C.TRAVEL, 260.00, 690.00),
            _f("Tim Hortons", "5814", C.DINING, 3.50, 14.00),
            _f("Canoe Restaurant", "5812", C.DINING, 85.00, 280.00),
            _f("Loblaws", "5411", C.GROCERIES, 12.00, 90.00),
            _f("TTC Presto", "4111", C.TRANSPORT, 3.35, 13.00, 1.0),
            _f("Hudson's Bay", "5311", C.SHOPPING, 40.00, 260.00),
        ),
        "America/Toronto",
    ),
    Trip(
        "Mexico City",
        "MX",
        "MXN",
        (0.049, 0.060),
        (
            _f("Hotel Condesa DF", "7011", C.TRAVEL, 3200, 7800),
            _f("Pujol", "5812", C.DINING, 2400, 6800),
            _f("Taquería Orinoco", "5814", C.DINING, 140, 520),
            _f("OXXO", "5499", C.GROCERIES, 45, 380),
            _f("Uber Trip MX", "4121", C.TRANSPORT, 70, 420, 0.0),
            _f("El Palacio de Hierro", "5311", C.SHOPPING, 600, 6400),
        ),
        "America/Mexico_City",
    ),
)
TRIPS_BY_CITY = {trip.city: trip for trip in TRIPS}

HOME_TIME_ZONES = {
    "New York": "America/New_York",
    "Boston": "America/New_York",
    "Columbus": "America/New_York",
    "Chicago": "America/Chicago",
    "Austin": "America/Chicago",
    "Denver": "America/Denver",
    "Seattle": "America/Los_Angeles",
}

# Cards used abroad now and then for online purchases from foreign sellers.
FOREIGN_ONLINE: tuple[tuple[Merchant, str, tuple[float, float]], ...] = (
    (Merchant("Etsy UK Seller", "5999", C.SHOPPING, 12.00, 80.00, 0.0, "London", "GB"), "GBP", (1.21, 1.33)),
    (Merchant("Zalando SE", "5651", C.SHOPPING, 25.00, 160.00, 0.0, "Berlin", "DE"), "EUR", (1.04, 1.12)),
    (Merchant("Booking.com", "4722", C.TRAVEL, 90.00, 640.00, 0.0, "Amsterdam", "NL"), "EUR", (1.04, 1.12)),
)
