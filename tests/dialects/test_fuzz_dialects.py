"""Any URL path at all gives a translation or a 400, never another exception (a 500)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pixserve.dialects import imgproxy, thumbor
from pixserve.dialects.imgproxy import ImgproxySettings
from pixserve.dialects.thumbor import ThumborSettings
from pixserve.transformer import InvalidOption

THUMBOR = ThumborSettings(allow_unsafe=True)
IMGPROXY = ImgproxySettings(allow_insecure=True, presets={"p": "rs:fill:10:10"})
SEGMENTS = st.sampled_from(
    [
        "meta",
        "trim",
        "trim:bottom-right:9",
        "10x20:30x40",
        "fit-in",
        "adaptive-full-fit-in",
        "stretch",
        "-0x-orig",
        "300x200",
        "x",
        "left",
        "middle",
        "smart",
        "debug",
        "5x6",
        "filters:fill(blur):quality(x)",
        "filters:focal(",
        "filters:)(:",
        "filters:a(b(c)d)",
        "rs:auto:0:0:1:1:ce:0:0",
        "c:0.5:2:fp:1:1",
        "g:fp:2:2",
        "ex:1:no",
        "pr:p:p:q",
        "t:1:ff:1",
        "bg:1:2",
        "exp:99999999999999",
        "q:-1",
        "plain",
        "local:",
        "%2F",
        "%zz",
        "a.jpg@png",
        "aGVsbG8",
        "=",
        "..",
        "",
        ":",
        "::",
        "rot:-450",
        "f:best",
        "w:1e3",
    ]
)
PATHS = st.lists(st.one_of(SEGMENTS, st.text(max_size=12)), max_size=8).map("/".join)


def size_of(name: str) -> tuple[int, int] | None:
    return None if name.endswith("missing") else (640, 480)


@pytest.mark.slow  # 300 Hypothesis examples: about 5 s
@settings(max_examples=300, deadline=None)
@given(PATHS)
def test_thumbor_never_fails_otherwise(path: str) -> None:
    try:
        thumbor.translate("/unsafe/" + path, THUMBOR, size_of)
    except InvalidOption as error:
        assert error.param  # a 400 names what was wrong


@pytest.mark.slow  # 300 Hypothesis examples: about 5 s
@settings(max_examples=300, deadline=None)
@given(PATHS)
def test_imgproxy_never_fails_otherwise(path: str) -> None:
    try:
        imgproxy.translate("/insecure/" + path, IMGPROXY, size_of)
    except InvalidOption as error:
        assert error.param
