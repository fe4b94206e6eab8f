"""Real images made elsewhere (../shared/corpus): orientation, colour, alpha, hostile files."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms

from pixserve.transformer import FORMATS, Options, TransformError, transform
from pixserve.transformer.pipeline import SOURCE_OUTPUT_FORMATS
from tests.helpers import decoded


def run(path: Path, options: Options, fmt: str = "png") -> Image.Image:
    result = transform(path.read_bytes(), options, FORMATS[fmt])
    return decoded(result.data)


def load(path: Path) -> Image.Image:
    """Decode a file fully and close it (an open file would be a ResourceWarning)."""
    with Image.open(path) as image:
        image.load()
        return image


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB"), dtype=np.float64)


@pytest.mark.parametrize("kind", ["Landscape", "Portrait"])
@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_comes_out_upright(corpus: Path, kind: str, orientation: int) -> None:
    expected = (600, 450) if kind == "Landscape" else (450, 600)
    image = run(corpus / f"orientation/{kind}_{orientation}.jpg", Options(width=expected[0]))
    assert image.size == expected
    reference = run(corpus / f"orientation/{kind}_1.jpg", Options(width=expected[0]))
    # the same picture: a flipped or rotated one differs by far more than JPEG noise
    assert np.abs(pixels(image) - pixels(reference)).mean() < 12


@pytest.mark.parametrize("kind", ["Landscape", "Portrait"])
def test_orientation_with_shrink_on_load(corpus: Path, kind: str) -> None:
    """The JPEG draft size must be asked for in the stored (sideways) orientation."""
    width = 150 if kind == "Landscape" else 112
    upright = run(corpus / f"orientation/{kind}_1.jpg", Options(width=width))
    sideways = run(corpus / f"orientation/{kind}_6.jpg", Options(width=width))
    assert sideways.size == upright.size
    assert np.abs(pixels(sideways) - pixels(upright)).mean() < 12


def _reference_srgb(path: Path) -> np.ndarray:
    """A slow, obvious colour-managed conversion: full decode, profile to sRGB."""
    image = load(path)
    profile = ImageCms.ImageCmsProfile(io.BytesIO(image.info["icc_profile"]))
    srgb = ImageCms.createProfile("sRGB")
    converted = ImageCms.profileToProfile(image, profile, srgb, outputMode="RGB")
    assert converted is not None
    return pixels(converted)


@pytest.mark.parametrize("name", ["color/cmyk-with-profile.jpg", "color/display-p3.png"])
def test_profiles_are_converted_to_srgb(corpus: Path, name: str) -> None:
    full_width = load(corpus / name).width  # a re-encode, not the original bytes
    ours = pixels(run(corpus / name, Options(width=full_width), "png"))
    reference = _reference_srgb(corpus / name)
    assert ours.shape == reference.shape
    assert np.abs(ours.mean(axis=(0, 1)) - reference.mean(axis=(0, 1))).max() < 3


def test_cmyk_is_not_inverted(corpus: Path) -> None:
    for name in ("cmyk-with-profile.jpg", "cmyk-no-profile.jpg"):
        ours = pixels(run(corpus / "color" / name, Options(width=250), "jpeg"))
        reference = _reference_srgb(corpus / "color/cmyk-with-profile.jpg")
        reference_small = np.asarray(
            Image.fromarray(reference.astype(np.uint8)).resize(
                (250, 166), Image.Resampling.LANCZOS
            ),
            dtype=np.float64,
        )
        inverted = 255 - reference_small
        assert np.abs(ours - reference_small).mean() < 25
        assert np.abs(ours - inverted).mean() > 60


def test_no_output_keeps_an_icc_profile(corpus: Path) -> None:
    for fmt in ("jpeg", "png", "webp"):
        image = run(corpus / "color/cmyk-with-profile.jpg", Options(width=100), fmt)
        assert "icc_profile" not in image.info


@pytest.mark.parametrize(
    "name",
    [
        "alpha/16-bit-grey-alpha.png",
        "alpha/bgbn4a08.png",
        "alpha/embedgravitybird.png",
        "alpha/full-transparent.png",
        "alpha/grey-8bit-alpha.png",
        "alpha/palette-alpha.png",
        "alpha/test-pattern.png",
        "alpha/with-alpha.png",
    ],
)
@pytest.mark.parametrize("fmt", ["png", "webp", "avif"])
def test_transparency_survives(corpus: Path, name: str, fmt: str) -> None:
    source = load(corpus / name).convert("RGBA")
    source_alpha = np.asarray(source.getchannel("A"), dtype=np.float64)
    out = run(corpus / name, Options(width=source.width), fmt).convert("RGBA")
    alpha = np.asarray(out.getchannel("A"), dtype=np.float64)
    assert out.size == source.size
    assert np.abs(alpha - source_alpha).mean() < 3


def test_transparency_is_flattened_onto_white(corpus: Path) -> None:
    out = run(corpus / "alpha/full-transparent.png", Options(width=100), "jpeg")
    assert out.mode == "RGB"
    assert pixels(out).min() > 245


@pytest.mark.parametrize(
    "name",
    [
        "alpha/rgb-16bit.png",
        "alpha/tbgn2c16.png",
        "formats/fax-1bit.tif",
        "formats/relax.jp2",
        "photos/concert-gray.jpg",
        "photos/cosmos-2048x858.avif",
        "photos/4-1024x772.webp",
        "animated/animated-loop-3.gif",
        "animated/big-height.webp",
        "color/cmyk-fogra.tif",
        "color/prophoto.png",
        "photos/gain-map-3840x2160.jpg",
    ],
)
@pytest.mark.parametrize("fmt", ["jpeg", "webp"])
def test_every_readable_format_and_mode_converts(corpus: Path, name: str, fmt: str) -> None:
    source = load(corpus / name)
    out = run(corpus / name, Options(width=min(200, source.width)), fmt)
    assert out.width == min(200, source.width)
    assert abs(out.height - source.height * out.width / source.width) <= 1


def test_16_bit_rgb_keeps_its_picture(corpus: Path) -> None:
    out = pixels(run(corpus / "alpha/rgb-16bit.png", Options(width=900)))
    reference = pixels(load(corpus / "alpha/rgb-16bit.png"))
    assert np.abs(out - reference).mean() < 2


@pytest.mark.parametrize(
    ("name", "status", "word"),
    [
        ("hostile/bomb-280mp.jpg", 422, "pixels"),
        ("hostile/bomb-65536x65536.png", 422, "pixels"),
        ("hostile/corrupt-header.jpg", 422, "cannot"),
        ("hostile/truncated.jpg", 422, "cannot"),
        ("hostile/truncated.png", 422, "cannot"),
        ("formats/check.svg", 415, "not an image"),
    ],
)
@pytest.mark.parametrize("options", [Options(), Options(width=300)])
def test_hostile_files_give_their_4xx(
    corpus: Path, name: str, status: int, word: str, options: Options
) -> None:
    data = (corpus / name).read_bytes()
    fmt = SOURCE_OUTPUT_FORMATS.get("JPEG" if name.endswith(".jpg") else "PNG")
    with pytest.raises(TransformError) as caught:
        transform(data, options, fmt)
    assert caught.value.status == status
    assert word in caught.value.detail
    assert "decompression bomb" not in caught.value.detail  # our words, not Pillow's


@pytest.mark.parametrize("name", ["photos/street-2725x2225.jpg", "photos/gain-map-3840x2160.jpg"])
@pytest.mark.parametrize("width", [300, 640])
def test_shrink_on_load_matches_the_slow_reference(corpus: Path, name: str, width: int) -> None:
    """The fast path (reduced-scale JPEG decode, then LANCZOS with a reducing gap) gives
    the same size and a picture like a full decode + plain LANCZOS: SSIM >= 0.96."""
    from benchmarks.ssim import ssim_images

    source = load(corpus / name)
    height = round(source.height * width / source.width)
    reference = source.convert("RGB").resize((width, height), Image.Resampling.LANCZOS)
    fast = run(corpus / name, Options(width=width))
    assert fast.size == reference.size
    assert ssim_images(reference, fast.convert("RGB")) >= 0.96
