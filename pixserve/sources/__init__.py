"""Where originals come from: the local root and named mounts (S3, HTTP origins).

Each found original is a `Source`: its identity (`version`, what keys and ETags hash)
and its bytes. `Sources` routes an image name to the local root or to a mount.
"""

from pixserve.sources.base import Source
from pixserve.sources.local import LocalSource, find_source

__all__ = ["LocalSource", "Source", "find_source"]
