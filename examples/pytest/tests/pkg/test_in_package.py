"""Tests inside a package (tests/pkg/__init__.py), using a conftest fixture."""


def test_package_fixture(answer):
    assert answer == 42


class TestPackaged:
    def test_packaged_method(self, answer):
        assert answer > 0
