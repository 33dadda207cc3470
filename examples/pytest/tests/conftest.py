"""Shared fixtures of the example suite."""
import pytest


@pytest.fixture
def answer():
    return 42
