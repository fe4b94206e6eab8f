"""The colour and pixel filters: their parameters (canonical spelling, bounds, 400s)
and their pixels, each checked against the arithmetic of thumbor's C filters."""

from __future__ import annotations

import io
import math
from pathlib import Path
from urllib.parse import parse_qsl

import numpy as np
import pytest
from flask.testing import FlaskClient
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from pixserve import sign_url
from pixserve.transformer import FORMATS, InvalidOption, Options, parse_options, transform
from pixserve.transformer.cost import Cost, estimate_cost
from pixserve.transformer.filters import Curve, Kernel, Radius
from pixserve.transformer.steps.adjust import spline_table
from pixserve.transformer.steps.wavelet import wavelet_sharpened
from tests.helpers import MakeApp, decoded, encode, gradient, problem


def parse(query: str) -> Options:
    return parse_options(parse_qsl(query, keep_blank_values=True))


def run(image: Image.Image, query: str, fmt: str = "png") -> Image.Image:
    """`query` through the whole pipeline, losslessly encoded, decoded again."""
    result = transform(encode(image, "PNG"), parse(query), FORMATS[fmt])
    return decoded(result.data)


def flat(colour: tuple[int, ...], size: tuple[int, int] = (40, 30)) -> Image.Image:
    return Image.new("RGBA" if len(colour) == 4 else "RGB", size, colour)


def pixel(image: Image.Image, xy: tuple[int, int] = (5, 5)) -> tuple[int, ...]:
    value = image.getpixel(xy)
    assert isinstance(value, tuple)
    return value


# Parameters


@pytest.mark.parametrize(
    ("query", "canonical"),
    [
        ("brightness=10.50", "brightness=10.5"),
        ("brightness=-0", ""),
        ("contrast=1.0", ""),
        ("contrast=1.44", "contrast=1.44"),
        ("saturation=1", ""),
        ("saturation=-2", "saturation=-2"),
        ("rgb=0,0,0", ""),
        ("rgb=10,-5.0,0", "rgb=10,-5,0"),
        ("equalize=true", "equalize=1"),
        ("equalize=0", ""),
        ("noise=1", ""),
        ("noise=30,7", "noise=30,7"),
        ("colorize=20,20,20,FF0000", "colorize=20,ff0000"),
        ("colorize=0,ff0000", ""),
        ("colorize=10,20,30,00ff00", "colorize=10,20,30,00ff00"),
        ("convolution=3:1,2,1,2,4,2,1,2,1.0", "convolution=3:1,2,1,2,4,2,1,2,1"),
        ("convolution=1:0,1,0:raw", "convolution=1:0,1,0:raw"),
        ("curve=0:0,255:255", "curve=0:0,255:255"),
        ("curve=;;;", ""),
        ("curve=0:0,255:255;0:10,255:245;;", "curve=0:0,255:255;0:10,255:245;;"),
        ("radius=20,20", "radius=20"),
        ("radius=20,0", ""),
        ("radius=20&corner=FF000080", "corner=ff000080&radius=20"),
        ("pixelate=1", ""),
        ("pixelate=8&w=100", "pixelate=8&w=100"),
        ("wavelet_sharpen=2.0,1,0", "wavelet_sharpen=2,1"),
        ("wavelet_sharpen=2,1,1", "wavelet_sharpen=2,1,1"),
        ("wavelet_sharpen=0,1", ""),
        # `order`: dropped when it is the usual order, kept when not
        ("brightness=10&contrast=1.44&order=brightness,contrast", "brightness=10&contrast=1.44"),
        (
            "brightness=10&contrast=1.44&order=contrast,brightness",
            "brightness=10&contrast=1.44&order=contrast,brightness",
        ),
    ],
)
def test_one_spelling_per_filter(query: str, canonical: str) -> None:
    options = parse(query)
    assert options.canonical() == canonical
    assert parse(canonical) == options


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("brightness=101", "brightness"),
        ("brightness=ten", "brightness"),
        ("contrast=-1", "contrast"),
        ("contrast=11", "contrast"),
        ("saturation=200", "saturation"),
        ("rgb=1,2", "rgb"),
        ("rgb=1,2,300", "rgb"),
        ("equalize=yes", "equalize"),
        ("noise=256", "noise"),
        ("noise=10,1,2", "noise"),
        ("noise=10,-1", "noise"),
        ("colorize=50", "colorize"),
        ("colorize=101,ff0000", "colorize"),
        ("colorize=50,red", "colorize"),
        ("colorize=50,ff000080", "colorize"),
        ("convolution=2:1,1,1,1", "convolution"),  # even columns: no centre
        ("convolution=3:1,1,1,1,1,1", "convolution"),  # two rows
        ("convolution=3:1,1", "convolution"),
        ("convolution=11:" + ",".join(["1"] * 121), "convolution"),
        ("convolution=3:1,1,1:sum", "convolution"),
        ("convolution=1:2000", "convolution"),
        ("curve=0:0", "curve"),
        ("curve=0:0,0:255", "curve"),  # x must rise
        ("curve=0:0,256:255", "curve"),
        ("curve=0-0,255-255", "curve"),
        ("curve=0:0,255:255;0:0,255:255", "curve"),
        ("radius=-1", "radius"),
        ("radius=1,2,3", "radius"),
        ("radius=9000", "radius"),
        ("corner=ff0000", "corner"),  # without a radius
        ("radius=5&corner=red", "corner"),
        ("pixelate=257", "pixelate"),
        ("pixelate=2.5", "pixelate"),
        ("brightness=10&order=brightness,brightness", "order"),
        ("wavelet_sharpen=2", "wavelet_sharpen"),
        ("wavelet_sharpen=2,11", "wavelet_sharpen"),
        ("wavelet_sharpen=2,1,yes", "wavelet_sharpen"),
        ("brightness=10&order=saturation", "order"),  # not a table filter
        ("brightness=10&order=contrast,brightness", "order"),  # contrast is not set
        ("brightness=10&contrast=2&order=contrast", "order"),  # brightness left out
    ],
)
def test_bad_values_are_refused_naming_the_parameter(query: str, param: str) -> None:
    with pytest.raises(InvalidOption) as raised:
        parse(query)
    assert raised.value.param == param
    assert param in raised.value.detail


def test_the_filters_are_in_the_cache_key() -> None:
    assert parse("w=100&brightness=10").canonical() != parse("w=100").canonical()
    assert parse("w=100&brightness=10").reencodes


# Colour: thumbor's integer arithmetic, level by level


def test_brightness_adds_a_percentage_of_full_scale() -> None:
    # thumbor: delta = (255 * 10) / 100 = 25 in C ints; -50 gives -127 (towards zero)
    assert pixel(run(flat((100, 150, 240)), "brightness=10")) == (125, 175, 255)
    assert pixel(run(flat((100, 150, 240)), "brightness=-50")) == (0, 23, 113)


def test_brightness_raises_mean_luma_by_the_shift_where_nothing_clips() -> None:
    image = gradient((64, 64)).point(lambda value: 60 + value * 100 // 255)
    before = np.asarray(image.convert("L"), dtype=np.float64).mean()
    after = np.asarray(run(image, "brightness=20").convert("L"), dtype=np.float64).mean()
    assert after - before == pytest.approx(51, abs=0.5)  # (255 * 20) / 100


def test_contrast_stretches_around_mid_grey() -> None:
    # thumbor's contrast(20): d = 120 * 120 / 100 = 144; (144 * (v - 128)) / 100 + 128
    assert pixel(run(flat((28, 138, 200)), "contrast=1.44")) == (0, 142, 231)
    assert pixel(run(flat((28, 138, 200)), "contrast=0")) == (128, 128, 128)


def test_order_applies_the_table_filters_as_thumbors_url_does() -> None:
    # brightness(10) then contrast(20): 100 -> 125 -> (144 * -3) / 100 + 128 = 124;
    # contrast(20) then brightness(10): 100 -> (144 * -28) / 100 + 128 = 88 -> 113
    usual = pixel(run(flat((100, 100, 100)), "brightness=10&contrast=1.44"))
    turned = pixel(
        run(flat((100, 100, 100)), "brightness=10&contrast=1.44&order=contrast,brightness")
    )
    assert usual == (124, 124, 124)
    assert turned == (113, 113, 113)


def test_rgb_shifts_each_channel() -> None:
    assert pixel(run(flat((100, 100, 100)), "rgb=10,-10,50")) == (125, 75, 227)


def test_saturation_moves_channels_from_perceived_brightness() -> None:
    red, green, blue = 200, 100, 50
    brightness = (red * red * 0.299 + green * green * 0.587 + blue * blue * 0.114) ** 0.5
    expected = tuple(
        min(255, max(0, int(brightness + (c - brightness) * 1.5))) for c in (200, 100, 50)
    )
    assert pixel(run(flat((red, green, blue)), "saturation=1.5")) == expected
    grey = pixel(run(flat((red, green, blue)), "saturation=0"))
    assert grey[0] == grey[1] == grey[2] == int(brightness)


def test_colorize_blends_towards_the_colour() -> None:
    # (100 * 50 + 255 * 50) / 100 = 177.5 -> 177
    assert pixel(run(flat((100, 100, 100)), "colorize=50,ff0000")) == (177, 50, 50)
    assert pixel(run(flat((100, 100, 100)), "colorize=100,0,0,ff0000")) == (255, 100, 100)


def test_curve_tables_pass_through_their_points() -> None:
    assert spline_table(((0, 0), (255, 255))) == list(range(256))
    assert spline_table(((0, 255), (255, 0))) == [255 - level for level in range(256)]
    table = spline_table(((0, 0), (64, 30), (192, 230), (255, 255)))
    assert (table[0], table[64], table[192], table[255]) == (0, 30, 230, 255)
    assert table == sorted(table)  # this curve rises: no overshoot here
    # flat before the first point and after the last, as thumbor's
    assert spline_table(((20, 40), (200, 220)))[:21] == [40] * 21
    assert spline_table(((20, 40), (200, 220)))[200:] == [220] * 56


def test_curve_applies_the_channel_curve_then_the_common_one() -> None:
    image = flat((100, 100, 100))
    # red inverted, then all channels inverted: red back to 100, the others 155
    result = run(image, "curve=0:255,255:0;0:255,255:0;;")
    assert pixel(result) == (100, 155, 155)
    assert Curve(((0, 255), (255, 0))).per_channel is False


def test_equalize_spreads_the_levels_over_the_whole_range() -> None:
    narrow = gradient((64, 64)).point(lambda value: 100 + value * 50 // 255)
    result = np.asarray(run(narrow, "equalize=1"))[..., :2]
    assert result.min() == 0 and result.max() == 255
    assert np.asarray(narrow)[..., :2].max() - np.asarray(narrow)[..., :2].min() <= 50


def test_colour_filters_keep_transparency_and_grey_stays_grey() -> None:
    image = gradient((40, 40), "RGBA")
    result = run(image, "brightness=10&contrast=1.2&saturation=2&equalize=1")
    assert result.mode == "RGBA"
    assert result.getchannel("A").tobytes() == image.getchannel("A").tobytes()
    grey = run(Image.new("L", (10, 10), 100), "brightness=10&saturation=3")
    assert grey.mode == "L" and pixel(grey.convert("RGB")) == (125, 125, 125)
    tinted = run(Image.new("L", (10, 10), 100), "rgb=10,0,0")
    assert tinted.mode == "RGB" and pixel(tinted) == (125, 100, 100)


# Pixels


def test_convolution_with_the_identity_kernel_changes_nothing() -> None:
    image = gradient((50, 40))
    result = run(image, "convolution=3:0,0,0,0,1,0,0,0,0")
    assert result.tobytes() == image.tobytes()


def test_convolution_normalises_and_extends_the_edges() -> None:
    checker = Image.new("L", (20, 20), 0)
    for y in range(20):
        for x in range(20):
            if (x + y) % 2:
                checker.putpixel((x, y), 200)
    # the 3x3 box of a checker: 4 or 5 of 9 bright cells, 88 or 111 (truncated)
    result = run(checker, "convolution=3:1,1,1,1,1,1,1,1,1")
    inside = np.asarray(result)[1:-1, 1:-1]
    assert set(np.unique(inside).tolist()) == {88, 111}
    edges = run(
        Image.new("RGB", (20, 20), (90, 90, 90)), "convolution=3:-1,-1,-1,-1,8,-1,-1,-1,-1:raw"
    )
    assert np.asarray(edges).max() == 0  # flat, edges extended: no edge anywhere


def test_a_convolution_too_costly_for_its_result_is_refused() -> None:
    big = Image.new("RGB", (4000, 4000), (1, 2, 3))
    kernel = "9:" + ",".join(["1"] * 81)
    with pytest.raises(InvalidOption) as raised:
        transform(encode(big, "PNG"), parse(f"convolution={kernel}"), FORMATS["png"])
    assert raised.value.param == "convolution"
    assert Kernel(9, (1.0,) * 81).rows == 9


def test_pixelate_makes_uniform_blocks() -> None:
    image = gradient((50, 35))
    result = np.asarray(run(image, "pixelate=8"))
    assert result.shape == (35, 50, 3)
    block = result[8:16, 16:24].reshape(-1, 3)
    assert (block == block[0]).all()
    assert not (result[0:8, 0:8].reshape(-1, 3)[0] == result[0:8, 8:16].reshape(-1, 3)[0]).all()
    # each block is its average (the gradient's red rises across it)
    expected = np.asarray(image)[8:16, 16:24].reshape(-1, 3).mean(axis=0)
    assert np.abs(block[0] - expected).max() <= 1


def test_noise_is_the_same_for_the_same_url_and_bounded() -> None:
    image = flat((100, 100, 100), (64, 64))
    first = np.asarray(run(image, "noise=40")).astype(int)
    again = np.asarray(run(image, "noise=40")).astype(int)
    other = np.asarray(run(image, "noise=40&v=2")).astype(int)
    assert (first == again).all() and not (first == other).all()
    assert first.min() == 80 and first.max() == 119  # -(40 >> 1) to 40 - 20 - 1
    assert (first[..., 0] == first[..., 1]).all()  # one value per pixel, as thumbor
    seeded = np.asarray(run(image, "noise=40,7")).astype(int)
    assert (seeded == np.asarray(run(image, "noise=40,7&v=x")).astype(int)).all()


# Corners


def test_rounded_corners_are_transparent_in_formats_with_alpha() -> None:
    result = run(gradient((100, 80)), "radius=20")
    assert result.mode == "RGBA"
    alpha = result.getchannel("A")
    for corner in ((0, 0), (99, 0), (0, 79), (99, 79)):
        assert alpha.getpixel(corner) == 0
    for inside in ((50, 40), (50, 0), (0, 40), (20, 20), (79, 59)):
        assert alpha.getpixel(inside) == 255
    # on the curve, partly covered: the edge is smoothed
    levels = np.asarray(alpha)
    assert 0 < levels[5, 6] < 255
    assert len(np.unique(levels[:20, :20])) > 5


def test_rounded_corners_take_a_colour_where_the_format_has_no_alpha() -> None:
    jpeg = run(gradient((100, 80)), "radius=20&bg=ff0000", "jpeg")
    red, green, blue = pixel(jpeg, (1, 1))
    assert red > 220 and green < 40 and blue < 40  # JPEG's chroma subsampling
    white = run(gradient((100, 80)), "radius=20", "jpeg")
    assert min(pixel(white, (1, 1))) > 240
    coloured = run(gradient((100, 80)), "radius=20,10&corner=0000ff")
    assert pixel(coloured, (0, 0)) == (0, 0, 255)
    assert pixel(coloured, (50, 40))[:3] == pixel(gradient((100, 80)), (50, 40))


def test_radii_are_at_most_half_of_each_side() -> None:
    result = run(gradient((40, 20)), "radius=1000")
    alpha = result.getchannel("A")
    assert alpha.getpixel((20, 10)) == 255  # the centre stays
    assert alpha.getpixel((0, 0)) == 0
    assert Radius(5, 5).__str__() == "5"


# Through /image, as docs/url-api.md says


def test_documented_examples(client: FlaskClient, root: Path) -> None:
    (root / "grey.png").write_bytes(encode(flat((128, 128, 128), (20, 20)), "PNG"))
    response = client.get("/image/grey.png?brightness=15")
    assert response.status_code == 200
    assert pixel(decoded(response.data).convert("RGB")) == (166, 166, 166)
    for query, param in [
        ("brightness=150", "brightness"),
        ("convolution=2:1,1", "convolution"),
        ("curve=0:0,0:255", "curve"),
        ("corner=ff0000", "corner"),
    ]:
        body = problem(client.get(f"/image/grey.png?{query}"), 400)
        assert body["param"] == param, body


def test_each_frame_of_an_animation_gets_its_own_grain() -> None:
    frames = [flat((100, 100, 100), (16, 16)), flat((110, 100, 100), (16, 16))]
    source = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)
    result = transform(source, parse("noise=40&lossless=1"), FORMATS["webp"])
    animation = Image.open(io.BytesIO(result.data))
    assert animation.n_frames == 2
    first = np.asarray(animation.convert("RGB")).astype(int)
    animation.seek(1)
    second = np.asarray(animation.convert("RGB")).astype(int)
    assert first.min() < 100 < first.max()  # grain on the first frame
    # the same grain on both would leave a difference of (10, 0, 0) everywhere
    assert len(np.unique(second[..., 1] - first[..., 1])) > 5


def test_the_cost_estimate_counts_the_filters_working_copies() -> None:
    source = encode(gradient((1000, 1000)), "PNG")

    def cost(query: str) -> Cost:
        return estimate_cost(source, parse(query), FORMATS["jpeg"])

    plain = cost("")
    for query in ("brightness=10", "equalize=1", "pixelate=4", "radius=10", "noise=10"):
        assert cost(query).memory > plain.memory, query
    assert cost("saturation=2").memory > cost("brightness=10").memory
    assert cost("convolution=3:1,1,1,1,1,1,1,1,1").memory > cost("saturation=2").memory
    # the filters run one after another: the peak is the costliest one's, not the sum
    assert cost("brightness=10&saturation=2").memory == cost("saturation=2").memory
    # a 9x9 kernel over a megapixel is the longest step here
    kernel = "convolution=9:" + ",".join(["1"] * 81)
    assert cost(kernel).step_seconds > plain.step_seconds
    assert cost(kernel).step_seconds == pytest.approx(81 * 0.003)


def test_signatures_cover_the_filters_in_their_canonical_spelling(make_app: MakeApp) -> None:
    client = make_app(signing_keys=("filter-signing-key-0123456789",)).test_client()
    url = sign_url(
        "/image/photo.jpg?w=100&brightness=10&curve=0:0,255:200", "filter-signing-key-0123456789"
    )
    assert client.get(url).status_code == 200
    # another spelling of the same transform carries the same signature
    signature = url.rsplit("s=", 1)[1]
    respelled = f"/image/photo.jpg?brightness=10.0&w=100&curve=0:0,255:200&s={signature}"
    assert client.get(respelled).status_code == 200
    # another filter value is another transform: the signature no longer matches
    tampered = f"/image/photo.jpg?w=100&brightness=50&curve=0:0,255:200&s={signature}"
    assert client.get(tampered).status_code == 403


points = st.lists(st.tuples(st.integers(0, 255), st.integers(0, 255)), min_size=2, max_size=12).map(
    lambda pairs: tuple(sorted({x: y for x, y in pairs}.items()))
)


@given(points.filter(lambda found: len(found) >= 2))
def test_every_curve_passes_through_its_points(found: tuple[tuple[int, int], ...]) -> None:
    table = spline_table(found)
    assert len(table) == 256 and all(0 <= level <= 255 for level in table)
    assert all(table[x] == y for x, y in found)
    query = "curve=" + ",".join(f"{x}:{y}" for x, y in found)
    assert parse(parse(query).canonical()) == parse(query)


@given(
    st.lists(st.integers(-1000, 1000), min_size=1, max_size=81),
    st.sampled_from([1, 3, 5, 7, 9]),
    st.booleans(),
)
def test_any_kernel_parses_or_is_refused_and_filters_in_range(
    weights: list[int], columns: int, raw: bool
) -> None:
    query = f"convolution={columns}:" + ",".join(map(str, weights)) + (":raw" if raw else "")
    try:
        options = parse(query)
    except InvalidOption as error:
        assert error.param == "convolution"
        return
    assert parse(options.canonical()) == options
    result = run(gradient((12, 9)), query)
    assert result.size == (12, 9)


def test_pixelate_extends_the_edges_to_whole_blocks_as_imgproxy() -> None:
    """A 10-px-wide picture in blocks of 8: the second block is columns 8, 9 and six
    repeats of column 9, so it leans to column 9's colour."""
    image = Image.new("L", (10, 4), 0)
    image.paste(80, (8, 0, 9, 4))
    image.paste(240, (9, 0, 10, 4))
    result = np.asarray(run(image, "pixelate=8"))
    assert (result[:, :8] == 0).all()
    assert (result[:, 8:] == (80 + 240 * 7) // 8).all()  # 220, not (80 + 240) / 2


def _hat(line: list[float], hole: int) -> list[float]:
    """thumbor's 1-2-1 "a trous" pass, written out sample by sample (mirrored edges)."""
    size = len(line)

    def at(index: int) -> float:
        if index < 0:
            index = -index
        if index >= size:
            index = 2 * size - 2 - index
        return line[index]

    return [(2 * line[i] + at(i - hole) + at(i + hole)) * 0.25 for i in range(size)]


def _slow_wavelet(plane: list[list[float]], amount: float, radius: float) -> list[list[float]]:
    """The wavelet sharpen as thumbor's C loops run it, on lists."""
    height, width = len(plane), len(plane[0])
    result = [[0.0] * width for _ in range(height)]
    finer = plane
    for level in range(5):
        hole = 1 << level
        rows = [_hat(row, hole) for row in finer]
        columns = [_hat([rows[y][x] for y in range(height)], hole) for x in range(width)]
        coarser = [[columns[x][y] for x in range(width)] for y in range(height)]
        weight = amount * math.exp(-((level - radius) ** 2) / 1.5) + 1
        for y in range(height):
            for x in range(width):
                result[y][x] += (finer[y][x] - coarser[y][x]) * weight
        finer = coarser
    return [[result[y][x] + finer[y][x] for x in range(width)] for y in range(height)]


@pytest.mark.parametrize(("amount", "radius"), [(2, 1), (1.5, 0.5), (5, 3)])
def test_wavelet_sharpen_is_thumbors_wavelet_filter(amount: float, radius: float) -> None:
    grey = Image.effect_noise((40, 36), 40).point(lambda v: v // 2 + 64)
    ours = np.asarray(wavelet_sharpened(grey, amount, radius, False), dtype=np.int16)
    plane = (np.asarray(grey, dtype=np.float64) / 255).tolist()
    slow = np.clip(np.array(_slow_wavelet(plane, amount, radius)) * 255, 0, 255).astype(np.int16)
    assert np.abs(ours - slow).max() <= 1  # float32 against float64, then truncated


def test_wavelet_sharpen_raises_edges_and_keeps_flat_areas() -> None:
    flat = Image.new("RGB", (64, 64), (120, 90, 60))
    assert pixel(run(flat, "wavelet_sharpen=3,1")) == (120, 90, 60)
    edge = Image.new("L", (64, 64), 80)
    edge.paste(160, (32, 0, 64, 64))
    sharpened = np.asarray(run(edge.convert("RGB"), "wavelet_sharpen=3,1").convert("L"))
    assert sharpened[:, 31].mean() < 80 and sharpened[:, 32].mean() > 160  # overshoot
