"""Coverage-guided fuzzing of the decoder path with atheris: `make fuzz`.

Feeds mutated bytes, seeded from the corpus, to `transformer.transform` with a few
option sets. Any exception other than a `TransformError` (which becomes a 4xx) is a
finding: atheris stops, prints the traceback, and writes the input as `crash-*`.
Turn each finding into a named regression test in `tests/test_fuzz_images.py`.

    make fuzz                  # 10 minutes
    make fuzz FUZZ_SECONDS=60  # shorter
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports():
    from pixserve.transformer import FORMATS, Options, TransformError, transform
    from pixserve.transformer.options import Fit

OPTION_SETS = (
    (Options(width=64), FORMATS["webp"]),
    (Options(width=40, height=40, fit=Fit.COVER), FORMATS["jpeg"]),
    (Options(), FORMATS["png"]),
    (Options(width=32), None),
)


def test_one_input(data: bytes) -> None:
    if not data:
        return
    options, output = OPTION_SETS[data[0] % len(OPTION_SETS)]
    try:
        transform(data[1:], options, output)
    except TransformError:
        pass  # a clean refusal: what hostile bytes should get


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
