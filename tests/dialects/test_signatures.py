"""The dialects' signatures: the published test vectors, several keys, truncation, and
tampering with any part of a signed URL."""

from __future__ import annotations

import pytest

from pixserve.dialects import imgproxy, thumbor
from pixserve.dialects.common import SourceMap, Verdict
from pixserve.dialects.imgproxy import ImgproxySettings
from pixserve.dialects.thumbor import ThumborSettings

# imgproxy's documented example (docs: signing the URL)
IMGPROXY_KEY = bytes.fromhex("736563726574")  # "secret"
IMGPROXY_SALT = bytes.fromhex("68656C6C6F")  # "hello"
IMGPROXY_PATH = (
    "/rs:fill:300:400:0/g:sm/aHR0cDovL2V4YW1w/bGUuY29tL2ltYWdl/cy9jdXJpb3NpdHku/anBn.png"
)
IMGPROXY_SIGNATURE = "oKfUtW34Dvo2BGQehJFR4Nr0_rIjOtdtzJ3QFsUcXH8"
# thumbor's and imagor's (imagorpath/signer_test.go, params_test.go)
THUMBOR_KEY = "mysecret"
THUMBOR_PATH = "500x500/top/raw.githubusercontent.com/cshum/imagor/master/testdata/gopher.png"
THUMBOR_SIGNATURE = "cST4Ko5_FqwT3BDn-Wf4gO3RFSk="
IMAGOR_PATH = "meta/10x11:12x13/fit-in/-300x-200/5x6/left/top/smart/filters:some_filter()/img"
IMAGOR_SIGNATURE = "VTAq7YIRbEXgtwAcsTMhAjvBuT8="

THUMBOR = ThumborSettings(keys=(THUMBOR_KEY,), sources=SourceMap.parse("s", ["="]))
IMGPROXY = ImgproxySettings(
    keys=(IMGPROXY_KEY,),
    salts=(IMGPROXY_SALT,),
    sources=SourceMap.parse("s", ["http://example.com/images/="]),
)


def size(name: str) -> tuple[int, int]:
    return (1000, 800)


def test_imgproxy_vector() -> None:
    assert imgproxy.sign(IMGPROXY_KEY, IMGPROXY_SALT, IMGPROXY_PATH) == IMGPROXY_SIGNATURE
    translated = imgproxy.translate(f"/{IMGPROXY_SIGNATURE}{IMGPROXY_PATH}", IMGPROXY, size)
    assert translated.verdict is Verdict.VALID
    assert translated.name == "curiosity.jpg"


def test_thumbor_vectors() -> None:
    assert thumbor.sign(THUMBOR_KEY, THUMBOR_PATH) == THUMBOR_SIGNATURE
    assert thumbor.sign("1234", IMAGOR_PATH) == IMAGOR_SIGNATURE
    translated = thumbor.translate(f"/{THUMBOR_SIGNATURE}/{THUMBOR_PATH}", THUMBOR, size)
    assert translated.verdict is Verdict.VALID
    assert translated.name == "raw.githubusercontent.com/cshum/imagor/master/testdata/gopher.png"
    # thumbor's window for `top` in 1000x800: 800 wide, centred across, at the top
    assert dict(translated.pairs)["crop"] == "100,0,800,800"


def _flip_one(text: str, index: int) -> str:
    replacement = "B" if text[index] != "B" else "C"
    return text[:index] + replacement + text[index + 1 :]


@pytest.mark.parametrize(
    "url",
    [
        f"/{_flip_one(THUMBOR_SIGNATURE, 3)}/{THUMBOR_PATH}",  # signature changed
        f"/{THUMBOR_SIGNATURE}/{THUMBOR_PATH.replace('500x500', '500x501')}",  # size
        f"/{THUMBOR_SIGNATURE}/{THUMBOR_PATH.replace('top', 'bottom')}",  # alignment
        f"/{THUMBOR_SIGNATURE}/{THUMBOR_PATH.replace('gopher', 'gopher2')}",  # image
        f"/{THUMBOR_SIGNATURE}/filters:quality(10)/{THUMBOR_PATH}",  # an added filter
        f"/{THUMBOR_SIGNATURE.rstrip('=')}/{THUMBOR_PATH}",  # padding is part of it
        f"/unsafe/{THUMBOR_PATH}",  # unsafe, not allowed here
        f"/{THUMBOR_PATH}",  # nothing at all
    ],
)
def test_thumbor_tampering_is_denied(url: str) -> None:
    translated = thumbor.translate(url, THUMBOR, size)
    assert translated.verdict is Verdict.BAD
    assert translated.name is None and translated.pairs == ()


@pytest.mark.parametrize(
    "url",
    [
        f"/{_flip_one(IMGPROXY_SIGNATURE, 5)}{IMGPROXY_PATH}",
        f"/{IMGPROXY_SIGNATURE}{IMGPROXY_PATH.replace('300', '301')}",
        f"/{IMGPROXY_SIGNATURE}{IMGPROXY_PATH.replace('g:sm', 'g:no')}",
        f"/{IMGPROXY_SIGNATURE}{IMGPROXY_PATH.replace('.png', '.webp')}",
        f"/{IMGPROXY_SIGNATURE}/q:10{IMGPROXY_PATH}",
        f"/{IMGPROXY_SIGNATURE[:-1]}{IMGPROXY_PATH}",
        f"/insecure{IMGPROXY_PATH}",  # not allowed here
        f"/not-base64!{IMGPROXY_PATH}",
    ],
)
def test_imgproxy_tampering_is_denied(url: str) -> None:
    assert imgproxy.translate(url, IMGPROXY, size).verdict is Verdict.BAD


def test_imgproxy_takes_only_the_canonical_spelling() -> None:
    """imgproxy's signature.go takes strict URL-safe base64 without padding: a signed
    URL has one spelling (issue 25: padding, skipped characters and `+` passed)."""
    valid = f"/{IMGPROXY_SIGNATURE}{IMGPROXY_PATH}"
    assert imgproxy.translate(valid, IMGPROXY, size).verdict is Verdict.VALID
    short = ImgproxySettings(
        keys=(IMGPROXY_KEY,), salts=(IMGPROXY_SALT,), signature_size=8, sources=IMGPROXY.sources
    )
    eight = imgproxy.sign(IMGPROXY_KEY, IMGPROXY_SALT, IMGPROXY_PATH, size=8)
    spellings = [
        (IMGPROXY, IMGPROXY_SIGNATURE + "="),  # padding appended
        (short, eight + "="),
        (IMGPROXY, IMGPROXY_SIGNATURE[:4] + "!!" + IMGPROXY_SIGNATURE[4:]),  # skipped by a decoder
    ]
    # a path whose signature has a `-`, which the standard alphabet spells `+`
    dashed = next(
        path
        for width in range(100, 400)
        if "-" in imgproxy.sign(IMGPROXY_KEY, IMGPROXY_SALT, path := f"/rs:fit:{width}/plain/a.jpg")
    )
    signed = imgproxy.sign(IMGPROXY_KEY, IMGPROXY_SALT, dashed)
    assert imgproxy.verify(IMGPROXY, dashed, signed)
    assert not imgproxy.verify(IMGPROXY, dashed, signed.replace("-", "+"))
    for settings, signature in spellings:
        assert signature != IMGPROXY_SIGNATURE
        url = f"/{signature}{IMGPROXY_PATH}"
        assert imgproxy.translate(url, settings, size).verdict is Verdict.BAD, signature


def _mutations(signature: str) -> dict[str, str]:
    """Every other way to spell a signature: none may pass."""
    letter = next(i for i, char in enumerate(signature) if char.isalpha())
    after = signature[letter + 1 :]
    bare = signature.rstrip("=")
    return {
        "case": signature[:letter] + signature[letter].swapcase() + after,
        "padding added": signature + "=",
        "padding dropped": bare if bare != signature else signature + "==",
        "standard alphabet": signature.replace("-", "+").replace("_", "/"),
        "leading space": " " + signature,
        "trailing space": signature + " ",
        "encoded space": signature + "%20",
        "encoded tab inside": signature[:3] + "%09" + signature[3:],
        "encoded newline": signature + "%0A",
        "truncated": bare[:-1] + signature[len(bare) :],
        "a character more": bare + "A" + signature[len(bare) :],
        "a character twice": signature[:5] + signature[4:],
        "encoded letter": f"{signature[:letter]}%{ord(signature[letter]):02X}{after}",
        "encoded letter, lower hex": f"{signature[:letter]}%{ord(signature[letter]):02x}{after}",
    }


@pytest.mark.parametrize("mutation", sorted(_mutations(THUMBOR_SIGNATURE)))
def test_thumbor_takes_no_other_spelling(mutation: str) -> None:
    spelled = _mutations(THUMBOR_SIGNATURE)[mutation]
    translated = thumbor.translate(f"/{spelled}/{THUMBOR_PATH}", THUMBOR, size)
    assert translated.verdict is Verdict.BAD, spelled


@pytest.mark.parametrize("mutation", sorted(_mutations(IMGPROXY_SIGNATURE)))
def test_imgproxy_takes_no_other_spelling(mutation: str) -> None:
    spelled = _mutations(IMGPROXY_SIGNATURE)[mutation]
    translated = imgproxy.translate(f"/{spelled}{IMGPROXY_PATH}", IMGPROXY, size)
    assert translated.verdict is Verdict.BAD, spelled


def test_thumbor_signature_may_be_percent_encoded() -> None:
    url = f"/{THUMBOR_SIGNATURE.replace('=', '%3D')}/{THUMBOR_PATH}"
    assert thumbor.translate(url, THUMBOR, size).verdict is Verdict.VALID


def test_thumbor_tries_every_key() -> None:
    rotated = ThumborSettings(keys=("new-key", THUMBOR_KEY))
    translated = thumbor.translate(f"/{THUMBOR_SIGNATURE}/{THUMBOR_PATH}", rotated, size)
    assert translated.verdict is Verdict.VALID


def test_imgproxy_tries_every_key_and_salt_pair() -> None:
    pairs = ImgproxySettings(
        keys=(b"other", IMGPROXY_KEY),
        salts=(b"salt", IMGPROXY_SALT),
        sources=IMGPROXY.sources,
    )
    url = f"/{IMGPROXY_SIGNATURE}{IMGPROXY_PATH}"
    assert imgproxy.translate(url, pairs, size).verdict is Verdict.VALID
    crossed = ImgproxySettings(keys=(IMGPROXY_KEY, b"other"), salts=(b"salt", IMGPROXY_SALT))
    assert imgproxy.translate(url, crossed, size).verdict is Verdict.BAD


def test_imgproxy_truncated_signatures() -> None:
    truncated = ImgproxySettings(
        keys=(IMGPROXY_KEY,), salts=(IMGPROXY_SALT,), signature_size=8, sources=IMGPROXY.sources
    )
    short = imgproxy.sign(IMGPROXY_KEY, IMGPROXY_SALT, IMGPROXY_PATH, size=8)
    assert len(short) == 11  # 8 bytes, base64 without padding
    assert imgproxy.translate(f"/{short}{IMGPROXY_PATH}", truncated, size).verdict is Verdict.VALID
    # the full signature is not the truncated one, and a shorter one is not either
    full = f"/{IMGPROXY_SIGNATURE}{IMGPROXY_PATH}"
    assert imgproxy.translate(full, truncated, size).verdict is Verdict.BAD
    assert imgproxy.translate(f"/{short[:-2]}{IMGPROXY_PATH}", truncated, size).verdict is (
        Verdict.BAD
    )


def test_unsigned_urls_only_when_allowed() -> None:
    open_thumbor = ThumborSettings(keys=(THUMBOR_KEY,), allow_unsafe=True)
    assert thumbor.translate(f"/unsafe/{THUMBOR_PATH}", open_thumbor, size).verdict is (
        Verdict.UNSIGNED
    )
    open_imgproxy = ImgproxySettings(allow_insecure=True, sources=IMGPROXY.sources)
    assert imgproxy.translate(f"/insecure{IMGPROXY_PATH}", open_imgproxy, size).verdict is (
        Verdict.UNSIGNED
    )
    # with no keys, a signature cannot be valid
    assert imgproxy.translate(
        f"/{IMGPROXY_SIGNATURE}{IMGPROXY_PATH}", open_imgproxy, size
    ).verdict is (Verdict.BAD)


def test_a_bad_signature_is_judged_before_the_options() -> None:
    """A forged URL with a refused option is a 403, not a 400 that reveals the parser."""
    url = f"/{THUMBOR_SIGNATURE}/filters:watermark(x)/{THUMBOR_PATH}"
    assert thumbor.translate(url, THUMBOR, size).verdict is Verdict.BAD
    url = f"/{IMGPROXY_SIGNATURE}/wm:1{IMGPROXY_PATH}"
    assert imgproxy.translate(url, IMGPROXY, size).verdict is Verdict.BAD
