"""Starting points for a new local instrument (``formsengine instruments scaffold``).

``definition_files`` gives a minimal but complete definition: a yes / no / not known
checklist of two items, a count, a risk band whose cut-offs are a parameter, a flag and two
test vectors that pass. ``plugin_files`` wraps the same definition in an installable plugin
distribution (pyproject with the ``formsengine`` entry point, a package with
``register_instruments``, a README and a test that runs the vectors).

Nothing is written over an existing file: every target is checked before the first one is
written, and each file is opened for exclusive creation.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from .errors import FormsEngineError
from .instruments import build_instrument, load_schema


class ScaffoldError(FormsEngineError):
    pass


def _id_rule() -> tuple[re.Pattern[str], int]:
    spec = load_schema("instrument")["$defs"]["instrumentId"]
    return re.compile(spec["pattern"]), int(spec["maxLength"])


def check_instrument_id(instrument_id: str) -> None:
    """Refuse an id that the instrument schema would refuse, saying what a good one is."""
    pattern, max_length = _id_rule()
    if len(instrument_id) > max_length or not pattern.fullmatch(instrument_id):
        shown = instrument_id if len(instrument_id) <= 70 else instrument_id[:70] + "..."
        raise ScaffoldError(
            f"instrument id {shown!r} is not valid: use lower-case letters and digits, "
            "start with a letter, join words with single hyphens, and keep it to "
            f"{max_length} characters at most (for example 'myorg-safety-check')"
        )


def names_for(instrument_id: str) -> dict[str, str]:
    """The names derived from an instrument id."""
    snake = instrument_id.replace("-", "_")
    return {
        "id": instrument_id,
        "prefix": snake,  # item ids are PREFIX.name
        "title": instrument_id.replace("-", " ").capitalize(),
        "package": f"formsengine_{snake}",
        "distribution": f"formsengine-{instrument_id}",
        "entry_point": snake,
    }


def definition(instrument_id: str) -> dict[str, Any]:
    """A minimal, valid definition for ``instrument_id``."""
    n = names_for(instrument_id)
    first, second = f"{n['prefix']}.first_indicator", f"{n['prefix']}.second_indicator"
    return {
        "id": instrument_id,
        "version": "0.1",
        "title": f"{n['title']} (draft)",
        "description": "Say what the instrument is for, who completes it and with whom.",
        "provenance": (
            "Say where the instrument comes from: written by this organisation, adapted "
            "from a named instrument, or a paraphrase of a published one."
        ),
        "licence": (
            "Say under which licence this definition may be used, and note any copyright "
            "in the original wording."
        ),
        "subject_role": "victim_survivor",
        "occasions": ["intake", "review", "exit"],
        "option_sets": {
            "answer": [
                {"value": "yes", "label": "Yes"},
                {"value": "no", "label": "No"},
                {"value": "dont_know", "label": "Not known",
                 "hint": "Asked, but the person did not know.", "missing": "dont_know"},
            ]
        },
        "sections": [
            {
                "id": "checklist",
                "title": "Checklist",
                "items": [
                    {"id": first, "type": "choice",
                     "label": "First risk indicator (replace with your own wording)",
                     "options": "answer", "comment": True},
                    {"id": second, "type": "choice",
                     "label": "Second risk indicator (replace with your own wording)",
                     "options": "answer", "comment": True},
                ],
            }
        ],
        "fields": [
            {"id": "assessment_date", "type": "date", "label": "Date of this assessment",
             "required": True},
        ],
        "parameters": {
            "risk_cutoffs": {
                "type": "cutoffs",
                "description": "Risk bands from the number of yes answers.",
                "default": [
                    {"min": 0, "band": "low", "label": "Low"},
                    {"min": 1, "band": "medium", "label": "Medium"},
                    {"min": 2, "band": "high", "label": "High"},
                ],
            }
        },
        "scoring": {
            "scores": [
                {"id": "yes_count", "label": "Number of yes answers", "type": "count",
                 "items": {"section": "checklist"}, "values": ["yes"]},
                {"id": "not_known_count", "label": "Items answered not known",
                 "type": "count", "items": {"section": "checklist"}, "missing": "not_known"},
            ],
            "bands": [
                {"id": "risk_band", "label": "Risk band from the number of yes answers",
                 "score": "yes_count", "cutoffs": {"param": "risk_cutoffs"}},
            ],
            "flags": [
                {"id": "first_indicator", "label": "First risk indicator present",
                 "explanation": "Shown whatever the total: say here why it matters and "
                                "what the practitioner should do.",
                 "when": {"item": first, "equals": "yes"}},
            ],
        },
        "test_vectors": [
            {
                "name": "no indicators: low, flag not raised",
                "answers": {first: "no", second: "no"},
                "expect": {
                    "complete": True,
                    "scores": {"yes_count": 0, "not_known_count": 0},
                    "bands": {"risk_band": "low"},
                    "flags": {"first_indicator": False},
                },
            },
            {
                "name": "first yes, second not known: medium, flag raised, not known is not no",
                "answers": {first: "yes", second: "dont_know"},
                "expect": {
                    "complete": True,
                    "scores": {"yes_count": 1, "not_known_count": 1},
                    "bands": {"risk_band": "medium"},
                    "flags": {"first_indicator": True},
                },
            },
        ],
    }


def _json(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def definition_files(instrument_id: str) -> dict[str, str]:
    """``{relative path: text}`` for a definition file on its own."""
    check_instrument_id(instrument_id)
    data = definition(instrument_id)
    # The template must always pass the same checks as an organisation's own file.
    build_instrument(data, plugin="(scaffold)", plugin_version="-", source=None)
    return {f"{instrument_id}.json": _json(data)}


PYPROJECT = """\
[build-system]
requires = ["setuptools>=77"]
build-backend = "setuptools.build_meta"

[project]
name = "{distribution}"
version = "0.1.0"
description = "{title}: an instrument for formsengine"
readme = "README.md"
requires-python = ">=3.11"
dependencies = ["formsengine>=0.1,<0.3"]

[project.optional-dependencies]
test = ["pytest>=8"]

# formsengine finds the plugin through this entry point.
[project.entry-points.formsengine]
{entry_point} = "{package}"

[tool.setuptools]
# The definitions folder is data, listed as a package so that its files are installed.
packages = ["{package}", "{package}.definitions"]

[tool.setuptools.package-data]
"{package}.definitions" = ["*.json"]
"""

PACKAGE = '''\
"""{distribution}: {title} as a formsengine instrument.

The instrument is data, scored by formsengine's declarative engine:
``definitions/{id}.json``. Every ``*.json`` file in ``definitions`` is registered as an
instrument definition, and every ``*.wording.json`` file as a wording pack.
"""

from __future__ import annotations

from importlib import resources

import formsengine
from formsengine.plugins import register_packaged_definitions

__version__ = "0.1.0"


def _files(suffix: str) -> list:
    folder = resources.files(__name__).joinpath("definitions")
    return sorted((entry for entry in folder.iterdir() if entry.name.endswith(suffix)),
                  key=lambda entry: entry.name)


@formsengine.hookimpl
def register_instruments(register) -> None:
    register_packaged_definitions(register, __name__)


@formsengine.hookimpl
def register_wording_packs(register) -> None:
    for entry in _files(".wording.json"):
        with resources.as_file(entry) as path:
            register(path)
'''

TEST_VECTORS = '''\
"""Run the test vectors of this plugin's definitions with formsengine's generic runner
(the same one behind ``formsengine instruments test``)."""

from __future__ import annotations

import {package}
import pytest

from formsengine.engine import Engine
from formsengine.vectors import run_vectors


@pytest.fixture(scope="module")
def engine() -> Engine:
    # Only this plugin: the result does not depend on what else is installed.
    return Engine(load_entrypoints=False, plugins=[{package}])


def test_the_instrument_is_registered(engine: Engine) -> None:
    assert "{id}" in engine.instruments


def test_every_vector_passes(engine: Engine) -> None:
    outcomes = run_vectors(engine, "{id}")
    assert outcomes, "the definition has no test vectors"
    failed = [f"{{o.name}}: {{'; '.join(o.problems)}}" for o in outcomes if not o.passed]
    assert not failed, "\\n".join(failed)
'''

README = """\
# {distribution}

{title}, as a formsengine instrument plugin. The instrument is data:
`{package}/definitions/{id}.json`, scored by formsengine's declarative engine.

## Install and check

```
pip install -e .                                   # or: pip install .
formsengine instruments list                       # {id} appears, with this plugin's name
formsengine instruments validate {package}/definitions/{id}.json
formsengine instruments test {id} -v               # runs the definition's test vectors
pip install -e '.[test]' && pytest                 # the same vectors, as a test
```

## Before first use

- Replace the two example items, the labels, the description, the provenance and the
  licence with your own.
- Keep `dont_know` (and add `declined` or `not_asked` if you need them): "not known" is
  never counted as "no".
- Write a test vector for every band boundary, for each flag raised and not raised, and for
  answers that are not known.
- Change `version` in the definition whenever items or scoring change. Never rename an item
  id once assessments are stored: exports depend on it.

The definition format is described in formsengine's `docs/definitions.md`, and the scored
result in `docs/scoring.md`.
"""


def plugin_files(instrument_id: str) -> dict[str, str]:
    """``{relative path: text}`` for a whole plugin distribution, in folder
    ``formsengine-ID``."""
    n = names_for(instrument_id)
    definition_text = definition_files(instrument_id)[f"{instrument_id}.json"]
    root = n["distribution"]
    return {
        f"{root}/pyproject.toml": PYPROJECT.format(**n),
        f"{root}/README.md": README.format(**n),
        f"{root}/{n['package']}/__init__.py": PACKAGE.format(**n),
        f"{root}/{n['package']}/definitions/{instrument_id}.json": definition_text,
        f"{root}/tests/test_vectors.py": TEST_VECTORS.format(**n),
    }


def write_files(out: Path, files: dict[str, str]) -> list[Path]:
    """Write ``files`` under ``out``; refuse (writing nothing) if any of them exists."""
    targets = {out / rel: text for rel, text in files.items()}
    existing = [p for p in targets if p.exists() or p.is_symlink()]
    if existing:
        raise ScaffoldError(
            f"{', '.join(str(p) for p in existing)} already "
            f"{'exists' if len(existing) == 1 else 'exist'}; nothing was written. "
            "Choose another folder with --out, or move the existing files away first"
        )
    written = []
    for path, text in targets.items():
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError:
            raise ScaffoldError(f"cannot create the folder {path.parent} (is part of it a "
                                "file?); choose another folder with --out") from None
        try:
            with path.open("x", encoding="utf-8", newline="\n") as fh:
                fh.write(text)
        except FileExistsError:
            raise ScaffoldError(f"{path} appeared while writing; it was left as it is") \
                from None
        except OSError as exc:
            raise ScaffoldError(f"cannot write {path}: {exc.strerror}") from None
        written.append(path)
    return written
