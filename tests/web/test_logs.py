"""Application logs carry no names, answers, free text, passwords, tokens or session ids."""

from __future__ import annotations

import logging

from .conftest import PASSWORD, complete, create_case, login, post, start_assessment

INITIALS = "ZQX-INITIALS"
COMMENT = "WOMBAT-COMMENT-TEXT"


def test_logs_hold_nothing_identifying(app, client, users, caplog):
    caplog.set_level(logging.DEBUG)
    assert login(client, "alice").status_code == 302
    stranger = app.test_client()
    post(stranger, "/sign-in", {"username": "alice", "password": "wrong " + PASSWORD},
         token_from="/sign-in")
    client.post("/sign-in", data={"username": "alice", "password": "wrong " + PASSWORD})
    case = create_case(client, vs_name=INITIALS)
    uid = start_assessment(client, case)
    now = {"q-t-injury": "yes", "q-t-frightened": "yes", "q-t-fears": ["killed"],
           "c-t-injury": COMMENT}
    complete(client, uid, now=now)
    client.get("/no-such-page")
    client.get(f"/assessments/{uid}/result")
    cookie = client.get_cookie("fe_session") or client.get_cookie("session")
    secrets = [PASSWORD, "wrong " + PASSWORD, INITIALS, COMMENT]
    if cookie is not None:
        secrets.append(cookie.value)
    assert caplog.records, "the application logged nothing: the test would prove nothing"
    text = "\n".join(r.getMessage() + " " + str(r.args) for r in caplog.records)
    for secret in secrets:
        assert secret not in text
    # the answer values themselves are not logged either
    assert "'yes'" not in text and "killed" not in text
