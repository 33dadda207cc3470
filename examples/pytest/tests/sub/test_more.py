"""A second file in a sub-package, to check file order and nested ids."""


def test_sub_pass():
    assert "sub"


def test_name_like_other_file():
    assert True
