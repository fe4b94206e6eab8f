"""`pixserve serve` (granian, or Flask's reloader with --dev), `config`, `sign`, `samples`."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from pixserve.app import create_app
from pixserve.cli import cache as cache_cli
from pixserve.cli.serving import serve
from pixserve.config import show as config_cli
from pixserve.config.layers import explain_config, load_config
from pixserve.config.settings import SETTINGS, Config, ConfigError, parse_setting
from pixserve.http.signing import sign_url
from pixserve.ops import logs
from pixserve.transformer import TransformError


def settings_flags() -> argparse.ArgumentParser:
    """The flags that set settings, shared by `serve` and `config`: the top layer."""
    flags = argparse.ArgumentParser(add_help=False)
    flags.add_argument("--config", type=Path, help="TOML file of settings [PIXSERVE_CONFIG]")
    flags.add_argument("--root", type=Path, help=_flag_help("root", "folder of source images"))
    flags.add_argument(
        "--cache-dir", type=Path, help=_flag_help("cache_dir", "result cache folder")
    )
    flags.add_argument("--host", help=_flag_help("host", "address to listen on"))
    flags.add_argument("--port", type=int, help=_flag_help("port", "port"))
    flags.add_argument("--workers", type=int, help=_flag_help("workers", "processes"))
    flags.add_argument("--threads", type=int, help=_flag_help("threads", "threads per process"))
    flags.add_argument(
        "--set",
        dest="settings",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="any setting, written as in the environment (repeatable): --set max_age=3600",
    )
    return flags


def _flag_help(name: str, text: str) -> str:
    """`text [PIXSERVE_NAME; default: value]`, the default read from the settings table."""
    row = SETTINGS[name]
    if row.field.default is not dataclasses.MISSING:
        default = str(row.field.default)
    elif row.field.default_factory is not dataclasses.MISSING:
        default = str(row.field.default_factory())
    else:
        default = "required"
    return f"{text} [{row.variable}; default: {default}]"


def flag_values(args: argparse.Namespace) -> dict[str, Any]:
    """The settings given on the command line, typed; `--set` ones are parsed here."""
    values: dict[str, Any] = {
        name: getattr(args, name)
        for name in ("root", "cache_dir", "host", "port", "workers", "threads")
    }
    for assignment in args.settings:
        name, equals, raw = assignment.partition("=")
        name = name.strip().replace("-", "_")
        if not equals or name not in SETTINGS:  # the value is never echoed: it may be a key
            raise ConfigError(f"{name or '--set'}: --set takes NAME=VALUE with a setting's name")
        values[name] = parse_setting(name, raw)
    return values


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pixserve", description=__doc__)
    parser.add_argument("--version", action="version", version=f"pixserve {_version()}")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", parents=[settings_flags()], help="serve images over HTTP")
    serve.add_argument("--dev", action="store_true", help="Flask's reloading dev server")
    commands.add_parser(
        "config",
        parents=[settings_flags()],
        help="print the effective configuration and where each value came from",
    )

    samples = commands.add_parser("samples", help="draw the sample images into a folder")
    samples.add_argument("directory", type=Path)

    sign = commands.add_parser(
        "sign", help="print URL with its signature (key: the first of PIXSERVE_SIGNING_KEYS)"
    )
    sign.add_argument("url", help="e.g. /image/photos/street.jpg?w=300&fmt=webp")
    sign.add_argument("--key", help="sign with this key instead")
    sign.add_argument("--config", type=Path, help="TOML file of settings [PIXSERVE_CONFIG]")
    cache_cli.add_commands(commands)
    return parser


def _version() -> str:
    try:
        return metadata.version("pixserve")
    except metadata.PackageNotFoundError:  # run from a checkout that is not installed
        return "(not installed)"


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "samples":
        from pixserve.web.samples import draw_samples

        for path in draw_samples(args.directory):
            print(path)
        return 0
    if args.command == "sign":
        return _sign(args)
    if args.command == "cache":
        return cache_cli.run(args)
    if args.command == "config":
        return _config(args)
    return _serve(args)


def _config(args: argparse.Namespace) -> int:
    try:
        explained = explain_config(os.environ, args.config, flag_values(args), need_root=False)
    except ConfigError as error:
        print(f"pixserve: invalid configuration: {error}", file=sys.stderr)
        return 2
    sys.stdout.write(config_cli.render(explained))
    return 0


def _sign(args: argparse.Namespace) -> int:
    """Sign with the server's own rules: its presets and limits come from its config."""
    try:
        config = load_config(os.environ, args.config, {"root": Path(".")})
        key = args.key or (config.http.signing_keys[0] if config.http.signing_keys else None)
        if key is None:
            raise ConfigError("signing_keys: set PIXSERVE_SIGNING_KEYS or pass --key")
        print(sign_url(args.url, key, config.query_limits()))
    except (ConfigError, TransformError) as error:
        print(f"pixserve sign: {error}", file=sys.stderr)
        if isinstance(error, TransformError) and error.param == "preset":
            print(
                "pixserve sign: presets come from the server's configuration: pass the "
                "same --config FILE (or PIXSERVE_PRESETS) the server uses",
                file=sys.stderr,
            )
        return 2
    return 0


def _serve(args: argparse.Namespace) -> int:
    flags = flag_values(args)

    def load() -> Config:
        return load_config(os.environ, args.config, flags)

    try:
        if args.dev:
            config = load()
            logs.configure(config.ops.log_format)
            create_app(config).run(
                host=config.serving.host, port=config.serving.port, debug=True, use_reloader=True
            )
        else:
            serve(load)  # `load` again at each SIGHUP
    except ConfigError as error:
        print(f"pixserve: invalid configuration: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
