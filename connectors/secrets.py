"""Secrets at rest: Fernet encryption for stored values, hashing for tokens, masking for display."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

MASK = "********"
ENCRYPTED_PREFIX = "fernet:"
# What a secret that no key of FIELD_ENCRYPTION_KEY opens reads as, on every page and API.
UNDECRYPTABLE = "cannot be decrypted: the encryption key changed"
MISSING_KEY = (
    "Set FIELD_ENCRYPTION_KEY: with DEBUG off, secrets at rest are not encrypted with a key "
    "derived from SECRET_KEY (changing SECRET_KEY would make them unreadable). Generate one with "
    '`python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"`.'
)


def derives_key() -> bool:
    """True when no FIELD_ENCRYPTION_KEY is set where that is refused (DEBUG off, not under test)."""
    return not settings.FIELD_ENCRYPTION_KEY and not settings.DEBUG and not settings.TESTING


def derived_key(secret_key: str) -> str:
    """The key used when FIELD_ENCRYPTION_KEY is unset (development; older installations)."""
    digest = hashlib.sha256(f"field-encryption:{secret_key}".encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...], secret_key: str) -> MultiFernet:
    if not keys:
        # Development only: a key derived from SECRET_KEY, so a first run needs nothing.
        keys = (derived_key(secret_key),)
    return MultiFernet([Fernet(key.encode()) for key in keys])


def _keys() -> tuple[tuple[str, ...], str]:
    if derives_key():
        raise ImproperlyConfigured(MISSING_KEY)
    return tuple(settings.FIELD_ENCRYPTION_KEY), settings.SECRET_KEY


def fernet() -> MultiFernet:
    """The first key encrypts; every listed key decrypts (FIELD_ENCRYPTION_KEY rotation)."""
    return _fernet(*_keys())


def encrypt(plaintext: str) -> str:
    return ENCRYPTED_PREFIX + fernet().encrypt(plaintext.encode()).decode()


def decrypt(stored: str) -> str:
    if not stored.startswith(ENCRYPTED_PREFIX):
        return stored
    return _decrypt(stored, *_keys())


# Every ingest request loads its endpoint, whose verification setting is encrypted: a
# ciphertext is decrypted once per process (Fernet's HMAC and AES cost more than the lookup).
@lru_cache(maxsize=4096)
def _decrypt(stored: str, keys: tuple[str, ...], secret_key: str) -> str:
    try:
        return _fernet(keys, secret_key).decrypt(stored[len(ENCRYPTED_PREFIX) :].encode()).decode()
    except InvalidToken as exc:
        raise ValueError("A stored secret cannot be decrypted with FIELD_ENCRYPTION_KEY.") from exc


def reencrypt(stored: str) -> str:
    """Re-encrypt with the newest key (after a key rotation)."""
    return encrypt(decrypt(stored))


class Undecryptable(str):
    """A stored secret that no key of FIELD_ENCRYPTION_KEY opens (the key was changed or lost).

    It reads as UNDECRYPTABLE wherever it is shown, the outbound path refuses to send it, and
    it is written back as the ciphertext it was, so that restoring the key brings it back.
    """

    stored: str

    def __new__(cls, stored: str) -> Undecryptable:
        value = super().__new__(cls, UNDECRYPTABLE)
        value.stored = stored
        return value


class UndecryptableJSON(dict):
    """An encrypted JSON document no key opens; shows as `{"type": UNDECRYPTABLE}`."""

    def __init__(self, stored: str) -> None:
        super().__init__(type=UNDECRYPTABLE)
        self.stored = stored


def is_undecryptable(value) -> bool:
    return isinstance(value, Undecryptable | UndecryptableJSON)


def _from_dump(value: str) -> str:
    """A value read by loaddata: dumps hold ciphertext, which must open with this key."""
    if not value.startswith(ENCRYPTED_PREFIX):
        return value
    try:
        return decrypt(value)
    except ValueError:
        raise ValueError(
            "A secret in the data to load cannot be decrypted with FIELD_ENCRYPTION_KEY: "
            "load it with the key of the installation it was dumped from."
        ) from None


def encrypted_fields(model) -> tuple[str, ...]:
    """The names of `model`'s columns stored encrypted by the fields below: read from the model,
    so that rotation, audit digests and the undecryptable check never miss a new one."""
    return tuple(
        field.name
        for field in model._meta.concrete_fields
        if isinstance(field, EncryptedTextField | EncryptedJSONField)
    )


class EncryptedTextField(models.TextField):
    """A text column whose value is Fernet-encrypted in the database and plain in Python.

    Serialized (dumpdata) as ciphertext, never as plaintext; loaddata decrypts it again.
    """

    def from_db_value(self, value, expression, connection):
        if value is None:
            return None
        try:
            return decrypt(value)
        except ValueError:
            return Undecryptable(value)

    def to_python(self, value):
        value = super().to_python(value)
        if value is None or is_undecryptable(value):
            return value
        return _from_dump(value)

    def get_prep_value(self, value):
        if isinstance(value, Undecryptable):
            return value.stored
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(value)

    def value_to_string(self, obj):
        return self.get_prep_value(self.value_from_object(obj)) or ""


class EncryptedJSONField(models.TextField):
    """A JSON document stored encrypted (auth configurations hold several secrets)."""

    def from_db_value(self, value, expression, connection):
        if not value:
            return {}
        try:
            return json.loads(decrypt(value))
        except ValueError:
            return UndecryptableJSON(value)

    def to_python(self, value):
        if isinstance(value, dict):
            return value
        return {} if not value else json.loads(_from_dump(value))

    def get_prep_value(self, value):
        if isinstance(value, UndecryptableJSON):
            return value.stored
        if not value:
            return ""
        return encrypt(json.dumps(value, sort_keys=True))

    def value_to_string(self, obj):
        return self.get_prep_value(self.value_from_object(obj))


TOKEN_PREFIX = "sc_"


def generate_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    # Tokens carry 256 random bits, so a plain SHA-256 is enough: no dictionary to defend against.
    return hashlib.sha256(token.encode()).hexdigest()


def token_matches(token: str, stored_hash: str) -> bool:
    return bool(stored_hash) and hmac.compare_digest(hash_token(token), stored_hash)


def mask(value: str) -> str:
    if isinstance(value, Undecryptable):
        return UNDECRYPTABLE
    return MASK if value else ""
