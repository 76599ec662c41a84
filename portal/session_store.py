"""The session engine: Django's cached_db, except that a database outage while saving
the session surfaces as the outage it is.

Django's database session store turns every ``DatabaseError`` during an update into
``UpdateError``, which SessionMiddleware answers with a 400 "session interrupted"
page. When the database is restarting (``OperationalError``/``InterfaceError``) the
cardholder should see the friendly 503 with Retry-After instead, like every other
request during the outage (portal.middleware.server_error). Found by the PostgreSQL
restart fault script (load/faults/postgres_restart.sh).
"""

from __future__ import annotations

from django.contrib.sessions.backends import cached_db
from django.contrib.sessions.backends.base import UpdateError

from portal.middleware import DATABASE_UNAVAILABLE


class SessionStore(cached_db.SessionStore):
    def save(self, must_create: bool = False) -> None:
        try:
            super().save(must_create=must_create)
        except UpdateError as exc:
            cause = exc.__context__
            if isinstance(cause, DATABASE_UNAVAILABLE):
                raise cause from None
            raise
