"""The definitions hold exactly the items, fields, parameters, flags and criteria that the
instrument specification names, with the stable ids exports depend on."""

from __future__ import annotations

import importlib.metadata
import json
from importlib import resources

import formsengine_dash
import pytest

from formsengine import hookimpl
from formsengine.conditions import evaluate_form_condition
from formsengine.engine import Engine, PluginLoadError

# The item ids, in order, as the instrument specification lists them.
SAFELIVES_IDS = [
    "dash.injury",
    "dash.very_frightened",
    "dash.afraid_of",
    "dash.isolated",
    "dash.depressed_suicidal",
    "dash.separation",
    "dash.child_contact_conflict",
    "dash.stalking_harassment",
    "dash.pregnant_recent_baby",
    "dash.more_often",
    "dash.getting_worse",
    "dash.control_jealousy",
    "dash.weapons_objects",
    "dash.threat_to_kill",
    "dash.strangle_choke",
    "dash.sexual_abuse",
    "dash.other_threat_person",
    "dash.hurt_others",
    "dash.animal_cruelty",
    "dash.financial",
    "dash.abuser_drugs_alcohol_mh",
    "dash.abuser_suicide",
    "dash.breach_bail_orders",
    "dash.criminal_history",
]
CHILD_IDS = ["dash.other_children_dependants", "dash.hurt_children", "dash.threat_children"]
POLICE_IDS = SAFELIVES_IDS[:9] + CHILD_IDS + SAFELIVES_IDS[9:]
SDASH_IDS = [f"sdash.{n}" for n in range(1, 12)]

DETAILS = {
    "dash.injury.detail": ("dash.injury", "text", None),
    "dash.injury.first_time": ("dash.injury", "choice", ["yes", "no", "dont_know"]),
    "dash.afraid_of.what": ("dash.afraid_of", "multi_choice",
                            ["further_injury", "being_killed", "other"]),
    "dash.afraid_of.whom": ("dash.afraid_of", "multi_choice", ["self", "children", "others"]),
    "dash.hurt_others.whom": ("dash.hurt_others", "multi_choice",
                              ["children", "siblings", "relatives", "previous_partners",
                               "others"]),
    "dash.financial.what": ("dash.financial", "multi_choice",
                            ["dependent_on_abuser", "job_loss", "other"]),
}
MAIN_IDS = {"dash-safelives": SAFELIVES_IDS, "dash-police": POLICE_IDS, "sdash": SDASH_IDS}
DASH = ["dash-safelives", "dash-police"]
FLAGS = ["strangulation", "threat_to_kill", "stalking", "fear_of_being_killed", "sexual_abuse",
         "cluster_separation_control_violence"]
CRITERIA = ["visible_high_risk", "professional_judgement", "potential_escalation",
            "repeat_marac"]


def main_items(inst):
    return [i for i in inst.items.values() if i.show_when is None]


def test_plugin_registers_three_instruments(engine):
    found = {(i.id, i.version, i.plugin, i.plugin_version) for i in engine.instruments}
    assert found == {
        ("dash-safelives", "1.0", "formsengine_dash", "1.0.0"),
        ("dash-police", "1.0", "formsengine_dash", "1.0.0"),
        ("sdash", "1.0", "formsengine_dash", "1.0.0"),
    }
    assert {i.source for i in engine.instruments} == {
        "dash-safelives.json", "dash-police.json", "sdash.json"}


def test_definition_files_are_package_data():
    assert formsengine_dash.definition_files() == [
        "dash-police.json", "dash-safelives.json", "sdash.json"]
    folder = resources.files("formsengine_dash").joinpath("definitions")
    for name in formsengine_dash.definition_files():
        assert json.loads(folder.joinpath(name).read_text(encoding="utf-8"))["version"] == "1.0"


def test_installed_distribution_matches_the_package():
    assert importlib.metadata.version("formsengine-dash") == formsengine_dash.__version__
    eps = importlib.metadata.entry_points(group="formsengine", name="dash")
    assert [ep.value for ep in eps] == ["formsengine_dash"]


@pytest.mark.parametrize("inst_id,count", [("dash-safelives", 24), ("dash-police", 27),
                                           ("sdash", 11)])
def test_main_item_ids_are_exactly_the_specified_ones(engine, inst_id, count):
    inst = engine.instruments.get(inst_id)
    ids = [i.id for i in main_items(inst)]
    assert len(ids) == count
    assert ids == MAIN_IDS[inst_id]


def test_police_version_inserts_the_child_items_after_item_9(engine):
    police = [i.id for i in main_items(engine.instruments.get("dash-police"))]
    assert police[8] == "dash.pregnant_recent_baby"
    assert police[9:12] == CHILD_IDS
    assert police[12] == "dash.more_often"
    safelives = engine.instruments.get("dash-safelives")
    assert not set(CHILD_IDS) & set(safelives.items)


@pytest.mark.parametrize("inst_id", ["dash-safelives", "dash-police", "sdash"])
def test_every_main_item_offers_the_five_answers_a_comment_and_a_source(engine, inst_id):
    inst = engine.instruments.get(inst_id)
    for item in main_items(inst):
        assert item.type == "choice"
        assert item.required is True
        assert item.comment is True and item.source is True, item.id
        opts = {o.value: o for o in item.options}
        assert list(opts) == ["yes", "no", "dont_know", "declined", "not_asked"]
        assert (opts["yes"].missing, opts["no"].missing) == (None, None)
        assert opts["dont_know"].label == "Not known"
        assert (opts["dont_know"].missing, opts["dont_know"].incomplete) == ("dont_know", False)
        assert (opts["declined"].missing, opts["declined"].incomplete) == ("declined", True)
        assert (opts["not_asked"].missing, opts["not_asked"].incomplete) == ("not_asked", True)
        assert not item.label.endswith("?")


@pytest.mark.parametrize("inst_id", DASH)
def test_detail_items_hang_off_their_parent_and_are_optional(engine, inst_id):
    inst = engine.instruments.get(inst_id)
    details = {i.id: i for i in inst.items.values() if i.show_when is not None}
    assert set(details) == set(DETAILS)
    for item_id, (parent, kind, values) in DETAILS.items():
        item = details[item_id]
        assert item.show_when == {"item": parent, "equals": "yes"}
        assert item.type == kind
        assert item.required is False
        if values is not None:
            assert list(item.values) == values
        assert item.section == inst.items[parent].section
    # Details are never part of the counts or of completeness.
    for score in inst.scoring["scores"]:
        assert inst.item_set(score["items"]) == MAIN_IDS[inst_id]
    assert inst.completeness_items() == MAIN_IDS[inst_id]


@pytest.mark.parametrize("inst_id", DASH)
def test_fields(engine, inst_id):
    fields = engine.instruments.get(inst_id).fields
    assert list(fields) == ["assessment_date", "police_incidents_12m", "last_marac_referral",
                            "victim_view", "other_information"]
    assert fields["assessment_date"].type == "date" and fields["assessment_date"].required
    incidents = fields["police_incidents_12m"]
    assert (incidents.type, incidents.minimum, incidents.maximum) == ("integer", 0, 1000)
    assert fields["last_marac_referral"].type == "date"
    assert fields["victim_view"].type == fields["other_information"].type == "text"
    # Free text may name people: kept out of research exports.
    assert fields["victim_view"].identifying and fields["other_information"].identifying


@pytest.mark.parametrize("inst_id", DASH)
def test_parameters_and_defaults(engine, inst_id):
    inst = engine.instruments.get(inst_id)
    defaults = inst.default_parameters()
    assert [(c["min"], c["band"]) for c in defaults.pop("risk_cutoffs")] == [
        (0, "none"), (1, "standard"), (10, "medium"), (14, "high")]
    assert defaults == {"marac_visible_high_risk": 14, "marac_escalation_incidents": 3,
                        "repeat_marac_months": 12}
    assert inst.parameters["risk_cutoffs"]["type"] == "cutoffs"
    assert inst.parameters["marac_visible_high_risk"]["maximum"] == len(MAIN_IDS[inst_id])


@pytest.mark.parametrize("inst_id", DASH)
def test_scores_band_level_flags_and_criteria(engine, inst_id):
    scoring = engine.instruments.get(inst_id).scoring
    assert [s["id"] for s in scoring["scores"]] == [
        "yes_count", "answered", "not_known_count", "unanswered_count"]
    assert [(b["id"], b["score"], b["cutoffs"]) for b in scoring["bands"]] == [
        ("risk_band", "yes_count", {"param": "risk_cutoffs"})]
    assert scoring["level"]["band"] == "risk_band"
    assert scoring["level"]["order"] == ["none", "standard", "medium", "high"]
    assert [f["id"] for f in scoring["flags"]] == FLAGS
    for flag in scoring["flags"]:
        assert len(flag["label"]) > 10 and len(flag["explanation"]) > 80, flag["id"]
    assert [(c["id"], c["group"]) for c in scoring["criteria"]] == [
        (c, "marac") for c in CRITERIA]
    assert scoring["criteria_groups"]["marac"]["label"]


def test_supplement_counts_only(engine):
    inst = engine.instruments.get("sdash")
    assert [s["id"] for s in inst.scoring["scores"]] == [
        "yes_count", "answered", "not_known_count", "unanswered_count"]
    assert "bands" not in inst.scoring and "level" not in inst.scoring
    assert not inst.parameters


@pytest.mark.parametrize("target", DASH)
def test_supplement_is_offered_when_stalking_is_yes(engine, target):
    offers = engine.instruments.get("sdash").definition["offered_when"]
    offer = next(o for o in offers if o["instrument"] == target)
    assert offer["when"] == {"item": "dash.stalking_harassment", "equals": "yes"}
    for value, offered in (("yes", True), ("no", False), ("dont_know", False),
                           ("not_asked", False)):
        answers = {"dash.stalking_harassment": value}
        assert evaluate_form_condition(offer["when"], answers, {}) is offered


class LocalSupplement:
    """A test-only plugin registering one definition given as a dict."""

    def __init__(self, definition: dict) -> None:
        self.definition = definition

    @hookimpl
    def register_instruments(self, register) -> None:
        register(self.definition)


def test_an_offer_naming_a_missing_item_is_refused():
    text = resources.files("formsengine_dash").joinpath("definitions", "sdash.json").read_text()
    broken = json.loads(text)
    broken["id"] = "sdash-local"
    broken["offered_when"][0]["when"] = {"item": "dash.stalking", "equals": "yes"}
    with pytest.raises(PluginLoadError, match=r"sdash-local .*unknown item 'dash.stalking'"):
        Engine(load_entrypoints=False, plugins=[formsengine_dash, LocalSupplement(broken)])


def test_an_offer_for_an_instrument_not_installed_is_allowed():
    text = resources.files("formsengine_dash").joinpath("definitions", "sdash.json").read_text()
    engine = Engine(load_entrypoints=False, plugins=[LocalSupplement(json.loads(text))])
    assert [i.id for i in engine.instruments] == ["sdash"]


@pytest.mark.parametrize("inst_id", ["dash-safelives", "dash-police", "sdash"])
def test_provenance_and_licence_say_these_are_paraphrases(engine, inst_id):
    definition = engine.instruments.get(inst_id).definition
    provenance, licence = definition["provenance"], definition["licence"]
    assert "paraphrase" in provenance
    assert "wording pack keyed by the same item ids" in provenance
    assert "SafeLives" in licence and "Laura Richards" in licence
    assert "Apache-2.0" in licence
    assert definition["subject_role"] == "victim_survivor"
    inst = engine.instruments.get(inst_id)
    assert inst.occasions == ["intake", "review", "after_incident", "exit"]
    assert [o.due for o in inst.declared_occasions] == [
        ("months", 0), ("months", 3), None, ("months", 6)]
