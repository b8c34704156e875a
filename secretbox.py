"""Encryption of stored secrets (Hex Key values) with AES-256-GCM, under a key ring.

A stored blob is a version byte, the first four bytes of the SHA-256 of the key that
sealed it, a 12-byte random nonce and the ciphertext with its tag. The current key seals;
retired keys only unseal, until ``flask keys reencrypt`` has moved every blob to the
current key. The caller passes associated data that ties the blob to its row, so a blob
copied to another row does not decrypt.
"""

import base64
import binascii
import hashlib
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from config import ConfigError

VERSION = b"\x01"
KEY_ID_SIZE = 4
NONCE_SIZE = 12


def decode_keys(name, encoded_list, size=32):
    """Decode a comma- or space-separated list of keys from configuration."""
    parts = (encoded_list or "").replace(",", " ").split()
    return [decode_key(name, part, size) for part in parts]


def decode_key(name, encoded, size=32):
    """Decode a urlsafe base64 key from configuration, checking its length in bytes."""
    try:
        key = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    except (binascii.Error, ValueError):
        raise ConfigError(f"{name} is not valid urlsafe base64.") from None
    if len(key) != size:
        raise ConfigError(
            f"{name} must decode to {size} bytes, got {len(key)}. "
            'Generate one with: python -c "import secrets; print(secrets.token_urlsafe(32))"'
        )
    return key


HEADER_SIZE = len(VERSION) + KEY_ID_SIZE


def key_id(key):
    return hashlib.sha256(key).digest()[:KEY_ID_SIZE]


class SecretBox:
    def __init__(self, current_key, retired_keys=()):
        self._current_id = key_id(current_key)
        self._ciphers = {key_id(key): AESGCM(key) for key in retired_keys}
        self._ciphers[self._current_id] = AESGCM(current_key)

    def seal(self, plaintext, associated_data):
        """Encrypt ``plaintext`` (a str) under the current key."""
        nonce = os.urandom(NONCE_SIZE)
        ciphertext = self._ciphers[self._current_id].encrypt(nonce, plaintext.encode(), associated_data)
        return VERSION + self._current_id + nonce + ciphertext

    def unseal(self, blob, associated_data):
        """Decrypt a blob made by ``seal``; raise ValueError if no key of the ring made it."""
        cipher = self._ciphers.get(blob[1:HEADER_SIZE]) if blob[:1] == VERSION else None
        if cipher is None:
            raise ValueError("The secret was encrypted with a key that is not in the key ring.")
        nonce = blob[HEADER_SIZE : HEADER_SIZE + NONCE_SIZE]
        ciphertext = blob[HEADER_SIZE + NONCE_SIZE :]
        try:
            return cipher.decrypt(nonce, ciphertext, associated_data).decode()
        except InvalidTag:
            raise ValueError("The secret does not decrypt: it was altered or belongs to another row.") from None

    def sealed_with_current_key(self, blob):
        return blob[:1] == VERSION and blob[1:HEADER_SIZE] == self._current_id
