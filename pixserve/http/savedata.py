"""`Save-Data: on` (a browser's data saver): a `q=auto` target steps down one.

Only `q=auto` answers depend on it, and only those say `Vary: Save-Data`; the step
is made on the options, so the cache key and the ETag follow by themselves.
"""

from __future__ import annotations

from pixserve.transformer import Options

SAVE_DATA = "Save-Data"


def with_save_data(options: Options, save_data: str | None) -> Options:
    """`options` with its `q=auto` target one step down when `Save-Data` says `on`."""
    if (save_data or "").strip().lower() != "on":
        return options
    return options.saving_data()


def varies_with_save_data(options: Options) -> bool:
    """Whether the answer to `options` may differ with `Save-Data`."""
    return options.target is not None
