"""A small Python client for token.v1.TokenService, generated from the .proto.

The stubs are generated at import time into a private directory with
grpc_tools (Debian: python3-grpc-tools), so nothing generated is checked in.
The proto is compiled with its own directory as the import root: the module is
then `token_pb2`, because a top-level package named `token` would shadow
Python's standard `token` module. Wire names are unchanged (package token.v1).
"""

import datetime
import importlib
import math
import numbers
import os
import sys
import tempfile

import grpc
from grpc_tools import protoc

_HERE = os.path.dirname(os.path.abspath(__file__))
_PROTO_ROOT = os.path.normpath(os.path.join(_HERE, "..", "..", "proto"))


def _generate():
    out = tempfile.mkdtemp(prefix="token-client-")
    include = os.path.join(os.path.dirname(protoc.__file__), "_proto")
    args = [
        "protoc",
        "-I" + os.path.join(_PROTO_ROOT, "token", "v1"),
        "-I" + _PROTO_ROOT,
        "-I" + include,
        "--python_out=" + out,
        "--grpc_python_out=" + out,
        "token.proto",
        "error_reason.proto",
    ]
    if protoc.main(args) != 0:
        raise RuntimeError("protoc failed for token.proto")
    rpc_args = ["protoc", "-I" + _PROTO_ROOT, "-I" + include, "--python_out=" + out,
                "google/rpc/status.proto", "google/rpc/error_details.proto"]
    if protoc.main(rpc_args) != 0:
        raise RuntimeError("protoc failed for google/rpc protos")
    sys.path.insert(0, out)
    return (importlib.import_module("token_pb2"), importlib.import_module("token_pb2_grpc"),
            importlib.import_module("error_reason_pb2"),
            importlib.import_module("google.rpc.status_pb2"),
            importlib.import_module("google.rpc.error_details_pb2"))


pb, pb_grpc, _error_reason_pb2, _status_pb2, _error_details_pb2 = _generate()

# ErrorReason: the enum of proto/token/v1/error_reason.proto; its value names
# are the strings error_reason() returns, e.g. ErrorReason.Value("TOKEN_EXPIRED").
ErrorReason = _error_reason_pb2.ErrorReason


def error_reason(error):
    """Returns the token.v1 ErrorInfo reason of a failed call, or ''."""
    for key, value in error.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            status = _status_pb2.Status()
            status.ParseFromString(value)
            for detail in status.details:
                info = _error_details_pb2.ErrorInfo()
                if detail.Unpack(info) and info.domain == "token.v1":
                    return info.reason
    return ""


# Numbers travel as doubles in google.protobuf.Struct: integers beyond 2**53
# would silently change, so they are refused (send them as strings).
_MAX_EXACT_INTEGER = 2 ** 53

# The fields UpdateSession can change (its update_mask paths).
UPDATABLE_FIELDS = ("roles", "claims", "scopes", "auth_time", "amr", "acr", "metadata")


def _check_exact(value, path):
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return
    if isinstance(value, numbers.Integral):
        if abs(value) > _MAX_EXACT_INTEGER:
            raise ValueError("%s: integer beyond 2**53 cannot be sent exactly; send it as a "
                             "string" % path)
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("%s: NaN and infinities are not JSON" % path)
        return
    if isinstance(value, dict):
        for key, member in value.items():
            if not isinstance(key, str):
                raise ValueError("%s: keys must be strings" % path)
            _check_exact(member, "%s.%s" % (path, key))
        return
    if isinstance(value, (list, tuple)):
        for i, member in enumerate(value):
            _check_exact(member, "%s[%d]" % (path, i))
        return
    raise ValueError("%s: %s is not a JSON value" % (path, type(value).__name__))


def _to_struct(claims, out):
    """Fills the google.protobuf.Struct `out` from the dict `claims`."""
    if not isinstance(claims, dict):
        raise ValueError("claims: must be a dict (a JSON object)")
    _check_exact(claims, "claims")
    out.update(claims)


def _from_value(value):
    kind = value.WhichOneof("kind")
    if kind == "struct_value":
        return struct_to_dict(value.struct_value)
    if kind == "list_value":
        return [_from_value(v) for v in value.list_value.values]
    if kind == "number_value":
        number = value.number_value
        if math.isfinite(number) and number == int(number) and abs(number) <= _MAX_EXACT_INTEGER:
            return int(number)
        return number
    if kind == "string_value":
        return value.string_value
    if kind == "bool_value":
        return value.bool_value
    return None


def struct_to_dict(struct):
    """Returns a Struct (e.g. VerifyAccessResponse.claims) as a dict, with
    integral numbers as int (the token carries "n": 5, not 5.0)."""
    return {key: _from_value(value) for key, value in struct.fields.items()}


def _to_timestamp(when, out):
    """Fills the Timestamp `out` from a datetime (naive means UTC) or epoch
    seconds."""
    if isinstance(when, datetime.datetime):
        if when.tzinfo is None:
            when = when.replace(tzinfo=datetime.timezone.utc)
        seconds = when.timestamp()
    elif isinstance(when, numbers.Real) and not isinstance(when, bool):
        seconds = float(when)
    else:
        raise TypeError("auth_time: a datetime or epoch seconds")
    whole = math.floor(seconds)
    out.seconds = int(whole)
    out.nanos = int(round((seconds - whole) * 1e9)) % 1000000000


def _to_duration(age, out):
    """Fills the Duration `out` from seconds or a timedelta."""
    if isinstance(age, datetime.timedelta):
        age = age.total_seconds()
    if not isinstance(age, numbers.Real) or isinstance(age, bool):
        raise TypeError("max_auth_age: seconds or a timedelta")
    out.seconds = int(age)
    out.nanos = int(round((age - int(age)) * 1e9))


def timestamp_or_none(message, field):
    """Returns the Timestamp `field` of `message` as an aware datetime, or
    None when it is unset (e.g. timestamp_or_none(claims, "auth_time"))."""
    if not message.HasField(field):
        return None
    return getattr(message, field).ToDatetime().replace(tzinfo=datetime.timezone.utc)


class TokenClient:
    """Thin convenience wrapper over the generated stub.

    Custom claims are dicts (JSON objects; they become top-level members of
    every access token of the session), scopes/amr/roles lists of strings,
    auth_time a datetime or epoch seconds, metadata a dict of strings.
    """

    def __init__(self, address, timeout=10.0):
        self._channel = grpc.insecure_channel(address)
        self.stub = pb_grpc.TokenServiceStub(self._channel)
        self._timeout = timeout

    def close(self):
        self._channel.close()

    def issue(self, subject, roles=(), audience="", user_agent="", ip_address="", claims=None,
              scopes=(), auth_time=None, amr=(), acr="", metadata=None):
        request = pb.IssueTokensRequest(
            subject=subject, roles=list(roles), audience=audience,
            client=pb.ClientInfo(user_agent=user_agent, ip_address=ip_address),
            scopes=list(scopes), amr=list(amr), acr=acr, metadata=dict(metadata or {}))
        if claims is not None:
            _to_struct(claims, request.claims)
        if auth_time is not None:
            _to_timestamp(auth_time, request.auth_time)
        return self.stub.IssueTokens(request, timeout=self._timeout).tokens

    def refresh(self, refresh_token):
        request = pb.RefreshTokensRequest(refresh_token=refresh_token)
        return self.stub.RefreshTokens(request, timeout=self._timeout).tokens

    def verify(self, access_token, audience="", required_roles=(), required_scopes=(),
               max_auth_age=None, acceptable_acr=()):
        """VerifyAccess. max_auth_age (seconds or timedelta) and acceptable_acr
        fail with UNAUTHENTICATED / INSUFFICIENT_USER_AUTHENTICATION; a missing
        scope with PERMISSION_DENIED / MISSING_SCOPE. The response's claims
        are a Struct: struct_to_dict(response.claims)."""
        request = pb.VerifyAccessRequest(access_token=access_token, audience=audience,
                                         required_roles=list(required_roles),
                                         required_scopes=list(required_scopes),
                                         acceptable_acr=list(acceptable_acr))
        if max_auth_age is not None:
            _to_duration(max_auth_age, request.max_auth_age)
        return self.stub.VerifyAccess(request, timeout=self._timeout)

    def update_session(self, session_id, **fields):
        """UpdateSession: changes exactly the fields given (roles, claims,
        scopes, auth_time, amr, acr, metadata); None or an empty value clears
        one. The new values appear in the session's next access token (its
        next refresh). Returns the Session as it is afterwards."""
        unknown = sorted(set(fields) - set(UPDATABLE_FIELDS))
        if unknown:
            raise TypeError("update_session: unknown field(s) %s" % ", ".join(unknown))
        if not fields:
            raise ValueError("update_session: no field to update")
        request = pb.UpdateSessionRequest(session_id=session_id)
        for name in UPDATABLE_FIELDS:
            if name not in fields:
                continue
            request.update_mask.paths.append(name)
            value = fields[name]
            if value is None:
                continue
            if name == "claims":
                _to_struct(value, request.claims)
            elif name == "auth_time":
                _to_timestamp(value, request.auth_time)
            elif name == "acr":
                request.acr = value
            elif name == "metadata":
                request.metadata.update(dict(value))
            else:
                getattr(request, name).extend(list(value))
        return self.stub.UpdateSession(request, timeout=self._timeout).session

    def revoke_all(self, subject, reason="", except_session_id=""):
        """RevokeAll; with except_session_id that session (one of the
        subject's) stays alive ("log out my other devices")."""
        request = pb.RevokeAllRequest(subject=subject, reason=reason,
                                      except_session_id=except_session_id)
        return self.stub.RevokeAll(request, timeout=self._timeout).revoked_sessions

    def revoke_session(self, session_id, reason=""):
        request = pb.RevokeSessionRequest(session_id=session_id, reason=reason)
        return self.stub.RevokeSession(request, timeout=self._timeout).revoked

    def list_sessions(self, subject, page_size=0, page_token=""):
        request = pb.ListSessionsRequest(subject=subject, page_size=page_size,
                                         page_token=page_token)
        return self.stub.ListSessions(request, timeout=self._timeout)
