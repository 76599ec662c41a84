"""The session engine: Django's cached_db, except that a database outage while saving
the session surfaces as the outage it is.

Django's database session store turns every ``DatabaseError`` during an update into
``UpdateError``, which SessionMiddleware answers with a 400 "session interrupted"
page. When the database is restarting (``OperationalError``/``InterfaceError``) the
cardholder should see the friendly 503 with Retry-After instead, like every other
request during the outage (portal.middleware.server_error). Found by the PostgreSQL
restart fault script (load/faults/postgres_restart.sh).

A session cookie that is not a key this store could have made (32 lowercase letters and
digits) is treated as no session at all, before the cache or the database is asked:
a 5,000-character cookie was otherwise looked up as a 5,000-character cache key.
"""

from __future__ import annotations

import re

from django.contrib.sessions.backends import cached_db
from django.contrib.sessions.backends.base import UpdateError

from portal.middleware import DATABASE_UNAVAILABLE

# What django.contrib.sessions makes: get_random_string(32, VALID_KEY_CHARS).
SESSION_KEY = re.compile(r"[a-z0-9]{32}")


class SessionStore(cached_db.SessionStore):
    def _validate_session_key(self, key) -> bool:
        return isinstance(key, str) and SESSION_KEY.fullmatch(key) is not None

    def save(self, must_create: bool = False) -> None:
        try:
            super().save(must_create=must_create)
        except UpdateError as exc:
            cause = exc.__context__
            if isinstance(cause, DATABASE_UNAVAILABLE):
                raise cause from None
            raise
