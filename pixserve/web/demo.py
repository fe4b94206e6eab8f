"""The demo page of `make run`: the root's pictures, shown only through the helpers."""

from __future__ import annotations

import os
from pathlib import Path

from flask import Blueprint, abort, render_template

from pixserve.http.hints import snap
from pixserve.services import services
from pixserve.transformer import TransformError
from pixserve.web.helpers import source_size

demo = Blueprint("demo", __name__, template_folder="templates")

_IMAGE_SUFFIXES = {
    *(".jpg", ".jpeg", ".png", ".gif", ".webp", ".avif", ".tif", ".tiff", ".bmp"),
    *(".heic", ".heif", ".ico"),
}
INDEX_LIMIT = 60


@demo.get("/")
def index() -> str:
    """The gallery (only when `index` is on: it lists the root's files)."""
    config = services().config
    if not config.http.index:
        abort(404, description="the index page is off; set PIXSERVE_INDEX=1 to show it")
    names = _readable(sorted(_image_names(config.http.root))[:INDEX_LIMIT])
    hero = max(names, key=lambda name: source_size(name)[0] * source_size(name)[1], default=None)
    return render_template("index.html", names=names, hero=hero, box=_box)


def _box(width: int, height: int) -> dict[str, int]:
    """The page's fixed boxes (`w`, `h`), each moved to an allowed width when the
    server is limited to `allowed_widths`, keeping its aspect ratio."""
    allowed = sorted(services().config.http.allowed_widths)
    if not allowed:
        return {"w": width, "h": height}
    snapped = snap(width, allowed)
    return {"w": snapped, "h": max(1, round(height * snapped / width))}


def _readable(names: list[str]) -> list[str]:
    """The names whose header reads: the page shows pictures, not errors."""
    kept = []
    for name in names:
        try:
            source_size(name)
        except (TransformError, OSError):
            continue
        kept.append(name)
    return kept


def _image_names(root: Path) -> list[str]:
    names = []
    for directory, subdirs, files in os.walk(root):
        subdirs[:] = [d for d in subdirs if not d.startswith(".")]
        for file in files:
            if not file.startswith(".") and Path(file).suffix.lower() in _IMAGE_SUFFIXES:
                names.append(os.path.relpath(os.path.join(directory, file), root))
    return [name.replace(os.sep, "/") for name in names]
