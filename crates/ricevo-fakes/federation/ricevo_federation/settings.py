"""Django settings for one entity of the local test federation.

Each process plays one role, chosen by the environment `harness.py` sets before Django starts:

- RICEVO_FED_ROLE: "ta" (trust anchor), "op" (OpenID provider) or "rp" (relying party);
- RICEVO_FED_ENTITY: this entity's id, e.g. "http://127.0.0.1:8000" (no final "/");
- RICEVO_FED_TRUST_ANCHOR: the trust anchor's entity id;
- RICEVO_FED_PROFILE: "spid" or "cie" (the provider's and relying party's profile);
- RICEVO_FED_DIR: the directory of this entity's SQLite database and log;
- RICEVO_FED_PROVIDERS: for the relying party, JSON {"spid": [op, ...], "cie": [op, ...]}.

Everything here is for tests on 127.0.0.1: plain http (the federation rules want https),
DEBUG off, a throwaway secret key.
"""
import json
import os
import secrets
from pathlib import Path

ROLE = os.environ["RICEVO_FED_ROLE"]
ENTITY_ID = os.environ["RICEVO_FED_ENTITY"]
TRUST_ANCHOR = os.environ["RICEVO_FED_TRUST_ANCHOR"]
PROFILE = os.environ.get("RICEVO_FED_PROFILE", "spid")
DATA_DIR = Path(os.environ["RICEVO_FED_DIR"])

BASE_DIR = Path(__file__).resolve().parent
SECRET_KEY = secrets.token_urlsafe(48)
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "spid_cie_oidc.accounts",
    "spid_cie_oidc.entity",
    "spid_cie_oidc.authority",
    "spid_cie_oidc.provider",
    "spid_cie_oidc.relying_party",
    "ricevo_federation",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

ROOT_URLCONF = "ricevo_federation.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": DATA_DIR / "db.sqlite3",
        "OPTIONS": {"timeout": 30},
    }
}
AUTH_USER_MODEL = "spid_cie_oidc_accounts.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "it"
STATIC_URL = "/static/"

# All the entities share the host 127.0.0.1, and browsers keep cookies per host, not per
# port: each entity names its cookies after itself so that they do not overwrite each other.
_COOKIE_PREFIX = "fed_" + "".join(c if c.isalnum() else "_" for c in ENTITY_ID.split("//")[-1])
SESSION_COOKIE_NAME = _COOKIE_PREFIX + "_session"
CSRF_COOKIE_NAME = _COOKIE_PREFIX + "_csrf"
SESSION_COOKIE_SAMESITE = "Lax"

# The federation.
OIDCFED_TRUST_ANCHORS = [TRUST_ANCHOR]
OIDCFED_DEFAULT_TRUST_ANCHOR = TRUST_ANCHOR
# The trust marks the trust anchor issues, after the AgID rules' naming
# ("https://<registry>/openid_relying_party/public/").
TRUST_MARK_RP = f"{TRUST_ANCHOR}/openid_relying_party/public/"
TRUST_MARK_OP = f"{TRUST_ANCHOR}/openid_provider/public/"
# The provider refuses a relying party without a trust mark of the trust anchor's.
OIDCFED_REQUIRED_TRUST_MARKS = [TRUST_MARK_RP]
# http on loopback: the package's aiohttp client must not insist on TLS, and a short timeout
# keeps a refused request from hanging a test.
import aiohttp  # noqa: E402

HTTPC_TIMEOUT = 8
HTTPC_PARAMS = {
    "connection": {"ssl": False},
    "session": {"timeout": aiohttp.ClientTimeout(total=HTTPC_TIMEOUT)},
}

# The provider.
OIDCFED_PROVIDER_PROFILE = PROFILE
OIDCFED_DEFAULT_PROVIDER_PROFILE = PROFILE
OIDCFED_PROVIDER_SALT = secrets.token_hex(16)

# The relying party (the package's own, used to prove the harness).
RP_DEFAULT_PROVIDER_PROFILES = PROFILE
OIDCFED_IDENTITY_PROVIDERS = {
    kind: {op: TRUST_ANCHOR for op in ops}
    for kind, ops in json.loads(os.environ.get("RICEVO_FED_PROVIDERS", "{}")).items()
}
LOGIN_URL = "/oidc/rp/landing"
# After the callback: the page that shows the attributes the relying party received.
LOGIN_REDIRECT_URL = "/oidc/rp/echo_attributes"

# Token the test harness shows to register entities at the trust anchor.
RICEVO_FED_REGISTER_TOKEN = os.environ.get("RICEVO_FED_REGISTER_TOKEN", "")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "spid_cie_oidc": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "ricevo_federation": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.request": {"handlers": ["console"], "level": "WARNING", "propagate": False},
    },
}
