import base64

from bot.feeds.identity import (
    canonical_url,
    decode_google_news,
    item_keys,
    linkless_url,
    same_site,
    strip_publisher_suffix,
)


def google_link(url: str) -> str:
    payload = b"\x08\x13\x22" + bytes([len(url)]) + url.encode() + b"\xd2\x01\x00"
    token = base64.urlsafe_b64encode(payload).decode().rstrip("=")
    return f"https://news.google.com/rss/articles/{token}?oc=5"


def test_canonical_url_drops_tracking_fragment_and_host_case():
    assert canonical_url("HTTPS://News.Example.COM:443/a/b?utm_source=rss&id=5&fbclid=x#top") == \
        "https://news.example.com/a/b?id=5"
    assert canonical_url("https://example.com/story?b=2&a=1") == \
        canonical_url("https://example.com/story?a=1&b=2")


def test_only_trackers_are_dropped_other_parameters_name_other_articles():
    assert canonical_url("https://x.com/news.php?cid=123&utm_source=rss") == \
        "https://x.com/news.php?cid=123"
    assert canonical_url("https://x.com/a?ref=1") != canonical_url("https://x.com/a?ref=2")
    assert canonical_url("https://x.com:8443/a") == "https://x.com:8443/a"


def test_same_item_keys_across_tracking_params_and_scheme():
    a = item_keys("src", "http://example.com/x?utm_medium=feed", "http://example.com/x")
    b = item_keys("src", "https://example.com/x", "https://example.com/x")
    assert a == b
    assert item_keys("other", "https://example.com/x", "g1")[0] == a[0]  # URL key is global
    assert item_keys("other", "https://example.com/y", "g1")[1] != \
        item_keys("src", "https://example.com/y", "g1")[1]  # GUID keys are per source


def test_google_news_links_decode_to_the_publisher():
    target = "https://www.nikkei.com/article/DGXZQOUA123456/"
    assert decode_google_news(google_link(target)) == target
    assert decode_google_news("https://news.google.com/rss/articles/AU_yqLPq0opaque?oc=5") is None
    assert decode_google_news("https://news.google.com/topics/abc") is None


def test_publisher_suffix_and_linkless_ids():
    assert strip_publisher_suffix("Chips pact signed - Nikkei Asia", "Nikkei Asia") == \
        "Chips pact signed"
    assert strip_publisher_suffix("A - B", None) == "A - B"
    assert linkless_url("s", None, "t", "x") == linkless_url("s", None, "t", "x")
    assert linkless_url("s", None, "t", "x") != linkless_url("s", None, "t", "y")


def test_same_site_is_one_host_with_or_without_www_amp_or_m():
    assert same_site("https://www.example.com/a", "https://amp.example.com/a?x=1")
    assert same_site("https://m.example.com/a", "https://example.com/b")
    assert not same_site("https://example.com/a", "https://example.org/a")
    assert not same_site("http://127.0.0.1:8001/a", "http://127.0.0.1:8002/a")  # another server
    assert not same_site("not a url", "not a url")
