"""Steps of a practitioner's journey shared by the browser test modules: the instrument the
server offers (the DASH when its plugin is installed, else the tests' own), signing in,
moving with the keyboard, and clicks that load another page."""

from __future__ import annotations

from .conftest import axe_check, dash_installed

if dash_installed():
    INSTRUMENT = "dash-safelives"
    MAIN = ["dash.injury", "dash.very_frightened", "dash.afraid_of", "dash.isolated",
            "dash.depressed_suicidal", "dash.separation", "dash.child_contact_conflict",
            "dash.stalking_harassment", "dash.pregnant_recent_baby", "dash.more_often",
            "dash.getting_worse", "dash.control_jealousy", "dash.weapons_objects",
            "dash.threat_to_kill", "dash.strangle_choke", "dash.sexual_abuse",
            "dash.other_threat_person", "dash.hurt_others", "dash.animal_cruelty",
            "dash.financial", "dash.abuser_drugs_alcohol_mh", "dash.abuser_suicide",
            "dash.breach_bail_orders", "dash.criminal_history"]
    INTAKE_YES = 16
    REVIEW_YES = 4
    INCIDENTS = "f-police_incidents_12m"
    REVIEW = "review"
else:
    INSTRUMENT = "test-risk"
    MAIN = ["t.injury", "t.frightened", "t.strangle", "t.threat_kill", "t.worse"]
    INTAKE_YES = 5
    REVIEW_YES = 1
    INCIDENTS = "f-incidents_12m"
    REVIEW = "review_3m"


def name(item_id: str) -> str:
    return "q-" + item_id.replace(".", "-")


class Keyboard:
    """Moves through a page with Tab and answers with the arrow keys, Space and typing."""

    def __init__(self, page):
        self.page = page

    def active(self) -> dict:
        return self.page.evaluate("""() => { const e = document.activeElement;
            return {name: e.name || '', value: e.value || '', type: e.type || '',
                    tag: e.tagName, text: (e.innerText || '').trim()} }""")

    def tab_to(self, predicate, limit: int = 600) -> dict:
        seen = []
        for _ in range(limit):
            self.page.keyboard.press("Tab")
            now = self.active()
            if predicate(now):
                return now
            seen.append(now["name"] or now["text"][:30] or now["tag"])
        raise AssertionError(f"could not reach the element with the Tab key on "
                             f"{self.page.url}; reached {seen[:60]}")

    def start(self) -> None:
        self.page.evaluate("() => document.activeElement && document.activeElement.blur()")
        self.page.evaluate("() => window.scrollTo(0, 0)")

    def choose(self, field: str, value: str) -> None:
        now = self.tab_to(lambda a: a["name"] == field)
        for _ in range(10):
            if now["value"] == value:
                break
            self.page.keyboard.press("ArrowDown")
            now = self.active()
        assert now["value"] == value, (field, value, now)
        self.page.keyboard.press("Space")  # checks the focused radio (no-op if checked)

    def type_into(self, field: str, text: str) -> None:
        self.tab_to(lambda a: a["name"] == field)
        self.page.keyboard.press("Control+A")
        self.page.keyboard.type(text)

    def press_button(self, label: str) -> None:
        self.tab_to(lambda a: a["tag"] in ("BUTTON", "A") and a["text"] == label)
        with self.page.expect_navigation():
            self.page.keyboard.press("Enter")


def go(page, selector: str) -> None:
    """Click a button or link that loads another page, and wait until that page has loaded:
    a click returns as soon as the navigation starts, and reading the page earlier can see
    an empty document."""
    with page.expect_navigation():
        page.click(selector)


def sign_in(page, base, username, password, new_password=None, check=axe_check):
    page.goto(base + "/sign-in")
    check(page, "sign-in")
    page.fill("#username", username)
    page.fill("#password", "not the right password")
    go(page, "button:has-text('Sign in')")
    assert "Enter a correct username and password" in page.content()
    check(page, "sign-in error")
    page.fill("#username", username)
    page.fill("#password", password)
    go(page, "button:has-text('Sign in')")
    if new_password:
        assert "/account/password" in page.url
        check(page, "change password")
        page.fill("#current", password)
        page.fill("#new", "password1234")
        page.fill("#confirm", "password1234")
        go(page, "button:has-text('Change password')")
        assert "too common" in page.content()
        check(page, "change password error")
        page.fill("#current", password)
        page.fill("#new", new_password)
        page.fill("#confirm", new_password)
        go(page, "button:has-text('Change password')")
    assert "/sign-in" not in page.url


def new_case(page, base) -> str:
    """Create a case about a victim-survivor (opened in 2025); its URL."""
    page.goto(base + "/cases/new")
    axe_check(page, "new case")
    page.check("#victim_survivor")
    page.fill("#opened_on-year", "2025")
    go(page, "button:has-text('Create case')")
    assert "/cases/new" not in page.url, page.inner_text("main")[:500]
    axe_check(page, "case")
    return page.url


def start_assessment(page, case_url, occasion="intake") -> str:
    """Start the instrument at an occasion from the case page; the assessment's id."""
    page.goto(case_url)
    page.select_option("#instrument", INSTRUMENT)
    page.select_option("#occasion", occasion)
    go(page, "button:has-text('Start assessment')")
    axe_check(page, "task list")
    return page.url.rsplit("/", 1)[-1]


def answer_sections(page, base, uid, yes=(), date="2025-01-06") -> None:
    """Complete every section with the mouse: the items in ``yes`` answered yes, every other
    question no; ends on the check page."""
    page.goto(f"{base}/assessments/{uid}/sections/details")
    year, month, day = date.split("-")
    for part, value in (("", day), ("-month", month), ("-year", year)):
        page.fill(f"#f-assessment_date{part}", value)
    page.fill(f"#{INCIDENTS}", "1")
    axe_check(page, "assessment details")
    go(page, "button:has-text('Save and continue')")
    for _ in range(20):  # a page per section, again when more questions appear
        if "/sections/" not in page.url:
            break
        axe_check(page, "section " + page.url.rsplit("/", 1)[-1])
        groups = page.eval_on_selector_all(
            "input[type=radio]", """els => { const out = {};
                for (const e of els) if (e.offsetParent !== null)
                    (out[e.name] = out[e.name] || []).push(e.value);
                return out; }""")
        for field, values in groups.items():
            value = "yes" if field in {name(i) for i in yes} else (
                "no" if "no" in values else values[0])
            page.check(f"input[name='{field}'][value='{value}']")
        go(page, "button:has-text('Save and continue')")
    assert page.url.endswith("/check"), page.url
