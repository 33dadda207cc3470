"""Basic outcomes: pass, fail, skip, xfail, xpass, error in a fixture."""
import pytest


def test_pass():
    assert 1 + 1 == 2


def test_fail():
    assert 1 + 1 == 3, "arithmetic is broken"


@pytest.mark.skip(reason="not today")
def test_skip():
    pass


def test_skip_inside():
    pytest.skip("skipped at run time")


@pytest.mark.xfail(reason="known bug")
def test_xfail():
    assert False


@pytest.mark.xfail(reason="fixed already", strict=False)
def test_xpass():
    assert True


@pytest.mark.xfail(reason="must fail", strict=True)
def test_xpass_strict():
    assert True


@pytest.fixture
def broken():
    raise RuntimeError("fixture setup failed")


def test_fixture_error(broken):
    pass


@pytest.mark.parametrize("value", [1, 2, "a::b", "x y", "[z]"])
def test_param(value):
    assert value != 2


class TestGroup:
    def test_method(self):
        assert True

    def test_method_fail(self):
        assert [1, 2] == [1, 3]

    class TestInner:
        def test_nested(self):
            assert True
