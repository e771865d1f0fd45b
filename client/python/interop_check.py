"""Interop check: a Python client generated from the .proto, and PyJWT's JWKS
client verifying access tokens offline.

    /usr/bin/python3 client/python/interop_check.py --grpc 127.0.0.1:50051 \
        --jwks http://127.0.0.1:8080/.well-known/jwks.json

Issue → refresh → verify offline (PyJWKClient) and online → revoke-all →
online verify fails with TOKEN_REVOKED. Exits non-zero on any mismatch.
"""

import argparse
import sys

import grpc
import jwt

from token_client import ErrorReason, TokenClient, error_reason


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
    client.close()
    print("interop: ok")


if __name__ == "__main__":
    main()
