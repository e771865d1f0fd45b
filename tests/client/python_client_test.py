"""Offline tests of client/python/token_client.py: what the requests carry
(claims as a Struct, auth_time, max_auth_age, update_mask, except_session_id)
and how responses decode, against a recording stub instead of a server.

    /usr/bin/python3 tests/client/python_client_test.py
"""

import datetime
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "client", "python"))

import token_client  # noqa: E402
from token_client import TokenClient, pb, struct_to_dict, timestamp_or_none  # noqa: E402


class RecordingStub:
    """Records each request and answers with a canned response."""

    def __init__(self):
        self.requests = []

    def _record(self, request, response):
        self.requests.append(request)
        return response

    def IssueTokens(self, request, timeout):
        return self._record(request, pb.IssueTokensResponse(
            tokens=pb.TokenPair(session_id="sid-1", token_type="Bearer")))

    def VerifyAccess(self, request, timeout):
        response = pb.VerifyAccessResponse(subject="alice", scopes=["pay"], acr="2")
        response.claims.update({"tenant": "acme", "n": 5, "ratio": 0.5, "l": [1, "x"]})
        return self._record(request, response)

    def UpdateSession(self, request, timeout):
        return self._record(request, pb.UpdateSessionResponse(
            session=pb.Session(session_id=request.session_id, acr=request.acr)))

    def RevokeAll(self, request, timeout):
        return self._record(request, pb.RevokeAllResponse(revoked_sessions=2))


class TokenClientTest(unittest.TestCase):
    def setUp(self):
        self.client = TokenClient("127.0.0.1:1")
        self.stub = RecordingStub()
        self.client.stub = self.stub

    def tearDown(self):
        self.client.close()

    def test_issue_carries_claims_scopes_step_up_and_metadata(self):
        when = datetime.datetime(2023, 11, 14, 22, 13, 20, 250000,
                                 tzinfo=datetime.timezone.utc)
        self.client.issue("alice", roles=["r"], claims={"tenant": "acme", "n": 5,
                                                        "flags": {"beta": True}},
                          scopes=["read", "pay"], auth_time=when, amr=["pwd", "otp"],
                          acr="urn:acr:2fa", metadata={"device": "laptop"})
        request = self.stub.requests[-1]
        self.assertEqual(struct_to_dict(request.claims),
                         {"tenant": "acme", "n": 5, "flags": {"beta": True}})
        self.assertIs(type(struct_to_dict(request.claims)["n"]), int)
        self.assertEqual(list(request.scopes), ["read", "pay"])
        self.assertEqual(request.auth_time.seconds, 1700000000)
        self.assertEqual(request.auth_time.nanos, 250000000)
        self.assertEqual(list(request.amr), ["pwd", "otp"])
        self.assertEqual(request.acr, "urn:acr:2fa")
        self.assertEqual(dict(request.metadata), {"device": "laptop"})

    def test_issue_without_context_leaves_optional_fields_unset(self):
        self.client.issue("alice")
        request = self.stub.requests[-1]
        self.assertFalse(request.HasField("claims"))
        self.assertFalse(request.HasField("auth_time"))

    def test_auth_time_as_epoch_seconds_and_naive_datetime(self):
        self.client.issue("alice", auth_time=1700000000.5)
        self.assertEqual(self.stub.requests[-1].auth_time.seconds, 1700000000)
        self.assertEqual(self.stub.requests[-1].auth_time.nanos, 500000000)
        self.client.issue("alice", auth_time=datetime.datetime(2023, 11, 14, 22, 13, 20))
        self.assertEqual(self.stub.requests[-1].auth_time.seconds, 1700000000)

    def test_bad_claims_are_refused_before_any_call(self):
        for bad in ({"big": 2 ** 53 + 1}, {"deep": [{"x": -(2 ** 53) - 1}]},
                    {"nan": float("nan")}, [1], "text", {"o": object()}):
            with self.subTest(bad=repr(bad)):
                with self.assertRaises(ValueError):
                    self.client.issue("alice", claims=bad)
        self.assertEqual(self.stub.requests, [])
        self.client.issue("alice", claims={"max": 2 ** 53})
        self.assertEqual(len(self.stub.requests), 1)

    def test_verify_carries_requirements_and_decodes_claims(self):
        response = self.client.verify("t", required_scopes=["pay"],
                                      max_auth_age=datetime.timedelta(minutes=5,
                                                                      milliseconds=500),
                                      acceptable_acr=["1", "2"])
        request = self.stub.requests[-1]
        self.assertEqual(list(request.required_scopes), ["pay"])
        self.assertEqual(request.max_auth_age.seconds, 300)
        self.assertEqual(request.max_auth_age.nanos, 500000000)
        self.assertEqual(list(request.acceptable_acr), ["1", "2"])
        self.assertEqual(struct_to_dict(response.claims),
                         {"tenant": "acme", "n": 5, "ratio": 0.5, "l": [1, "x"]})
        self.assertIsNone(timestamp_or_none(response, "auth_time"))
        self.client.verify("t")
        self.assertFalse(self.stub.requests[-1].HasField("max_auth_age"))
        self.client.verify("t", max_auth_age=300)
        self.assertEqual(self.stub.requests[-1].max_auth_age.seconds, 300)

    def test_update_session_mask_is_exactly_the_fields_given(self):
        session = self.client.update_session("sid-1", acr="2", auth_time=1700000000,
                                             amr=["pwd", "otp"], claims={"a": 1},
                                             metadata={"d": "p"}, roles=["admin"],
                                             scopes=["pay"])
        self.assertEqual(session.acr, "2")
        request = self.stub.requests[-1]
        self.assertEqual(list(request.update_mask.paths), list(token_client.UPDATABLE_FIELDS))
        self.assertEqual(struct_to_dict(request.claims), {"a": 1})
        self.assertEqual(request.auth_time.seconds, 1700000000)

        self.client.update_session("sid-1", claims=None, auth_time=None, scopes=[])
        request = self.stub.requests[-1]
        self.assertEqual(list(request.update_mask.paths), ["claims", "scopes", "auth_time"])
        self.assertFalse(request.HasField("claims"))
        self.assertFalse(request.HasField("auth_time"))
        self.assertEqual(list(request.scopes), [])

    def test_update_session_without_fields_or_with_unknown_ones_is_refused(self):
        with self.assertRaises(ValueError):
            self.client.update_session("sid-1")
        with self.assertRaises(TypeError):
            self.client.update_session("sid-1", subject="mallory")
        self.assertEqual(self.stub.requests, [])

    def test_revoke_all_carries_the_exception(self):
        self.assertEqual(self.client.revoke_all("alice", except_session_id="keep"), 2)
        self.assertEqual(self.stub.requests[-1].except_session_id, "keep")
        self.client.revoke_all("alice")
        self.assertEqual(self.stub.requests[-1].except_session_id, "")


if __name__ == "__main__":
    unittest.main()
