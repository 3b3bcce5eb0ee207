"""How a download presents itself: Content-Type from metadata, inline only when safe, an unbreakable disposition."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import unquote

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from tusd_py.protocol.representation import DEFAULT_TYPE, content_disposition, content_type, filename

# RFC 6266 as this server writes it: the disposition, a quoted ASCII fallback, and an RFC 8187 UTF-8 `filename*`.
DISPOSITION = re.compile(
    r"(?P<kind>inline|attachment)"
    r'(?:; filename="(?P<fallback>(?:[^"\\]|\\.)*)"'
    r"; filename\*=UTF-8''(?P<encoded>[A-Za-z0-9!#$&+.^_`|~%-]*))?"
)
# RFC 8187 attr-char, plus the % of a pct-encoded byte.
ATTR_CHARS = re.compile(r"[A-Za-z0-9!#$&+.^_`|~%-]*")


def parts(value: str) -> dict[str, str]:
    match = DISPOSITION.fullmatch(value)
    assert match is not None, value
    return {key: group for key, group in match.groupdict().items() if group is not None}


def disposition_for(name: str, media_type: str = "application/octet-stream") -> str:
    return content_disposition(media_type, filename({"filename": name}))


# -- Content-Type ------------------------------------------------------------------------------------


def test_content_type_is_the_filetype_metadata() -> None:
    assert content_type({"filetype": "video/mp4"}) == "video/mp4"


def test_content_type_is_lower_cased() -> None:
    assert content_type({"filetype": "Image/PNG"}) == "image/png"


def test_content_type_drops_parameters() -> None:
    assert content_type({"filetype": "text/plain; charset=utf-8"}) == "text/plain"


def test_content_type_allows_structured_suffixes() -> None:
    assert content_type({"filetype": "image/svg+xml"}) == "image/svg+xml"


def test_without_a_filetype_content_type_is_octet_stream() -> None:
    assert content_type({}) == DEFAULT_TYPE == "application/octet-stream"


@pytest.mark.parametrize(
    "filetype",
    [
        "",
        "png",
        "image/",
        "/png",
        "image/png/x",
        "text/html\r\nSet-Cookie: a=b",
        "image/p ng",
        "imäge/png",
        "a" * 300 + "/b",
    ],
    ids=[
        "empty",
        "no slash",
        "no subtype",
        "no type",
        "two slashes",
        "header injection",
        "space",
        "non-ASCII",
        "too long",
    ],
)
def test_a_malformed_filetype_is_octet_stream(filetype: str) -> None:
    assert content_type({"filetype": filetype}) == DEFAULT_TYPE


def test_filetype_is_preferred_over_other_type_keys() -> None:
    assert content_type({"type": "image/gif", "filetype": "image/png"}) == "image/png"


def test_uppys_type_key_is_understood() -> None:
    assert content_type({"type": "image/gif"}) == "image/gif"


@given(st.text(max_size=60))
def test_any_filetype_gives_a_well_formed_ascii_media_type(filetype: str) -> None:
    media_type = content_type({"filetype": filetype})

    assert re.fullmatch(r"[a-z0-9!#$&^_.+-]+/[a-z0-9!#$&^_.+-]+", media_type), media_type


# -- inline or attachment ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "media_type",
    ["image/png", "image/jpeg", "image/gif", "image/webp", "video/mp4", "video/webm", "audio/mpeg", "text/plain"],
)
def test_safe_types_are_inline(media_type: str) -> None:
    assert content_disposition(media_type, None) == "inline"


@pytest.mark.parametrize(
    "media_type",
    [
        "text/html",
        "application/xhtml+xml",
        "image/svg+xml",
        "application/pdf",
        "text/xml",
        "application/xml",
        "text/javascript",
        "application/javascript",
        "application/x-shockwave-flash",
        "text/css",
        "application/octet-stream",
        "multipart/x-mixed-replace",
    ],
)
def test_types_that_can_run_script_or_phish_are_attachments(media_type: str) -> None:
    assert content_disposition(media_type, None) == "attachment"


def test_an_unknown_type_is_an_attachment() -> None:
    assert content_disposition("application/x-made-up", None) == "attachment"


# -- the file name ----------------------------------------------------------------------------------


def test_without_a_filename_the_disposition_has_no_name() -> None:
    assert content_disposition("image/png", filename({})) == "inline"


def test_a_plain_name_is_in_both_forms() -> None:
    assert content_disposition("image/png", "cat.png") == "inline; filename=\"cat.png\"; filename*=UTF-8''cat.png"


def test_the_name_key_is_used_when_filename_is_absent() -> None:
    assert filename({"name": "cat.png"}) == "cat.png"


def test_filename_is_preferred_over_name() -> None:
    assert filename({"name": "dog.png", "filename": "cat.png"}) == "cat.png"


@pytest.mark.parametrize(
    ("declared", "clean"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\report.docx", "report.docx"),
        ("dir/sub/file.txt", "file.txt"),
        ("  spaced.txt  ", "spaced.txt"),
        ("bell\x07.txt", "bell.txt"),
        ("line\r\nbreak.txt", "linebreak.txt"),
        ("nul\x00.txt", "nul.txt"),
        ("rtl\u202egnp.exe", "rtlgnp.exe"),
    ],
    ids=["unix traversal", "windows path", "directories", "surrounding spaces", "bell", "CRLF", "NUL", "RTL override"],
)
def test_a_filename_loses_directories_and_control_characters(declared: str, clean: str) -> None:
    assert filename({"filename": declared}) == clean


@pytest.mark.parametrize("declared", ["", "   ", ".", "..", "dir/", "\r\n", "a/.."], ids=repr)
def test_a_filename_with_nothing_left_is_no_filename(declared: str) -> None:
    assert filename({"filename": declared}) is None


def test_a_long_filename_is_cut_to_255_characters() -> None:
    name = filename({"filename": "x" * 1000 + ".txt"})

    assert name is not None and len(name) == 255


def test_a_quote_cannot_end_the_quoted_name() -> None:
    value = disposition_for('evil"; filename="x.html')

    assert parts(value)["fallback"] == "evil__ filename=_x.html"


def test_a_backslash_cannot_escape_the_closing_quote() -> None:
    value = disposition_for('name\\"')

    assert "\\" not in value
    assert parts(value)["fallback"] == "_"


def test_a_non_ascii_name_has_an_ascii_fallback_and_an_exact_utf8_form() -> None:
    value = disposition_for("résumé €.pdf")

    assert parts(value)["fallback"] == "r_sum_ _.pdf"
    assert parts(value)["encoded"] == "r%C3%A9sum%C3%A9%20%E2%82%AC.pdf"


def test_a_name_with_percent_signs_is_not_decoded_twice() -> None:
    value = disposition_for("100%25.txt")

    assert unquote(parts(value)["encoded"]) == "100%25.txt"


def test_an_emoji_name_round_trips_through_filename_star() -> None:
    assert unquote(parts(disposition_for("🎉 party.mp4"))["encoded"]) == "🎉 party.mp4"


names = st.text(max_size=80)


@given(names)
@example('a"b')
@example("a\r\nContent-Type: text/html")
@example('\\"')
@example("\u2028\u2029\x85")
@example("%0D%0A")
def test_any_filename_gives_a_header_value_of_visible_ascii(name: str) -> None:
    value = disposition_for(name)

    assert all(0x20 <= ord(ch) < 0x7F for ch in value), value


@given(names)
@example('a"b')
@example('\\"; x="')
def test_any_filename_cannot_break_out_of_the_quoted_fallback(name: str) -> None:
    value = disposition_for(name)

    fallback = parts(value).get("fallback", "")
    assert re.fullmatch(r'(?:[^"\\]|\\.)*', fallback)


@given(names)
@example("résumé.pdf")
@example("a b+c%20d;e=f.txt")
def test_any_filename_star_decodes_back_to_the_cleaned_name(name: str) -> None:
    value = disposition_for(name)

    cleaned = filename({"filename": name})
    found = parts(value)
    if cleaned is None:
        assert "encoded" not in found
    else:
        assert ATTR_CHARS.fullmatch(found["encoded"])
        assert unquote(found["encoded"], encoding="utf-8", errors="strict") == cleaned


@given(names)
def test_any_filename_keeps_its_disposition_kind(name: str) -> None:
    assert parts(disposition_for(name, "text/html"))["kind"] == "attachment"
    assert parts(disposition_for(name, "image/png"))["kind"] == "inline"


@pytest.mark.parametrize(
    ("declared", "clean"),
    [
        ("zero\u200bwidth.txt", "zerowidth.txt"),
        ("bom\ufeff.txt", "bom.txt"),
        ("private\ue000use.txt", "privateuse.txt"),
        ("no\u00a0break space.txt", "no\u00a0break space.txt"),
        ("ideographic\u3000space.txt", "ideographic\u3000space.txt"),
        ("para\u2029sep.txt", "para\u2029sep.txt"),
    ],
    ids=["zero-width space", "BOM", "private use", "no-break space", "ideographic space", "paragraph separator"],
)
def test_a_filename_loses_format_characters_and_keeps_separators(declared: str, clean: str) -> None:
    """Printable names skip the character filter; names that are not printable only for their separators
    (category Z) keep them, as the filter always did: only categories C* are dropped."""
    assert filename({"filename": declared}) == clean


@given(st.text(max_size=40))
def test_any_filename_has_no_control_or_format_character_left(declared: str) -> None:
    name = filename({"filename": declared})
    assert name is None or not any(unicodedata.category(ch).startswith("C") for ch in name)
