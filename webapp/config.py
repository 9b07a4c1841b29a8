"""Configuration read from the environment, with safe defaults."""
import os
import secrets
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = Path(os.environ.get("JINGZHAN_INSTANCE", ROOT / "instance"))
DEFAULT_DEMO_PASSWORD = "jingzhan2026"


def _secret_key(instance: Path) -> str:
    """Return SECRET_KEY from the environment, else one generated once and kept in instance/."""
    key = os.environ.get("SECRET_KEY")
    if key:
        return key
    path = instance / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    # Write-then-rename so two processes starting at once never read half a key.
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(key)
    if not path.exists():
        os.replace(tmp, path)
    else:
        tmp.unlink()
    return path.read_text().strip()


def _flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


class Config:
    """Settings for a running app, from environment variables."""

    def __init__(self, with_secret: bool = True):
        self.INSTANCE_PATH = INSTANCE
        self.DATABASE_URL = os.environ.get("DATABASE_URL", f"sqlite:///{INSTANCE / 'jingzhan.db'}")
        self.SECRET_KEY = _secret_key(INSTANCE) if with_secret else None
        self.TIMEZONE = os.environ.get("JINGZHAN_TZ", "Asia/Shanghai")
        self.BASE_URL = os.environ.get("JINGZHAN_BASE_URL", "").rstrip("/")
        self.DEMO_PASSWORD = os.environ.get("JINGZHAN_DEMO_PASSWORD", DEFAULT_DEMO_PASSWORD)
        # Phones in the field use HTTPS (camera and service worker need it); plain
        # http on 127.0.0.1 for local trials keeps cookies usable.
        self.SESSION_COOKIE_SECURE = _flag("JINGZHAN_SECURE_COOKIES")
        # Flask-Login's own remember cookie is not used (the login session is server-side, webapp/sessions.py);
        # its flags stay strict in case anything ever sets it.
        self.REMEMBER_COOKIE_SECURE = self.SESSION_COOKIE_SECURE
        self.SESSION_COOKIE_HTTPONLY = True
        self.REMEMBER_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.REMEMBER_COOKIE_SAMESITE = "Lax"
        # The login cookie holds only the id of a server-side session. "__Host-" (Secure, Path=/, no Domain)
        # when served over HTTPS, so a sibling subdomain cannot plant or overwrite it.
        self.AUTH_COOKIE_NAME = "__Host-jingzhan_login" if self.SESSION_COOKIE_SECURE else "jingzhan_login"
        # Idle timeout: longer than a 12-hour shift worked offline, so a phone is not logged out by its own shift.
        self.SESSION_IDLE_HOURS = float(os.environ.get("JINGZHAN_SESSION_IDLE_HOURS", "14"))
        # Absolute lifetime: with "在本机保持登录" (the default) 30 days; without, 24 hours and a browser-session
        # cookie.
        self.SESSION_REMEMBER_DAYS = float(os.environ.get("JINGZHAN_SESSION_REMEMBER_DAYS", "30"))
        self.SESSION_HOURS = float(os.environ.get("JINGZHAN_SESSION_HOURS", "24"))
        # last_seen_at is written at most this often, so reading pages does not write on every request.
        self.SESSION_TOUCH_SECONDS = 60
        self.MAX_CONTENT_LENGTH = 16 * 1024 * 1024
        # Per account: this many wrong passwords in a row lock it for LOGIN_LOCK_MINUTES.
        self.LOGIN_MAX_FAILURES = 5
        self.LOGIN_LOCK_MINUTES = 15
        # Per client address (request.remote_addr; behind a proxy, see docs/decisions.md): this many failed logins
        # within the window answer 429 until the oldest leaves it. Counted in the database, so every worker agrees.
        self.LOGIN_ADDRESS_MAX_FAILURES = int(os.environ.get("JINGZHAN_LOGIN_ADDRESS_MAX_FAILURES", "20"))
        self.LOGIN_ADDRESS_WINDOW_MINUTES = int(os.environ.get("JINGZHAN_LOGIN_ADDRESS_WINDOW_MINUTES", "15"))
        # Reverse proxies in front of the app (nginx: 1). With N > 0 the client's address and scheme are taken from
        # the last N entries of X-Forwarded-For / X-Forwarded-Proto (werkzeug's ProxyFix, docs/deploy.md); with 0
        # those headers are ignored, so a phone talking to the app directly cannot claim another address.
        self.PROXY_HOPS = int(os.environ.get("JINGZHAN_PROXY_HOPS", "0"))
        # Login attempts are kept a day (throttling needs minutes); auth events a year, for review.
        self.LOGIN_ATTEMPT_KEEP_HOURS = 24
        self.AUTH_EVENT_KEEP_DAYS = 365
        # Words of this deployment a password must not be built from (pinyin of the plant and work area), besides
        # the common-password list and the user's own 工号 (webapp/passwords.py).
        self.PASSWORD_CONTEXT_WORDS = tuple(os.environ.get(
            "JINGZHAN_PASSWORD_CONTEXT_WORDS", "hainan jinhai liaohe youtian caiyou zuoyequ jingzhantong").split())
        # A check-in further than this from the well's registered position is flagged for the leader.
        self.PRESENCE_MAX_DISTANCE_M = float(os.environ.get("JINGZHAN_PRESENCE_DISTANCE_M", "200"))
        # Web Push (optional, webapp/push.py): a key pair from `jingzhan vapid-keys`, and a contact for the push
        # services. Without the keys the bell inside the app is the only channel.
        self.VAPID_PUBLIC_KEY = os.environ.get("JINGZHAN_VAPID_PUBLIC_KEY", "")
        self.VAPID_PRIVATE_KEY = os.environ.get("JINGZHAN_VAPID_PRIVATE_KEY", "")
        self.VAPID_SUBJECT = os.environ.get("JINGZHAN_VAPID_SUBJECT", "mailto:admin@localhost")
        # Photos from phones, re-encoded, a photo and its thumbnail stored under the photo's sha256
        # (webapp/photo_store.py): in PHOTO_DIR ("dir", the default) or in an S3-compatible bucket ("s3", needs
        # `pip install 'jingzhan[s3]'`; credentials and region from the standard AWS_* variables). PHOTO_DIR is
        # also where files of older releases, named by uuid, are read until `jingzhan photos migrate`.
        self.PHOTO_DIR = Path(os.environ.get("JINGZHAN_PHOTO_DIR", INSTANCE / "photos"))
        self.PHOTO_STORE = os.environ.get("JINGZHAN_PHOTO_STORE", "dir").strip().lower()
        self.PHOTO_S3_BUCKET = os.environ.get("JINGZHAN_PHOTO_S3_BUCKET", "")
        self.PHOTO_S3_ENDPOINT = os.environ.get("JINGZHAN_PHOTO_S3_ENDPOINT", "")  # empty: AWS itself
        self.PHOTO_S3_PREFIX = os.environ.get("JINGZHAN_PHOTO_S3_PREFIX", "photos/")
        self.TESTING = False


def make_config(overrides: dict | None = None) -> dict:
    """Config as a plain dict, with test or caller overrides applied last."""
    overrides = overrides or {}
    cfg = dict(vars(Config(with_secret="SECRET_KEY" not in overrides)))
    cfg.update(overrides)
    return cfg
