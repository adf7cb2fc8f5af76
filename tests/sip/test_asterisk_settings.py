"""The Asterisk backend's configuration and the dialer's --backend asterisk option."""

from __future__ import annotations

from pathlib import Path

import pytest

from dialer.cli import main
from sip.asterisk.settings import settings_from_mapping

GOOD = {
    "amd": "dialplan",
    "audiosocket_port": 9093,
    "queues": ["agents"],
    "servers": [
        {"name": "pbx1", "host": "10.0.0.5", "ami_port": 5038, "username": "callpact",
         "secret_env": "AMI1",
         "dial": "PJSIP/{digits}@trunk", "max_channels": 60, "calls_per_second": 8},
        {"name": "pbx2", "host": "10.0.0.6", "secret": "s2"},
    ],
}


def test_two_servers_behind_one_campaign_with_the_secret_from_the_environment() -> None:
    settings = settings_from_mapping(GOOD, env={"AMI1": "from-env"})
    assert [s.name for s in settings.servers] == ["pbx1", "pbx2"]
    assert settings.servers[0].secret == "from-env"
    assert settings.servers[0].max_channels == 60 and settings.servers[1].max_channels == 30
    assert settings.amd == "dialplan" and settings.queues == ("agents",)


@pytest.mark.parametrize(("change", "message"), [
    ({"servers": []}, "non-empty list"),
    ({"servers": [{"name": "a", "secret": "s", "ami_prot": 1}]}, r"servers\[0\]: unknown key\(s\) ami_prot"),
    ({"servers": [{"name": "a", "secret": "s", "ami_port": "x"}]}, "ami_port: must be a positive whole"),
    ({"servers": [{"name": "a"}]}, "no AMI secret"),
    ({"servers": [{"name": "a", "secret_env": "NOPE"}]}, "NOPE is not set"),
    ({"servers": [{"name": "a", "secret": "s", "dial": "PJSIP/trunk"}]}, "dial: must contain"),
    ({"servers": [{"name": "a", "secret": "s"}, {"name": "a", "secret": "t"}]}, "names must be unique"),
    ({"amd": "maybe"}, "amd: must be 'none', 'dialplan' or 'audio'"),
    ({"pacing": 3}, r"unknown key\(s\) pacing"),
])
def test_bad_settings_are_one_line_errors_naming_the_key(change: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        settings_from_mapping({**GOOD, **change}, env={"AMI1": "x"})


def test_dialer_with_a_bad_backend_file_says_where(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                   redis_url: str) -> None:
    conf = tmp_path / "backend.yaml"
    conf.write_text("backend:\n  servers:\n    - {name: pbx1, secret: s, ami_port: -1}\n")
    campaign = Path(__file__).parents[2] / "config" / "campaigns"
    first = sorted(campaign.glob("*.yaml"))[0]
    assert main(["--redis-url", redis_url, "campaign", "load", str(first)]) == 0
    code = main(["--redis-url", redis_url, "dialer", "--backend", "asterisk", "--backend-config", str(conf)])
    err = capsys.readouterr().err
    assert code == 2
    assert "backend.yaml" in err and "ami_port: must be a positive whole number" in err
    assert "Traceback" not in err


def test_dialer_reports_an_unreachable_asterisk_in_one_line(tmp_path: Path, redis_url: str,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    conf = tmp_path / "backend.yaml"
    conf.write_text("backend:\n  connect_timeout_s: 1\n"
                    "  servers:\n    - {name: pbx1, host: 127.0.0.1, ami_port: 9, secret: s}\n")
    campaign = sorted((Path(__file__).parents[2] / "config" / "campaigns").glob("*.yaml"))[0]
    assert main(["--redis-url", redis_url, "campaign", "load", str(campaign)]) == 0
    code = main(["--redis-url", redis_url, "dialer", "--backend", "asterisk", "--backend-config", str(conf)])
    err = capsys.readouterr().err
    assert code == 2
    assert "cannot use Asterisk" in err and "pbx1" in err and "connection refused" in err
    assert "Traceback" not in err


def test_dialer_asterisk_without_a_backend_file_says_what_is_missing(
        redis_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    campaign = sorted((Path(__file__).parents[2] / "config" / "campaigns").glob("*.yaml"))[0]
    assert main(["--redis-url", redis_url, "campaign", "load", str(campaign)]) == 0
    code = main(["--redis-url", redis_url, "dialer", "--backend", "asterisk"])
    err = capsys.readouterr().err
    assert code == 2 and "needs --backend-config FILE.yaml" in err
