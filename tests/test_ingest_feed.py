"""RSS and Atom feeds: one article per entry; link-only entries fetched safely."""

from __future__ import annotations

import pytest
from conftest import FIXTURES, LocalServer

from unspin.config import Settings
from unspin.errors import InputError
from unspin.ingest import from_feed
from unspin.ingest.feed import looks_like_feed


def test_rss_entries_with_content(settings: Settings) -> None:
    articles = from_feed((FIXTURES / "feed.rss").read_bytes(), fetch_links=False, settings=settings)
    assert [a.title for a in articles] == [
        "Harbour city votes to keep its old tram line",
        "Ferry service resumes after storm repairs",
    ]
    first = articles[0]
    assert first.source_kind == "feed"
    assert first.outlet == "The Valley Courier"
    assert first.author == "Maria Okafor"
    assert first.published == "2024-03-12"
    assert first.url == "https://valley-courier.example/news/tram-line-vote"
    assert first.id == "https://valley-courier.example/news/tram-line-vote"
    assert "ending a two-year debate" in first.text
    assert first.text[first.paragraphs[0].start : first.paragraphs[0].end] == first.title


def test_atom_entry(settings: Settings) -> None:
    (article,) = from_feed((FIXTURES / "feed.atom").read_text(encoding="utf-8"), settings=settings)
    assert article.title == "Library opening hours extended after student petition"
    assert article.author == "Jonas Berg"
    assert article.published == "2024-03-14"
    assert article.outlet == "Osk Valley Weekly"
    assert "heating bill" in article.text


LINK_ONLY_RSS = """<?xml version="1.0"?>
<rss version="2.0"><channel><title>Local feed</title>
<item><title>Tram vote</title><link>{link}</link></item>
<item><title>Gone</title><link>{missing}</link></item>
</channel></rss>"""


def test_link_only_entry_is_fetched(http_server: LocalServer, private_settings: Settings) -> None:
    link = http_server.add("/tram", (FIXTURES / "news-page.html").read_bytes())
    feed = LINK_ONLY_RSS.format(link=link, missing=http_server.url("/missing"))
    articles = from_feed(feed, settings=private_settings)
    (article,) = articles  # the 404 entry is logged and skipped
    assert article.title == "Harbour city votes to keep its old tram line"
    assert article.url == link
    assert article.outlet == "Local feed"
    assert "ending a two-year debate" in article.text


def test_link_only_entry_to_private_address_is_refused_by_default(
    http_server: LocalServer, settings: Settings
) -> None:
    link = http_server.add("/tram", (FIXTURES / "news-page.html").read_bytes())
    feed = LINK_ONLY_RSS.format(link=link, missing=link)
    with pytest.raises(InputError, match="No entry of the feed has article text"):
        from_feed(feed, settings=settings)


def test_link_only_entry_without_fetching(settings: Settings) -> None:
    feed = LINK_ONLY_RSS.format(link="https://x.example/a", missing="https://x.example/b")
    with pytest.raises(InputError, match="No entry"):
        from_feed(feed, fetch_links=False, settings=settings)


@pytest.mark.parametrize("data", [b"<html><body>Not a feed</body></html>", b"plain words", b""])
def test_not_a_feed(data: bytes, settings: Settings) -> None:
    with pytest.raises(InputError, match="not a valid RSS or Atom feed|has no entries"):
        from_feed(data, settings=settings)


def test_feedparser_never_opens_a_string_as_path_or_url(settings: Settings) -> None:
    with pytest.raises(InputError):
        from_feed("/etc/passwd", settings=settings)


def test_looks_like_feed() -> None:
    assert looks_like_feed((FIXTURES / "feed.rss").read_bytes())
    assert looks_like_feed((FIXTURES / "feed.atom").read_bytes())
    assert not looks_like_feed((FIXTURES / "news-page.html").read_bytes())


TEASER_RSS = """<?xml version="1.0"?>
<rss version="2.0"><channel><title>Local feed</title>
<item><title>Tram vote</title><link>{link}</link>
<description>Councillors voted to repair the tram line.</description></item>
</channel></rss>"""


def test_teaser_entry_reads_the_linked_page(
    http_server: LocalServer, private_settings: Settings
) -> None:
    link = http_server.add("/tram", (FIXTURES / "news-page.html").read_bytes())
    (article,) = from_feed(TEASER_RSS.format(link=link), settings=private_settings)
    assert "ending a two-year debate" in article.text


def test_teaser_is_used_when_the_link_fails(
    http_server: LocalServer, private_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    feed = TEASER_RSS.format(link=http_server.url("/missing"))
    (article,) = from_feed(feed, settings=private_settings)
    assert "Councillors voted to repair the tram line." in article.text
    assert "using the feed's summary instead" in caplog.text


def test_entries_with_full_content_are_not_fetched(
    http_server: LocalServer, private_settings: Settings
) -> None:
    feed = (
        (FIXTURES / "feed.rss")
        .read_text()
        .replace("https://valley-courier.example/news/ferry-resumes", http_server.url("/ferry"))
    )
    from_feed(feed, settings=private_settings)
    assert http_server.requests == []
