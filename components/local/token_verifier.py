"""The local database's check of an IAM authentication token, where RDS would ask IAM.

RDS MySQL admits a user `IDENTIFIED WITH AWSAuthenticationPlugin` when the clear-text password it
receives (over TLS) is a token IAM accepts: a SigV4 presignature of the `connect` action of the
`rds-db` service, for the host and port the client connected to and the user it logs in as,
signed less than 15 minutes ago by a principal whose policy allows `rds-db:connect` on that
user's ARN. MariaDB has no such plugin. The rehearsal's MariaDB identifies the application user
`VIA pam` instead, with `pam_use_cleartext_plugin` on (the client sends the token in clear text,
as to RDS); its PAM service runs this program through `pam_exec` (`expose_authtok`: the token on
standard input, the user in `PAM_USER`), and the login succeeds only if it exits 0.

What is checked, each refusal naming which: the token's form (`<host>:<port>/?<query>`); the
host and port (the database's own, as clients reach it); the action (`connect`); the user (the
one logging in); the algorithm, the credential scope (date, region, `rds-db`, `aws4_request`)
and the signed headers (`host`); the time (signed at most 15 minutes ago, not in the future
beyond a minute, `X-Amz-Expires` at most 900); the access key (one the rehearsal knows); the
signature (recomputed here from the secret key: SigV4's canonical request, string to sign and
signing key, written from AWS's specification, not with botocore); and the permission (the
key's policy allows `rds-db:connect` on exactly `arn:<partition>:rds-db:<region>:<account>:dbuser:
<resource id>/<user>`, the ARNs taken from the stack's job role).

`pam_exec` passes at most 511 bytes of a password: a token with a real session token (several
hundred characters of it) is longer and cannot be checked here; the rehearsal's credentials carry
a short one. A token of 511 bytes or more is refused, saying so.

Standard library only (it runs as `python -I`, outside any virtualenv's site-packages); one JSON
line per attempt on standard output, which `pam_exec` appends to the log file the rehearsal reads.
Usage: `token_verifier.py <config.json>`; the configuration is `TrustConfig` as JSON.
"""

from __future__ import annotations

import calendar
import hashlib
import hmac
import json
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, quote

# The directory holding vpclambda_runtime: the checkout (components/local/..) or site-packages (vpclambda/local/..).
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from vpclambda_runtime.contract import (
    IAM_TOKEN_ACTION,
    IAM_TOKEN_LIFETIME_S,
    IAM_TOKEN_SIGNING_NAME,
    db_user_arn,
)

ALGORITHM = "AWS4-HMAC-SHA256"
SIGNED_HEADERS = "host"
EMPTY_PAYLOAD = hashlib.sha256(b"").hexdigest()
"""The payload hash of a presigned GET outside S3: the hash of the empty body (S3 alone uses
`UNSIGNED-PAYLOAD`)."""
PAM_MAX_RESPONSE = 511
"""pam_exec's `expose_authtok` passes a password cut to PAM_MAX_RESP_SIZE - 1 bytes."""
FUTURE_SKEW_S = 60
TIMESTAMP = "%Y%m%dT%H%M%SZ"


@dataclass(frozen=True)
class TrustConfig:
    """What the verifier knows, as IAM and RDS would."""

    host: str
    """How clients reach this database (`localhost`)."""
    port: int
    region: str
    partition: str
    account_id: str
    resource_id: str
    """The database's `DbiResourceId`, as the stack names it in its policies."""
    secret_keys: dict[str, str] = field(default_factory=dict)
    """Access key ID -> secret access key."""
    allowed: dict[str, list[str]] = field(default_factory=dict)
    """Access key ID -> the `rds-db:connect` resources its principal's policy allows."""
    relays: dict[str, str] = field(default_factory=dict)
    """`host:port` of a relay between the function and this database -> the resource ID its
    tokens name: a test's stand-in the function takes for the database (this database's ID), or
    the rehearsal's stand-in for an RDS Proxy (the proxy's `prx-...`)."""

    def write(self, path: Path) -> None:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self)))
        tmp.replace(path)

    @classmethod
    def read(cls, path: Path) -> TrustConfig:
        return cls(**json.loads(path.read_text()))


class Refused(Exception):
    pass


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()


def _uri_encode(text: str) -> str:
    return quote(text, safe="-_.~")


def signature(secret_key: str, host_port: str, params: list[tuple[str, str]], amz_date: str, scope: str) -> str:
    """SigV4 for a presigned GET of `/` on `host_port`, query `params` (without the signature)."""
    canonical_query = "&".join(f"{_uri_encode(k)}={_uri_encode(v)}" for k, v in sorted(params))
    canonical_request = "\n".join(["GET", "/", canonical_query, f"host:{host_port}", "", SIGNED_HEADERS,
                                   EMPTY_PAYLOAD])
    string_to_sign = "\n".join([ALGORITHM, amz_date, scope,
                                hashlib.sha256(canonical_request.encode("utf-8")).hexdigest()])
    date, region, service, terminal = scope.split("/")
    key = _hmac(_hmac(_hmac(_hmac(f"AWS4{secret_key}".encode(), date), region), service), terminal)
    return hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def verify(token: str, user: str, config: TrustConfig, now: float | None = None) -> dict[str, object]:
    """What was verified, or `Refused` saying what is wrong."""
    now = time.time() if now is None else now
    if len(token.encode("utf-8")) >= PAM_MAX_RESPONSE:
        raise Refused(f"the token is {len(token)} characters: pam_exec passes at most {PAM_MAX_RESPONSE} bytes, so a "
                      "longer one cannot be checked here")
    host_port, separator, query = token.partition("/?")
    if not separator or "@" in host_port or "/" in host_port:
        raise Refused("not an IAM authentication token (<host>:<port>/?Action=connect&...): a password?")
    expected = f"{config.host}:{config.port}"
    if host_port != expected and host_port not in config.relays:
        raise Refused(f"the token is for {host_port}; this database is {expected}")
    resource_id = config.relays.get(host_port, config.resource_id)
    pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=True)
    params: dict[str, str] = {}
    for key, value in pairs:
        if key in params:
            raise Refused(f"the token has {key} twice")
        params[key] = value
    for required in ("Action", "DBUser", "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires",
                     "X-Amz-SignedHeaders", "X-Amz-Signature"):
        if required not in params:
            raise Refused(f"the token has no {required}")
    if params["Action"] != IAM_TOKEN_ACTION:
        raise Refused(f"the token's action is {params['Action']!r}, not {IAM_TOKEN_ACTION!r}")
    if params["DBUser"] != user:
        raise Refused(f"the token is for user {params['DBUser']!r}; the login is as {user!r}")
    if params["X-Amz-Algorithm"] != ALGORITHM or params["X-Amz-SignedHeaders"] != SIGNED_HEADERS:
        raise Refused("the token is not signed with SigV4 over the host header")
    access_key, _, scope = params["X-Amz-Credential"].partition("/")
    date, region, service, terminal = ([*scope.split("/"), "", "", "", ""])[:4]
    if (service, terminal) != (IAM_TOKEN_SIGNING_NAME, "aws4_request"):
        raise Refused(f"the token is signed for {service!r}, not {IAM_TOKEN_SIGNING_NAME!r}")
    if region != config.region:
        raise Refused(f"the token is signed for region {region!r}; this database is in {config.region!r}")
    try:
        signed_at = float(calendar.timegm(time.strptime(params["X-Amz-Date"], TIMESTAMP)))
        expires = int(params["X-Amz-Expires"])
    except ValueError:
        raise Refused("the token's X-Amz-Date or X-Amz-Expires is malformed") from None
    if date != params["X-Amz-Date"][:8]:
        raise Refused("the token's credential date is not the day it was signed")
    if not 0 < expires <= IAM_TOKEN_LIFETIME_S:
        raise Refused(f"the token's X-Amz-Expires is {expires}; IAM tokens last at most {IAM_TOKEN_LIFETIME_S} s")
    if signed_at > now + FUTURE_SKEW_S:
        raise Refused(f"the token is signed {signed_at - now:.0f} s in the future")
    if now > signed_at + expires:
        raise Refused(f"the token expired {now - signed_at - expires:.0f} s ago (signed {now - signed_at:.0f} s ago, "
                      f"valid {expires} s)")
    secret = config.secret_keys.get(access_key)
    if secret is None:
        raise Refused(f"the token is signed with access key {access_key!r}, which no principal here has")
    unsigned = [(k, v) for k, v in pairs if k != "X-Amz-Signature"]
    if not hmac.compare_digest(signature(secret, host_port, unsigned, params["X-Amz-Date"], scope),
                               params["X-Amz-Signature"]):
        raise Refused("the token's signature does not match its content")
    arn = db_user_arn(config.partition, config.region, config.account_id, resource_id, user)
    if arn not in config.allowed.get(access_key, []):
        raise Refused(f"access key {access_key!r}'s policy does not allow rds-db:connect on {arn}")
    return {"user": user, "host": host_port, "action": IAM_TOKEN_ACTION, "access_key": access_key, "resource": arn,
            "expires_in_s": round(signed_at + expires - now)}


def main(argv: list[str]) -> int:
    config = TrustConfig.read(Path(argv[1]))
    user = os.environ.get("PAM_USER", "")
    token = sys.stdin.buffer.read().split(b"\0", 1)[0].decode("utf-8", "replace").strip()
    try:
        verified = verify(token, user, config)
    except Refused as refused:
        print(json.dumps({"event": "iam_token_refused", "user": user, "reason": str(refused)}), flush=True)
        return 1
    print(json.dumps({"event": "iam_token_verified", **verified}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
