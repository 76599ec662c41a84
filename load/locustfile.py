"""The load test's traffic: cardholders on their remembered browsers, and the card
processor. Run by load/run.sh (``locust --headless``); it needs the users file that
load/dataset.py wrote (``LOAD_USERS_FILE``) and the stack's ``PROCESSOR_WEBHOOK_SECRET``.

Cardholder (every simulated user but the processors): signs in with User ID and password
from a browser the portal remembers (the ``portal_device`` cookie the data set made), so
risk scoring lets them in without a code, then browses with a think time. Task weights
(per cardholder, per action):

    dashboard 10 · transactions page 6 · older page 2 · one transaction 3 ·
    statements list 2 · statement PDF 2 · alert settings 2 (view) + 1 (save) ·
    pay $1.00 now 1 · sign out and back in 1

Processor (``LOAD_PROCESSORS`` users, default 4): signed webhook events, 70 %
authorizations and 30 % clearings of holds it was granted (restaurants add a tip).

Requests are grouped per endpoint ("GET /cards/transactions/[id]/"). Every write the
portal acknowledged (a processor event answered 2xx, a payment answered with its
confirmation redirect) is appended to ``LOAD_ACK_LOG`` (JSON lines) so the fault checker
can look for each in the database; with ``LOAD_REQUEST_LOG`` set, every request's time,
name and status go there too (the fault scripts use it to time an outage).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import os
import random
import re
import resource
import time
import uuid
from datetime import UTC, datetime

from locust import HttpUser, between, events, task

USERS_FILE = os.environ.get("LOAD_USERS_FILE", "var/load/users.json")
ACK_LOG = os.environ.get("LOAD_ACK_LOG", "")
REQUEST_LOG = os.environ.get("LOAD_REQUEST_LOG", "")
SECRET = os.environ.get("PROCESSOR_WEBHOOK_SECRET", "")
DEVICE_COOKIE = os.environ.get("LOAD_DEVICE_COOKIE", "portal_device")
WAIT_MIN = float(os.environ.get("LOAD_WAIT_MIN", "2"))
WAIT_MAX = float(os.environ.get("LOAD_WAIT_MAX", "8"))
PROCESSORS = int(os.environ.get("LOAD_PROCESSORS", "4"))
USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)

with open(USERS_FILE) as handle:
    DATA = json.load(handle)
PASSWORD = DATA["password"]
PEOPLE = DATA["users"]
_next_person = itertools.count()

CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
KEY_INPUT = re.compile(r'name="idempotency_key" value="([^"]+)"')
OLDER_LINK = re.compile(r'href="\?([^"]*before=[^"&]+[^"]*)"')

_ack_handle = open(ACK_LOG, "a", buffering=1) if ACK_LOG else None  # noqa: SIM115 - open for the run
_request_handle = open(REQUEST_LOG, "a", buffering=1) if REQUEST_LOG else None  # noqa: SIM115


def acknowledged(**record) -> None:
    if _ack_handle is not None:
        _ack_handle.write(json.dumps(record) + "\n")


@events.request.add_listener
def _log_request(request_type, name, response_time, response_length, response=None, exception=None, **kwargs):
    if _request_handle is None:
        return
    status = getattr(response, "status_code", 0) or 0
    content_type = response.headers.get("Content-Type", "") if response is not None and status else ""
    _request_handle.write(
        json.dumps(
            {
                "t": round(time.time(), 3),
                "name": name,
                "status": status,
                "ms": round(response_time or 0, 1),
                "type": content_type.split(";")[0],
                "error": type(exception).__name__ if exception is not None and not status else "",
                # A 503 that is the portal's outage page, not a bare proxy or server text.
                "friendly": bool(
                    status == 503 and response is not None and "service is unavailable" in (response.text or "")
                ),
            }
        )
        + "\n"
    )


@events.quitting.add_listener
def _record_cpu(environment, **kwargs):
    """locust's own CPU time, for the report (it has exited before the script looks)."""
    path = os.environ.get("LOAD_LOCUST_CPU", "")
    if path:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        with open(path, "w") as handle:
            json.dump({"locust": usage.ru_utime + usage.ru_stime}, handle)


def _csrf(text: str) -> str:
    match = CSRF_INPUT.search(text or "")
    return match.group(1) if match else ""


class Cardholder(HttpUser):
    wait_time = between(WAIT_MIN, WAIT_MAX)
    weight = 1

    def on_start(self):
        self.person = PEOPLE[next(_next_person) % len(PEOPLE)]
        self.client.headers["User-Agent"] = USER_AGENT
        self.client.cookies.set(DEVICE_COOKIE, self.person["device_token"], domain="127.0.0.1", path="/")
        self.signed_in = False
        self.sign_in()

    # --- signing in -------------------------------------------------------------------
    def sign_in(self):
        with self.client.get("/account/login/", name="GET /account/login/", catch_response=True) as page:
            csrf = _csrf(page.text)
            if page.status_code != 200 or not csrf:
                page.failure(f"sign-in page: {page.status_code}")
                return
        data = {
            "csrfmiddlewaretoken": csrf,
            "sign_in_view-current_step": "auth",
            "auth-username": self.person["username"],
            "auth-password": PASSWORD,
        }
        with self.client.post(
            "/account/login/",
            data=data,
            name="POST /account/login/ (trusted device)",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            # In without a code: a redirect. A page (200) would be the code step.
            if response.status_code == 302:
                self.signed_in = True
            else:
                response.failure(f"not signed in straight away: {response.status_code}")

    def _signed_in_get(self, url: str, name: str, **kwargs):
        if not self.signed_in:
            self.sign_in()
            if not self.signed_in:
                return None
        with self.client.get(url, name=name, allow_redirects=False, catch_response=True, **kwargs) as response:
            if response.status_code == 302 and "/account/login/" in response.headers.get("Location", ""):
                self.signed_in = False
                response.failure("signed out unexpectedly")
            return response

    # --- pages -------------------------------------------------------------------------
    @task(10)
    def dashboard(self):
        self._signed_in_get("/cards/", "GET /cards/ (dashboard)")

    @task(6)
    def transactions(self):
        self._signed_in_get("/cards/transactions/", "GET /cards/transactions/")

    @task(2)
    def transactions_older(self):
        response = self._signed_in_get("/cards/transactions/", "GET /cards/transactions/")
        match = OLDER_LINK.search(response.text if response is not None and response.status_code == 200 else "")
        if match:
            query = match.group(1).replace("&amp;", "&")
            self._signed_in_get(f"/cards/transactions/?{query}", "GET /cards/transactions/?before=[cursor]")

    @task(3)
    def transaction_detail(self):
        ids = self.person["transaction_ids"]
        if ids:
            self._signed_in_get(f"/cards/transactions/{random.choice(ids)}/", "GET /cards/transactions/[id]/")

    @task(2)
    def statements(self):
        self._signed_in_get("/statements/", "GET /statements/")

    @task(2)
    def statement_pdf(self):
        ids = self.person["statement_ids"]
        if not ids:
            return
        statement_id = random.choice(ids)
        response = self._signed_in_get(f"/statements/{statement_id}/pdf/", "GET /statements/[id]/pdf/")
        if response is None:
            return
        if response.status_code == 302 and "/preparing/" in response.headers.get("Location", ""):
            # Not rendered yet: the portal queued it for a worker; the page refreshes.
            self._signed_in_get(f"/statements/{statement_id}/preparing/", "GET /statements/[id]/preparing/")

    @task(2)
    def alert_settings(self):
        self._signed_in_get("/alerts/", "GET /alerts/")

    @task(1)
    def alert_settings_save(self):
        page = self._signed_in_get("/alerts/", "GET /alerts/")
        csrf = _csrf(page.text if page is not None else "")
        if not csrf:
            return
        data = {
            "csrfmiddlewaretoken": csrf,
            "purchase_email": "on",  # keeps the processor's traffic filling the outbox
            "payment_due_email": "on",
            "payment_due_days": random.choice(["3", "5", "7"]),
            "payment_received_email": "on",
            "statement_ready_email": "on",
            "purchase_over_threshold": "",
        }
        with self.client.post(
            "/alerts/", data=data, name="POST /alerts/", allow_redirects=False, catch_response=True
        ) as response:
            if response.status_code != 302:
                response.failure(f"alert settings not saved: {response.status_code}")

    @task(1)
    def pay(self):
        url = f"/payments/accounts/{self.person['account_id']}/pay/"
        page = self._signed_in_get(url, "GET /payments/accounts/[id]/pay/")
        text = page.text if page is not None and page.status_code == 200 else ""
        key, csrf = KEY_INPUT.search(text), _csrf(text)
        if not key or not csrf:
            return
        today = datetime.now(UTC).astimezone()
        data = {
            "csrfmiddlewaretoken": csrf,
            "method": str(self.person["method_id"]),
            "amount_choice": "other",
            "other_amount": "1.00",
            "when": "now",
            "pay_day": str(today.day),
            "pay_month": str(today.month),
            "pay_year": str(today.year),
            "idempotency_key": key.group(1),
            "action": "confirm",
        }
        with self.client.post(
            url, data=data, name="POST /payments/accounts/[id]/pay/", allow_redirects=False, catch_response=True
        ) as response:
            if response.status_code == 302 and re.search(r"/payments/\d+/$", response.headers.get("Location", "")):
                acknowledged(kind="payment", key=f"web-{self.person['user_id']}-{key.group(1)}", t=time.time())
            else:
                response.failure(f"payment not confirmed: {response.status_code}")

    @task(1)
    def sign_out_and_in(self):
        if not self.signed_in:
            self.sign_in()
            return
        page = self._signed_in_get("/cards/", "GET /cards/ (dashboard)")
        csrf = _csrf(page.text if page is not None else "")
        if not csrf:
            return
        self.client.post(
            "/account/sign-out/",
            data={"csrfmiddlewaretoken": csrf},
            name="POST /account/sign-out/",
            allow_redirects=False,
        )
        self.signed_in = False
        self.sign_in()


MERCHANTS = (
    ("Starbucks", "5814", 4.25, 14.5),
    ("Olive Garden", "5812", 35.0, 120.0),
    ("Whole Foods Market", "5411", 18.0, 210.0),
    ("Shell Oil", "5541", 28.0, 78.0),
    ("Uber Trip", "4121", 9.0, 48.0),
    ("Amazon.com", "5942", 8.0, 240.0),
    ("Target", "5310", 12.0, 160.0),
    ("CVS Pharmacy", "5912", 6.0, 75.0),
)


class Processor(HttpUser):
    """The card network: authorizations, then clearings of the holds it got."""

    wait_time = between(0.2, 1.0)
    fixed_count = PROCESSORS

    def on_start(self):
        self.holds: list[dict] = []

    def _send(self, event: dict, name: str) -> dict | None:
        body = json.dumps(event).encode()
        stamp = str(int(time.time()))
        signature = hmac.new(SECRET.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
        headers = {
            "Content-Type": "application/json",
            "X-Processor-Timestamp": stamp,
            "X-Processor-Signature": signature,
        }
        with self.client.post(
            "/cards/processor/webhook/", data=body, headers=headers, name=name, catch_response=True
        ) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code}")
                return None
            try:
                answer = response.json()
            except ValueError:
                response.failure("not JSON")
                return None
        acknowledged(kind="event", type=event["type"], event_id=event["event_id"], network_id=event["network_id"])
        return answer

    @task(7)
    def authorization(self):
        person = random.choice(PEOPLE)
        name, mcc, low, high = random.choice(MERCHANTS)
        amount = f"{random.uniform(low, high):.2f}"
        event = {
            "event_id": f"load-{uuid.uuid4().hex}",
            "type": "authorization",
            "network_id": f"load{uuid.uuid4().hex[:24]}",
            "card_token": person["card_token"],
            "amount": amount,
            "currency": "USD",
            "merchant": {"name": name, "mcc": mcc, "city": "New York", "country": "US"},
            "card_present": random.random() < 0.7,
            "transacted_at": datetime.now(UTC).isoformat(),
        }
        answer = self._send(event, "POST /cards/processor/webhook/ (authorization)")
        if answer and answer.get("approved"):
            self.holds.append(event)

    @task(3)
    def clearing(self):
        if not self.holds:
            self.authorization()
            return
        hold = self.holds.pop(random.randrange(len(self.holds)))
        amount = hold["amount"]
        if hold["merchant"]["mcc"] == "5812":
            amount = f"{float(amount) * 1.18:.2f}"  # the tip
        event = {
            "event_id": f"load-{uuid.uuid4().hex}",
            "type": "clearing",
            "network_id": hold["network_id"],
            "card_token": hold["card_token"],
            "amount": amount,
            "currency": "USD",
            "merchant": hold["merchant"],
        }
        self._send(event, "POST /cards/processor/webhook/ (clearing)")
