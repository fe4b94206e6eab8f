"""The settings: their parsers, their layers (file, environment, flags) and `pixserve config`."""

from pixserve.config.settings import Config, ConfigError

__all__ = ["Config", "ConfigError"]
