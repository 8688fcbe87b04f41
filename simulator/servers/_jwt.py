"""NATS JWTs (decentralised auth): operator, account and user claims, signed with nkeys.

Only the encoding is here; the keys are ``nkeys``' (ed25519). PyPI's ``nats-jwt`` (0.2, "not
well-tested") pins ``pytz<2025`` and pulls pycryptodome and dataclasses-json for what is a
JSON object, a hash and a signature, so we write the encoding (as nats-io/jwt v2 does: header
``{"typ":"JWT","alg":"ed25519-nkey"}``, ``jti`` the base32 SHA-512/256 of the claims, base64url
without padding) and test it against the real server (tests/servers/test_security.py).
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from dataclasses import dataclass

import nkeys
from nacl.signing import SigningKey

__all__ = ["KeyPair", "account_jwt", "creds", "new_key", "operator_jwt", "user_jwt"]

_HEADER = {"typ": "JWT", "alg": "ed25519-nkey"}
_PREFIX = {
    "operator": nkeys.PREFIX_BYTE_OPERATOR,
    "account": nkeys.PREFIX_BYTE_ACCOUNT,
    "user": nkeys.PREFIX_BYTE_USER,
}


@dataclass(frozen=True)
class KeyPair:
    """An nkey: its seed (secret) and its public key."""

    seed: bytes
    public: str

    def sign(self, data: bytes) -> bytes:
        return bytes(nkeys.from_seed(bytearray(self.seed)).sign(data))


def new_key(kind: str) -> KeyPair:
    """A fresh operator, account or user nkey."""
    seed = nkeys.encode_seed(bytes(SigningKey.generate()), _PREFIX[kind])
    return KeyPair(seed, nkeys.from_seed(bytearray(seed)).public_key.decode())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _encode(claims: dict[str, object], issuer: KeyPair) -> str:
    claims = {**claims, "iat": int(time.time()), "iss": issuer.public, "jti": ""}
    digest = hashlib.new("sha512_256", json.dumps(claims, sort_keys=True).encode()).digest()
    claims["jti"] = base64.b32encode(digest).rstrip(b"=").decode()
    head = _b64(json.dumps(_HEADER).encode()) + "." + _b64(json.dumps(claims).encode())
    return head + "." + _b64(issuer.sign(head.encode()))


def operator_jwt(operator: KeyPair, name: str) -> str:
    """The operator's self-signed JWT."""
    nats = {"type": "operator", "version": 2}
    return _encode({"sub": operator.public, "name": name, "nats": nats}, operator)


def account_jwt(
    operator: KeyPair,
    account: KeyPair,
    name: str,
    jetstream: dict[str, int],
    revocations: dict[str, int] | None = None,
) -> str:
    """An account JWT signed by the operator, with JetStream limits (and revoked users)."""
    unlimited = {k: -1 for k in ("subs", "data", "payload", "imports", "exports", "conn", "leaf")}
    nats: dict[str, object] = {
        "limits": {**unlimited, "wildcards": True, **jetstream},
        "type": "account",
        "version": 2,
    }
    if revocations:
        nats["revocations"] = revocations
    return _encode({"sub": account.public, "name": name, "nats": nats}, operator)


def user_jwt(
    account: KeyPair,
    user: KeyPair,
    name: str,
    permissions: dict[str, object],
    expires: int | None = None,
) -> str:
    """A user JWT signed by the account: its permissions (a nats-server permissions block)."""
    nats: dict[str, object] = {"subs": -1, "data": -1, "payload": -1, "type": "user", "version": 2}
    publish, subscribe = permissions.get("publish"), permissions.get("subscribe")
    if isinstance(publish, dict):
        nats["pub"] = publish
    if isinstance(subscribe, dict):
        nats["sub"] = subscribe
    if permissions.get("allow_responses"):
        nats["resp"] = {"max": 1, "ttl": 0}
    claims: dict[str, object] = {"sub": user.public, "name": name, "nats": nats}
    if expires is not None:
        claims["exp"] = expires
    return _encode(claims, account)


def creds(jwt: str, user: KeyPair) -> str:
    """A ``.creds`` file's text (nats-py's ``user_credentials``, the ``nats`` CLI's --creds)."""
    return (
        "-----BEGIN NATS USER JWT-----\n"
        f"{jwt}\n"
        "------END NATS USER JWT------\n\n"
        "************************* IMPORTANT *************************\n"
        "NKEY Seed printed below can be used to sign and prove identity.\n"
        "NKEYs are sensitive and should be treated as secrets.\n\n"
        "-----BEGIN USER NKEY SEED-----\n"
        f"{user.seed.decode()}\n"
        "------END USER NKEY SEED------\n\n"
        "*************************************************************\n"
    )
