"""One populated database and one export, shared by the read-back tests of a module."""

from __future__ import annotations

import pytest

from formsengine.exports.keys import create_key_file
from formsengine.exports.research import ResearchOptions, export_research
from formsengine.store import Store
from tests.conftest import new_database
from tests.research_data import populate_cohort, research_engine


@pytest.fixture(scope="package")
def cohort(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cohort")
    with new_database(folder, "cohort.db") as db:
        store = Store.open(db, research_engine(), create=True)
        info = populate_cohort(store)
        key = folder / "project.key"
        create_key_file(key, "evaluation-1")
        yield {"store": store, "db": db, "folder": folder, "key": key, **info}
        store.close()


@pytest.fixture(scope="package")
def exported(cohort):
    out = cohort["folder"] / "export"
    manifest = export_research(cohort["store"], ResearchOptions(
        project="evaluation-1", out=out, key_file=cohort["key"],
        purpose="evaluation of intake against review"))
    return {"out": out, "manifest": manifest, **cohort}
