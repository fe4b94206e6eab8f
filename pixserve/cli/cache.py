"""`pixserve cache stats|purge|prune|warm`: look after the result cache from a shell.

They work while servers run on the same cache folder: the cache is built for several
processes at once. `warm` makes results through the app itself (a test client), so
its cache keys are exactly the ones the server computes for the same URLs, and its
URLs are the template helpers' own (`srcset_candidates`): the same prefix, canonical
form, signature and widths a page built with `image_srcset` asks for.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from pixserve.app import create_app
from pixserve.cache import DiskCache
from pixserve.cache.disk import INDEX_NAME
from pixserve.config.layers import load_config
from pixserve.config.settings import Config, ConfigError
from pixserve.ladder import DEFAULT_WIDTHS as SRCSET_WIDTHS
from pixserve.sources.facts import UNREADABLE
from pixserve.sources.router import purge_originals
from pixserve.transformer import AUTO, TransformError, parse_options
from pixserve.web.helpers import image_url, srcset_candidates

# What browsers send, for `--fmt auto`: each can be given a different format.
_AUTO_ACCEPTS = {
    "avif": "image/avif,image/webp,*/*",
    "webp": "image/webp,*/*",
    "other": "*/*",
}


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `cache` and its subcommands to the `pixserve` parser."""
    cache = commands.add_parser("cache", help="inspect, empty, trim or fill the result cache")
    actions = cache.add_subparsers(dest="cache_command", required=True)
    folder = argparse.ArgumentParser(add_help=False)
    folder.add_argument("--cache-dir", type=Path, help="result cache folder [PIXSERVE_CACHE_DIR]")
    folder.add_argument("--config", type=Path, help="TOML file of settings [PIXSERVE_CONFIG]")

    actions.add_parser("stats", parents=[folder], help="entries, bytes, hit ratio, oldest entry")
    purge = actions.add_parser(
        "purge", parents=[folder], help="delete every entry, or those of one source image"
    )
    purge.add_argument("name", nargs="?", help="source image name, as in /image/<name>")
    actions.add_parser(
        "prune", parents=[folder], help="delete expired and least recently used entries now"
    )
    warm = actions.add_parser(
        "warm", parents=[folder], help="make the variants of a srcset ahead of requests"
    )
    warm.add_argument("names", nargs="+", metavar="NAME", help="source image names")
    warm.add_argument("--root", type=Path, help="folder of source images [PIXSERVE_ROOT]")
    warm.add_argument(
        "--widths",
        type=_numbers,
        default=None,
        help="comma-separated widths, as image_srcset's widths= "
        f"[its ladder: {','.join(map(str, SRCSET_WIDTHS))}, capped at the source's width]",
    )
    warm.add_argument(
        "--fmt",
        type=_words,
        default=(AUTO,),
        help="comma-separated formats; auto makes what AVIF, WebP and other browsers get [auto]",
    )
    warm.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="parallel transforms")


def run(args: argparse.Namespace) -> int:
    """Run the `cache` subcommand in `args`; the process exit status."""
    try:
        root = args.root if args.cache_command == "warm" else Path(".")  # only warm reads images
        config = load_config(os.environ, args.config, {"root": root, "cache_dir": args.cache_dir})
        if args.cache_command == "warm":
            return _warm(config, args.names, args.widths, args.fmt, args.jobs)
    except ConfigError as error:
        print(f"pixserve: invalid configuration: {error}", file=sys.stderr)
        return 2
    if not (config.cache.cache_dir / INDEX_NAME).exists():
        print(f"no cache at {config.cache.cache_dir} yet (another folder: --cache-dir)")
        return 0
    cache = DiskCache(
        config.cache.cache_dir, config.cache.cache_max_bytes, config.cache.cache_max_age
    )
    status = 0
    if args.cache_command == "stats":
        _print_stats(cache)
    elif args.cache_command == "purge":
        name = _source_name(config, args.name)
        freed = cache.purge(name)
        purge_originals(config.cache.cache_dir, config.sources.source_cache_max_bytes, name)
        of = f" of {name}" if name else ""
        print(f"purged {freed.entries:,} entries{of}, {_size(freed.bytes)}")
        if name and not freed.entries:
            print(f"no cached results of {name!r} in {config.cache.cache_dir}", file=sys.stderr)
            status = 1
    else:
        freed = cache.prune()
        left = cache.stats()
        print(
            f"pruned {freed.entries:,} entries, {_size(freed.bytes)};"
            f" {_size(left.bytes)} of {_size(cache.max_bytes)} left"
        )
    cache.close()
    return status


def _source_name(config: Config, given: str | None) -> str | None:
    """A source name as `/image/<name>` takes it: a pasted URL path or query is trimmed."""
    if not given:
        return given
    name = given.split("?", 1)[0]
    for prefix in (config.http.image_prefix, config.http.info_prefix):
        name = name.removeprefix(prefix.rstrip("/") + "/")
    return name.lstrip("/")


def _print_stats(cache: DiskCache) -> None:
    stats = cache.stats()
    share = stats.bytes / cache.max_bytes
    lookups = stats.hits + stats.misses
    since = _when(stats.since)
    if lookups:
        ratio = (
            f"{stats.hits / lookups:.1%} ({stats.hits:,} hits, {stats.misses:,} misses"
            f" since {since})"
        )
    else:
        ratio = f"unknown (no requests recorded since {since})"
    rows = [
        ("cache folder", str(cache.directory)),
        ("entries", f"{stats.entries:,}"),
        ("bytes", f"{_size(stats.bytes)} of {_size(cache.max_bytes)} ({share:.0%})"),
        ("hit ratio", ratio),
    ]
    if stats.oldest is not None and stats.least_recent is not None:
        rows.append(("oldest entry", f"{_when(stats.oldest[0])}, {stats.oldest[1]}"))
        rows.append(("least recent", f"{_when(stats.least_recent[0])}, {stats.least_recent[1]}"))
    for label, value in rows:
        print(f"{label:<14}{value}")


@dataclass(frozen=True)
class _Variant:
    url: str
    accept: str | None  # set for `fmt=auto`, which depends on it

    @property
    def label(self) -> str:
        browser = next((k for k, v in _AUTO_ACCEPTS.items() if v == self.accept), None)
        return self.url + (f" ({browser} browsers)" if browser else "")


def _warm(
    config: Config,
    names: Sequence[str],
    widths: Sequence[int] | None,
    formats: Sequence[str],
    jobs: int,
) -> int:
    for fmt in formats:  # before the app makes its cache folder
        try:
            parse_options([("fmt", fmt)], config.query_limits())
        except TransformError as error:
            raise ConfigError(f"warm: {error.detail}") from None
    app = create_app(config)
    with app.test_request_context():
        variants = list(_variants(config, names, widths, formats))  # raises on a bad option

    def make(variant: _Variant) -> tuple[_Variant, int, str]:
        headers = {"Accept": variant.accept} if variant.accept else {}
        response = app.test_client().get(variant.url, headers=headers, buffered=True)
        if response.status_code == 200:
            return variant, 200, response.headers.get("X-Cache", "")
        return variant, response.status_code, _problem_detail(response.get_json(silent=True))

    outcomes: Counter[str] = Counter()
    progress = _Progress(len(variants), sys.stderr)
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        for variant, status, detail in pool.map(make, variants):
            if status == 200:
                outcomes["made" if detail == "MISS" else "already cached"] += 1
            else:
                outcomes["failed"] += 1
                progress.clear()
                print(f"{variant.label}: {status} {detail}", file=sys.stderr)
            progress.step(variant.label)
    progress.clear()
    app.extensions["pixserve"].cache.close()  # write the hits it recorded
    summary = ", ".join(f"{outcomes[o]} {o}" for o in ("made", "already cached", "failed"))
    print(f"warmed {len(variants)} variants: {summary}")
    return 1 if outcomes["failed"] else 0


def _variants(
    config: Config, names: Sequence[str], widths: Sequence[int] | None, formats: Sequence[str]
) -> Iterator[_Variant]:
    """Every candidate `image_srcset(name, widths, fmt=...)` writes, per browser kind."""
    for name in names:
        name = name.removeprefix(config.http.image_prefix.rstrip("/") + "/").lstrip("/")
        for fmt in formats:
            plain = image_url(name, fmt=fmt)
            try:
                candidates = [url for url, _ in srcset_candidates(name, widths, fmt=fmt)]
            except UNREADABLE:
                candidates = [plain]  # the server says what is wrong with the source
            for url in candidates:
                if fmt != AUTO:
                    yield _Variant(url, None)
                    continue
                for browser, accept in _AUTO_ACCEPTS.items():
                    if browser != "avif" or config.imaging.avif:
                        yield _Variant(url, accept)


def _problem_detail(body: object) -> str:
    if isinstance(body, dict):
        return str(body.get("detail", ""))
    return ""


class _Progress:
    """A one-line progress bar on a terminal; nothing when the output is a file or pipe."""

    WIDTH = 24

    def __init__(self, total: int, stream: TextIO) -> None:
        self.total = total
        self.done = 0
        self.stream = stream
        self.enabled = stream.isatty()
        self.started = time.monotonic()

    def step(self, label: str) -> None:
        self.done += 1
        if not self.enabled:
            return
        filled = self.WIDTH * self.done // self.total
        elapsed = time.monotonic() - self.started
        left = elapsed / self.done * (self.total - self.done)
        line = (
            f"[{'#' * filled}{'.' * (self.WIDTH - filled)}] {self.done}/{self.total}"
            f" {left:4.0f}s left  {label}"
        )
        columns = os.get_terminal_size(self.stream.fileno()).columns
        self.stream.write("\r" + line[: columns - 1].ljust(columns - 1))
        self.stream.flush()

    def clear(self) -> None:
        if self.enabled:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


def _numbers(text: str) -> tuple[int, ...]:
    try:
        numbers = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers like 320,640, got {text!r}") from None
    if not numbers or min(numbers) < 1:
        raise argparse.ArgumentTypeError(f"widths must be 1 or more, got {text!r}")
    return numbers


def _words(text: str) -> tuple[str, ...]:
    return tuple(part.strip().lower() for part in text.split(",") if part.strip())


def _size(count: int) -> str:
    size, unit = float(count), "bytes"
    for bigger in ("KiB", "MiB", "GiB", "TiB"):
        if size < 1024:
            break
        size, unit = size / 1024, bigger
    return f"{count:,} bytes" if unit == "bytes" else f"{size:.1f} {unit}"


def _when(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
