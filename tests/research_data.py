"""Records for report, export and analysis tests, built with the shipped instrument plugins.

Names, comments, free-text fields, sources, judgement reasons and assessor names are
*planted*: distinctive strings that must never appear in a research file.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import formsengine_dash
import formsengine_drive_dash
import formsengine_needs

from formsengine.store import Store
from tests.conftest import make_engine

PLANTED_NAME = "Zebedee Quartermaine-Plantedname"
PLANTED_COMMENT = "PLANTEDCOMMENT-frightened-of-Zebedee"
PLANTED_VIEW = "PLANTEDVIEW-victim-words"
PLANTED_OTHER = "PLANTEDOTHER-information"
PLANTED_DETAIL = "PLANTEDDETAIL-bruised-arm"
PLANTED_SOURCE = "PLANTEDSOURCE-neighbour"
PLANTED_REASON = "PLANTEDREASON-judgement"
PLANTED_ASSESSOR = "Assessor Plantedassessor"
PLANTED_NOTES = "PLANTEDNOTES-closure"
REF_PREFIX = "REFPLANTED-"
PLANTED = [PLANTED_NAME, "Zebedee", "Quartermaine", PLANTED_COMMENT, PLANTED_VIEW,
           PLANTED_OTHER, PLANTED_DETAIL, PLANTED_SOURCE, PLANTED_REASON, PLANTED_ASSESSOR,
           "Plantedassessor", PLANTED_NOTES, REF_PREFIX]

DASH_ITEMS = [
    "dash.injury", "dash.very_frightened", "dash.afraid_of", "dash.isolated",
    "dash.depressed_suicidal", "dash.separation", "dash.child_contact_conflict",
    "dash.stalking_harassment", "dash.pregnant_recent_baby", "dash.more_often",
    "dash.getting_worse", "dash.control_jealousy", "dash.weapons_objects",
    "dash.threat_to_kill", "dash.strangle_choke", "dash.sexual_abuse",
    "dash.other_threat_person", "dash.hurt_others", "dash.animal_cruelty", "dash.financial",
    "dash.abuser_drugs_alcohol_mh", "dash.abuser_suicide", "dash.breach_bail_orders",
    "dash.criminal_history",
]
BEHAVIOURS = ["physical", "sexual", "harassment_stalking", "jealousy_control"]


def research_engine(*extra):
    return make_engine(formsengine_dash, formsengine_drive_dash, formsengine_needs, *extra)


def dash_data(yes: int, *, date: str, overrides: dict[str, str] | None = None,
              comments: dict[str, str] | None = None, incidents: int | None = None,
              judgement: dict | None = None, planted: bool = False) -> dict[str, Any]:
    """DASH (SafeLives) answers: the first ``yes`` items yes, the rest no."""
    answers = {item: ("yes" if i < yes else "no") for i, item in enumerate(DASH_ITEMS)}
    answers.update(overrides or {})
    data: dict[str, Any] = {"instrument": "dash-safelives", "answers": answers,
                            "fields": {"assessment_date": date}}
    if incidents is not None:
        data["fields"]["police_incidents_12m"] = incidents
    if comments:
        data["comments"] = comments
    if judgement:
        data["judgement"] = judgement
    if planted:
        answers["dash.injury"] = "yes"
        answers["dash.injury.detail"] = PLANTED_DETAIL
        data["comments"] = {"dash.very_frightened": PLANTED_COMMENT, **(comments or {})}
        data["sources"] = {"dash.isolated": PLANTED_SOURCE}
        data["fields"]["victim_view"] = PLANTED_VIEW
        data["fields"]["other_information"] = PLANTED_OTHER
    return data


def behaviours_data(levels: dict[str, str], *, date: str) -> dict[str, Any]:
    return {"instrument": "drive-behaviours",
            "answers": {f"drive_behaviours.{k}": v for k, v in levels.items()},
            "fields": {"assessment_date": date}}


def closure_data(risk_change: str, direct_contact: str, *, date: str,
                 notes: str | None = None) -> dict[str, Any]:
    data = {"instrument": "drive-closure",
            "answers": {"drive_closure.risk_change": risk_change,
                        "drive_closure.direct_contact": direct_contact,
                        "drive_closure.engagement": "partial",
                        "drive_closure.behaviour_change_work": "yes",
                        "drive_closure.step_down": "no"},
            "fields": {"closure_date": date}}
    if notes:
        data["fields"]["closure_notes"] = notes
    return data


def add_person(store: Store, ref: str, role: str, *, birth_year: int | None = None,
               name: str | None = PLANTED_NAME) -> int:
    return store.ensure_person(ref, role, display_name=name, birth_year=birth_year)


def add_assessment(store: Store, person_id: int, data: dict[str, Any], occasion: str, *,
                   case_id: int | None = None, assessor: str = PLANTED_ASSESSOR,
                   status: str = "final") -> int:
    inst, sub = store.engine.check(data)
    return store.create_assessment(inst, sub, person_id=person_id, occasion=occasion,
                                   assessor=assessor, status=status, case_id=case_id)


def day(offset: int, start: dt.date = dt.date(2025, 3, 3)) -> str:
    return (start + dt.timedelta(days=offset)).isoformat()


def populate_cohort(store: Store, people: int = 12) -> dict[str, Any]:
    """``people`` victim-survivors with DASH at intake and review (91 days later), and as
    many service users with the behaviour profile at intake and closure and a closure
    record. Every text field, comment and name holds a planted string. Birth years put
    everyone in two age bands of at least five people each."""
    info: dict[str, Any] = {"vs": [], "su": []}
    for n in range(people):
        ref = f"{REF_PREFIX}VS-{n:03d}"
        pid = add_person(store, ref, "victim_survivor", birth_year=1985 if n % 2 else 1995)
        case = store.create_case(f"{REF_PREFIX}C-{n:03d}", people=[(pid, "victim_survivor")])
        over = {"dash.isolated": "declined"} if n == 0 else {}
        if n == 1:
            over = {"dash.isolated": "dont_know", "dash.financial": "not_asked"}
        add_assessment(store, pid, dash_data(4 + n, date=day(n), overrides=over, incidents=n,
                                             planted=True), "intake", case_id=case)
        add_assessment(store, pid, dash_data(max(0, 2 + n - 3), date=day(n + 91),
                                             planted=True), "review", case_id=case)
        info["vs"].append(ref)
    levels = ["none", "standard", "moderate", "high"]
    for n in range(people):
        ref = f"{REF_PREFIX}SU-{n:03d}"
        pid = add_person(store, ref, "service_user", birth_year=1980 if n % 2 else 1990)
        intake = {b: levels[(n + i) % 4] for i, b in enumerate(BEHAVIOURS)}
        closure = {b: levels[max(0, (n + i) % 4 - 2)] for i, b in enumerate(BEHAVIOURS)}
        if n == 2:
            closure["physical"] = "not_known"
        add_assessment(store, pid, behaviours_data(intake, date=day(n)), "intake")
        add_assessment(store, pid, behaviours_data(closure, date=day(n + 300)), "closure")
        add_assessment(store, pid, closure_data("reduced_slightly", "yes" if n % 3 else "no",
                                                date=day(n + 300), notes=PLANTED_NOTES),
                       "closure")
        info["su"].append(ref)
    return info


def invoke_cli(monkeypatch, engine, args: list[str]):
    """Run ``formsengine ARGS`` in-process with ``engine`` (no installed entry points)."""
    from click.testing import CliRunner

    from formsengine import cli as cli_module
    from formsengine.plugins import make_plugin_manager

    make_plugin_manager(load_entrypoints=False).hook.register_commands(cli=cli_module.cli)
    monkeypatch.setattr(cli_module.State, "engine", property(lambda self: engine))
    return CliRunner().invoke(cli_module.cli, args, catch_exceptions=False)
