"""One-off experiments whose conclusion is written in the docs; not part of `make bench`
and not listed by `python -m benchmarks --list` (each says how to run it)."""
