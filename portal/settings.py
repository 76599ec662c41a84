"""Settings for the Card Account Portal.

Every value that differs between a laptop and production is read from the environment
here, in one place (django-environ). The embedded defaults need no external service:
SQLite under ``var/``, Celery eager, local-memory cache, email and SMS written to files
under ``var/outbox`` and to the console.

With ``DEBUG`` off, missing secrets stop start-up. With ``DEBUG`` on, secrets are
generated once into ``var/dev-secrets.env`` (ignored by git) so a fresh clone just runs.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django_guid.integrations import CeleryIntegration

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A local .env is optional; real environment variables always win over it.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
VAR_DIR = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var")))

# --- Secrets ---------------------------------------------------------------------------
REQUIRED_SECRETS = (
    "SECRET_KEY",
    "CARD_PAN_HASH_KEY",
    "CARD_VERIFICATION_KEY",
    "PROCESSOR_WEBHOOK_SECRET",
)


def _load_development_secrets() -> None:
    """Generate the development secrets once and load them (never overriding the env)."""
    path = VAR_DIR / "dev-secrets.env"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        lines = [f"{name}={secrets.token_urlsafe(48)}" for name in REQUIRED_SECRETS]
        path.touch(mode=0o600)
        path.write_text(
            "# Generated for local development only. Never use these in production.\n" + "\n".join(lines) + "\n"
        )
    environ.Env.read_env(path, overwrite=False)


if DEBUG:
    _load_development_secrets()

_missing = [name for name in REQUIRED_SECRETS if not env.str(name, default="")]
if _missing:
    raise ImproperlyConfigured(
        "Missing required secret(s): "
        + ", ".join(_missing)
        + ". Set them in the environment (see .env.example). With DEBUG off the portal "
        "refuses to start without them."
    )

SECRET_KEY = env.str("SECRET_KEY")
# Previous secret keys, still accepted for verifying (sessions, signed values, codes)
# while a rotation settles. See docs/key-rotation.md.
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])
CARD_PAN_HASH_KEY = env.str("CARD_PAN_HASH_KEY")
CARD_VERIFICATION_KEY = env.str("CARD_VERIFICATION_KEY")
PROCESSOR_WEBHOOK_SECRET = env.str("PROCESSOR_WEBHOOK_SECRET")
# Signatures under these are still accepted while the processor switches to a new secret.
PROCESSOR_WEBHOOK_OLD_SECRETS = env.list("PROCESSOR_WEBHOOK_OLD_SECRETS", default=[])


def _card_keys_validated() -> tuple[int, dict[int, str], int, dict[int, str]]:
    """Card-data key versions (docs/key-rotation.md): the current key's version and the
    retired keys still accepted, as ``VERSION:KEY,VERSION:KEY``. Errors name settings
    and versions, never keys."""
    from cards.cardnumbers import KeyConfigError, build_keyring

    rings = []
    try:
        for name in ("CARD_PAN_HASH_KEY", "CARD_VERIFICATION_KEY"):
            version = env.str(f"{name}_VERSION", default="1").strip()
            if not (version.isascii() and version.isdigit()):
                raise KeyConfigError(f"{name}_VERSION must be a whole number")
            rings.append(
                build_keyring(
                    setting=name,
                    current_key=env.str(name),
                    current_version=int(version),
                    old_keys=env.str(name.removesuffix("_KEY") + "_OLD_KEYS", default=""),
                )
            )
        if any(not s or s == PROCESSOR_WEBHOOK_SECRET for s in PROCESSOR_WEBHOOK_OLD_SECRETS):
            raise KeyConfigError(
                "PROCESSOR_WEBHOOK_OLD_SECRETS must not contain an empty value or the current PROCESSOR_WEBHOOK_SECRET"
            )
    except KeyConfigError as exc:
        raise ImproperlyConfigured(str(exc)) from None
    pan, verification = rings
    return (
        pan.current_version,
        {v: pan.keys[v] for v in pan.old_versions},
        verification.current_version,
        {v: verification.keys[v] for v in verification.old_versions},
    )


(
    CARD_PAN_HASH_KEY_VERSION,
    CARD_PAN_HASH_OLD_KEYS,
    CARD_VERIFICATION_KEY_VERSION,
    CARD_VERIFICATION_OLD_KEYS,
) = _card_keys_validated()

# The issuer's identification number: every card we issue starts with it.
CARD_ISSUER_BIN = env.str("CARD_ISSUER_BIN", default="379764")
ISSUER_NAME = env.str("ISSUER_NAME", default="Meridian Card Services")
SUPPORT_PHONE = env.str("SUPPORT_PHONE", default="1-800-555-0199")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# --- Applications ----------------------------------------------------------------------
INSTALLED_APPS = [
    # django.contrib.admin, with the staff console as its site (2FA required).
    "security.admin_apps.StaffAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "formtools",
    "django_otp",
    "django_otp.plugins.otp_static",
    "django_otp.plugins.otp_totp",
    "two_factor",
    "django_otp_webauthn",
    "axes",
    "csp",
    "django_guid",
    "portal",
    "accounts",
    "cards",
    "security",
    "statements",
]

MIDDLEWARE = [
    # The request id (X-Request-ID) first, so every line and page of a request has it.
    "django_guid.middleware.guid_middleware",
    # /livez, /readyz, /healthz: answered before host checks, HTTPS redirect and sessions.
    "portal.middleware.HealthCheckMiddleware",
    # A NUL in a header reaches PostgreSQL (stored User-Agents) as a 500: taken out first.
    "portal.middleware.HeaderNulMiddleware",
    "portal.middleware.RequestLogMiddleware",
    # Database down or restarting: a friendly 503 with Retry-After instead of a 500.
    "portal.middleware.ServiceUnavailableMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "accounts.middleware.SessionTimeoutMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "portal.middleware.NoStoreForSignedInMiddleware",
    # django-axes must be last so it sees the final response of a failed sign-in.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "portal" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context_processors.site",
            ],
        },
    },
]

# --- Data ------------------------------------------------------------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'portal.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://portal")}
if CACHES["default"]["BACKEND"] == "django_redis.cache.RedisCache":
    # Redis down must not mean pages down: a failed cache call answers "miss" (sessions
    # fall back to the database, cached_db), and gives up quickly instead of hanging.
    CACHES["default"].setdefault("OPTIONS", {}).update(
        {
            "IGNORE_EXCEPTIONS": True,
            "SOCKET_CONNECT_TIMEOUT": env.float("CACHE_CONNECT_TIMEOUT", default=0.5),
            "SOCKET_TIMEOUT": env.float("CACHE_TIMEOUT", default=0.5),
        }
    )

# cached_db, with a database outage while saving shown as the 503 it is (portal/session_store.py).
SESSION_ENGINE = "portal.session_store"

# --- Authentication --------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # django-axes must come first so locked-out User IDs never reach the password check.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    # Passkey sign-in (security/passkey_ceremonies.py): authenticates a verified credential.
    "django_otp_webauthn.backends.WebAuthnBackend",
]
LOGIN_URL = "two_factor:login"
# The sign-in wizard (and a half-finished step-up) expires after 10 minutes.
TWO_FACTOR_LOGIN_TIMEOUT = 600
LOGIN_REDIRECT_URL = "portal:home"
LOGOUT_REDIRECT_URL = "portal:home"

PASSWORD_HASHERS = [
    "portal.hashers.OWASPArgon2PasswordHasher",
    # Kept so hashes made by Django's default upgrade to Argon2id on the next sign-in.
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
# The password policy (PCI DSS 8.3.6 and 8.3.7), in accounts/passwords.py.
PASSWORD_MIN_LENGTH = env.int("PASSWORD_MIN_LENGTH", default=12)
PASSWORD_MAX_LENGTH = env.int("PASSWORD_MAX_LENGTH", default=128)
PASSWORD_HISTORY_COUNT = env.int("PASSWORD_HISTORY_COUNT", default=4)
PASSWORD_FORBIDDEN_WORDS = env.list("PASSWORD_FORBIDDEN_WORDS", default=["meridian"])
STAFF_PASSWORD_MIN_LENGTH = env.int("STAFF_PASSWORD_MIN_LENGTH", default=16)
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "accounts.passwords.LengthValidator",
        "OPTIONS": {"min_length": PASSWORD_MIN_LENGTH, "max_length": PASSWORD_MAX_LENGTH},
    },
    {"NAME": "accounts.passwords.LettersAndDigitsValidator"},
    {"NAME": "accounts.passwords.BreachedPasswordValidator"},
    {"NAME": "accounts.passwords.PersonalInformationValidator"},
    {"NAME": "accounts.passwords.PasswordHistoryValidator", "OPTIONS": {"count": PASSWORD_HISTORY_COUNT}},
    # Staff logins open the staff console: longer passwords (checked again at sign-in).
    {"NAME": "accounts.passwords.StaffPasswordValidator", "OPTIONS": {"min_length": STAFF_PASSWORD_MIN_LENGTH}},
]

# django-axes: lock the User ID (not the IP) after 5 password failures for 30 minutes.
# The limit adapts to how well we know the requester (security/risk.py): a remembered
# device of this User ID gets 5 tries, anything else 3.
AXES_FAILURE_LIMIT = "security.risk.failure_limit_for"
RISK_FAILURE_LIMIT_TRUSTED = env.int("AXES_FAILURE_LIMIT", default=5)
# Equal to the unrecognized limit so the count cannot tell a real User ID from a made-up one.
RISK_FAILURE_LIMIT_KNOWN_NETWORK = env.int("RISK_FAILURE_LIMIT_KNOWN_NETWORK", default=3)
RISK_FAILURE_LIMIT_UNRECOGNIZED = env.int("RISK_FAILURE_LIMIT_UNRECOGNIZED", default=3)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.5)
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_RESET_ON_SUCCESS = True
AXES_USERNAME_CALLABLE = "accounts.signin.axes_username"
AXES_LOCKOUT_CALLABLE = "accounts.signin.lockout_response"
AXES_CLIENT_IP_CALLABLE = "portal.net.client_ip"
AXES_ENABLE_ACCESS_FAILURE_LOG = True
AXES_ENABLE_ADMIN = True
AXES_VERBOSE = False
# axes keeps each failed sign-in's POST (AccessAttempt.post_data) and masks only the
# fields named here: the wizard's fields carry a step prefix, so without these the
# password and a card number typed as the User ID were kept as typed.
AXES_PASSWORD_FORM_FIELD = "auth-password"
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "auth-username", "token-otp_token", "backup-otp_token"]
# The per-IP limit (higher than the per-User-ID one, against credential stuffing) is our
# own in accounts/, because axes applies a single limit to every lockout parameter.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
# Card ID / identity-fact failures: per card in 24 hours, and per network in an hour.
CARD_CHECK_FAILURE_LIMIT = env.int("CARD_CHECK_FAILURE_LIMIT", default=5)
CARD_CHECK_IP_LIMIT = env.int("CARD_CHECK_IP_LIMIT", default=20)
# Recovery (accounts/recovery.py): attempts per network, codes per user.
RECOVERY_IP_LIMIT = env.int("RECOVERY_IP_LIMIT", default=20)
RECOVERY_IP_WINDOW_SECONDS = env.int("RECOVERY_IP_WINDOW_SECONDS", default=3600)
RECOVERY_CODES_PER_USER = env.int("RECOVERY_CODES_PER_USER", default=5)
RECOVERY_WRONG_CODES_PER_USER_ID = env.int("RECOVERY_WRONG_CODES_PER_USER_ID", default=10)
RECOVERY_WRONG_CODES_WINDOW_SECONDS = env.int("RECOVERY_WRONG_CODES_WINDOW_SECONDS", default=24 * 3600)
SIGN_IN_IP_FAILURE_LIMIT = env.int("SIGN_IN_IP_FAILURE_LIMIT", default=30)
SIGN_IN_IP_WINDOW = env.int("SIGN_IN_IP_WINDOW_SECONDS", default=30 * 60)

# --- Risk-based sign-in (security/risk.py) ---------------------------------------------
# The score is a sum of log-likelihood ratios: 0 = "as likely this user as anyone"; each
# point makes an attacker about 2.7 times likelier. An unremembered device is never "low".
RISK_MEDIUM_THRESHOLD = env.float("RISK_MEDIUM_THRESHOLD", default=2.0)  # from here: a code
RISK_HIGH_THRESHOLD = env.float("RISK_HIGH_THRESHOLD", default=8.0)  # code, no "remember", alert
RISK_POPULATION_CACHE_SECONDS = env.int("RISK_POPULATION_CACHE_SECONDS", default=3600)

# Device recognition (security/devices.py): the remembered-browser cookie.
DEVICE_COOKIE_DAYS = env.int("DEVICE_COOKIE_DAYS", default=180)
OTP_OOB_THROTTLE_FACTOR = 1

# Passkeys (django-otp-webauthn, security/passkeys.py). A passkey works only on the domain
# it was made for (the relying party ID) and its subdomains, and only from the origins
# listed. Browsers refuse an IP address as that domain: develop at http://localhost:8000,
# not http://127.0.0.1:8000. Changing the RP ID later makes every passkey unusable.
OTP_WEBAUTHN_RP_ID = env.str("OTP_WEBAUTHN_RP_ID", default="localhost")
OTP_WEBAUTHN_RP_NAME = env.str("OTP_WEBAUTHN_RP_NAME", default=ISSUER_NAME)
OTP_WEBAUTHN_ALLOWED_ORIGINS = env.list("OTP_WEBAUTHN_ALLOWED_ORIGINS", default=["http://localhost:8000"])
# User verification required, platform authenticators preferred, clearer error messages.
OTP_WEBAUTHN_HELPER_CLASS = "security.passkeys.PasskeyHelper"

TWO_FACTOR_REMEMBER_COOKIE_SECURE = not DEBUG
TWO_FACTOR_REMEMBER_COOKIE_HTTPONLY = True

# --- Sessions and cookies --------------------------------------------------------------
SESSION_COOKIE_AGE = 12 * 60 * 60  # absolute limit; idle timeout is enforced separately
SESSION_IDLE_TIMEOUT = env.int("SESSION_IDLE_TIMEOUT", default=15 * 60)
# Staff sessions (the staff console) end sooner when idle (accounts/middleware.py).
STAFF_SESSION_IDLE_TIMEOUT = env.int("STAFF_SESSION_IDLE_TIMEOUT", default=10 * 60)
SESSION_ABSOLUTE_TIMEOUT = SESSION_COOKIE_AGE
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_COOKIES = env.bool("SECURE_COOKIES", default=not DEBUG)
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
DEVICE_COOKIE_NAME = "portal_device"
if SECURE_COOKIES:
    # __Host- cookies are bound to this exact host, over HTTPS, for path /.
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"
    DEVICE_COOKIE_NAME = "__Host-portal_device"

# --- Security headers ------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
# How many reverse proxies in front of the app append to X-Forwarded-For (0: none).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
if env.bool("BEHIND_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Health checks come from the load balancer over plain HTTP inside the network.
SECURE_REDIRECT_EXEMPT = [r"^livez$", r"^readyz$", r"^healthz$"]

# --- Health probes and outages (portal/health.py, portal/middleware.py) -------------------
# Readiness answers 503 only when one of these fails; the others are reported as "degraded".
READINESS_REQUIRED_CHECKS = env.list("READINESS_REQUIRED_CHECKS", default=["database", "migrations"])
READINESS_BROKER_TIMEOUT = env.float("READINESS_BROKER_TIMEOUT", default=2.0)
# Seconds a browser is asked to wait (Retry-After) when the database is unavailable.
SERVICE_UNAVAILABLE_RETRY_AFTER = env.int("SERVICE_UNAVAILABLE_RETRY_AFTER", default=30)

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# --- Internationalisation --------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "America/New_York"
USE_I18N = True
USE_TZ = True

# --- Static and media files ------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
STORAGES = {
    # Statements and attachments are private: no MEDIA_URL, served by views that check access.
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Dispute attachments: at most 5 files of 5 MB each are accepted (checked by the view).
DATA_UPLOAD_MAX_NUMBER_FILES = 10
# A file stops being received past this size (portal.uploads): it is refused with the
# form's message, and nothing of it is kept in memory or on disk.
FILE_UPLOAD_MAX_BYTES = 5 * 1024 * 1024
FILE_UPLOAD_HANDLERS = [
    "portal.uploads.SizeLimitedUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

# --- Email and SMS ---------------------------------------------------------------------
OUTBOX_DIR = Path(env.str("OUTBOX_DIR", default=str(VAR_DIR / "outbox")))
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="portal.mail.DevelopmentEmailBackend")
EMAIL_FILE_PATH = OUTBOX_DIR / "email"
if env.str("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Meridian Card Services <no-reply@example.com>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

SMS_BACKEND = env.str("SMS_BACKEND", default="security.sms.FileSMSBackend")
SMS_FILE_PATH = OUTBOX_DIR / "sms"
SMS_GATEWAY_URL = env.str("SMS_GATEWAY_URL", default="")
SMS_GATEWAY_TOKEN = env.str("SMS_GATEWAY_TOKEN", default="")

# --- Celery ----------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
# With no broker (the embedded default) tasks run in-process, right after commit.
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = "UTC"
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_QUEUE", default="portal")
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Above the longest countdown we use, so a late-acked task is not redelivered early. It is
# also how long a task taken by a worker that died (kill -9, a lost machine) waits before
# another worker gets it; the load test's worker-kill script shortens it (load/faults/).
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=6 * 60 * 60),
    # Look for such tasks every 10 s (kombu's default scans every 100 s).
    "unacked_restore_interval": 10,
    "unacked_restore_throttle": 1,
}
# A pool process that dies mid-task (OOM killer, kill -9) puts a late-acked task back on the
# queue instead of acking it as failed: every acks_late task of ours is idempotent.
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_BEAT_SCHEDULE = {
    "notification-sweep": {
        "task": "security.tasks.notification_sweep",
        "schedule": env.float("NOTIFICATION_SWEEP_SECONDS", default=60.0),
    },
    "authorization-holds-expire": {
        "task": "cards.tasks.authorization_holds_expire",
        "schedule": 60 * 60.0,
    },
    "payments-post-due": {"task": "cards.tasks.payments_post_due", "schedule": 60 * 60.0},
    "autopay-run-due": {"task": "cards.tasks.autopay_run_due", "schedule": 60 * 60.0},
    "payment-reminders": {
        "task": "cards.tasks.payment_reminders_send",
        "schedule": crontab(minute=0, hour=13),  # UTC: 8-9 a.m. in New York
    },
    # Re-runs close nothing twice (one statement per account and period).
    "statements-close-cycles": {
        "task": "statements.tasks.statements_close_cycles",
        "schedule": crontab(hour=5, minute=30),  # UTC: just after midnight in New York
    },
}

# --- Logging ---------------------------------------------------------------------------
# JSON lines with the request id and user id (portal/logging.py); plain text in development.
LOG_FORMAT = env.str("LOG_FORMAT", default="plain" if DEBUG else "json")
if LOG_FORMAT not in ("json", "plain"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be json or plain, not {LOG_FORMAT!r}.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "portal.logging.RequestContextFilter"}},
    # Both formatters redact card numbers and codes from what they write.
    "formatters": {
        "plain": {"()": "portal.logging.PlainFormatter"},
        "json": {"()": "portal.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["context"]},
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # portal.request has the request line; runserver's and django-guid's are noise.
        "django.server": {"level": "WARNING"},
        "django_guid": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
        # WeasyPrint logs a line per page at INFO.
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}
# The request id: read from X-Request-ID when a proxy sets a valid UUID, otherwise made
# here; returned in X-Request-ID and handed to the Celery tasks a request enqueues (and
# Celery then logs through LOGGING above instead of its own setup).
DJANGO_GUID = {
    "GUID_HEADER_NAME": "X-Request-ID",
    "RETURN_HEADER": True,
    "EXPOSE_HEADER": False,
    "VALIDATE_GUID": True,
    "INTEGRATIONS": [CeleryIntegration(use_django_logging=True)],
}
NOTIFICATION_SWEEP_BATCH = 500
