"""Where a request's time goes, by part, for the report's profile section.

Why: a target that is missed must come with the profile that shows where the time
goes. This runs pixserve's app in-process (Flask's test client, no HTTP server) under
cProfile for a cold request and a cache hit, and attributes the cumulative time of
the functions that make up each path. cProfile inflates Python-heavy parts, so the
shares matter more than the absolute figures (which the other tables give).
"""

from __future__ import annotations

import cProfile
import pstats
import tempfile
from pathlib import Path

from benchmarks.cases import CORPUS, STREET
from pixserve import Config, create_app

REQUESTS = 300
# (part, file suffix, function name) whose cumulative time is that part's.
COLD_PARTS = (
    ("JPEG decode (libjpeg-turbo)", "", "<method 'decode' of 'ImagingDecoder' objects>"),
    ("resize (Pillow)", "", "<method 'resize' of 'ImagingCore' objects>"),
    ("WebP encode (libwebp)", "", "<built-in method PIL._webp.WebPEncode>"),
    ("read the source file", "pixserve/sources/local.py", "read"),
    ("cache write", "cache/disk.py", "store"),
    ("the response (respond)", "pixserve/http/responses.py", "respond"),
    ("find and sniff the source", "pixserve/sources/local.py", "find_source"),
)
# A repeated hit is answered by the standalone app's shortcut, in front of Flask.
HIT_PARTS = (
    (
        "the hit shortcut's replay (besides the three parts below)",
        "pixserve/http/shortcut.py",
        "_replay",
    ),
    ("find the source (remembered: one lstat)", "pixserve/sources/local.py", "find_source"),
    ("cache lookup (a checked entry: one stat)", "cache/disk.py", "lookup"),
    ("count and log (metrics, the log line)", "pixserve/ops/observe.py", "account"),
    ("Flask and the app (requests not replayed)", "flask/app.py", "wsgi_app"),
)


def _cumulative(stats: pstats.Stats, suffix: str, name: str) -> float:
    total = 0.0
    for (filename, _, function), row in stats.stats.items():  # type: ignore[attr-defined]
        if function == name and filename.endswith(suffix):
            total += row[3]
    return total


def _profile(client_get: object, paths: list[str]) -> pstats.Stats:
    assert callable(client_get)
    profiler = cProfile.Profile()
    profiler.enable()
    for path in paths:
        response = client_get(path)
        response.get_data()
        response.close()
    profiler.disable()
    return pstats.Stats(profiler)


def profile() -> dict[str, dict[str, float]]:
    """Per path, the share (0..1) of the app's time each part takes, plus `total_ms`."""
    with tempfile.TemporaryDirectory(prefix="pixserve-bench-profile-") as cache:
        # No kept decodes: every cold request here is the same source and size.
        app = create_app(Config(root=CORPUS, cache_dir=Path(cache), decoded_cache=0))
        client = app.test_client()
        base = f"/image/{STREET}?w=300&fmt=webp"
        client.get(base).close()  # warm up, and fill the cache for the hit path
        client.get(base).close()  # a hit answered by the app, kept for the shortcut
        results = {}
        for path_name, paths, parts in (
            ("cold", [f"{base}&v=profile-{n}" for n in range(REQUESTS // 3)], COLD_PARTS),
            ("hit", [base] * REQUESTS, HIT_PARTS),
        ):
            stats = _profile(client.get, paths)
            whole = _cumulative(stats, "flask/app.py", "__call__")  # the shortcut's too
            shares = {
                part: _cumulative(stats, suffix, name) / whole for part, suffix, name in parts
            }
            if path_name == "hit":  # the replay runs the other parts: count them once
                replay = HIT_PARTS[0][0]
                shares[replay] -= sum(shares[part[0]] for part in HIT_PARTS[1:4])
            shares["total_ms"] = whole / len(paths) * 1000
            results[path_name] = shares
    return results
