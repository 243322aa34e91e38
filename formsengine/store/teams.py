"""Teams: the names of the organisation's teams."""

from __future__ import annotations

from . import Store


def team_names(store: Store) -> list[str]:
    """Every team's name, in alphabetical order."""
    return [row["name"] for row in store.all("SELECT name FROM teams ORDER BY name")]
