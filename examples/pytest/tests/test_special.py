"""Slow, crashing, hanging and flaky tests. The last three only misbehave when
asked through the environment, so a plain run of the suite stays green here:
  TSR_EXAMPLE_CRASH=1      test_crash kills its process (os._exit)
  TSR_EXAMPLE_HANG=1       test_hang sleeps for an hour
  TSR_EXAMPLE_FLAKY_DIR=D  test_flaky fails on its first run, passes after
"""
import os
import time


def test_slow():
    time.sleep(0.2)


def test_crash():
    if os.environ.get("TSR_EXAMPLE_CRASH") == "1":
        os._exit(3)


def test_hang():
    if os.environ.get("TSR_EXAMPLE_HANG") == "1":
        time.sleep(3600)


def test_flaky():
    marker_dir = os.environ.get("TSR_EXAMPLE_FLAKY_DIR")
    if marker_dir:
        marker = os.path.join(marker_dir, "tsr-example-flaky")
        if not os.path.exists(marker):
            open(marker, "w").close()
            assert False, "first run fails"


def test_after_crash():
    assert True
