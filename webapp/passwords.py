"""Which passwords may be set: at least 8 characters, not a common one, not built from the 工号 or the site's name.

No composition rules (NIST SP 800-63B, ASVS V6.2): length and a blocklist stop the guessable passwords; rules
about digits and capitals only make people write them down. Checked when a password is set (the 修改密码 page,
the CLI's create-user and set-password), never at login. Stored with werkzeug's default KDF (scrypt, N=2^15, r=8,
p=1, with a random salt; older pbkdf2 hashes still verify).
"""
import re
from functools import cache

from flask_babel import gettext

from .common_passwords import CHINESE, COMMON

MIN_LENGTH = 8
MAX_LENGTH = 128
# Digits and punctuation people put around a word to pass a length rule: "hainan2026!", "HN1003@123".
_FILLER = re.compile(r"[\d\W_]*")


@cache
def common_passwords() -> frozenset[str]:
    """The blocklist, lower case, loaded once per process."""
    return frozenset(line for line in (COMMON + CHINESE).splitlines() if line)


def _built_from(candidate: str, word: str) -> bool:
    """True when candidate is word (repeated, or) with only digits and punctuation around it."""
    if not word or word not in candidate:
        return False
    rest = candidate.replace(word, "")
    return _FILLER.fullmatch(rest) is not None


def password_problem(password: str, *, employee_no: str = "", context_words=(), label: str | None = None) -> str | None:
    """The reason this password may not be set, or None when it may. label names the field in the message (密码)."""
    label = label or gettext("密码")
    if len(password) < MIN_LENGTH:
        return gettext("%(label)s至少 %(count)s 位。", label=label, count=MIN_LENGTH)
    if len(password) > MAX_LENGTH:
        return gettext("%(label)s不能超过 %(count)s 位。", label=label, count=MAX_LENGTH)
    folded = password.strip().casefold()
    if _built_from(folded, employee_no.strip().casefold()):
        return gettext("%(label)s不能是工号，也不能只在工号前后加数字或符号。", label=label)
    if folded in common_passwords() or _FILLER.fullmatch(folded) and len(set(folded)) <= 2:
        return gettext("这个%(label)s太常见，很容易被猜中，请换一个。", label=label)
    if any(_built_from(folded, word.casefold()) for word in context_words):
        return gettext("%(label)s不能只用单位或地名的拼音加数字，很容易被猜中，请换一个。", label=label)
    return None
