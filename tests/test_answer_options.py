"""`max_age` and `max_bytes` through `/image`: the lifetime on every kind of answer
(miss, hit from memory and from disk, 304), capped by the setting; the budget met."""

from __future__ import annotations

from pathlib import Path

from pixserve.http.lifetimes import capped_max_age
from tests.helpers import MakeApp, decoded


def test_a_shorter_max_age_is_kept_and_a_longer_one_capped(make_app: MakeApp) -> None:
    client = make_app(max_age=60, stale_while_revalidate=0).test_client()
    short = client.get("/image/photo.jpg?w=10&max_age=30")
    long = client.get("/image/photo.jpg?w=10&max_age=600")
    assert short.headers["Cache-Control"] == "max-age=30"
    assert long.headers["Cache-Control"] == "max-age=60"


def test_max_age_shares_the_cached_result_and_its_etag(make_app: MakeApp) -> None:
    client = make_app(max_age=60, stale_while_revalidate=0).test_client()
    plain = client.get("/image/photo.jpg?w=12")
    short = client.get("/image/photo.jpg?w=12&max_age=5")
    assert plain.headers["X-Cache"] == "MISS" and short.headers["X-Cache"] == "HIT"
    assert plain.get_etag() == short.get_etag() and plain.get_data() == short.get_data()
    assert short.headers["Cache-Control"] == "max-age=5"


def test_every_answer_carries_the_url_s_lifetime(make_app: MakeApp, tmp_path: Path) -> None:
    url = "/image/photo.jpg?w=14&max_age=7"
    first = make_app(max_age=60).test_client()
    answers = [first.get(url), first.get(url)]
    etag = answers[0].headers["ETag"]
    answers.append(first.get(url, headers={"If-None-Match": etag}))
    answers.append(first.get(url, headers={"If-None-Match": etag}))
    answers.append(make_app(max_age=60).test_client().get(url))  # from the disk cache
    answers.append(first.get(url, headers={"Range": "bytes=0-9"}))
    assert [a.status_code for a in answers] == [200, 200, 304, 304, 200, 206]
    assert answers[4].headers["X-Cache"] == "HIT"
    for answer in answers:
        assert answer.headers["Cache-Control"].startswith("max-age=7"), answer.headers


def test_a_versioned_url_with_a_shorter_max_age_is_not_immutable(make_app: MakeApp) -> None:
    client = make_app(stale_while_revalidate=0).test_client()
    response = client.get("/image/photo.jpg?w=10&v=3&max_age=100")
    assert response.headers["Cache-Control"] == "max-age=100"


def test_capping_keeps_the_other_directives() -> None:
    value = "max-age=86400, immutable, stale-while-revalidate=60"
    assert capped_max_age(value, 10) == "max-age=10, stale-while-revalidate=60"
    assert capped_max_age(value, None) == value
    assert capped_max_age("max-age=5", 10) == "max-age=5"


def test_max_bytes_through_the_app(make_app: MakeApp) -> None:
    client = make_app().test_client()
    plain = client.get("/image/photo.jpg?w=200&fmt=jpeg&q=95")
    budget = len(plain.get_data()) // 2
    fitted = client.get(f"/image/photo.jpg?w=200&fmt=jpeg&q=95&max_bytes={budget}")
    assert fitted.status_code == 200 and len(fitted.get_data()) <= budget
    assert fitted.get_etag() != plain.get_etag()
    assert decoded(fitted.get_data()).size == decoded(plain.get_data()).size


def test_fq_stands_in_for_the_auto_quality_setting(make_app: MakeApp) -> None:
    """With `auto_quality` on, a URL naming its qualities (`fq`) is not searched."""
    client = make_app(auto_quality="good").test_client()
    by_fq = client.get("/image/photo.jpg?w=200&fmt=webp&fq=webp:30")
    by_q = client.get("/image/photo.jpg?w=200&fmt=webp&q=30")
    assert by_fq.get_data() == by_q.get_data()
    assert "Save-Data" not in by_fq.headers.get("Vary", "")
