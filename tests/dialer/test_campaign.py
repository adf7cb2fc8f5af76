"""The campaign file: defaults, legal caps refused with key and line, live edits."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from dialer.campaign import DialMode, load_campaign, parse_campaign, set_campaign_key
from dialer.core.errors import ConfigError
from dialer.core.records import Outcome
from dialer.windows import Jurisdiction

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "campaigns" / "example.yaml"


def refused(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse_campaign(text, "c.yaml")
    return info.value


def test_minimal_campaign_gets_the_documented_defaults() -> None:
    cfg = parse_campaign("name: reminders-nov\n", "c.yaml")
    assert cfg.dial_mode is DialMode.PROGRESSIVE and cfg.jurisdiction is Jurisdiction.NL
    assert (cfg.pacing.max_abandon_rate, cfg.pacing.ring_timeout_s, cfg.pacing.agent_patience_s) == (
        0.03, 25.0, 2.0)
    assert (cfg.attempts.max_per_day, cfg.attempts.max_per_week, cfg.attempts.max_total,
            cfg.attempts.min_gap_s) == (3, 7, 12, 3600.0)
    assert cfg.retry.delay_for(Outcome.ABANDONED) == 72 * 3600
    assert cfg.retry.delay_for(Outcome.BUSY) == 15 * 60
    assert cfg.retry.delay_for(Outcome.ANSWERED_MACHINE) == 4 * 3600
    assert cfg.windows.windows_on("sun") == ()


def test_example_file_documents_exactly_the_defaults() -> None:
    example = load_campaign(EXAMPLE)
    default = parse_campaign(f"name: {example.name}\n", str(EXAMPLE))
    for key in ("dial_mode", "caller_id", "ivr_flow", "agent_queue", "jurisdiction", "priority",
                "numbers", "pacing", "windows", "attempts", "retry"):
        assert getattr(example, key) == getattr(default, key), key


def test_full_campaign_is_read() -> None:
    cfg = parse_campaign(
        "name: nov\ndial_mode: predictive\ncaller_id: '020 123 4567'\n"
        "pacing: {max_abandon_rate: 2%, abandon_window: 30d, dial_level: {min: 1.2, max: 2.5},"
        " ring_timeout: 30s, agent_patience: 1.5, abandon_message: {de: 'Rufen Sie {caller_id} an.'}}\n"
        "retry: {busy: 5m, abandoned: 4d}\n",
        "c.yaml",
    )
    assert cfg.caller_id == "+31201234567"
    assert cfg.pacing.max_abandon_rate == pytest.approx(0.02)
    assert cfg.pacing.abandon_window_s == 30 * 86400
    assert (cfg.pacing.min_dial_level, cfg.pacing.max_dial_level) == (1.2, 2.5)
    assert cfg.retry.busy == 300 and cfg.retry.abandoned == 4 * 86400
    assert cfg.abandon_text("de") == "Rufen Sie +31201234567 an."
    assert "+31201234567" in cfg.abandon_text("nl")     # defaults kept for other languages
    assert cfg.abandon_text("fr").startswith("Hello")   # unknown language falls back to English


def test_unknown_key_names_the_allowed_keys() -> None:
    err = refused("name: x\npacing:\n  max_abandon: 0.02\n")
    assert "pacing.max_abandon: unknown key" in str(err)
    assert "max_abandon_rate" in str(err) and "ring_timeout" in str(err)
    assert err.where == "c.yaml, line 3"
    err = refused("name: x\ndialmode: predictive\n")
    assert "dialmode: unknown key" in str(err) and "dial_mode" in str(err)


def test_wrong_type_is_refused() -> None:
    err = refused("name: x\npacing:\n  max_lines: many\n")
    assert "pacing.max_lines: must be a whole number" in str(err) and err.where == "c.yaml, line 3"
    err = refused("name: x\ndial_mode: turbo\n")
    assert "dial_mode" in str(err) and "predictive, progressive, ratio, agentless" in str(err)


def test_abandon_rate_above_three_percent_is_refused() -> None:
    err = refused("name: x\npacing:\n  max_abandon_rate: 0.05\n")
    assert "pacing.max_abandon_rate" in str(err) and "3%" in str(err)
    assert err.where == "c.yaml, line 3"


def test_ring_timeout_under_fifteen_seconds_is_refused() -> None:
    err = refused("name: x\npacing:\n  ring_timeout: 10s\n")
    assert "pacing.ring_timeout" in str(err) and "15s" in str(err) and err.where == "c.yaml, line 3"


def test_agent_patience_over_two_seconds_is_refused() -> None:
    err = refused("name: x\npacing:\n  agent_patience: 3s\n")
    assert "pacing.agent_patience" in str(err) and "2 s" in str(err)


def test_the_hourly_cap_is_auto_unless_set_and_reads_yaml_booleans() -> None:
    assert parse_campaign("name: x\n", "c.yaml").pacing.hourly_cap == "auto"
    for text, want in (("always", "always"), ("never", "never"), ("on", "always"), ("off", "never"),
                       ("true", "always"), ("false", "never")):
        cfg = parse_campaign(f"name: x\npacing:\n  hourly_cap: {text}\n", "c.yaml")
        assert cfg.pacing.hourly_cap == want, text


def test_an_unknown_hourly_cap_is_refused_with_the_choices() -> None:
    err = refused("name: x\npacing:\n  hourly_cap: sometimes\n")
    assert "pacing.hourly_cap" in str(err) and "auto, always, never" in str(err) and "'sometimes'" in str(err)


def test_abandoned_retry_under_72h_is_refused() -> None:
    err = refused("name: x\nretry:\n  abandoned: 1h\n")
    assert "retry.abandoned" in str(err) and "72h" in str(err) and err.where == "c.yaml, line 3"


def test_us_max_per_week_above_seven_is_refused_but_nl_allows_it() -> None:
    err = refused("name: x\njurisdiction: US\nattempts:\n  max_per_week: 9\n")
    assert "attempts.max_per_week" in str(err) and "1006.14" in str(err)
    assert err.where == "c.yaml, line 4"
    assert parse_campaign("name: x\nattempts:\n  max_per_week: 9\n", "c.yaml").attempts.max_per_week == 9


def test_dial_level_min_above_max_is_refused() -> None:
    err = refused("name: x\npacing:\n  dial_level: {min: 4, max: 2}\n")
    assert "pacing.dial_level.min" in str(err)


def test_bad_caller_id_is_refused() -> None:
    err = refused("name: x\ncaller_id: '12345'\n")
    assert "caller_id" in str(err) and "valid phone number" in str(err) and err.where == "c.yaml, line 2"
    err = refused("name: x\ncaller_id: +31201234567\n")
    assert "caller_id" in str(err) and "quotes" in str(err)


def test_bad_name_and_unknown_placeholder_are_refused() -> None:
    assert "name" in str(refused("name: Reminders Nov\n"))
    assert "name: required key is missing" in str(refused("dial_mode: ratio\n"))
    err = refused("name: x\npacing:\n  abandon_message: {nl: 'Bel {telefoon}'}\n")
    assert "pacing.abandon_message.nl" in str(err) and "{telefoon}" in str(err)


def test_set_campaign_key_round_trip_keeps_other_keys() -> None:
    text = "name: nov\ndial_mode: ratio\npacing:\n  ratio: 1.5\n  max_lines: 20\n"
    new = set_campaign_key(text, "c.yaml", "pacing.ratio", "2.0")
    cfg = parse_campaign(new, "c.yaml")
    assert cfg.pacing.ratio == 2.0 and cfg.pacing.max_lines == 20 and cfg.dial_mode is DialMode.RATIO
    new = set_campaign_key(new, "c.yaml", "calling_hours.weekly.mon", '["10:00-12:00"]')
    cfg = parse_campaign(new, "c.yaml")
    assert [(a.hour, b.hour) for a, b in cfg.windows.windows_on("mon")] == [(10, 12)]
    assert cfg.windows.windows_on("tue") == ()   # weekly now given: days left out are closed


def test_set_campaign_key_refuses_a_bad_value_with_the_same_error() -> None:
    text = "name: nov\npacing:\n  max_abandon_rate: 0.02\n"
    with pytest.raises(ConfigError) as info:
        set_campaign_key(text, "c.yaml", "pacing.max_abandon_rate", "0.05")
    assert "pacing.max_abandon_rate" in str(info.value) and "3%" in str(info.value)
    with pytest.raises(ConfigError) as info:
        set_campaign_key(text, "c.yaml", "pacing.max_abandn_rate", "0.01")
    assert "unknown key" in str(info.value) and "max_abandon_rate" in str(info.value)


def test_set_campaign_key_refuses_renaming() -> None:
    with pytest.raises(ConfigError) as info:
        set_campaign_key("name: nov\n", "c.yaml", "name", "dec")
    assert str(info.value).startswith("c.yaml: name:")


@pytest.mark.parametrize(("body", "key"), [
    ("retry:\n  abandoned: .nan\n", "retry.abandoned"),
    ("pacing:\n  max_abandon_rate: .nan\n", "pacing.max_abandon_rate"),
    ("pacing:\n  max_abandon_rate: nan%\n", "pacing.max_abandon_rate"),
    ("pacing:\n  amd_false_machine_rate: .nan\n", "pacing.amd_false_machine_rate"),
    ("pacing:\n  calls_per_second: .nan\n", "pacing.calls_per_second"),
    ("pacing:\n  dial_level: {min: 1, max: .nan}\n", "pacing.dial_level.max"),
    ("dial_mode: ratio\npacing:\n  ratio: .nan\n", "pacing.ratio"),
    ("attempts:\n  min_gap: .nan\n", "attempts.min_gap"),
    ("ivr_flow: payment_reminder\nivr_params:\n  max_promise_days: .nan\n", "ivr_params.max_promise_days"),
])
def test_a_number_that_is_not_finite_never_passes_a_limit(body: str, key: str) -> None:
    err = refused("name: x\n" + body)
    assert str(err).startswith("c.yaml, line ") and f"{key}: " in str(err)


def test_a_campaign_with_a_billion_laughs_in_ivr_params_is_refused_before_it_is_expanded(
        tmp_path: Path) -> None:
    # 10**8 values once expanded: unguarded, printing them in the error alone needs gigabytes. The
    # child runs under a 1 GiB address-space and 20 s CPU limit, so a regression fails, not swaps.
    bomb = ["name: nov", "ivr_flow: payment_reminder", "ivr_params:",
            "  company: &l0 [ha, ha, ha, ha, ha, ha, ha, ha, ha, ha]"]
    bomb += [f"  x{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]" for i in range(1, 8)]
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(bomb) + "\n", encoding="utf-8")
    child = (
        "import resource, sys\n"
        "resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))\n"
        "resource.setrlimit(resource.RLIMIT_CPU, (20, 20))\n"
        "from dialer.campaign import load_campaign\n"
        "from dialer.core.errors import ConfigError\n"
        "try:\n"
        "    load_campaign(sys.argv[1])\n"
        "except ConfigError as exc:\n"
        "    print(exc)\n"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", child, str(path)], capture_output=True, text=True,
                          cwd=root, timeout=120, check=False)
    assert done.returncode == 0 and done.stderr == "", done.stderr[-2000:]
    assert done.stdout == (f"{path}, line 8: refused: more than 100,000 values once aliases (*name) "
                           f"are expanded\n")


def test_set_campaign_key_refuses_a_non_finite_number_and_an_alias_bomb() -> None:
    text = "name: nov\nretry:\n  abandoned: 96h\n"
    with pytest.raises(ConfigError) as info:
        set_campaign_key(text, "c.yaml", "retry.abandoned", ".nan")
    assert "retry.abandoned: must be a duration" in str(info.value)
    bomb = "{" + ", ".join(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}" if i else "ha"] * 10) + "]"
                           for i in range(9)) + "}"
    with pytest.raises(ConfigError) as info:
        set_campaign_key(text, "c.yaml", "ivr_params", bomb)
    assert "ivr_params: " in str(info.value) and "more than 100,000 values" in str(info.value)
