"""One settings module, driven by environment variables.

With nothing set, the portal runs on the *embedded default*: SQLite and kombu's
``filesystem://`` broker under ``ALLIANCE_DATA_DIR`` (default ``./var``), file-based
email and cache. Production and CI choose PostgreSQL and Redis with ``DATABASE_URL``,
``CELERY_BROKER_URL`` and ``CACHE_URL``.
"""

import base64
import hashlib
from pathlib import Path

import environ
from celery.schedules import crontab
from cryptography.fernet import Fernet
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
DATA_DIR = Path(env.str("ALLIANCE_DATA_DIR", default=str(BASE_DIR / "var"))).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY is required when DJANGO_DEBUG is off.")
    SECRET_KEY = "insecure-development-key-only-for-debug"  # noqa: S105 - DEBUG only


def _fernet_keys(name: str, purpose: str) -> list[str]:
    """Fernet keys from the comma-separated variable ``name``, newest first: the newest encrypts,
    any of them decrypts, so a new key goes in front, the matching ``rotate_*_keys`` command
    re-encrypts everything with it, then the old one can go. Required outside DEBUG; in DEBUG a
    key derived from the (development) secret key, stable across restarts and the same in web,
    worker and beat, so the demo's data stays readable. Make one with:
        python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"
    """
    keys = [k.strip() for k in env.list(name, default=[]) if k.strip()]
    if not keys:
        if not DEBUG:
            raise ImproperlyConfigured(f"{name} is required when DJANGO_DEBUG is off.")
        digest = hashlib.sha256(f"{purpose}:{SECRET_KEY}".encode()).digest()
        keys = [base64.urlsafe_b64encode(digest).decode()]
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except ValueError:
            # The position only: a key never appears in an error message or a log.
            raise ImproperlyConfigured(
                f"{name}: key {position} is not a Fernet key (32 url-safe base64 bytes)."
            ) from None
    return keys


# Two-step verification secrets at rest (accounts.mfa_adapter; `manage.py rotate_mfa_keys`).
MFA_ENCRYPTION_KEYS = _fernet_keys("MFA_ENCRYPTION_KEYS", "mfa-dev-key")
# The photo diary's images at rest (photos.crypto; `manage.py rotate_photo_keys`): a key of its
# own, so the photos' key can rotate, or leak, without the MFA secrets'.
PHOTO_ENCRYPTION_KEYS = _fernet_keys("PHOTO_ENCRYPTION_KEYS", "photo-dev-key")

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "csp",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "oauth2_provider",
    # Project apps, in dependency order: each may import only from those above it.
    "accounts",
    "core",
    "careplans",
    "catalogue",
    "photos",
    "checkins",
    "messaging",
    "reminders",
    "flags",
    "clinic",
    "interop",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    # A database outage answers a plain 503 page (core/middleware.py), never a stack trace.
    "core.middleware.DatabaseUnavailableMiddleware",
    # Outside the session middleware (it sees the session cookie set), inside WhiteNoise (static
    # files keep their caching): responses to signed-in requests are Cache-Control: no-store.
    "core.middleware.NoStoreMiddleware",
    # Signing out clears the service worker's copies and the offline queue (core/pwa.py).
    "core.pwa.ClearSiteDataOnSignOut",
    # Before anything reads request.POST: a form body not in UTF-8 is a 400, not a 500.
    "core.middleware.UnreadableBodyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # After sessions, before CommonMiddleware (Django's documented place): the browser's
    # Accept-Language picks the language until a signed-in user has chosen one.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # A caregiver's open access to the patient they act for (accounts.caregiving), checked
    # on every request so an ended link stops at once.
    "accounts.middleware.ActingForMiddleware",
    # The signed-in user's own choice (Account page) overrides the browser's.
    "accounts.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    # After authentication and messages: end stale sessions, then require clinicians' MFA.
    "accounts.middleware.SessionLifetimeMiddleware",
    "accounts.middleware.MFARequiredMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Times on every page in the zone the page names: the patient's, or the viewer's clinic's.
    "core.viewer_timezone.ViewerTimezoneMiddleware",
]

ROOT_URLCONF = "alliance_portal.urls"
WSGI_APPLICATION = "alliance_portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.portal_role",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'alliance.sqlite3'}")
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# Workers set DATABASE_CONN_MAX_AGE (e.g. 60) to keep connections between tasks (with
# CELERY_DB_REUSE_MAX below); health checks drop a connection that died (database restart)
# before it is reused.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat share one SQLite file: wait for locks instead of failing,
    # and take the write lock up front so concurrent transactions do not deadlock.
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    # A file (not :memory:) so that a real worker process in the tests sees the test data.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test-alliance.sqlite3")}
    # Covering indexes (INCLUDE) are a PostgreSQL speed-up; SQLite just uses the key columns.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (allauth rate limits need a real, shared cache) -----------------------------------
CACHES = {"default": env.cache_url("CACHE_URL", default=f"filecache://{DATA_DIR / 'cache'}")}

# --- Auth -----------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"

ACCOUNT_ADAPTER = "accounts.adapters.ClinicAccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_SESSION_REMEMBER = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = "Alliance Portal: "
MFA_ADAPTER = "accounts.mfa_adapter.EncryptingMFAAdapter"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Alliance Portal"
# A reused code is told apart from a wrong one (accounts.mfa_forms).
MFA_FORMS = {
    "authenticate": "accounts.mfa_forms.AuthenticateForm",
    "reauthenticate": "accounts.mfa_forms.ReauthenticateForm",
}
# Dermatologists, staff and clinic administrators must enrol (accounts.middleware); patients may.

# Rate limits live in the default cache (accounts.checks refuses DummyCache). login_failed: the
# 6th failure for one address within 5 minutes, or the 11th from one IP within a minute, is
# refused even with the right password (OWASP ASVS V2.2.1). Wrong MFA codes count per user.
ACCOUNT_RATE_LIMITS = {"login_failed": "10/m/ip,5/5m/key"}
# A browser that completed a two-step sign-in for an account within this many days counts its
# own failed passwords for it, so failures elsewhere do not lock it out (accounts.trusted_devices).
PORTAL_TRUSTED_DEVICE_DAYS = 30
# Behind N reverse proxies, the client address is the Nth from the right in X-Forwarded-For.
ALLAUTH_TRUSTED_PROXY_COUNT = env.int("ALLAUTH_TRUSTED_PROXY_COUNT", default=0)

# Messages live in the session, not in a cookie: "Successfully signed in as <full name>" and
# the like must not travel in the browser's cookies.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
# Database sessions whose save reports an outage as one (the 503 page), not as a 400.
SESSION_ENGINE = "core.sessions"

# --- Sessions (OWASP ASVS V3.3.2, HIPAA automatic logoff) -----------------------------------
# Enforced by accounts.middleware.SessionLifetimeMiddleware from stamps kept in the session.
PORTAL_SESSION_IDLE_SECONDS_CLINICIAN = 30 * 60  # dermatologists, staff, administrators
PORTAL_SESSION_IDLE_SECONDS_PATIENT = 60 * 60
PORTAL_SESSION_ABSOLUTE_SECONDS = 12 * 60 * 60
SESSION_COOKIE_AGE = PORTAL_SESSION_ABSOLUTE_SECONDS
# Password change keeps the current session and ends the others (the session hash includes the
# password); signing out ends them all (accounts.receivers bumps User.session_epoch).
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False

# --- Email ----------------------------------------------------------------------------------
EMAIL_OUTBOX_DIR = Path(env.str("ALLIANCE_OUTBOX_DIR", default=str(DATA_DIR / "outbox")))
if env.str("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL"))
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = str(EMAIL_OUTBOX_DIR)
# A hung SMTP server fails a send (retried with backoff) instead of holding a worker process
# until the task's time limit.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=20)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Alliance Portal <care@alliance.test>")

# --- Internationalisation -------------------------------------------------------------------
LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
# Each language named in itself: the Account page lists them so (accounts.models.User.language).
# A clinic adds one here and in locale/ (README, "Add a language").
LANGUAGES = [
    ("en", "English"),
    ("es", "Español"),
    ("de", "Deutsch"),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_TZ = True

# --- Static files ---------------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# --- Photo diary storage (photos.storage) ----------------------------------------------------
# Encrypted images under the data folder by default; an S3-compatible object store when
# PHOTO_STORAGE_BUCKET is set (AWS S3, MinIO, Ceph...: PHOTO_STORAGE_ENDPOINT_URL for a non-AWS
# one). Nothing is ever public: the portal reads the objects and serves them to whoever may see.
PHOTO_STORAGE_BUCKET = env.str("PHOTO_STORAGE_BUCKET", default="")
if PHOTO_STORAGE_BUCKET:
    STORAGES["photos"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": PHOTO_STORAGE_BUCKET,
            "endpoint_url": env.str("PHOTO_STORAGE_ENDPOINT_URL", default="") or None,
            "region_name": env.str("PHOTO_STORAGE_REGION", default="") or None,
            "access_key": env.str("PHOTO_STORAGE_ACCESS_KEY_ID", default="") or None,
            "secret_key": env.str("PHOTO_STORAGE_SECRET_ACCESS_KEY", default="") or None,
            "location": env.str("PHOTO_STORAGE_PREFIX", default="photos"),
            # No ACL header: objects are private unless the bucket's policy says otherwise, and
            # buckets with ACLs disabled (AWS's default since 2023) refuse ACL headers.
            "default_acl": None,
            "file_overwrite": False,
            "querystring_auth": True,
        },
    }
else:
    STORAGES["photos"] = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(DATA_DIR / "photos"), "base_url": None,
                    "directory_permissions_mode": 0o700, "file_permissions_mode": 0o600},
    }
# Uploads stay in memory, never spooled to a temporary file in clear (photos/uploads.py).
FILE_UPLOAD_HANDLERS = ["photos.uploads.BoundedMemoryUploadHandler"]
WHITENOISE_USE_FINDERS = env.bool("WHITENOISE_USE_FINDERS", default=DEBUG)

# --- Celery ---------------------------------------------------------------------------------
# The host is a formality for kombu, which warns on every connection without one.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://localhost//")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = DATA_DIR / "broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        # Exchange tables; kombu's default is ./control, i.e. wherever the process was started.
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
else:
    # Publishing while Redis is down must fail fast rather than hang a web request.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "socket_connect_timeout": 3,
        "socket_timeout": 5,
        "max_retries": 2,
        "interval_start": 0,
        "interval_step": 0.5,
        "interval_max": 1,
        "visibility_timeout": 3600,
    }
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A web request publishing while the broker is down gives up quickly; the database keeps the
# pending work and periodic sweeps catch up.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5,
}
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_TIME_LIMIT = 120
CELERY_TASK_SOFT_TIME_LIMIT = 100
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Celery's Django fixup closes the database connection around every task unless this is set;
# a new PostgreSQL connection per task cost more than a reminder send. With it, a worker treats
# its connection like a web request does (alliance_portal/celery.py): kept CONN_MAX_AGE
# (workers: DATABASE_CONN_MAX_AGE), dropped before a task if broken, and closed every
# 1,000 tasks regardless.
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=1000)
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    # Liveness of the scheduled path (beat -> broker -> worker -> database).
    "core-heartbeat": {"task": "core.tasks.heartbeat_record", "schedule": 60.0},
    "checkins-attention-sweep": {"task": "checkins.tasks.attention_sweep", "schedule": 300.0},
    "reminders-dispatch": {"task": "reminders.tasks.reminders_dispatch", "schedule": 60.0},
    # Hourly; each clinic is swept once a day, in the hour FlagSettings.sweep_hour local.
    "flags-sweep": {"task": "flags.tasks.flags_sweep", "schedule": crontab(minute=5)},
    # Thumbnails whose task was lost, files of withdrawn photos not yet deleted.
    "photos-sweep": {"task": "photos.tasks.photos_sweep", "schedule": 600.0},
    # Message notices whose task was lost (broker down).
    "messaging-notices-sweep": {"task": "messaging.tasks.notices_sweep", "schedule": 300.0},
    # Daily; creates the coming months' audit partitions (PostgreSQL), a no-op when they exist.
    "audit-partitions-ensure": {"task": "core.tasks.audit_partitions_ensure",
                                "schedule": crontab(minute=17, hour=3)},
    # Bulk exports past their time (files deleted) and queued ones whose task was lost.
    "interop-bulk-exports-sweep": {"task": "interop.bulk_tasks.bulk_exports_sweep",
                                   "schedule": 300.0},
    # Patients' "Download my data": exports whose task was lost, expired files deleted.
    "interop-data-exports-sweep": {"task": "interop.account_tasks.data_exports_sweep",
                                   "schedule": 300.0},
}
# Task modules autodiscovery does not find (it imports each app's ``tasks.py`` only).
CELERY_IMPORTS = ["interop.bulk_tasks", "interop.account_tasks"]
# The fault drills (tests/drills) run beat for two minutes, not hours: an interval in seconds
# from the environment replaces an entry's schedule. Unset in production.
for _entry, _variable in (("reminders-dispatch", "BEAT_REMINDERS_DISPATCH_SECONDS"),
                          ("checkins-attention-sweep", "BEAT_ATTENTION_SWEEP_SECONDS"),
                          ("flags-sweep", "BEAT_FLAGS_SWEEP_SECONDS")):
    if _seconds := env.float(_variable, default=0):
        CELERY_BEAT_SCHEDULE[_entry]["schedule"] = _seconds

# --- Audit trail ----------------------------------------------------------------------------
# Months of audit events kept. Partitions older than this may be dropped by an operator
# (manage.py audit_partition_drop); nothing is dropped automatically. Six years by default
# (HIPAA documentation retention); local law may ask for more.
AUDIT_RETENTION_MONTHS = env.int("AUDIT_RETENTION_MONTHS", default=72)
# Monthly partitions created ahead of time by the beat task (core.tasks.audit_partitions_ensure).
AUDIT_PARTITIONS_AHEAD_MONTHS = env.int("AUDIT_PARTITIONS_AHEAD_MONTHS", default=3)

# --- Reminders ------------------------------------------------------------------------------
# A claimed reminder not sent after this long (broker down, worker killed) is offered again.
REMINDER_STALE_CLAIM_SECONDS = env.int("REMINDER_STALE_CLAIM_SECONDS", default=120)

# Web Push (reminders.push): on only when all three are set (`manage.py vapid_keys` makes a pair).
# The public key is the browser's applicationServerKey (base64url, uncompressed P-256 point); the
# private key signs each push (base64url, 32 bytes); the subject tells push services whom to call.
VAPID_PUBLIC_KEY = env.str("VAPID_PUBLIC_KEY", default="").strip()
VAPID_PRIVATE_KEY = env.str("VAPID_PRIVATE_KEY", default="").strip()
VAPID_SUBJECT = env.str("VAPID_SUBJECT", default="").strip()
_vapid = (VAPID_PUBLIC_KEY, VAPID_PRIVATE_KEY, VAPID_SUBJECT)
if any(_vapid) and not all(_vapid):
    raise ImproperlyConfigured(
        "Push reminders need VAPID_PUBLIC_KEY, VAPID_PRIVATE_KEY and VAPID_SUBJECT together.")
if VAPID_SUBJECT and not VAPID_SUBJECT.startswith(("mailto:", "https://")):
    raise ImproperlyConfigured("VAPID_SUBJECT is a mailto: address or an https:// URL.")


def _b64url_length(text: str) -> int:
    try:
        return len(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except ValueError:
        return -1


# Checked at start-up, never echoed (the private key is a secret).
for _name, _value, _length in (("VAPID_PUBLIC_KEY", VAPID_PUBLIC_KEY, 65),
                               ("VAPID_PRIVATE_KEY", VAPID_PRIVATE_KEY, 32)):
    if _value and _b64url_length(_value) != _length:
        raise ImproperlyConfigured(
            f"{_name} is not a key made by `manage.py vapid_keys` (base64url, {_length} bytes).")
WEBPUSH_ENABLED = all(_vapid)
# Where the server may POST a push: the browsers' push services only, so a forged subscription
# cannot aim the server at another host (exact hosts, or a leading dot for a domain's hosts).
WEBPUSH_SERVICE_HOSTS = (
    "fcm.googleapis.com",  # Chrome, Edge on Android, Samsung Internet
    "updates.push.services.mozilla.com",  # Firefox
    ".push.apple.com",  # Safari (web.push.apple.com)
    ".notify.windows.com",  # Edge on Windows
)
# Tests only (a local fake push service over http); deliberately not read from the environment.
WEBPUSH_ALLOW_HTTP = False

# The bare comparison view of benchmarks/checkin_throughput.py (core.views.bench_noop).
BENCHMARK_ENDPOINTS = env.bool("ALLIANCE_BENCHMARK_ENDPOINTS", default=False)

# --- Logging: never health data; ids and event names only -----------------------------------
_LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {
        "request_paths": {"()": "core.logging.RequestLogFilter"},
        "access_lines": {"()": "core.logging.ServerLogFilter"},
        "csrf_paths": {"()": "core.logging.CsrfLogFilter"},
        # On every handler: no token, email address or exception message in any logger's lines.
        "redact": {"()": "core.logging.RedactingFilter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain",
                             "filters": ["redact"]}},
    "root": {"handlers": ["console"], "level": _LOG_LEVEL},
    # Every record once, through the root handler: this replaces the handlers of Django's default
    # config ("django" printed a second copy in DEBUG, "django.server" did not propagate).
    "loggers": {
        "django": {"level": _LOG_LEVEL},
        "django.db.backends": {"level": "WARNING"},
        # scripts/demo sets ERROR: runserver's access line already shows each 4xx.
        "django.request": {
            "filters": ["request_paths"],
            "level": env.str("REQUEST_LOG_LEVEL", default=_LOG_LEVEL),
        },
        "django.server": {"filters": ["access_lines"], "propagate": True},
        "django.security.csrf": {"filters": ["csrf_paths"]},
    },
}

# --- Security: headers and cookies on every response, DEBUG or not ---------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy (django-csp), in DEBUG too so tests and the demo run under it. Scripts
# are our static files or carry the per-response nonce ({{ request.csp_nonce }}); no inline
# styles at all (htmx's indicator styles are off in base.html and live in portal.css).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# HTTPS only: on whenever DEBUG is off. DJANGO_HTTPS=false is for a plain-HTTP trial on localhost
# (e.g. docker compose without a TLS proxy), DJANGO_HTTPS=true forces it on in DEBUG.
HTTPS_ONLY = env.bool("DJANGO_HTTPS", default=not DEBUG)
# Links in allauth's emails (password reset, verification) use the scheme the site serves.
ACCOUNT_DEFAULT_HTTP_PROTOCOL = env.str(
    "ACCOUNT_DEFAULT_HTTP_PROTOCOL", default="https" if HTTPS_ONLY else "http"
)
if HTTPS_ONLY:
    SECURE_SSL_REDIRECT = True
    # Health checks from the load balancer / compose speak plain HTTP to the container.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_HSTS_SECONDS = 63_072_000  # two years (preload lists ask for at least one)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
# Behind a TLS-terminating proxy, e.g. DJANGO_SECURE_PROXY_SSL_HEADER=HTTP_X_FORWARDED_PROTO,https.
# Only set it when the proxy overwrites that header: otherwise clients could claim HTTPS.
if _proxy_ssl_header := env.list("DJANGO_SECURE_PROXY_SSL_HEADER", default=[]):
    if len(_proxy_ssl_header) != 2:
        raise ImproperlyConfigured("DJANGO_SECURE_PROXY_SSL_HEADER is 'HEADER_NAME,value'.")
    SECURE_PROXY_SSL_HEADER = tuple(_proxy_ssl_header)

# --- FHIR API: OAuth 2.0 (django-oauth-toolkit) ---------------------------------------------
# The toolkit's own models, named so that migrations can resolve them (they are swappable).
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL = "oauth2_provider.AccessToken"  # noqa: S105 (a model name)
OAUTH2_PROVIDER_REFRESH_TOKEN_MODEL = "oauth2_provider.RefreshToken"  # noqa: S105 (a model name)
OAUTH2_PROVIDER_ID_TOKEN_MODEL = "oauth2_provider.IDToken"  # noqa: S105 (a model name)
OAUTH2_PROVIDER_GRANT_MODEL = "oauth2_provider.Grant"
OAUTH2_PROVIDER = {
    # Authorization code only with PKCE, S256 only ("plain" refused); client credentials for
    # clinics' system clients; no implicit or password grants.
    "PKCE_REQUIRED": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    # The rest of RFC 9700: tokens only in the Authorization header (never in a URL or a log),
    # stored hashed, the issuer named in the authorization response, a replayed refresh token
    # revokes its family.
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "ACCESS_TOKEN_EXPIRE_SECONDS": 3600,
    "REFRESH_TOKEN_EXPIRE_SECONDS": 30 * 24 * 3600,
    # SMART v2 scopes: system clients within their allowed scopes, patients' apps patient/
    # (interop/scopes.py); a revoked client cannot authenticate.
    "SCOPES_BACKEND_CLASS": "interop.scopes.SmartScopes",
    "OAUTH2_VALIDATOR_CLASS": "interop.scopes.PortalOAuth2Validator",
    # Every app asks the patient every time (no silent re-approval).
    "REQUEST_APPROVAL_PROMPT": "force",
    # Patients' apps are sent back over HTTPS only (plain http too while developing).
    "ALLOWED_REDIRECT_URI_SCHEMES": ["http", "https"] if DEBUG else ["https"],
}
# A bulk export's files and a patient's "Download my data" zip: kept on the data folder,
# readable by the portal's user only, deleted when they expire.
EXPORTS_DIR = Path(env.str("ALLIANCE_EXPORTS_DIR", default=str(DATA_DIR / "exports")))
BULK_EXPORT_HOURS = env.int("BULK_EXPORT_HOURS", default=24)
PATIENT_EXPORT_DAYS = 7
