"""Pure imaging: query options in, encoded bytes and a media type out. No web code."""

from .colour import ColourSettings
from .encode import EncoderSettings
from .errors import ImageTooLarge, InvalidOption, TransformError, UndecodableImage, UnsupportedImage
from .formats import BY_EXTENSION, FORMATS, Format
from .options import AUTO, Fit, Limits, Options, parse_options
from .pipeline import SOURCE_OUTPUT_FORMATS, ImageLimits, Result, transform, upright_size
from .sniff import SNIFF_BYTES, sniff_format

# Part of every cache key and ETag: bump it whenever the same request could produce
# different bytes (new resampling, encoder settings, colour handling...).
VERSION = "8"  # 8: q=auto beyond the ladder's top; fmt=best keeps a format meeting the floor (26)

__all__ = [
    "AUTO",
    "BY_EXTENSION",
    "ColourSettings",
    "EncoderSettings",
    "FORMATS",
    "SNIFF_BYTES",
    "SOURCE_OUTPUT_FORMATS",
    "VERSION",
    "Fit",
    "Format",
    "ImageLimits",
    "ImageTooLarge",
    "InvalidOption",
    "Limits",
    "Options",
    "Result",
    "TransformError",
    "UndecodableImage",
    "UnsupportedImage",
    "parse_options",
    "sniff_format",
    "transform",
    "upright_size",
]
