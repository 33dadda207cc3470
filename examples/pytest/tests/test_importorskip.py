"""Module-level skip: not in --collect-only output, skipped in a run."""
import pytest

pytest.importorskip("tessera_module_that_does_not_exist")


def test_never_collected():
    pass
