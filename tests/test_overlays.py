"""Watermarks, nine-patch frames, padding and backdrops in the transformer: where each
copy lands, what its pixels are, the parameters' canonical forms and their 400s, and
a watermark too large to keep (a 422 naming it)."""

from __future__ import annotations

import io
from dataclasses import dataclass

import pytest
from PIL import Image, ImageDraw

from pixserve.sources.watermarks import DecodedOverlays, Overlays
from pixserve.transformer import FORMATS, ImageTooLarge, InvalidOption, parse_options, transform
from pixserve.transformer.errors import UnsupportedImage
from pixserve.transformer.overlay import (
    fit_watermark,
    grid_layer,
    nine_patch_layer,
    nine_patch_padding,
    watermark_positions,
)
from pixserve.transformer.overlay_options import Length, Placement, Repeat
from pixserve.transformer.overlay_source import decode_overlay

BLUE = (0, 120, 200)
RED = (255, 0, 0)
PNG = FORMATS["png"]


def encoded(image: Image.Image, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


PHOTO = encoded(Image.new("RGB", (400, 300), BLUE))
MARK = Image.new("RGBA", (40, 20), (*RED, 255))


def nine_patch() -> Image.Image:
    """34x34: an 8-pixel brown border around a transparent middle; rows and columns
    12-21 stretch; the content sits 8 pixels in on every side."""
    patch = Image.new("RGBA", (34, 34), 0)
    draw = ImageDraw.Draw(patch)
    draw.rectangle((1, 1, 32, 32), fill=(120, 60, 20, 255))
    draw.rectangle((9, 9, 24, 24), fill=(0, 0, 0, 0))
    for i in range(12, 22):
        patch.putpixel((i, 0), (0, 0, 0, 255))
        patch.putpixel((0, i), (0, 0, 0, 255))
    for i in range(9, 25):
        patch.putpixel((i, 33), (0, 0, 0, 255))
        patch.putpixel((33, i), (0, 0, 0, 255))
    return patch


def run(*pairs: tuple[str, str], source: bytes = PHOTO, fmt: str = "png") -> Image.Image:
    overlays = {"logo.png": MARK, "frame.png": nine_patch()}
    result = transform(source, parse_options(pairs), FORMATS[fmt], overlays=overlays)
    return opened(result.data).convert("RGBA")


class TestPlacement:
    def test_southeast_with_offsets(self) -> None:
        image = run(
            ("wm", "logo.png"), ("wm_gravity", "southeast"), ("wm_dx", "10"), ("wm_dy", "5")
        )
        # the mark's bottom-right pixel is 10 in from the right and 5 up from the bottom
        assert image.getpixel((400 - 11, 300 - 6))[:3] == RED
        assert image.getpixel((400 - 10, 300 - 6))[:3] == BLUE
        assert image.getpixel((400 - 11, 300 - 5))[:3] == BLUE
        assert image.getpixel((400 - 50, 300 - 25))[:3] == RED
        assert image.getpixel((400 - 51, 300 - 25))[:3] == BLUE

    def test_centre_is_the_default_and_offsets_move_it(self) -> None:
        image = run(("wm", "logo.png"))
        assert image.getpixel((180, 140))[:3] == RED and image.getpixel((179, 140))[:3] == BLUE
        moved = run(("wm", "logo.png"), ("wm_dx", "-30"))
        assert moved.getpixel((150, 140))[:3] == RED and moved.getpixel((149, 140))[:3] == BLUE

    def test_percent_offsets_are_of_the_result(self) -> None:
        image = run(("wm", "logo.png"), ("wm_gravity", "northwest"), ("wm_dx", "10%"))
        assert image.getpixel((40, 0))[:3] == RED and image.getpixel((39, 0))[:3] == BLUE

    def test_pixel_offsets_follow_dpr(self) -> None:
        image = run(
            ("w", "200"), ("dpr", "2"), ("wm", "logo.png"), ("wm_gravity", "west"), ("wm_dx", "5")
        )
        assert image.size == (400, 300)
        assert image.getpixel((10, 150))[:3] == RED and image.getpixel((9, 150))[:3] == BLUE

    def test_opacity_blends(self) -> None:
        image = run(("wm", "logo.png"), ("wm_opacity", "0.5"))
        red, green, blue, _ = image.getpixel((200, 150))
        assert abs(red - 128) <= 1 and abs(green - 60) <= 1 and abs(blue - 100) <= 1

    def test_a_mark_past_the_edge_is_cut(self) -> None:
        image = run(("wm", "logo.png"), ("wm_gravity", "east"), ("wm_dx", "-20"))
        assert image.size == (400, 300)
        assert image.getpixel((399, 150))[:3] == RED and image.getpixel((379, 150))[:3] == BLUE
        far = run(("wm", "logo.png"), ("wm_gravity", "west"), ("wm_dx", "-100"))
        assert far.getpixel((0, 150))[:3] == BLUE

    def test_size_by_percent_of_the_result(self) -> None:
        image = run(("wm", "logo.png"), ("wm_gravity", "northwest"), ("wm_w", "50"))
        # 50% of 400 is 200 wide, so 100 tall at the mark's 2:1
        assert image.getpixel((199, 99))[:3] == RED
        assert image.getpixel((200, 50))[:3] == BLUE and image.getpixel((50, 100))[:3] == BLUE

    def test_thumbor_ratio_examples(self) -> None:
        """thumbor's docs: a 30x40 watermark on 300x200 (its `calc_watermark_size`)."""
        assert fit_watermark((300, 200), (30, 40), 20, None) == (60, 80)
        assert fit_watermark((300, 200), (30, 40), None, 15) == (22, 30)  # round(22.5)
        assert fit_watermark((300, 200), (30, 40), 30, 30) == (45, 60)
        assert fit_watermark((300, 200), (30, 40), None, None) == (30, 40)

    def test_thumbor_repeat_spreads_whole_copies_edge_to_edge(self) -> None:
        positions = list(
            watermark_positions((300, 100), (40, 20), Placement.SOUTH, None, None, Repeat.X)
        )
        # 7 copies fit in 300, the 20 left over spread 3 apart (thumbor's integer division)
        assert [x for x, _ in positions] == [0, 43, 86, 129, 172, 215, 258]
        assert {y for _, y in positions} == {80}
        both = list(
            watermark_positions((300, 100), (40, 20), Placement.CENTER, None, None, Repeat.XY)
        )
        assert len(both) == 7 * 5
        # more than 100 copies: 6 by 6, as thumbor caps it
        tiny = list(
            watermark_positions((300, 300), (10, 10), Placement.CENTER, None, None, Repeat.XY)
        )
        assert len(tiny) == 36

    def test_grid_tiles_with_gaps_centred(self) -> None:
        layer = grid_layer((100, 60), MARK, (10, 20))
        alpha = layer.getchannel("A")
        # tiles of 50x40; the middle one is centred: its mark spans x 30..69, y 20..39
        assert alpha.getpixel((30, 20)) == 255 and alpha.getpixel((69, 39)) == 255
        assert alpha.getpixel((29, 30)) == 0 and alpha.getpixel((70, 30)) == 0
        assert alpha.getpixel((50, 19)) == 0 and alpha.getpixel((50, 40)) == 0
        image = run(("wm", "logo.png"), ("wm_repeat", "grid"), ("wm_dx", "10"), ("wm_dy", "10"))
        assert image.getpixel((180, 140))[:3] == RED and image.getpixel((230, 140))[:3] == RED

    def test_every_frame_of_an_animation_is_marked(self) -> None:
        frames = [Image.new("RGB", (100, 80), colour) for colour in ((0, 0, 255), (0, 255, 0))]
        buffer = io.BytesIO()
        frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=50)
        result = transform(
            buffer.getvalue(),
            parse_options([("wm", "logo.png"), ("wm_gravity", "northwest")]),
            FORMATS["gif"],
            overlays={"logo.png": MARK},
        )
        animation = Image.open(io.BytesIO(result.data))
        assert animation.n_frames == 2
        for index in range(2):
            animation.seek(index)
            frame = animation.convert("RGB")
            assert frame.getpixel((5, 5)) == RED and frame.getpixel((50, 50)) != RED


class TestNinePatch:
    def test_padding_and_stretch(self) -> None:
        patch = nine_patch()
        assert nine_patch_padding(patch) == (8, 8, 8, 8)
        layer = nine_patch_layer(patch, (100, 60))
        assert layer.size == (100, 60)
        assert layer.getpixel((0, 0)) == (120, 60, 20, 255)
        assert layer.getpixel((99, 59)) == (120, 60, 20, 255)
        assert layer.getpixel((50, 4))[3] == 255  # the border stretches along
        assert layer.getpixel((50, 30))[3] == 0  # the middle stays see-through

    def test_a_frame_whose_padding_is_too_wide_is_a_400(self) -> None:
        patch = Image.new("RGBA", (1203, 3), 0)
        patch.putpixel((1201, 2), (0, 0, 0, 255))  # content starts 1200 pixels in
        with pytest.raises(InvalidOption) as error:
            transform(
                PHOTO, parse_options([("ninepatch", "wide.png")]), PNG, overlays={"wide.png": patch}
            )
        assert error.value.param == "ninepatch"

    def test_frame_pads_the_picture_and_draws_around_it(self) -> None:
        image = run(("w", "200"), ("ninepatch", "frame.png"))
        assert image.size == (216, 166)
        assert image.getpixel((2, 2))[:3] == (120, 60, 20)
        assert image.getpixel((108, 83))[:3] == BLUE


class TestPaddingAndBackdrop:
    def test_padding_css_order_with_bg(self) -> None:
        image = run(("pad", "10,20"), ("bg", "ff0000"), fmt="jpeg")
        assert image.size == (440, 320)
        assert image.getpixel((5, 160))[:3] == pytest.approx(RED, abs=3)
        assert image.getpixel((30, 160))[:3] == pytest.approx(BLUE, abs=3)

    def test_padding_is_transparent_without_bg_and_follows_dpr(self) -> None:
        image = run(("w", "100"), ("dpr", "2"), ("pad", "5"))
        assert image.size == (220, 170)
        assert image.getpixel((0, 0))[3] == 0 and image.getpixel((110, 85))[3] == 255

    def test_auto_backdrop_is_the_average_colour(self) -> None:
        halves = Image.new("RGB", (200, 100), (255, 0, 0))
        halves.paste((0, 0, 255), (100, 0, 200, 100))
        image = run(
            ("w", "200"),
            ("h", "200"),
            ("fit", "contain"),
            ("backdrop", "auto"),
            source=encoded(halves),
        )
        assert image.size == (200, 200)
        assert image.getpixel((100, 10))[:3] == pytest.approx((127, 0, 127), abs=2)
        assert image.getpixel((10, 100))[:3] == (255, 0, 0)

    def test_blur_backdrop_is_the_picture_blurred(self) -> None:
        halves = Image.new("RGB", (200, 100), (255, 0, 0))
        halves.paste((0, 0, 255), (100, 0, 200, 100))
        image = run(
            ("w", "200"),
            ("h", "300"),
            ("fit", "contain"),
            ("backdrop", "blur"),
            source=encoded(halves),
        )
        left, right = image.getpixel((5, 10)), image.getpixel((194, 10))
        assert left[3] == 255 and right[3] == 255
        assert left[0] > left[2] and right[2] > right[0]  # the red side stays reddish
        assert image.getpixel((10, 150))[:3] == (255, 0, 0)  # the picture itself untouched


class TestParameters:
    def test_canonical_form(self) -> None:
        options = parse_options(
            [
                ("wm", "marks/logo.png"),
                ("wm_dx", "10.50%"),
                ("wm_opacity", "0.50"),
                ("pad", "4,4"),
                ("wm_gravity", "southeast"),
            ]
        )
        assert options.canonical() == (
            "pad=4,4,4,4&wm=marks/logo.png&wm_dx=10.5%&wm_gravity=southeast&wm_opacity=0.5"
        )
        assert options.wm_dx == Length(10.5, percent=True)
        assert parse_options([("pad", "0")]).canonical() == ""

    @pytest.mark.parametrize(
        ("pairs", "param"),
        [
            ([("wm_gravity", "north")], "wm_gravity"),
            ([("wm", "a.png"), ("wm_gravity", "up")], "wm_gravity"),
            ([("wm", "a.png"), ("wm_dx", "10px")], "wm_dx"),
            ([("wm", "a.png"), ("wm_dx", "150%")], "wm_dx"),
            ([("wm", "a.png"), ("wm_dy", "10.5")], "wm_dy"),
            ([("wm", "a.png"), ("wm_opacity", "1.5")], "wm_opacity"),
            ([("wm", "a.png"), ("wm_w", "0")], "wm_w"),
            ([("wm", "a.png"), ("wm_repeat", "z")], "wm_repeat"),
            ([("wm", "/etc/passwd")], "wm"),
            ([("pad", "1,2,3,4,5")], "pad"),
            ([("pad", "2000")], "pad"),
            ([("backdrop", "blur"), ("bg", "fff")], "backdrop"),
            ([("backdrop", "median")], "backdrop"),
        ],
    )
    def test_bad_values_are_400s_naming_the_parameter(
        self, pairs: list[tuple[str, str]], param: str
    ) -> None:
        with pytest.raises(InvalidOption) as error:
            parse_options(pairs)
        assert error.value.param == param

    def test_padding_counts_against_the_output_limit(self) -> None:
        from pixserve.transformer import ImageLimits

        limits = ImageLimits(max_output_pixels=400 * 300)
        with pytest.raises(InvalidOption):
            transform(PHOTO, parse_options([("pad", "1")]), PNG, limits)


class TestDecoding:
    def test_a_bomb_is_a_422_naming_the_parameter(self) -> None:
        huge = encoded(Image.new("1", (5000, 5000)))
        with pytest.raises(ImageTooLarge) as error:
            decode_overlay(huge, 4_000_000, "wm", "marks/huge.png")
        assert error.value.param == "wm" and "marks/huge.png" in error.value.detail

    def test_not_an_image_is_a_415(self) -> None:
        with pytest.raises(UnsupportedImage) as error:
            decode_overlay(b"<svg></svg>", 4_000_000, "wm", "mark.svg")
        assert error.value.param == "wm"

    def test_decoded_upright_in_rgba(self) -> None:
        picture = decode_overlay(encoded(Image.new("P", (30, 10))), 4_000_000, "wm", "p.png")
        assert picture.mode == "RGBA" and picture.size == (30, 10)


class TestKeptDecoded:
    """`DecodedOverlays`: one decode per name and version, within its byte budget."""

    @dataclass(frozen=True)
    class Found:
        name: str
        version: str
        data: bytes
        size: int = 0
        format: str | None = "PNG"
        last_modified: None = None

        def read(self) -> bytes:
            return self.data

    def found(self, name: str, version: str, image: Image.Image) -> Overlays:
        return Overlays((("wm", name, self.Found(name, version, encoded(image))),))

    def test_decoded_once_per_version(self) -> None:
        kept = DecodedOverlays()
        first = kept.pictures(self.found("logo.png", "v1", MARK))
        again = kept.pictures(self.found("logo.png", "v1", MARK))
        assert again["logo.png"] is first["logo.png"] and kept.decodes == 1
        green = Image.new("RGBA", (40, 20), (0, 255, 0, 255))
        changed = kept.pictures(self.found("logo.png", "v2", green))
        assert changed["logo.png"].getpixel((0, 0)) == (0, 255, 0, 255) and kept.decodes == 2

    def test_the_budget_bounds_what_is_kept(self) -> None:
        kept = DecodedOverlays(budget=40 * 20 * 4 * 2)  # two marks
        for name in ("a.png", "b.png", "c.png"):
            kept.pictures(self.found(name, "v", MARK))
        kept.pictures(self.found("c.png", "v", MARK))  # kept: no decode
        assert kept.decodes == 3
        kept.pictures(self.found("a.png", "v", MARK))  # the oldest went out
        assert kept.decodes == 4

    def test_a_picture_over_the_pixel_limit_is_refused(self) -> None:
        kept = DecodedOverlays(max_pixels=100)
        with pytest.raises(ImageTooLarge):
            kept.pictures(self.found("logo.png", "v", MARK))


def test_isolated_transforms_draw_overlays_too() -> None:
    """Big work runs in a forked child (`http/isolation.py`): the overlays go with it."""
    from pixserve.http.deadline import Deadline
    from pixserve.http.isolation import transform_isolated

    options = parse_options([("wm", "logo.png"), ("wm_gravity", "northwest")])
    result = transform_isolated(
        Deadline(60), PHOTO, options, PNG, None, None, None, (), {"logo.png": MARK}
    )
    assert opened(result.data).convert("RGB").getpixel((1, 1)) == RED
