"""Config file + flags: keys are flag names, flags win, mistakes are errors that name the key."""

from __future__ import annotations

import pytest

from distro import cli, config


def parse(argv: list[str]):
    parser, commands = cli.build_parser()
    return config.parse(parser, commands, argv)


def test_file_values_are_defaults_and_flags_win(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(
        "data-dir: /srv/edge\n"
        "compact-keep: 50\n"
        "sqlite-synchronous: NORMAL\n"
        "listen-client-urls: http://127.0.0.1:12379\n"
    )
    args = parse(["datastore", "--config", str(path), "--compact-keep", "7"])
    assert args.data_dir == "/srv/edge"
    assert args.compact_keep == 7
    assert args.sqlite_synchronous == "NORMAL"
    assert args.listen_client_urls == "http://127.0.0.1:12379"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("compact-kep: 5\n", "unknown key 'compact-kep'"),
        ("compact-keep: many\n", "compact-keep: invalid literal"),
        ("sqlite-synchronous: OFF\n", "sqlite-synchronous must be one of FULL, NORMAL"),
        ("data-dir: [a, b]\n", "data-dir takes a single value"),
        ("- just\n- a list\n", "expected a mapping"),
        ("data-dir: [\n", "while parsing"),
    ],
)
def test_mistakes_name_the_file_and_key(tmp_path, text, message):
    path = tmp_path / "config.yaml"
    path.write_text(text)
    with pytest.raises(config.ConfigError) as exc:
        parse(["datastore", "--config", str(path)])
    assert str(path) in str(exc.value) and message in str(exc.value)


def test_a_named_file_must_exist_but_the_default_may_not(tmp_path, monkeypatch):
    with pytest.raises(config.ConfigError, match="does not exist"):
        parse(["datastore", "--config", str(tmp_path / "missing.yaml")])
    monkeypatch.setattr(config, "DEFAULT_CONFIG", tmp_path / "absent.yaml")
    assert parse(["datastore"]).data_dir == cli.DEFAULT_SERVER_DATA_DIR


def test_the_cli_reports_config_errors_without_a_traceback(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text("nope: 1\n")
    assert cli.main(["datastore", "--config", str(path)]) == 2
    assert "unknown key 'nope'" in capsys.readouterr().err


def test_repeatable_flags_on_the_command_line_replace_the_files_list(tmp_path):
    import argparse

    from distro import config

    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")
    cmd = sub.add_parser("run")
    config.add_config_flag(cmd)
    cmd.add_argument("--tls-san", action="append", default=[])
    path = tmp_path / "c.yaml"
    path.write_text("tls-san: [a.example, b.example]\n")
    from_file = config.parse(parser, {"run": cmd}, ["run", "--config", str(path)])
    assert from_file.tls_san == ["a.example", "b.example"]
    cmd.set_defaults(tls_san=[])
    from_flags = config.parse(parser, {"run": cmd}, ["run", "--config", str(path), "--tls-san", "c.example"])
    assert from_flags.tls_san == ["c.example"]
