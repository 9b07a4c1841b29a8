"""Web Push, the optional channel of the bell: when the server has VAPID keys (JINGZHAN_VAPID_PUBLIC_KEY and
JINGZHAN_VAPID_PRIVATE_KEY, made by `jingzhan vapid-keys`), a phone may subscribe, and `jingzhan push-notifications`
(run every minute by a timer, docs/deploy.md) sends each subscriber the bell's items that are newer than what it
sent last. Delivery goes through the browser maker's push service, which a closed station network may not reach:
the bell inside the app works without it.
"""
import json
import re
from datetime import datetime
from urllib.parse import urlsplit

from flask_babel import force_locale, gettext, ngettext

from models import PushSubscription, User, db, utcnow

from .i18n import DEFAULT, LANGUAGES
from .notifications import Item, feed

MAX_ENDPOINT = 1000
KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]+={0,2}$")
PER_RUN = 3  # items pushed one by one; more than that become one "还有 N 条" message
TTL = 12 * 3600  # a phone out of signal for a shift still gets it


class PushError(ValueError):
    """A subscription that cannot be kept; the message says why, in Chinese."""


def configured(config) -> bool:
    return bool(config.get("VAPID_PUBLIC_KEY") and config.get("VAPID_PRIVATE_KEY"))


def subscribe(user, body) -> PushSubscription:
    """Keep (or move to this user) the subscription the browser gave: {endpoint, keys: {p256dh, auth}}."""
    if not isinstance(body, dict):
        raise PushError(gettext("订阅信息格式不对。"))
    endpoint = body.get("endpoint")
    keys = body.get("keys") if isinstance(body.get("keys"), dict) else {}
    p256dh, auth = keys.get("p256dh"), keys.get("auth")
    if not isinstance(endpoint, str) or not endpoint or len(endpoint) > MAX_ENDPOINT:
        raise PushError(gettext("订阅地址无效。"))
    parts = urlsplit(endpoint)
    if parts.scheme != "https" or not parts.hostname:
        raise PushError(gettext("订阅地址必须是 https 地址。"))
    for value, size in ((p256dh, 200), (auth, 100)):
        if not isinstance(value, str) or not value or len(value) > size or not KEY_PATTERN.match(value):
            raise PushError(gettext("订阅密钥无效。"))
    with db.atomic():
        existing = PushSubscription.get_or_none(PushSubscription.endpoint == endpoint)
        if existing is not None:
            # The same browser, maybe another user now (a shared phone): it receives the new user's items only.
            existing.user, existing.p256dh, existing.auth, existing.sent_until = user.id, p256dh, auth, utcnow()
            existing.save()
            return existing
        return PushSubscription.create(user=user.id, endpoint=endpoint, p256dh=p256dh, auth=auth)


def unsubscribe(user, endpoint) -> int:
    if not isinstance(endpoint, str):
        return 0
    return PushSubscription.delete().where((PushSubscription.user == user.id) & (PushSubscription.endpoint == endpoint)).execute()


def message(item: Item) -> dict:
    """What the service worker shows: title, body, the page to open, and a tag (one notification per record)."""
    return {"title": item.title, "body": item.text, "url": item.url, "tag": item.key}


def summary(count: int) -> dict:
    body = ngettext("还有 %(num)s 条新通知，点开查看。", "还有 %(num)s 条新通知，点开查看。", count)
    return {"title": "井站通", "body": body, "url": "/notifications/", "tag": "summary"}


def send_due(app, now: datetime | None = None, sender=None, session=None) -> dict:
    """Push every subscriber what is new since the last run; returns counts. `sender` is pywebpush.webpush (tests
    pass a requests session that records instead of sending). A timer has no request: the items' links are built
    from the app's URL map."""
    adapter = app.url_map.bind("localhost", script_name=app.config.get("APPLICATION_ROOT") or "/")
    return _send_due(app.config, now, sender, session, lambda endpoint, **values: adapter.build(endpoint, values))


def _send_due(config, now, sender, session, link) -> dict:
    if sender is None:
        from pywebpush import webpush as sender
    from pywebpush import WebPushException

    now = now or utcnow()
    counts = {"subscriptions": 0, "sent": 0, "gone": 0, "failed": 0}
    claims = {"sub": config.get("VAPID_SUBJECT") or "mailto:admin@localhost"}
    for subscription in PushSubscription.select(PushSubscription, User).join(User).where(User.is_enabled):
        counts["subscriptions"] += 1
        # In the subscriber's chosen language (a timer has no browser to ask: Chinese when they chose none).
        with force_locale(subscription.user.language if subscription.user.language in LANGUAGES else DEFAULT):
            new = [i for i in feed(subscription.user, config["TIMEZONE"], now, link) if i.at > subscription.sent_until]
            messages = [message(i) for i in new[:PER_RUN]]
            if len(new) > PER_RUN:
                messages.append(summary(len(new) - PER_RUN))
        info = {"endpoint": subscription.endpoint, "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth}}
        try:
            for body in messages:
                sender(info, data=json.dumps(body, ensure_ascii=False), vapid_private_key=config["VAPID_PRIVATE_KEY"],
                       vapid_claims=dict(claims), ttl=TTL, timeout=10, requests_session=session)
                counts["sent"] += 1
        except WebPushException as exc:
            status = getattr(exc.response, "status_code", None)
            if status in (404, 410):  # the browser dropped the subscription
                subscription.delete_instance()
                counts["gone"] += 1
            else:
                counts["failed"] += 1  # tried again next run: sent_until stays
            continue
        subscription.sent_until = now
        subscription.save(only=[PushSubscription.sent_until])
    return counts


def vapid_keys() -> tuple[str, str]:
    """A new key pair as (public, private), both base64url: the public one goes to the browsers."""
    from cryptography.hazmat.primitives import serialization
    from py_vapid import Vapid02, b64urlencode

    vapid = Vapid02()
    vapid.generate_keys()
    private = b64urlencode(vapid.private_key.private_numbers().private_value.to_bytes(32, "big"))
    public = b64urlencode(vapid.public_key.public_bytes(serialization.Encoding.X962,
                                                        serialization.PublicFormat.UncompressedPoint))
    return public, private
