"""Meal subsidy settings: tiers keyed by whole ages, extras keyed by special groups; bad ones stop start-up."""
from __future__ import annotations

import pytest

from careapp.config import from_environment


def test_the_defaults_are_those_of_domain_md(tmp_path):
    settings = from_environment(str(tmp_path), {})
    assert settings["MEAL_SUBSIDY_TIERS"] == {"60": 100, "70": 200, "80": 300}
    assert settings["MEAL_SPECIAL_SUBSIDY"] == {"dibao": 200, "tekun": 300, "shineng": 200}


def test_settings_in_yuan_become_fen(tmp_path):
    settings = from_environment(str(tmp_path), {"CAREAPP_MEAL_SUBSIDY_TIERS": "65:1.5, 75:2.5",
                                                "CAREAPP_MEAL_SPECIAL_SUBSIDY": "dibao:1"})
    assert settings["MEAL_SUBSIDY_TIERS"] == {"65": 150, "75": 250}
    assert settings["MEAL_SPECIAL_SUBSIDY"] == {"dibao": 100}


@pytest.mark.parametrize("value", ["sixty:1", "60.5:1", "-60:1", "200:1", "60+:1"])
def test_a_tier_that_is_not_a_whole_age_stops_start_up(tmp_path, value):
    with pytest.raises(SystemExit) as stopped:
        from_environment(str(tmp_path), {"CAREAPP_MEAL_SUBSIDY_TIERS": value})
    assert str(stopped.value).startswith(f"CAREAPP_MEAL_SUBSIDY_TIERS: {value.split(':')[0]!r} is not an age")


@pytest.mark.parametrize("value", ["disabled:2", "DIBAO:2", "60:2"])
def test_an_unknown_special_group_stops_start_up(tmp_path, value):
    with pytest.raises(SystemExit) as stopped:
        from_environment(str(tmp_path), {"CAREAPP_MEAL_SPECIAL_SUBSIDY": value})
    assert str(stopped.value) == (f"CAREAPP_MEAL_SPECIAL_SUBSIDY: {value.split(':')[0]!r} is not a special group; "
                                  "use dibao, tekun, shineng")
