"""The data layer's tests run on SQLite and again on PostgreSQL (see ``any_store``)."""

import pytest


@pytest.fixture
def store(any_store):
    return any_store
