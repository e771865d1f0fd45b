"""A small Python client for token.v1.TokenService, generated from the .proto.

The stubs are generated at import time into a private directory with
grpc_tools (Debian: python3-grpc-tools), so nothing generated is checked in.
The proto is compiled with its own directory as the import root: the module is
then `token_pb2`, because a top-level package named `token` would shadow
Python's standard `token` module. Wire names are unchanged (package token.v1).
"""

import importlib
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


class TokenClient:
    """Thin convenience wrapper over the generated stub."""

    def __init__(self, address, timeout=10.0):
        self._channel = grpc.insecure_channel(address)
        self.stub = pb_grpc.TokenServiceStub(self._channel)
        self._timeout = timeout

    def close(self):
        self._channel.close()

    def issue(self, subject, roles=(), audience="", user_agent="", ip_address=""):
        request = pb.IssueTokensRequest(
            subject=subject, roles=list(roles), audience=audience,
            client=pb.ClientInfo(user_agent=user_agent, ip_address=ip_address))
        return self.stub.IssueTokens(request, timeout=self._timeout).tokens

    def refresh(self, refresh_token):
        request = pb.RefreshTokensRequest(refresh_token=refresh_token)
        return self.stub.RefreshTokens(request, timeout=self._timeout).tokens

    def verify(self, access_token, audience="", required_roles=()):
        request = pb.VerifyAccessRequest(access_token=access_token, audience=audience,
                                         required_roles=list(required_roles))
        return self.stub.VerifyAccess(request, timeout=self._timeout)

    def revoke_all(self, subject, reason=""):
        request = pb.RevokeAllRequest(subject=subject, reason=reason)
        return self.stub.RevokeAll(request, timeout=self._timeout).revoked_sessions
