"""Numbers in addresses are range-checked (400, never 500); broken UTF-8 in a multipart
form body is refused as in an urlencoded one, not stored mangled."""

from __future__ import annotations

import pytest

from formsengine.store import inspection as look

from .conftest import create_case, csrf, start_assessment
from .test_requests import assert_nothing_saved


@pytest.mark.parametrize("before", ["99999999999999999999999", "9223372036854775808", "0",
                                    "-1", "1e5", "abc", "１２", "²"])
def test_audit_page_numbers_out_of_range_get_400(admin, before):
    response = admin.get(f"/admin/audit?before={before}")
    assert response.status_code == 400
    assert "not a number from 1 to" in response.get_data(as_text=True)


def test_audit_page_numbers_in_range_work(admin):
    assert admin.get("/admin/audit?before=9223372036854775807").status_code == 200
    assert admin.get("/admin/audit?before=1").status_code == 200
    assert admin.get("/admin/audit?before=").status_code == 200


@pytest.mark.parametrize("revision", ["9" * 40, "²", "-5"])
def test_a_revision_no_database_can_hold_changes_nothing(alice, store, revision):
    case = create_case(alice)
    uid = start_assessment(alice, case)
    token = csrf(alice, f"/assessments/{uid}/sections/now")
    response = alice.post(f"/assessments/{uid}/sections/now",
                          data={"csrf_token": token, "revision": revision,
                                "q-t-injury": "yes"})
    assert response.status_code in (400, 409)
    assert_nothing_saved(store)


def _multipart(fields: list[tuple[bytes, bytes]], boundary=b"fe-boundary") -> bytes:
    body = b""
    for name, value in fields:
        body += (b"--" + boundary + b'\r\nContent-Disposition: form-data; name="' + name
                 + b'"\r\n\r\n' + value + b"\r\n")
    return body + b"--" + boundary + b"--\r\n"


@pytest.mark.parametrize("name,value", [
    (b"c-t-injury", b"caf\xe9"),                 # a Latin-1 byte
    (b"c-t-injury", b"\xc3\x28 and more"),       # a broken sequence
    (b"c-t-injury", b"cut short \xe2\x82"),      # a character cut short
    (b"c-t-inj\xffury", b"text"),                # in a field's name
])
def test_broken_utf8_in_a_multipart_body_gets_a_clear_error(alice, store, name, value):
    case = create_case(alice)
    uid = start_assessment(alice, case)
    token = csrf(alice, f"/assessments/{uid}/sections/now").encode()
    body = _multipart([(b"csrf_token", token), (b"revision", b"1"), (b"q-t-injury", b"yes"),
                       (name, value)])
    response = alice.post(f"/assessments/{uid}/sections/now", data=body,
                          content_type="multipart/form-data; boundary=fe-boundary")
    assert response.status_code == 400
    assert "not valid UTF-8" in response.get_data(as_text=True)
    assert_nothing_saved(store)


def test_a_readable_multipart_body_is_saved(alice, store):
    case = create_case(alice)
    uid = start_assessment(alice, case)
    token = csrf(alice, f"/assessments/{uid}/sections/now").encode()
    body = _multipart([(b"csrf_token", token), (b"revision", b"1"), (b"q-t-injury", b"yes"),
                       (b"c-t-injury", "café – naïve".encode())])
    response = alice.post(f"/assessments/{uid}/sections/now", data=body,
                          content_type="multipart/form-data; boundary=fe-boundary")
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    row = look.first(store, "assessments", "draft_answers")
    assert "café – naïve" in row["draft_answers"] and "\ufffd" not in row["draft_answers"]
