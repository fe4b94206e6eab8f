"""Faces in smart crops (issue 25): `gravity=attention`, thumbor's `smart` and its
`meta/`, on a real portrait (scikit-image's astronaut: NASA, public domain)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import skimage.data
from PIL import Image

from pixserve.transformer import FORMATS, parse_options, transform
from pixserve.transformer.decoded import DecodedSources
from pixserve.transformer.faces import Face, centre_of, find_faces
from pixserve.transformer.steps import smartcrop
from tests.helpers import MakeApp, encode


@pytest.fixture(scope="module")
def portrait() -> bytes:
    return encode(Image.fromarray(skimage.data.astronaut()), "PNG")


def faces_in(data: bytes) -> tuple[Face, ...]:
    with Image.open(io.BytesIO(data)) as image:
        return find_faces(image)


def smart(data: bytes, query: str, decoded: DecodedSources | None = None) -> bytes:
    pairs = [tuple(pair.split("=")) for pair in query.split("&")]
    options = parse_options(pairs)  # type: ignore[arg-type]
    return transform(data, options, FORMATS["png"], decoded=decoded).data


def test_the_portrait_has_one_face_where_it_is(portrait: bytes) -> None:
    (face,) = faces_in(portrait)
    # her face: about a fifth of the picture, left of centre, in the top third
    assert 0.15 < face.width < 0.25 and 0.15 < face.height < 0.25
    x, y = centre_of((face,))
    assert 0.38 < x < 0.50 and 0.12 < y < 0.30
    # the hair is kept: the point is above the face box's own centre
    assert y < face.top + face.height / 2


@pytest.mark.parametrize("box", ["w=300&h=100", "w=100&h=300", "w=512&h=120"])
def test_a_smart_crop_keeps_the_face(portrait: bytes, box: str) -> None:
    kept = smart(portrait, f"{box}&fit=cover&gravity=attention")
    assert len(faces_in(kept)) == 1


def test_a_crop_by_gravity_alone_can_lose_it(portrait: bytes) -> None:
    """What the test above would catch: a window that does not aim at the face."""
    assert faces_in(smart(portrait, "w=300&h=100&fit=cover&gravity=south")) == ()


def test_a_sources_faces_are_found_once_while_its_decode_is_kept(
    portrait: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []

    def counted(image: Image.Image) -> tuple[Face, ...]:
        calls.append(image.size)
        return find_faces(image)

    monkeypatch.setattr(smartcrop, "find_faces", counted)
    decoded = DecodedSources(64 << 20)
    for box in ("w=300&h=100", "w=200&h=100", "w=240&h=240"):
        assert len(faces_in(smart(portrait, f"{box}&fit=cover&gravity=attention", decoded))) == 1
    assert len(calls) == 1


def test_thumbors_smart_and_meta_report_the_face(
    make_app: MakeApp, tmp_path: Path, portrait: bytes
) -> None:
    (tmp_path / "astronaut.png").write_bytes(portrait)
    client = make_app(root=tmp_path, thumbor_prefix="/t", thumbor_allow_unsafe=True).test_client()
    picture = client.get("/t/unsafe/300x100/smart/astronaut.png")
    assert picture.status_code == 200
    assert len(faces_in(picture.data)) == 1
    meta = client.get("/t/unsafe/meta/300x100/smart/astronaut.png")
    assert meta.status_code == 200
    described = json.loads(meta.data)["thumbor"]
    (point,) = described["focal_points"]
    assert point["origin"] == "Face Detection"
    assert 180 < point["x"] < 250 and 60 < point["y"] < 150  # in 512x512 source pixels
    (crop,) = [op for op in described["operations"] if op["type"] == "crop"]
    # the box the image was cut from: the whole width, 512 / 3 high, around the face
    assert (crop["left"], crop["right"]) == (0, 512)
    assert crop["bottom"] - crop["top"] == pytest.approx(512 / 3, abs=1)
    assert crop["top"] <= point["y"] - point["height"] / 2
    assert point["y"] + point["height"] / 2 <= crop["bottom"]
