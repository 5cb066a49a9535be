"""/media/… (local photo storage): `?download=<name>` makes the photo an attachment of that name;
a name that is not a plain file name is refused with 400, never echoed into a header."""

import pytest


@pytest.fixture
def photo(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "01.jpg").write_bytes(b"\xff\xd8 a photo \xff\xd9")
    return "/media/photos/01.jpg"


def test_a_plain_name_makes_an_attachment_of_that_name(client, photo):
    response = client.get(photo, {"download": "photobox-TRX-1-20250309-ABC-01.jpg"})

    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="photobox-TRX-1-20250309-ABC-01.jpg"'


def test_without_download_the_photo_is_shown_inline(client, photo):
    response = client.get(photo)

    assert response.status_code == 200
    assert response["Content-Disposition"] == 'inline; filename="01.jpg"'


@pytest.mark.parametrize(
    "query",
    [
        "download=x%0A",  # a trailing newline: `$` let it through and the header made a 500
        "download=x.jpg%0D%0ASet-Cookie:%20a=b",
        "download=a%20b.jpg",
        "download=x%22.jpg",
        "download=%C3%A9.jpg",
        "download=",
        f"download={'a' * 121}",
    ],
    ids=["trailing-newline", "header-injection", "space", "quote", "non-ascii", "empty", "too-long"],
)
def test_any_other_download_name_is_400(client, photo, query):
    response = client.get(f"{photo}?{query}")

    assert response.status_code == 400
    assert "Content-Disposition" not in response


def test_a_bad_name_for_a_missing_photo_is_400_too(client, photo):
    assert client.get("/media/photos/99.jpg?download=x%0A").status_code == 400
    assert client.get("/media/photos/99.jpg?download=x.jpg").status_code == 404
