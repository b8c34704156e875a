"""Encryption of stored secrets (Hex Key values) with AES-256-GCM.

A stored blob is a version byte, the first four bytes of the SHA-256 of the key (so a
future key ring can tell which key sealed it), a 12-byte random nonce and the
ciphertext with its tag. The caller passes associated data that ties the blob to its
row, so a blob copied to another row does not decrypt.
"""

import base64
import binascii
import hashlib
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from config import ConfigError

VERSION = b"\x01"
KEY_ID_SIZE = 4
NONCE_SIZE = 12


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


class SecretBox:
    def __init__(self, key):
        self._aead = AESGCM(key)
        self._key_id = hashlib.sha256(key).digest()[:KEY_ID_SIZE]

    def seal(self, plaintext, associated_data):
        nonce = os.urandom(NONCE_SIZE)
        ciphertext = self._aead.encrypt(nonce, plaintext.encode(), associated_data)
        return VERSION + self._key_id + nonce + ciphertext

    def unseal(self, blob, associated_data):
        """Decrypt a blob made by ``seal``; raise ValueError if it was not made with this key."""
        header_size = len(VERSION) + KEY_ID_SIZE
        if blob[:1] != VERSION or blob[1:header_size] != self._key_id:
            raise ValueError("The secret was encrypted with another key or format.")
        nonce = blob[header_size : header_size + NONCE_SIZE]
        ciphertext = blob[header_size + NONCE_SIZE :]
        return self._aead.decrypt(nonce, ciphertext, associated_data).decode()
