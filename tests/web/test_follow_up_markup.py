"""Follow-up questions are nested under the option that reveals them (GOV.UK conditional
reveal), and every shipped definition's single-equality follow-ups are found."""

from __future__ import annotations

import re

from formsengine.web import formbuild

from .conftest import create_case, save_section, start_assessment


def test_a_follow_up_is_nested_in_the_conditional_block_of_its_option(alice, store):
    case = create_case(alice)
    uid = start_assessment(alice, case)
    page = alice.get(f"/assessments/{uid}/sections/now").get_data(as_text=True)
    yes = re.search(r'<input[^>]*name="q-t-injury"[^>]*value="yes"[^>]*>', page)
    assert yes is not None
    controls = re.search(r'data-aria-controls="([^"]+)"', yes.group(0))
    assert controls is not None
    start = page.index(f'id="{controls.group(1)}"')
    block = page[page.rindex("<div", 0, start):]
    assert 'govuk-radios__conditional govuk-radios__conditional--hidden"' in block[:200]
    # the follow-up's box sits inside the conditional block, before the next option
    assert block.index('name="q-t-injury-detail"') < block.index('name="q-t-injury"')
    assert page.count('name="q-t-injury-detail"') == 1  # not also beside the question
    no = re.search(r'<input[^>]*name="q-t-injury"[^>]*value="no"[^>]*>', page)
    assert no is not None and "data-aria-controls" not in no.group(0)


def test_the_block_is_open_when_the_revealing_answer_is_stored(alice, store):
    case = create_case(alice)
    uid = start_assessment(alice, case)
    save_section(alice, uid, "now", {"q-t-injury": "yes", "q-t-injury-detail": "bruising"})
    page = alice.get(f"/assessments/{uid}/sections/now").get_data(as_text=True)
    assert re.search(r'class="govuk-radios__conditional" id="conditional-[^"]+">', page)
    assert "bruising" in page


def test_shipped_follow_ups_are_found():
    from formsengine.config import Settings  # noqa: PLC0415
    from formsengine.engine import Engine  # noqa: PLC0415
    found: dict[str, dict[str, list[str]]] = {}
    for inst in Engine(Settings()).instruments:
        for section in inst.sections:
            found.update(formbuild.follow_ups(inst, list(section.item_ids)))
    assert found["dash.injury"]["yes"] == ["dash.injury.detail", "dash.injury.first_time"]
    assert "dash.afraid_of" in found


def test_the_amendment_page_nests_follow_ups_too(alice, store):
    from .conftest import complete

    case = create_case(alice)
    uid = start_assessment(alice, case)
    complete(alice, uid, now={"q-t-injury": "yes", "q-t-injury-detail": "bruising"})
    page = alice.get(f"/assessments/{uid}/amend").get_data(as_text=True)
    yes = re.search(r'<input[^>]*name="q-t-injury"[^>]*value="yes"[^>]*>', page)
    controls = re.search(r'data-aria-controls="([^"]+)"', yes.group(0))
    start = page.index(f'id="{controls.group(1)}"')
    block = page[page.rindex("<div", 0, start):]
    assert block.index('name="q-t-injury-detail"') < block.index('name="q-t-injury"')
    assert page.count('name="q-t-injury-detail"') == 1 and "bruising" in page
