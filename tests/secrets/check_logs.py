"""Checks that no token issued during the test run reached a server log.

The end-to-end tests record every access and refresh token they receive, and
keep every token-server log, in one directory. This check fails if any log
contains a token, a refresh token's secret or tag (raw encodings), the SHA-256
the database keeps for it, an access token's signature, or PEM key material.
It prints where and what kind of secret it found, never the secret itself.

    check_logs.py <directory>
    check_logs.py --selftest     proves the check finds each kind of leak
"""

import base64
import glob
import hashlib
import os
import sys

MIN_TOKENS = 1  # A run that recorded none checked nothing.
SKIPPED = 77  # CTest reports this exit code as "skipped", not "passed".


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def needles(token):
    """Yields (kind, string) pairs that must not appear in any log."""
    yield "token", token
    if token.startswith("tsr1_"):
        body = b64url_decode(token[len("tsr1_"):])
        secret, tag = body[16:48], body[48:]
        digest = hashlib.sha256(secret).digest()
        for kind, raw in (("refresh secret", secret), ("refresh tag", tag),
                          ("stored hash", digest)):
            yield kind + " (hex)", raw.hex()
            yield kind + " (base64url)", b64url(raw)
            yield kind + " (base64)", base64.b64encode(raw).decode()
    elif token.count(".") == 2:
        yield "access token signature", token.rsplit(".", 1)[1]


def selftest():
    """Plants each kind of secret in a log and expects the check to fail."""
    import tempfile
    body = bytes(range(16)) + bytes(range(100, 132)) + bytes(range(200, 216))
    refresh = "tsr1_" + b64url(body)
    access = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLWJ5dGVz"
    planted = [kind_value for token in (refresh, access) for kind_value in needles(token)]
    planted.append(("pem", "-----BEGIN PRIVATE KEY-----"))
    for kind, value in planted:
        with tempfile.TemporaryDirectory() as directory:
            with open(os.path.join(directory, "tokens-1.txt"), "w", encoding="utf-8") as f:
                f.write(refresh + "\n" + access + "\n")
            with open(os.path.join(directory, "server-1-0.log"), "w", encoding="utf-8") as f:
                f.write('{"msg":"x","field":"%s"}\n' % value)
            if check(directory) == 0:
                print("FAIL: a planted %s went unnoticed" % kind)
                return 1
    with tempfile.TemporaryDirectory() as directory:
        with open(os.path.join(directory, "tokens-1.txt"), "w", encoding="utf-8") as f:
            f.write(refresh + "\n")
        with open(os.path.join(directory, "server-1-0.log"), "w", encoding="utf-8") as f:
            f.write('{"msg":"clean"}\n')
        if check(directory) != 0:
            print("FAIL: a clean log was reported")
            return 1
    print("selftest: %d planted secrets found, clean log passed" % len(planted))
    return 0


def main():
    if sys.argv[1] == "--selftest":
        return selftest()
    return check(sys.argv[1])


def check(directory):
    tokens = set()
    for path in glob.glob(os.path.join(directory, "tokens-*.txt")):
        with open(path, encoding="utf-8") as f:
            tokens.update(line.strip() for line in f if line.strip())
    logs = sorted(glob.glob(os.path.join(directory, "server-*.log")))
    print("secrets check: %d tokens, %d server logs" % (len(tokens), len(logs)))
    if not tokens and not logs:
        print("skipped: no end-to-end test ran in this run, so there is nothing to check")
        return SKIPPED
    if len(tokens) < MIN_TOKENS or not logs:
        print("FAIL: the run recorded too little to check")
        return 1
    forbidden = [(kind, value) for token in tokens for kind, value in needles(token)]
    violations = 0
    for path in logs:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
        if "PRIVATE KEY" in text:
            print("FAIL: %s contains PEM private key material" % os.path.basename(path))
            violations += 1
        for kind, value in forbidden:
            if value in text:
                print("FAIL: %s contains a %s" % (os.path.basename(path), kind))
                violations += 1
    print("secrets check: %d violations" % violations)
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
