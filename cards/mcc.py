"""Merchant category codes (ISO 18245) to the portal's spending categories.

Rewards rates, blocked categories and the spending chart all use the category, so it
is decided here, once, from the MCC the network sends."""

from __future__ import annotations

from portal.digits import is_digits

from .models import Category

C = Category

_EXACT: dict[str, str] = {
    # Travel: airlines, travel agencies, cruise lines, lodging, car rental.
    "4411": C.TRAVEL,
    "4511": C.TRAVEL,
    "4582": C.TRAVEL,
    "4722": C.TRAVEL,
    "4723": C.TRAVEL,
    "7011": C.TRAVEL,
    "7012": C.TRAVEL,
    "7512": C.TRAVEL,
    "7513": C.TRAVEL,
    "7519": C.TRAVEL,
    # Transport: transit, rail, taxis and rides, buses, tolls, parking, couriers.
    "4011": C.TRANSPORT,
    "4111": C.TRANSPORT,
    "4112": C.TRANSPORT,
    "4121": C.TRANSPORT,
    "4131": C.TRANSPORT,
    "4214": C.TRANSPORT,
    "4457": C.TRANSPORT,
    "4468": C.TRANSPORT,
    "4784": C.TRANSPORT,
    "4789": C.TRANSPORT,
    "7523": C.TRANSPORT,
    # Fuel.
    "5172": C.FUEL,
    "5541": C.FUEL,
    "5542": C.FUEL,
    "5552": C.FUEL,
    "5983": C.FUEL,
    # Groceries, including wholesale clubs.
    "5300": C.GROCERIES,
    "5411": C.GROCERIES,
    "5422": C.GROCERIES,
    "5441": C.GROCERIES,
    "5451": C.GROCERIES,
    "5462": C.GROCERIES,
    "5499": C.GROCERIES,
    # Dining.
    "5811": C.DINING,
    "5812": C.DINING,
    "5813": C.DINING,
    "5814": C.DINING,
    # Entertainment: digital goods and streaming, cinemas, shows, sports, attractions.
    "4899": C.ENTERTAINMENT,
    "5815": C.ENTERTAINMENT,
    "5816": C.ENTERTAINMENT,
    "5817": C.ENTERTAINMENT,
    "5818": C.ENTERTAINMENT,
    "7832": C.ENTERTAINMENT,
    "7841": C.ENTERTAINMENT,
    "7922": C.ENTERTAINMENT,
    "7929": C.ENTERTAINMENT,
    "7932": C.ENTERTAINMENT,
    "7933": C.ENTERTAINMENT,
    "7941": C.ENTERTAINMENT,
    "7991": C.ENTERTAINMENT,
    "7994": C.ENTERTAINMENT,
    "7996": C.ENTERTAINMENT,
    "7998": C.ENTERTAINMENT,
    "7999": C.ENTERTAINMENT,
    # Utilities and telecom.
    "4812": C.UTILITIES,
    "4814": C.UTILITIES,
    "4900": C.UTILITIES,
    # Health: pharmacies, doctors, dentists, hospitals, clubs and gyms.
    "5122": C.HEALTH,
    "5912": C.HEALTH,
    "5975": C.HEALTH,
    "5976": C.HEALTH,
    "7997": C.HEALTH,
    "8011": C.HEALTH,
    "8021": C.HEALTH,
    "8031": C.HEALTH,
    "8041": C.HEALTH,
    "8042": C.HEALTH,
    "8043": C.HEALTH,
    "8049": C.HEALTH,
    "8050": C.HEALTH,
    "8062": C.HEALTH,
    "8071": C.HEALTH,
    "8099": C.HEALTH,
    # Business services: shipping, networks, office supplies, software, advertising,
    # professional services.
    "4215": C.SERVICES,
    "4816": C.SERVICES,
    "5044": C.SERVICES,
    "5045": C.SERVICES,
    "5085": C.SERVICES,
    "5111": C.SERVICES,
    "5734": C.SERVICES,
    "5943": C.SERVICES,
    "7311": C.SERVICES,
    "7333": C.SERVICES,
    "7338": C.SERVICES,
    "7339": C.SERVICES,
    "7361": C.SERVICES,
    "7372": C.SERVICES,
    "7392": C.SERVICES,
    "7399": C.SERVICES,
    "8111": C.SERVICES,
    "8931": C.SERVICES,
    "8999": C.SERVICES,
    # Inside the retail range but not shopping: news dealers.
    "5994": C.OTHER,
}

# Ranges: airlines 3000-3299, car rental 3351-3500, lodging 3501-3999 by brand.
_RANGES: tuple[tuple[int, int, str], ...] = (
    (3000, 3999, C.TRAVEL),
    (5200, 5799, C.SHOPPING),  # home, department, clothing, furniture, electronics stores
    (5900, 5999, C.SHOPPING),  # other retail
)


def category_for_mcc(mcc: str) -> str:
    """The category for a 4-digit MCC; "other" for codes we do not group."""
    if mcc in _EXACT:
        return _EXACT[mcc]
    if len(mcc) == 4 and is_digits(mcc):
        code = int(mcc)
        for low, high, category in _RANGES:
            if low <= code <= high:
                return category
    return C.OTHER
