"""The referrer host and device class a counted view records, read from its headers."""

from __future__ import annotations

import pytest

from redirector.visitors import MAX_HOST_LENGTH, device_class, referrer_host

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
ANDROID_PHONE = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Mobile Safari/537.36"
)
ANDROID_TABLET = (
    "Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
IPAD = (
    "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/16.6 Mobile/15E148 Safari/604.1"
)
WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Safari/605.1.15"
)
LINUX_FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"
FIREFOX_ANDROID = "Mozilla/5.0 (Android 14; Mobile; rv:125.0) Gecko/125.0 Firefox/125.0"
KINDLE = (
    "Mozilla/5.0 (Linux; U; Android 4.0.3; en-us; KFTT Build/IML74K) AppleWebKit/535.19 "
    "(KHTML, like Gecko) Silk/3.68 like Chrome/39.0.2171.93 Safari/535.19"
)


@pytest.mark.parametrize(
    ("user_agent", "letter"),
    [
        (IPHONE, "m"),
        (ANDROID_PHONE, "m"),
        (FIREFOX_ANDROID, "m"),
        (ANDROID_TABLET, "t"),
        (IPAD, "t"),
        (KINDLE, "t"),
        (WINDOWS, "d"),
        (MAC, "d"),
        (LINUX_FIREFOX, "d"),
        ("Opera/9.80 (Windows NT 6.1; WOW64) Presto/2.12.388 Version/12.18", "d"),
        ("curl/8.5.0", "o"),
        ("Wget/1.21.4 (linux-gnu)", "o"),
        ("python-httpx/0.27.0", "o"),
        ("Mozilla/5.0 (compatible; SomeCrawler/1.0; +https://crawler.example)", "o"),
        ("", "o"),
        ("\x00\xff garbage \x7f", "o"),
        ("x" * 100_000, "o"),
        ("Mozilla/5.0 (Windows NT 10.0) " + "x" * 5000, "d"),
    ],
)
def test_device_class_of_user_agents(user_agent: str, letter: str) -> None:
    assert device_class(user_agent) == letter


@pytest.mark.parametrize(
    ("referer", "host"),
    [
        ("https://news.example/a/b?c=d#e", "news.example"),
        ("https://News.Example", "news.example"),
        ("https://news.example.", "news.example"),
        ("https://user:secret@news.example/path", "news.example"),
        ("https://user@news.example:8443/path", "news.example"),
        ("http://news.example:80", "news.example"),
        ("https://a@b@news.example/", "news.example"),
        ("https://news.example?q=1", "news.example"),
        ("https://news.example#top", "news.example"),
        ("http://[2001:db8::1]:8080/x", "[2001:db8::1]"),
        ("http://127.0.0.1:8000/", "127.0.0.1"),
        ("android-app://com.google.android.gm/", "com.google.android.gm"),
        ("", ""),
        ("   ", ""),
        ("not a url", "*"),
        ("about:blank", "*"),
        ("https://", "*"),
        ("https:///path", "*"),
        ("https://exa mple.com/", "*"),
        ("https://ex<script>.com/", "*"),
        ("ht tp://news.example/", "*"),
        ("http://[::1/", "*"),
        ("https://" + "a" * (MAX_HOST_LENGTH + 1) + "/", "*"),
        ("https://" + "a" * MAX_HOST_LENGTH + "/", "a" * MAX_HOST_LENGTH),
    ],
)
def test_referrer_host_keeps_the_host_only(referer: str, host: str) -> None:
    assert referrer_host(referer) == host
