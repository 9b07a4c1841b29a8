"""Cleaning text typed by users before it reaches a query or the database."""
import unicodedata


def clean_text(value: str | None) -> str:
    """Text of several lines: control characters removed except line breaks and tabs, trimmed."""
    if not value:
        return ""
    return "".join(ch for ch in value if ch in "\n\t" or unicodedata.category(ch)[0] != "C").strip()


def clean_line(value: str | None, max_length: int) -> str:
    """One line of user text: control characters (NUL included, which PostgreSQL rejects) removed, trimmed, capped."""
    if not value:
        return ""
    kept = "".join(ch for ch in value if unicodedata.category(ch)[0] != "C")
    return kept.strip()[:max_length]
