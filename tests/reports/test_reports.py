"""PDF reports open, hold what they should, leak nothing into their metadata, fetch nothing
from the network or the file system, and are audited."""

from __future__ import annotations

import io
import json
import re
import socket
import stat
import threading

import pytest
from pypdf import PdfReader

import formsengine
from formsengine.errors import StorageError
from formsengine.reports import (
    render_assessment_html,
    render_assessment_pdf,
    render_case_pdf,
    render_marac_pdf,
)
from formsengine.reports.pdf import StaticOnlyFetcher, html_to_pdf, opaque_filename
from formsengine.store import Store
from formsengine.store import inspection as look
from tests.research_data import (
    PLANTED_ASSESSOR,
    PLANTED_COMMENT,
    PLANTED_NAME,
    add_assessment,
    add_person,
    behaviours_data,
    dash_data,
    day,
    invoke_cli,
    research_engine,
)

PACK = {
    "id": "test-official", "version": "1.0", "instrument": "dash-safelives",
    "language": "en", "licence": "test licence", "holder": "Test Rights Holder",
    "items": {"dash.injury": {"label": "OFFICIALWORDING injury question",
                              "options": {"yes": "OFFICIALYES"}}},
}


class WordingPlugin:
    __name__ = "test-wording"

    @formsengine.hookimpl
    def register_wording_packs(self, register):
        register(dict(PACK))


class SectionPlugin:
    __name__ = "test-sections"

    @formsengine.hookimpl
    def report_sections(self, kind, context):
        from markupsafe import escape

        occasion = context["assessment"]["occasion"] if "assessment" in context else "case"
        return [{"title": "<b>Plugin section</b>",
                 "html": f"<p>PLUGINSECTION {escape(kind)} {escape(occasion)}</p>"}]


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    engine = research_engine(WordingPlugin(), SectionPlugin())
    store = Store.open(tmp_path_factory.mktemp("reports") / "r.db", engine, create=True)
    person = add_person(store, "VS-REPORT-1", "victim_survivor")
    case = store.create_case("C-REPORT-1", people=[(person, "victim_survivor")])
    judgement = {"level": "high", "reason": "she fears for her life", "by": "Senior IDVA"}
    data = dash_data(12, date=day(0), incidents=4, judgement=judgement,
                     overrides={"dash.stalking_harassment": "yes",
                                "dash.strangle_choke": "yes", "dash.financial": "dont_know"},
                     comments={"dash.very_frightened": PLANTED_COMMENT,
                               "dash.isolated": "<img src='http://127.0.0.1:9/x'> & <b>"})
    data["wording"] = "test-official@1.0"
    first = add_assessment(store, person, data, "intake", case_id=case)
    second = add_assessment(store, person, dash_data(6, date=day(91)), "review", case_id=case)
    su = add_person(store, "SU-REPORT-1", "service_user")
    behaviours = add_assessment(store, su, behaviours_data(
        {"physical": "high", "sexual": "none", "harassment_stalking": "moderate",
         "jealousy_control": "standard"}, date=day(0)), "intake")
    yield {"store": store, "first": first, "second": second, "case": case,
           "behaviours": behaviours}
    store.close()


def text_of(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def test_assessment_report_holds_answers_scores_criteria_flags_and_people(records):
    pdf = render_assessment_pdf(records["store"], records["first"])
    text = squash(text_of(pdf))
    assert "Assessment report" in text
    assert "OFFICIALWORDING injury question" in text and "OFFICIALYES" in text
    assert "licensed wording pack test-official@1.0" in text
    assert "The victim is very frightened" in text  # items the pack does not cover
    assert PLANTED_COMMENT in text
    assert "Number of yes answers 13" in text  # 12 plus strangulation; not known is not yes
    assert "Risk level: High (from the score: Medium; professional judgement: High)" in text
    assert "Professional judgement by Senior IDVA. Reason: she fears for her life" in text
    assert "Refer to MARAC: criteria met" in text
    assert "Visible high risk" in text and "Potential escalation" in text
    assert "Strangulation, choking" in text and "Stalking or harassment" in text
    assert PLANTED_ASSESSOR in text and PLANTED_NAME in text
    assert "Not known" in text  # the dont_know answer, shown as such
    assert "finalised" in text


def test_free_text_is_escaped_not_rendered(records):
    html = render_assessment_html(records["store"], records["first"])
    assert "&lt;img src=&#39;http://127.0.0.1:9/x&#39;&gt; &amp; &lt;b&gt;" in html
    assert "<img src='http://127.0.0.1:9/x'>" not in html


def test_marac_summary(records):
    text = squash(text_of(render_marac_pdf(records["store"], records["first"])))
    assert "MARAC referral summary" in text
    assert "Refer to MARAC: the criteria are met" in text
    # its criteria are listed once, not again with the result
    assert text.count("Visible high risk") == 1 and "Refer to MARAC: criteria met" not in text
    assert "Risk factors answered yes (13)" in text
    assert "Not known, declined or not asked (1)" in text
    with pytest.raises(StorageError, match="no MARAC criteria"):
        render_marac_pdf(records["store"], records["behaviours"])


def test_case_progress_report_has_the_change_chart(records):
    pdf = render_case_pdf(records["store"], records["case"])
    text = squash(text_of(pdf))
    assert "Case progress report" in text
    assert "high (14+)" in text and "medium (10+)" in text  # band cut-offs in the chart
    assert "intake" in text and "review" in text
    assert "Risk level: fell to Standard at review (from High at intake)" in text
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) >= 1


def test_report_dates_are_written_in_words(records):
    from formsengine.dates import date_text

    date = look.value(records["store"], "assessments", "assessment_date", id=records["first"])
    for render in (render_assessment_pdf, render_marac_pdf):
        text = squash(text_of(render(records["store"], records["first"])))
        assert date_text(date) in text and date not in text


def test_case_progress_report_says_when_the_case_was_closed(records):
    store = records["store"]
    assert "closed" not in squash(text_of(render_case_pdf(store, records["case"])))
    store.close_case(records["case"], closed_on="2025-09-30", reason="support_completed")
    assert "(closed on 30 September 2025)" in squash(text_of(render_case_pdf(store,
                                                                            records["case"])))


@pytest.mark.parametrize("kind", ["assessment", "marac", "case"])
def test_metadata_is_generic_and_the_pdf_is_tagged(records, kind):
    store = records["store"]
    pdf = {"assessment": lambda: render_assessment_pdf(store, records["first"]),
           "marac": lambda: render_marac_pdf(store, records["first"]),
           "case": lambda: render_case_pdf(store, records["case"])}[kind]()
    reader = PdfReader(io.BytesIO(pdf))
    assert set(reader.metadata) <= {"/Title", "/Producer", "/Creator"}
    assert reader.metadata["/Title"] in {"Assessment report", "MARAC referral summary",
                                         "Case progress report"}
    xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode()
    for secret in (PLANTED_NAME, "VS-REPORT-1", "C-REPORT-1", "Senior IDVA", PLANTED_ASSESSOR):
        assert secret not in xmp and secret not in json.dumps(
            {k: str(v) for k, v in reader.metadata.items()})
    root = reader.trailer["/Root"]
    assert bool(root["/MarkInfo"]["/Marked"]) and "/StructTreeRoot" in root
    assert root["/Lang"] == "en-GB"
    assert "/Names" not in root or "/EmbeddedFiles" not in root["/Names"]


def test_hook_report_sections(records):
    """Plugins' sections are added to every kind of report; titles are escaped."""
    html = render_assessment_html(records["store"], records["first"])
    assert "<p>PLUGINSECTION assessment intake</p>" in html
    assert "&lt;b&gt;Plugin section&lt;/b&gt;" in html
    text = text_of(render_case_pdf(records["store"], records["case"]))
    assert "PLUGINSECTION case case" in text


def test_every_pdf_is_audited(records):
    store = records["store"]
    before = look.count(store, "audit", action="pdf")
    render_assessment_pdf(store, records["second"], actor="tester", request_id="req-1")
    row = look.last(store, "audit", action="pdf")
    assert look.count(store, "audit", action="pdf") == before + 1
    assert (row["actor"], row["object_type"], row["object_id"], row["request_id"]) == (
        "tester", "assessment", str(records["second"]), "req-1")
    assert json.loads(row["details"])["report"] == "assessment"


def test_opaque_file_names():
    names = {opaque_filename("marac") for _ in range(20)}
    assert len(names) == 20
    assert all(re.fullmatch(r"marac-summary-[0-9a-f]{16}\.pdf", n) for n in names)
    assert re.fullmatch(r"assessment-report-[0-9a-f]{16}\.pdf", opaque_filename("assessment"))
    assert re.fullmatch(r"case-report-[0-9a-f]{16}\.pdf", opaque_filename("case"))


class RecordingServer:
    """A real listening socket on loopback that records every connection made to it."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while self.running:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self.running = False
        self.thread.join()
        self.sock.close()


@pytest.fixture
def server():
    s = RecordingServer()
    yield s
    s.close()


def hostile_html(port: int) -> str:
    url = f"http://127.0.0.1:{port}"
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Test</title>
<link rel="stylesheet" href="{url}/style.css">
<link rel="attachment" href="file:///etc/passwd">
<link rel="attachment" href="{url}/attach.bin">
<style>@import url("{url}/import.css");
@font-face {{ font-family: x; src: url("{url}/font.woff"); }}
body {{ background: url("{url}/bg.png"); font-family: x; }}</style></head>
<body><p>hello</p><img src="{url}/img.png" alt=""><img src="file:///etc/passwd" alt="">
<object data="file:///etc/passwd"></object><embed src="{url}/embed">
<iframe src="file:///etc/passwd"></iframe>
<a href="{url}/link" rel="attachment">attached link</a>
<img src="https://static.formsengine.invalid/../../../../etc/passwd" alt="">
<svg><image href="file:///etc/passwd" width="10" height="10"/></svg></body></html>"""


def test_fetcher_makes_no_request_and_attaches_no_local_file(server):
    fetcher = StaticOnlyFetcher()
    pdf = html_to_pdf(hostile_html(server.port), fetcher=fetcher)
    assert server.connections == 0
    reader = PdfReader(io.BytesIO(pdf))
    root = reader.trailer["/Root"]
    assert "/Names" not in root or "/EmbeddedFiles" not in root["/Names"]
    assert reader.attachments == {}
    assert b"root:" not in pdf and "root:" not in text_of(pdf)
    assert any("127.0.0.1" in url for url in fetcher.refused)
    assert any(url.startswith("file:") for url in fetcher.refused)
    assert fetcher.served == []
    # the recording server does see a connection that is really made
    socket.create_connection(("127.0.0.1", server.port)).close()
    for _ in range(50):
        if server.connections:
            break
        threading.Event().wait(0.05)
    assert server.connections == 1


def test_fetcher_serves_the_report_stylesheet(records):
    fetcher = StaticOnlyFetcher()
    html_to_pdf(render_assessment_html(records["store"], records["first"]), fetcher=fetcher)
    assert fetcher.served == ["report.css"] and fetcher.refused == []


def test_hostile_plugin_section_cannot_reach_out(records, server, tmp_path):
    class Hostile:
        __name__ = "hostile"

        @formsengine.hookimpl
        def report_sections(self, kind, context):
            return [{"title": "x", "html": hostile_html(server.port).split("<body>")[1]}]

    engine = research_engine(Hostile())
    store = Store.open(tmp_path / "h.db", engine, create=True)
    person = add_person(store, "VS-H", "victim_survivor")
    assessment = add_assessment(store, person, dash_data(3, date=day(0)), "intake")
    pdf = render_assessment_pdf(store, assessment)
    assert server.connections == 0 and b"root:" not in pdf
    assert PdfReader(io.BytesIO(pdf)).attachments == {}
    store.close()


def test_cli_reports_by_uid_with_opaque_private_files(records, monkeypatch, tmp_path):
    store = records["store"]
    uid = look.value(store, "assessments", "uid", id=records["first"])
    case_uid = look.value(store, "cases", "uid", id=records["case"])
    db = str(store.file)
    for kind, ident in (("assessment", uid), ("marac", uid), ("case", case_uid)):
        # "--": an opaque uid may start with "-"
        run = invoke_cli(monkeypatch, store.engine, ["--db", db, "report", kind,
                                                     "--out-dir", str(tmp_path), "--", ident])
        assert run.exit_code == 0, run.output
        path = tmp_path / run.output.strip().rsplit("/", 1)[-1]
        named = {"assessment": "assessment-report", "marac": "marac-summary",
                 "case": "case-report"}[kind]
        assert re.fullmatch(rf"{named}-[0-9a-f]{{16}}\.pdf", path.name)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert PdfReader(path).pages
    run = invoke_cli(monkeypatch, store.engine, ["--db", db, "report", "assessment",
                                                 "--out-dir", str(tmp_path), "not-a-uid"])
    assert run.exit_code == 2 and "no assessment with that id" in run.output
