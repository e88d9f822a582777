"""Lead website normalisation: one lead per site per campaign, whatever the spelling."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sendwarden.policy.addresses import a_label
from sendwarden.policy.websites import InvalidWebsite, normalize_website


def test_spellings_of_one_site_share_a_key() -> None:
    keys = {
        normalize_website(url)[1]
        for url in ("https://www.Example.com/", "http://example.com", "example.com#top")
    }
    assert keys == {"example.com"}


@pytest.mark.parametrize(
    ("raw", "host"),
    [
        ("https://faß.de/blog", "xn--fa-hia.de"),  # IDNA 2003 made this fass.de: another site
        ("https://βόλος.gr/", "xn--nxasmm1c.gr"),  # final sigma kept, as IDNA 2008 says
        ("bücher.example", "xn--bcher-kva.example"),
        ("https://ＥＸＡＭＰＬＥ.com", "example.com"),  # full-width letters map to ASCII
    ],
)
def test_an_international_host_gets_the_a_label_addresses_get(raw: str, host: str) -> None:
    cleaned, key = normalize_website(raw)
    assert cleaned.split("/")[2] == host and key.split("/")[0] == host


def test_ascii_hosts_stay_as_lenient_as_before() -> None:
    assert normalize_website("https://my_site.example/x/")[1] == "my_site.example/x"


@pytest.mark.parametrize("raw", ["https://a\u200db.example", "https://ex\u00adample-.com"])
def test_an_invalid_international_host_is_refused(raw: str) -> None:
    with pytest.raises(InvalidWebsite, match="invalid host name"):
        normalize_website(raw)


@given(
    st.lists(st.text(alphabet="abcxyzäöüßéσςж-", min_size=1, max_size=12), min_size=1, max_size=3),
    st.sampled_from(["com", "de", "example"]),
)
def test_normalising_a_cleaned_url_changes_nothing(labels: list[str], tld: str) -> None:
    url = "https://" + ".".join([*labels, tld]) + "/path"
    try:
        cleaned, key = normalize_website(url)
    except InvalidWebsite:
        return  # e.g. a label starting with a hyphen
    assert normalize_website(cleaned) == (cleaned, key)
    if not url.isascii():
        host = cleaned.split("/")[2]
        assert host == a_label(host)  # already the wire form
