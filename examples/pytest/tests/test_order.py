"""Depends on pytest's file order: test_basic.py runs before this file."""


def test_after_basic():
    assert True
