"""Wording shared by the commands' output."""


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """"1 frame", "2 frames" (`nouns` for an irregular plural)."""
    return f"{count} {noun if count == 1 else nouns or noun + 's'}"
