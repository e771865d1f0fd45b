"""Interop check: a Python client generated from the .proto, and PyJWT's JWKS
client verifying access tokens offline.

    /usr/bin/python3 client/python/interop_check.py --grpc 127.0.0.1:50051 \
        --jwks http://127.0.0.1:8080/.well-known/jwks.json

Issue → refresh → verify offline (PyJWKClient) and online → revoke-all →
online verify fails with TOKEN_REVOKED. Then custom claims and step-up
context: a token issued with claims {"tenant": "acme", "n": 5, "flags":
{"beta": true}}, scopes, amr, acr and auth_time is verified by PyJWT from the
JWKS URL alone (the claims are top-level members, `n` is an integer), online
checks of scopes and auth age, update_session recording a re-authentication
that the next refreshed token carries, and revoke_all(except_session_id=...).
Exits non-zero on any mismatch.
"""

import argparse
import sys
import time

import grpc
import jwt

from token_client import (ErrorReason, TokenClient, error_reason, struct_to_dict,
                          timestamp_or_none)


def check(condition, message):
    if not condition:
        print("FAIL: " + message, file=sys.stderr)
        sys.exit(1)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--grpc", required=True)
    parser.add_argument("--jwks", required=True)
    parser.add_argument("--issuer", default="token-service")
    parser.add_argument("--audience", default="api")
    args = parser.parse_args()

    client = TokenClient(args.grpc)
    pair = client.issue("python-user", roles=["reader"], user_agent="interop/1.0",
                        ip_address="198.51.100.4")
    check(pair.token_type == "Bearer", "token_type is Bearer")
    check(pair.refresh_token.startswith("tsr1_"), "refresh token prefix")

    rotated = client.refresh(pair.refresh_token)
    check(rotated.session_id == pair.session_id, "refresh keeps the session")
    check(rotated.refresh_token != pair.refresh_token, "refresh rotates the token")

    jwks = jwt.PyJWKClient(args.jwks)
    for token in (pair.access_token, rotated.access_token):
        header = jwt.get_unverified_header(token)
        check(header.get("typ") == "at+jwt", "typ is at+jwt")
        check(header.get("alg") == "RS256", "alg is RS256")
        key = jwks.get_signing_key_from_jwt(token)
        claims = jwt.decode(token, key.key, algorithms=["RS256"], audience=args.audience,
                            issuer=args.issuer)
        check(claims["sub"] == "python-user", "sub claim")
        check(claims["sid"] == pair.session_id, "sid claim")
        check(claims["roles"] == ["reader"], "roles claim")
        for name in ("iat", "nbf", "exp", "jti"):
            check(name in claims, name + " claim present")

    online = client.verify(rotated.access_token, required_roles=["reader"])
    check(online.subject == "python-user", "online verify subject")

    revoked = client.revoke_all("python-user", reason="interop")
    check(revoked == 1, "revoke_all revoked the one session (got %d)" % revoked)
    try:
        client.verify(rotated.access_token)
        check(False, "verify after revoke_all must fail")
    except grpc.RpcError as error:
        check(error.code() == grpc.StatusCode.UNAUTHENTICATED, "UNAUTHENTICATED after revoke")
        check(error_reason(error) == "TOKEN_REVOKED",
              "reason TOKEN_REVOKED (got %r)" % error_reason(error))
        check(ErrorReason.Value(error_reason(error)) == ErrorReason.TOKEN_REVOKED,
              "the reason is a value of the generated ErrorReason enum")

    check_custom_claims(client, jwks, args)
    client.close()
    print("interop: ok")


def expect_refusal(call, code, reason, what):
    try:
        call()
    except grpc.RpcError as error:
        check(error.code() == code, "%s: code %s (got %s)" % (what, code, error.code()))
        check(error_reason(error) == reason,
              "%s: reason %s (got %r)" % (what, reason, error_reason(error)))
        return
    check(False, what + " must fail")


def check_custom_claims(client, jwks, args):
    custom = {"tenant": "acme", "n": 5, "flags": {"beta": True}}
    logged_in = int(time.time()) - 600
    pair = client.issue("python-step-up", roles=["customer"], claims=custom,
                        scopes=["read", "pay"], amr=["pwd"], acr="urn:acr:1",
                        auth_time=logged_in, metadata={"device": "interop"})

    # A resource server with nothing but the JWKS URL.
    key = jwt.PyJWKClient(args.jwks).get_signing_key_from_jwt(pair.access_token)
    claims = jwt.decode(pair.access_token, key.key, algorithms=["RS256"],
                        audience=args.audience, issuer=args.issuer)
    check(claims.get("tenant") == "acme", "custom claim tenant is top-level")
    check(type(claims.get("n")) is int and claims["n"] == 5,
          "custom claim n is the integer 5 (got %r)" % (claims.get("n"),))
    check(claims.get("flags") == {"beta": True}, "custom claim flags is the object")
    check("claims" not in claims and "device" not in claims,
          "claims are not nested and metadata is not in the token")
    check(claims.get("scope") == "read pay", "scope is space-separated (RFC 9068)")
    check(claims.get("amr") == ["pwd"], "amr claim")
    check(claims.get("acr") == "urn:acr:1", "acr claim")
    check(claims.get("auth_time") == logged_in, "auth_time is the login time in seconds")
    check(claims.get("roles") == ["customer"], "roles unchanged")

    online = client.verify(pair.access_token, required_scopes=["pay"])
    check(struct_to_dict(online.claims) == custom, "VerifyAccess reports the custom claims")
    check(list(online.scopes) == ["read", "pay"], "VerifyAccess reports the scopes")
    check(timestamp_or_none(online, "auth_time").timestamp() == logged_in,
          "VerifyAccess reports auth_time")
    expect_refusal(lambda: client.verify(pair.access_token, required_scopes=["admin"]),
                   grpc.StatusCode.PERMISSION_DENIED, "MISSING_SCOPE", "missing scope")
    expect_refusal(lambda: client.verify(pair.access_token, max_auth_age=300),
                   grpc.StatusCode.UNAUTHENTICATED, "INSUFFICIENT_USER_AUTHENTICATION",
                   "a 10-minute-old login for a 5-minute max_auth_age")

    # The user re-authenticates; the next refreshed token carries it.
    now = int(time.time())
    session = client.update_session(pair.session_id, auth_time=now, amr=["pwd", "otp"],
                                    acr="urn:acr:2fa")
    check(session.acr == "urn:acr:2fa", "update_session returns the updated session")
    check(dict(session.metadata) == {"device": "interop"}, "metadata kept")
    rotated = client.refresh(pair.refresh_token)
    fresh = jwt.decode(rotated.access_token,
                       jwt.PyJWKClient(args.jwks).get_signing_key_from_jwt(
                           rotated.access_token).key,
                       algorithms=["RS256"], audience=args.audience, issuer=args.issuer)
    check(fresh.get("auth_time") == now and fresh.get("acr") == "urn:acr:2fa",
          "the refreshed token carries the re-authentication")
    check(fresh.get("tenant") == "acme" and type(fresh.get("n")) is int,
          "the refreshed token keeps the custom claims")
    client.verify(rotated.access_token, required_scopes=["pay"], max_auth_age=300,
                  acceptable_acr=["urn:acr:2fa"])

    other = client.issue("python-step-up")
    revoked = client.revoke_all("python-step-up", except_session_id=pair.session_id)
    check(revoked == 1, "revoke_all with an exception revoked the other session (got %d)"
          % revoked)
    client.verify(rotated.access_token)
    expect_refusal(lambda: client.verify(other.access_token), grpc.StatusCode.UNAUTHENTICATED,
                   "TOKEN_REVOKED", "the other session's token")


if __name__ == "__main__":
    main()
