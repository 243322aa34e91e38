"""Jinja2 environments for report and codebook templates.

Autoescaping is always on: every value from the records is escaped. A plugin's report
section is inserted as HTML only because the ``report_sections`` contract makes the plugin
responsible for escaping what it puts in it.
"""

from __future__ import annotations

from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from ..dates import date_text
from ..i18n import gettext, language, translations
from .names import STATIC_URL


@cache
def environment(package: str = "formsengine.reports") -> Environment:
    env = Environment(
        loader=PackageLoader(package, "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    # the report's own text in the language being written (i18n.using: the language its
    # assessment was completed in)
    env.install_gettext_callables(  # type: ignore[attr-defined]
        lambda message: translations(language()).gettext(message),
        lambda singular, plural, n: translations(language()).ngettext(singular, plural, n),
        newstyle=True)
    env.globals["static"] = lambda name: STATIC_URL + name
    env.filters["yesno"] = lambda v: (gettext("yes") if v else (
        gettext("no") if v is not None else gettext("not known")))
    env.filters["pvalue"] = pvalue
    env.filters["num"] = number
    env.filters["date_text"] = date_text
    return env


def pvalue(p: float | None) -> str:
    if p is None:
        return "n/a"
    return "< 0.0001" if p < 0.0001 else f"{p:.4f}"


def number(value, digits: int = 1) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def render(template: str, package: str = "formsengine.reports", **context) -> str:
    return environment(package).get_template(template).render(**context)
