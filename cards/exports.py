"""Transactions as files: CSV for spreadsheets, OFX 2.2 (XML) for money-management and
accounting software.

Both name cards by their last 4 digits only and the account by its reference (never a
card number). Amounts are Decimal strings in the account currency, signed as on the
portal in CSV (a purchase is positive, a credit negative) and as OFX expects in OFX
(from the cardholder's side: a purchase is a negative amount).
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Iterable, Iterator
from decimal import Decimal
from xml.sax.saxutils import escape

from django.conf import settings
from django.utils import timezone

from .models import CardAccount, Category, Transaction

CSV_HEADER = [
    "Date",
    "Posted date",
    "Description",
    "Card",
    "Category",
    "Type",
    "Status",
    "Amount",
    "Currency",
    "Foreign amount",
    "Foreign currency",
    "Reference",
]

# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection):
# merchant names come from the card network, so text cells are defused with a quote.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _text(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value


class _Echo:
    def write(self, value: str) -> str:
        return value


def _local_date(value: dt.datetime | None) -> str:
    return timezone.localtime(value).date().isoformat() if value else ""


def transactions_csv(transactions: Iterable[Transaction]) -> Iterator[str]:
    """CSV lines, header first, for a streaming response. The byte-order mark lets
    spreadsheet programs read the "••••" of the card column as UTF-8."""
    writer = csv.writer(_Echo())
    labels = dict(Category.choices)
    yield "\ufeff" + writer.writerow(CSV_HEADER)
    for txn in transactions:
        yield writer.writerow(
            [
                _local_date(txn.transacted_at),
                _local_date(txn.posted_at),
                _text(txn.merchant_name or txn.get_kind_display()),
                f"•••• {txn.card.last4}" if txn.card_id else "",
                labels.get(txn.category, txn.category),
                txn.get_kind_display(),
                txn.get_status_display(),
                f"{txn.amount:.2f}",
                txn.currency,
                f"{txn.original_amount:.2f}" if txn.original_amount is not None else "",
                txn.original_currency,
                _text(txn.network_id),
            ]
        )


# --- OFX ---------------------------------------------------------------------------------

_TRNTYPE = {
    Transaction.Kind.PURCHASE: "DEBIT",
    Transaction.Kind.REFUND: "CREDIT",
    Transaction.Kind.PAYMENT: "PAYMENT",
    Transaction.Kind.PAYMENT_RETURN: "DEBIT",
    Transaction.Kind.CREDIT: "CREDIT",
    Transaction.Kind.FEE: "FEE",
    Transaction.Kind.INTEREST: "INT",
}


def ofx_datetime(value: dt.datetime) -> str:
    utc = value.astimezone(dt.UTC)
    return utc.strftime("%Y%m%d%H%M%S") + f".{utc.microsecond // 1000:03d}[0:UTC]"


def _ofx_amount(value: Decimal) -> str:
    return f"{value:.2f}"


# Characters XML 1.0 does not allow at all (escaping cannot help): C0 controls other than
# tab and newlines, lone surrogates, U+FFFE and U+FFFF. One of them in a merchant name
# would make the whole file unreadable to the cardholder's money software.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _element(name: str, value: str, limit: int | None = None) -> str:
    value = " ".join(_NOT_XML.sub("", value).split())  # OFX text is one line
    if limit is not None:
        value = value[:limit]
    return f"<{name}>{escape(value)}</{name}>"


def _memo(txn: Transaction, labels: dict[str, str]) -> str:
    parts = [labels.get(txn.category, txn.category)]
    if txn.card_id:
        parts.append(f"card ending {txn.card.last4}")
    if txn.original_amount is not None:
        parts.append(f"{txn.original_amount:.2f} {txn.original_currency}")
    return "; ".join(parts)


def transactions_ofx(
    *,
    account: CardAccount,
    transactions: Iterable[Transaction],
    date_from: dt.date,
    date_to: dt.date,
    available: Decimal | None = None,
    now: dt.datetime | None = None,
) -> Iterator[str]:
    """An OFX 2.2 credit card statement response (CCSTMTRS) of posted transactions,
    with the account's current (ledger) balance, for a streaming response."""
    now = now or timezone.now()
    stamp = ofx_datetime(now)
    start = timezone.make_aware(dt.datetime.combine(date_from, dt.time.min))
    end = timezone.make_aware(dt.datetime.combine(date_to, dt.time.max))
    labels = dict(Category.choices)
    yield (
        '<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n'
        '<?OFX OFXHEADER="200" VERSION="220" SECURITY="NONE" OLDFILEUID="NONE" NEWFILEUID="NONE"?>\n'
        "<OFX>\n"
        "<SIGNONMSGSRSV1><SONRS>"
        "<STATUS><CODE>0</CODE><SEVERITY>INFO</SEVERITY></STATUS>"
        f"<DTSERVER>{stamp}</DTSERVER><LANGUAGE>ENG</LANGUAGE>"
        f"<FI>{_element('ORG', settings.ISSUER_NAME, 32)}</FI>"
        "</SONRS></SIGNONMSGSRSV1>\n"
        "<CREDITCARDMSGSRSV1><CCSTMTTRNRS>"
        "<TRNUID>0</TRNUID><STATUS><CODE>0</CODE><SEVERITY>INFO</SEVERITY></STATUS>"
        f"<CCSTMTRS><CURDEF>{escape(account.currency)}</CURDEF>"
        f"<CCACCTFROM>{_element('ACCTID', account.reference, 22)}</CCACCTFROM>\n"
        f"<BANKTRANLIST><DTSTART>{ofx_datetime(start)}</DTSTART><DTEND>{ofx_datetime(end)}</DTEND>\n"
    )
    for txn in transactions:
        yield (
            "<STMTTRN>"
            f"<TRNTYPE>{_TRNTYPE.get(txn.kind, 'OTHER')}</TRNTYPE>"
            f"<DTPOSTED>{ofx_datetime(txn.posted_at or txn.transacted_at)}</DTPOSTED>"
            f"<DTUSER>{ofx_datetime(txn.transacted_at)}</DTUSER>"
            f"<TRNAMT>{_ofx_amount(-txn.amount)}</TRNAMT>"
            f"{_element('FITID', txn.network_id, 255)}"
            f"{_element('NAME', txn.merchant_name or txn.get_kind_display(), 32)}"
            f"{_element('MEMO', _memo(txn, labels), 255)}"
            "</STMTTRN>\n"
        )
    balance = f"<LEDGERBAL><BALAMT>{_ofx_amount(-account.posted_balance)}</BALAMT><DTASOF>{stamp}</DTASOF></LEDGERBAL>"
    if available is not None:
        balance += f"<AVAILBAL><BALAMT>{_ofx_amount(available)}</BALAMT><DTASOF>{stamp}</DTASOF></AVAILBAL>"
    yield f"</BANKTRANLIST>\n{balance}\n</CCSTMTRS></CCSTMTTRNRS></CREDITCARDMSGSRSV1>\n</OFX>\n"
