"""Flags + config file in one place: the file's keys are the flag names (without dashes), flags win.

`/etc/edgek8s/config.yaml` is read when it exists; a file named with `--config` must exist. A key the
command does not know, or a value of the wrong type, is an error naming the file and the key, so a
typo never silently falls back to a default.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import yaml

DEFAULT_CONFIG = Path("/etc/edgek8s/config.yaml")


class ConfigError(Exception):
    pass


def add_config_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        default=None,
        help=f"YAML file whose keys are flag names; command-line flags win (default {DEFAULT_CONFIG})",
    )


def parse(
    parser: argparse.ArgumentParser, commands: dict[str, argparse.ArgumentParser], argv: list[str] | None
) -> argparse.Namespace:
    """Parses argv; for a subcommand that has add_config_flag, its config file's values are the defaults."""
    first, _ = parser.parse_known_args(argv)
    command = commands.get(getattr(first, "command", None) or "")
    if command is None or not hasattr(first, "config"):
        return parser.parse_args(argv)
    path = Path(first.config) if first.config else DEFAULT_CONFIG
    appended: dict[str, list] = {}
    if path.exists():
        values = file_defaults(command, path)
        # a repeatable flag given on the command line replaces the file's list instead of adding to it
        # (argparse would append to a default), so those are applied only when the flag is absent
        for action in command._actions:
            if isinstance(action, argparse._AppendAction) and action.dest in values:
                appended[action.dest] = values.pop(action.dest)
        command.set_defaults(**values)
    elif first.config:
        raise ConfigError(f"config file {path} does not exist")
    untouched = {dest: command.get_default(dest) for dest in appended}
    args = parser.parse_args(argv)
    for dest, value in appended.items():
        if getattr(args, dest) is untouched[dest]:
            setattr(args, dest, value)
    return args


def _actions_by_key(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    out = {}
    for action in parser._actions:  # argparse offers no public view of its options
        for option in action.option_strings:
            if option.startswith("--"):
                out[option[2:]] = action
    return out


def file_defaults(parser: argparse.ArgumentParser, path: Path) -> dict[str, Any]:
    try:
        doc = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: {exc}") from None
    if not isinstance(doc, dict):
        raise ConfigError(f"{path}: expected a mapping of flag names to values")
    actions = _actions_by_key(parser)
    values: dict[str, Any] = {}
    for key, raw in doc.items():
        action = actions.get(str(key))
        if action is None or key in ("config", "help"):
            raise ConfigError(f"{path}: unknown key {key!r}")
        values[action.dest] = _coerce(path, str(key), action, raw)
    return values


def _coerce(path: Path, key: str, action: argparse.Action, raw: Any) -> Any:
    if isinstance(action, argparse._StoreTrueAction | argparse._StoreFalseAction):
        if not isinstance(raw, bool):
            raise ConfigError(f"{path}: {key} must be true or false")
        return raw if isinstance(action, argparse._StoreTrueAction) else not raw
    many = isinstance(action, argparse._AppendAction) or action.nargs in ("*", "+")
    items = raw if isinstance(raw, list) else [raw]
    if not many and isinstance(raw, list | dict):
        raise ConfigError(f"{path}: {key} takes a single value")
    convert = action.type or str
    out = []
    for item in items:
        if isinstance(item, list | dict) or item is None:
            raise ConfigError(f"{path}: {key} has an invalid value {item!r}")
        try:
            value = convert(str(item)) if not isinstance(item, bool) else convert(str(item).lower())
        except (TypeError, ValueError, argparse.ArgumentTypeError) as exc:
            raise ConfigError(f"{path}: {key}: {exc}") from None
        if action.choices is not None and value not in action.choices:
            raise ConfigError(f"{path}: {key} must be one of {', '.join(map(str, action.choices))}")
        out.append(value)
    return out if many else out[0]
