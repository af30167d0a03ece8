"""Mailbox cursors: a position in one mailbox, signed so clients can hold it but not forge it.

The signature is salted with the mailbox id, so a cursor taken from one mailbox is refused by
every other. It does not depend on the mailbox's token: rotating the token keeps cursors valid.
Clients treat a cursor as opaque text; only this module knows what is inside.
"""

from __future__ import annotations

from django.core import signing


class InvalidCursor(ValueError):
    pass


def _signer(mailbox_id: int) -> signing.Signer:
    return signing.Signer(salt=f"mailbox.cursor:{mailbox_id}")


def encode_cursor(mailbox_id: int, position: int) -> str:
    return _signer(mailbox_id).sign(format(position, "x"))


def decode_cursor(mailbox_id: int, cursor: str) -> int:
    """The position a cursor names; InvalidCursor when it was altered or belongs to another mailbox."""
    try:
        return int(_signer(mailbox_id).unsign(cursor), 16)
    except (signing.BadSignature, ValueError):
        raise InvalidCursor(
            "This cursor is not valid for this mailbox: use a `next` or `cursor` value "
            "this mailbox returned, unchanged."
        ) from None
