"""load_source()/iter_items(): dispatch by source, size caps before reading, every bad input."""

from __future__ import annotations

import dataclasses
import io
import shutil
import sys
from pathlib import Path

import pytest
from conftest import FIXTURES, LocalServer

from unspin.config import Settings
from unspin.errors import BlockedURLError, FetchError, InputError, TooLargeError, UnspinError
from unspin.ingest import expand, iter_items, load_source

pytestmark = pytest.mark.usefixtures("clean_env")


def test_plain_text_file(settings: Settings) -> None:
    (article,) = load_source(str(FIXTURES / "plain-article.txt"), settings=settings)
    assert article.source_kind == "text"
    assert article.id == "plain-article"
    assert article.title == "Library opening hours extended after student petition"
    assert article.language == "en"
    assert len(article.paragraphs) == 5


def test_semeval_file_keeps_id_lines_and_offsets(tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "article123456.txt"
    shutil.copy(FIXTURES / "semeval-article.txt", path)
    (article,) = load_source(str(path), settings=settings)
    assert article.source_kind == "semeval"
    assert article.id == "123456"
    assert [p.line for p in article.paragraphs] == [1, 3, 4, 6, 8, 10]
    assert article.text == path.read_bytes().decode("utf-8")


def test_crlf_file_stays_byte_exact(tmp_path: Path, settings: Settings) -> None:
    raw = (FIXTURES / "semeval-article.txt").read_bytes().replace(b"\n", b"\r\n")
    path = tmp_path / "article1.txt"
    path.write_bytes(raw)
    (article,) = load_source(str(path), settings=settings)
    assert article.text.encode("utf-8") == raw
    assert [p.line for p in article.paragraphs] == [1, 3, 4, 6, 8, 10]
    assert all("\r" not in article.text[p.start : p.end] for p in article.paragraphs)


def test_html_file(settings: Settings) -> None:
    (article,) = load_source(str(FIXTURES / "news-page.html"), settings=settings)
    assert article.source_kind == "html"
    assert article.author == "Maria Okafor"
    assert article.id == "news-page"


def test_html_saved_as_txt_is_sniffed(tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "saved.txt"
    shutil.copy(FIXTURES / "news-page.html", path)
    (article,) = load_source(str(path), settings=settings)
    assert article.source_kind == "html"


@pytest.mark.parametrize("name", ["feed.rss", "feed.atom"])
def test_feed_files(name: str, settings: Settings) -> None:
    articles = load_source(str(FIXTURES / name), settings=settings)
    assert articles and all(a.source_kind == "feed" and a.language == "en" for a in articles)


def test_directory_loads_supported_files_sorted(tmp_path: Path, settings: Settings) -> None:
    for name in ("b.txt", "a.html", "c.md", ".hidden.txt"):
        src = "news-page.html" if name.endswith("html") else "plain-article.txt"
        shutil.copy(FIXTURES / src, tmp_path / name)
    assert [Path(p).name for p in expand(str(tmp_path))] == ["a.html", "b.txt"]
    assert [a.id for a in load_source(str(tmp_path), settings=settings)] == ["a", "b"]


def test_directory_without_supported_files(tmp_path: Path) -> None:
    (tmp_path / "notes.md").write_text("hello")
    with pytest.raises(InputError, match="has no files unspin can read"):
        expand(str(tmp_path))


def test_glob(tmp_path: Path, settings: Settings) -> None:
    for name in ("one.txt", "two.txt", "three.html"):
        shutil.copy(FIXTURES / "plain-article.txt", tmp_path / name)
    articles = load_source(str(tmp_path / "*.txt"), settings=settings)
    assert [a.id for a in articles] == ["one", "two"]
    with pytest.raises(InputError, match="No files match"):
        expand(str(tmp_path / "*.nothing"))


def test_missing_source() -> None:
    with pytest.raises(InputError, match="No such file or URL: nowhere.txt"):
        load_source("nowhere.txt")


def test_stdin(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    data = (FIXTURES / "plain-article.txt").read_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    (article,) = load_source("-", settings=settings)
    assert article.id == "stdin"
    assert article.title == "Library opening hours extended after student petition"


def test_stdin_over_the_cap_is_refused(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    small = dataclasses.replace(settings, max_input_bytes=1000)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"word " * 10_000)))
    with pytest.raises(TooLargeError, match="stdin is larger than the 0.0 MB limit"):
        load_source("-", settings=small)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.txt"
    path.write_bytes(b"")
    with pytest.raises(InputError, match="empty.txt is empty"):
        load_source(str(path))


def test_binary_file(tmp_path: Path) -> None:
    path = tmp_path / "photo.txt"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    with pytest.raises(InputError, match="photo.txt looks like a binary file"):
        load_source(str(path))


def test_huge_file_is_refused_before_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "huge.txt"
    with path.open("wb") as f:
        f.truncate(50 * 1024 * 1024)  # sparse: instant, no disk used

    def no_open(self: Path, *args: object, **kwargs: object) -> None:
        raise AssertionError(f"{self} was opened")

    monkeypatch.setattr(Path, "open", no_open)
    with pytest.raises(
        TooLargeError, match=r"huge.txt is too large \(52.4 MB; the limit is 5.0 MB\)"
    ):
        load_source(str(path))


def test_latin1_file(tmp_path: Path, settings: Settings) -> None:
    text = (FIXTURES / "plain-article.txt").read_text().replace("library", "café library")
    path = tmp_path / "latin1.txt"
    path.write_bytes(text.encode("latin-1"))
    (article,) = load_source(str(path), settings=settings)
    assert "café library" in article.text


def test_french_file_is_refused(settings: Settings) -> None:
    with pytest.raises(InputError, match=r"french.txt looks like French \(fr\)"):
        load_source(str(FIXTURES / "french.txt"), settings=settings)


def test_iter_items_reports_bad_files_and_continues(tmp_path: Path, settings: Settings) -> None:
    shutil.copy(FIXTURES / "plain-article.txt", tmp_path / "a.txt")
    (tmp_path / "b.txt").write_bytes(b"")
    shutil.copy(FIXTURES / "plain-article.txt", tmp_path / "c.txt")
    items = list(iter_items([str(tmp_path)], settings))
    errors: list[tuple[str, UnspinError]] = [(i.source, i.error) for i in items if i.error]
    articles = [a for i in items for a in i.articles]
    assert [a.id for a in articles] == ["a", "c"]
    assert len(errors) == 1 and errors[0][0].endswith("b.txt")


def test_url_html(http_server: LocalServer, private_settings: Settings) -> None:
    url = http_server.add("/story", (FIXTURES / "news-page.html").read_bytes())
    (article,) = load_source(url, settings=private_settings)
    assert article.source_kind == "url"
    assert article.url == url
    assert article.author == "Maria Okafor"


def test_url_plain_text_with_charset(http_server: LocalServer, private_settings: Settings) -> None:
    text = (FIXTURES / "plain-article.txt").read_text().replace("library", "café library")
    url = http_server.add("/a.txt", text.encode("latin-1"), "text/plain; charset=iso-8859-1")
    (article,) = load_source(url, settings=private_settings)
    assert "café library" in article.text


def test_url_feed(http_server: LocalServer, private_settings: Settings) -> None:
    url = http_server.add("/feed", (FIXTURES / "feed.rss").read_bytes(), "application/rss+xml")
    articles = load_source(url, settings=private_settings)
    assert len(articles) == 2


def test_url_feed_served_as_generic_xml_is_sniffed(
    http_server: LocalServer, private_settings: Settings
) -> None:
    url = http_server.add("/feed.xml", (FIXTURES / "feed.atom").read_bytes(), "text/xml")
    assert len(load_source(url, settings=private_settings)) == 1


def test_private_url_refused_by_default(http_server: LocalServer, settings: Settings) -> None:
    url = http_server.add("/story", (FIXTURES / "news-page.html").read_bytes())
    with pytest.raises(BlockedURLError):
        load_source(url, settings=settings)
    assert http_server.requests == []


def test_file_url_refused() -> None:
    with pytest.raises(BlockedURLError, match="only http:// and https://"):
        load_source("file:///etc/passwd")


def test_unreachable_url(closed_port: int, private_settings: Settings) -> None:
    with pytest.raises(FetchError, match="Could not connect to 127.0.0.1"):
        load_source(f"http://127.0.0.1:{closed_port}/", settings=private_settings)
