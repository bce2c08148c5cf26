"""The verifier's web page: each page's HTML through the real app (TestClient), and a person's
path through it in real headless Chromium (Debian chromium + chromium-driver, driven by Selenium)
against the app served by uvicorn, over a real anvil with a real published release."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from fastapi.testclient import TestClient
from servers import serve_app
from test_api import REL, World

from registry.chain.client import ANVIL_DEV_KEYS, RegistryClient
from registry.errors import ChainError, RegistryRevert
from registry.names import ReleaseName
from verifier.problems import PROBLEM_JSON

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
XSS = "<script>alert(1)</script>"


@pytest.fixture
def world(anvil_url: str, tmp_path: Path, model_dir: Path) -> World:
    return World(anvil_url, tmp_path, model_dir)


BLOCKS = frozenset(
    {"br", "caption", "dd", "details", "div", "dl", "dt", "footer", "form", "h1", "h2", "h3", "header", "li", "main"}
    | {"nav", "p", "pre", "section", "summary", "table", "td", "th", "tr", "ul"}
)


class _Text(HTMLParser):
    """The text a person sees, roughly as a browser lays it out: character data outside <style>
    and <head>, a space at block and cell boundaries, whitespace collapsed."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in ("style", "head"):
            self._hidden += 1
        elif tag in BLOCKS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "head"):
            self._hidden -= 1
        elif tag in BLOCKS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def text_of(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    parser.close()
    return re.sub(r"\s+", " ", "".join(parser.parts)).strip()


def page(world: World, path: str, status: int = 200, **params: str) -> tuple[str, str]:
    """GET an HTML page: its markup and its visible text, after the checks every page must pass."""
    resp = world.http.get(path, params=params or None)
    assert resp.status_code == status, (path, resp.status_code, resp.text[:500])
    assert resp.headers["content-type"].startswith("text/html"), resp.headers["content-type"]
    html = resp.text
    assert html.startswith("<!doctype html>") and '<html lang="en">' in html
    assert "<script" not in html.lower(), "the pages need no script, and never echo one"
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html), "no external assets or links"
    assert "script-src" not in resp.headers["content-security-policy"]
    assert "default-src 'none'" in resp.headers["content-security-policy"]
    return html, text_of(html)


def eventually(world: World, path: str, needle: str, **params: str) -> str:
    """The page's text once it shows ``needle`` (or after 5 s): the service may answer name
    look-ups from a cache for a moment after a namespace is claimed."""
    deadline = time.monotonic() + 5
    while True:
        _, text = page(world, path, **params)
        if needle in text or time.monotonic() > deadline:
            return text
        time.sleep(0.1)


def squat(world: World, name: str = "deep-seek") -> None:
    squatter = RegistryClient(
        world.client.w3, world.client.address, account=Account.from_key(ANVIL_DEV_KEYS[9]),
        deploy_block=world.client.deploy_block,
    )  # fmt: skip
    squatter.claim_namespace(name)
    world.sync()


# --- pages through TestClient --------------------------------------------------------------


def test_home_has_search_check_form_and_recent_releases(world: World) -> None:
    html, text = page(world, "/")
    assert '<label for="q">' in html and 'id="q" name="q"' in html
    assert '<label for="url">' in html and '<label for="release">' in html and 'action="/check"' in html
    assert 'href="/r/deepseek/chat/1.0.0"' in html
    assert "Recent releases" in text and str(REL) in text
    assert world.client.address in text  # the footer names the registry the facts come from


def test_search_by_namespace_release_name_and_weights_digest(world: World) -> None:
    digest = world.manifest.weights.digest
    _, text = page(world, "/search", q="deep")
    assert "Namespaces" in text and "deepseek" in text and str(REL) in text
    html, text = page(world, "/search", q="chat")
    assert 'href="/r/deepseek/chat/1.0.0"' in html and "No namespace matches" in text
    html, text = page(world, "/search", q="deepseek/chat/1")
    assert 'href="/r/deepseek/chat/1.0.0"' in html
    _, text = page(world, "/search", q="deepseek/chat/2")
    assert "No release matches" in text
    for q in (digest, "0x" + digest.upper()):
        html, text = page(world, "/search", q=q)
        assert f"Releases with weights {digest}" in text and 'href="/r/deepseek/chat/1.0.0"' in html
    _, text = page(world, "/search", q="00" * 32)
    assert "No release anchors these weights" in text
    _, text = page(world, "/search", q="")
    assert "Namespace, release name or weights digest" in text  # the form alone
    _, text = page(world, "/search", 422, q="x" * 300)
    assert "too long" in text
    _, text = page(world, "/search", 422, q="deep\x00seek")
    assert "control characters" in text


def test_confusable_names_are_flagged_on_search_namespace_and_check(world: World) -> None:
    html, text = page(world, "/search", q="deep-seek")
    assert "Did you mean deepseek?" in text and 'href="/ns/deepseek"' in html
    _, text = page(world, "/ns/deep-seek", 404)
    assert "Namespace not found" in text and "Did you mean deepseek?" in text
    _, text = page(world, "/search", q="deepseek")
    assert "could be mistaken" not in text and "Did you mean" not in text
    squat(world)
    warning = "Warning: “deep-seek” could be mistaken for deepseek"
    assert warning in eventually(world, "/search", warning, q="deep-seek")
    text = eventually(world, "/ns/deep-seek", warning)
    assert warning in text and "separator" in text
    notice = "Look-alikes registered later: deep-seek (separator)."  # a notice for the original's owner
    text = eventually(world, "/ns/deepseek", notice)  # first registration wins: the original carries no warning
    assert notice in text and "could be mistaken for" not in text and "Warning" not in text
    html, _ = page(world, "/ns/deepseek")
    assert 'id="confusables"' not in html and '<div class="notice info" id="lookalikes">' in html
    _, text = page(world, "/ns/deep-seek")
    assert "Look-alikes registered later" not in text
    text = eventually(world, "/check", warning, url="http://127.0.0.1:9", release="deep-seek/chat/1.0.0")
    assert warning in text
    assert "names skip warning" in text and "could be mistaken for one registered before it" in text
    assert "Look-alike name — " in text  # in the banner
    assert "release fail deep-seek/chat/1.0.0 is not registered" in text


def test_namespace_page_shows_controller_signers_operators_releases_events(world: World) -> None:
    html, text = page(world, "/ns/deepseek")
    assert "Namespace deepseek" in text
    assert world.client.account.address in text  # type: ignore[union-attr]
    assert world.key.did in text and "no end" in text and "Valid from" in text
    assert world.operator in text and "deepseek/chat (model)" in text
    assert 'href="/r/deepseek/chat/1.0.0"' in html
    for event in ("NamespaceClaimed", "SignerAdded", "ReleasePublished", "OperatorAuthorized", "Endorsed"):
        assert event in text
    assert '<th scope="col">Signer (DID)</th>' in html


def test_release_page_shows_digests_publisher_signer_operators_endorsements_history(world: World) -> None:
    html, text = page(world, f"/r/{REL}")
    assert world.manifest.weights.digest in text and world.manifest.digest.hex in text
    assert world.client.account.address in text  # type: ignore[union-attr]
    assert world.key.did in text and world.operator in text
    regulator = world.regulator.account.address  # type: ignore[union-attr]
    short = f"{regulator[:6]}\u2026{regulator[-4:]}"
    assert f"filing.submitted trusted for filing.submitted {short} {regulator} trusted" in text  # label, then address
    assert f'<summary title="{regulator}"><code>{short}</code></summary><code>{regulator}</code>' in html
    history = text[text.index("History") :]
    assert "publishedAt 20" in history and " UTC " in history  # times for people, not unix seconds
    assert not re.search(r"\b1[0-9]{9}\b", history)
    assert "The manifest has not been uploaded to this verifier" in text
    assert "ReleasePublished" in text and "Endorsed" in text and "Revoked by" not in text
    assert f'href="/search?q={world.manifest.weights.digest}"' in html
    assert 'href="/check?release=deepseek/chat/1.0.0"' in html
    world.http.post("/v1/manifests", json=world.manifest.document())
    html, text = page(world, f"/r/{REL}")
    assert '<pre id="manifest">' in html and "Beijing-DS-2026-001" in text and '"type": "modelseal/manifest/v1"' in text
    world.client.revoke(REL, "recalled: wrong tokenizer")
    world.sync()
    _, text = page(world, f"/r/{REL}")
    assert "Revoked by its publisher" in text and "Reason: recalled: wrong tokenizer" in text
    assert "ReleaseRevoked" in text


def test_check_page_shows_verdict_checks_and_chain_view(world: World) -> None:
    html, text = page(world, "/check")
    assert "Chatbot URL" in text and 'id="verdict"' not in html
    html, _ = page(world, "/check", release=str(REL))  # the release page links here: the form, filled in
    assert 'value="deepseek/chat/1.0.0"' in html and 'id="verdict"' not in html and 'id="errors"' not in html
    html, text = page(world, "/check", url="http://127.0.0.1:9", release=str(REL))
    assert re.search(r'<p class="verdict" id="verdict">unverified</p>', html)
    for row in (
        "release pass deepseek/chat/1.0.0 is registered",
        "not-revoked pass not revoked",
        "identity fail",  # this verifier refuses loopback targets: nothing was contacted
    ):
        assert row in text
    assert "Chain 31337 · development chain (anvil / Hardhat)" in text and world.client.address in text
    assert re.search(r"Checked at \d{4}-\d\d-\d\d \d\d:\d\d UTC against chain 31337", text)
    assert "Unverified: 2 checks did not pass: the identity claim failed" not in text
    assert "Unverified: the identity claim failed: 127.0.0.1 is a loopback address" in text
    assert "POST /v1/" not in text  # the page offers no API call to a person
    assert 'value="http://127.0.0.1:9"' in html and 'value="deepseek/chat/1.0.0"' in html
    _, text = page(world, "/check", url="http://127.0.0.1:9")
    assert "release skip no claimed release given" in text and "loopback" in text
    _, text = page(world, "/check", 422, url="ftp://x", release="Deep/x")
    assert "The URL must start with https:// or http://" in text and "The release is not a valid name" in text
    _, text = page(world, "/check", 422, url="")
    assert "Paste the chatbot's address" in text
    world.client.revoke(REL, "recalled")
    world.sync()
    html, _ = page(world, "/check", url="http://127.0.0.1:9", release=str(REL))
    assert '<p class="verdict" id="verdict">revoked</p>' in html


def test_filings_page(world: World) -> None:
    _, text = page(world, "/filings")
    assert "No uploaded manifest declares a filing yet" in text
    assert world.regulator.account.address.lower() in text  # type: ignore[union-attr]
    world.http.post("/v1/manifests", json=world.manifest.document())
    html, text = page(world, "/filings")
    assert "CN Beijing-DS-2026-001 deepseek/chat/1.0.0 submitted" in text
    assert 'href="/r/deepseek/chat/1.0.0"' in html


def test_not_found_is_an_html_page_and_the_api_keeps_problem_details(world: World) -> None:
    _, text = page(world, "/r/deepseek/chat/9.9", 404)
    assert "Release not found" in text and "deepseek/chat/9.9 is not published" in text
    _, text = page(world, "/r/nobody/chat/1.0", 404)
    assert "Release not found" in text
    _, text = page(world, "/ns/%00", 404)
    assert "Namespace not found" in text
    for path in ("/nothing-here", "/r/deepseek", "/ns/"):
        _, text = page(world, path, 404)
        assert "Not found" in text and "There is no page at this address" in text
    resp = world.http.post("/search")
    assert resp.status_code == 405 and resp.headers["content-type"].startswith("text/html")
    for path in ("/v1/nothing-here", "/v1/releases/deepseek/chat/9.9"):
        resp = world.http.get(path)
        assert resp.status_code == 404 and resp.headers["content-type"].startswith("application/problem+json")
    assert world.http.get("/v1/health").json()["status"] == "ok"
    assert not any(
        p.startswith(("/search", "/ns", "/r/", "/check")) for p in world.http.get("/openapi.json").json()["paths"]
    )


def test_errors_behind_a_page_are_html_pages(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    def unreachable() -> None:
        raise ChainError("cannot reach the chain at http://127.0.0.1:1 (ConnectError)")

    monkeypatch.setattr(world.app.state.services, "chain_view", unreachable)
    _, text = page(world, "/check", 503, url="http://127.0.0.1:9", release=str(REL))
    assert "The chain could not be read" in text and "cannot reach the chain" in text
    assert world.http.get("/v1/check", params={"url": "http://127.0.0.1:9"}).headers["content-type"] == PROBLEM_JSON

    def broken(*args: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("verifier.index.queries.filings", broken)
    resp = TestClient(world.app, raise_server_exceptions=False).get("/filings")
    assert resp.status_code == 500 and resp.headers["content-type"].startswith("text/html")
    assert "Internal error" in text_of(resp.text) and "boom" not in resp.text


def test_values_from_the_chain_and_the_query_are_escaped(world: World) -> None:
    evil_did = f"did:web:{XSS}"
    with pytest.raises(RegistryRevert, match="refuses the DID"):  # a DID has one strict form on chain now
        world.client.authorize_operator("deepseek", "chat", None, evil_did, world.client.now() + 3600)
    evil = ReleaseName("deepseek", "chat", "<b>2</b>")
    world.client.publish(evil, os.urandom(32), os.urandom(32), world.key.did)
    world.client.revoke(evil, f'{XSS} "quoted" & <img src=x onerror=alert(2)>')
    world.regulator.endorse(REL, "<i>kind's</i>", os.urandom(32))
    world.sync()
    html, text = page(world, "/ns/deepseek")
    assert 'href="/r/deepseek/chat/%3Cb%3E2%3C%2Fb%3E"' in html and "deepseek/chat/<b>2</b>" in text
    assert "<b>2</b>" not in html and "<img" not in html
    html, text = page(world, "/r/deepseek/chat/%3Cb%3E2%3C%2Fb%3E")  # the link above leads to the release
    assert "Revoked by its publisher" in text and f'{XSS} "quoted" & <img src=x onerror=alert(2)>' in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &#34;quoted&#34; &amp; &lt;img src=x onerror=alert(2)&gt;" in html
    assert "<img" not in html
    html, text = page(world, f"/r/{REL}")
    assert "&lt;i&gt;kind&#39;s&lt;/i&gt;" in html and "<i>kind's</i> " in text  # quotes too: names may hold <>"'
    html, text = page(world, "/search", q='"><script>x</script>')
    assert "&#34;&gt;&lt;script&gt;x&lt;/script&gt;" in html and '"><script>x</script>' in text
    html, _ = page(world, "/check", url=f"http://127.0.0.1:9/{XSS}", release=str(REL))
    assert "http://127.0.0.1:9/&lt;script&gt;" in html
    html, _ = page(world, "/ns/<script>", 404)
    assert "&lt;script&gt;" in html


# --- a person in a real browser ------------------------------------------------------------


@pytest.fixture
def live_server(world: World) -> Iterator[str]:
    """The app served by uvicorn on a free loopback port, in a background thread."""
    with serve_app(world.app) as url:
        yield url


@contextmanager
def chromium(profile: Path) -> Iterator[Any]:
    """Headless Debian Chromium through its chromedriver (Selenium Manager never downloads)."""
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.fail("chromium and chromium-driver are expected in /usr/bin (Debian packages, installed by `make test`)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--hide-scrollbars",
        "--window-size=1280,1000",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(arg)
    options.binary_location = str(CHROMIUM)
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    try:
        driver.set_page_load_timeout(120)
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    with chromium(tmp_path / "chromium-profile") as driver:
        yield driver


def test_a_person_searches_opens_a_release_and_checks_a_url(world: World, live_server: str, browser: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    b = browser
    wait = WebDriverWait(b, 60)

    def heading() -> str:
        return str(b.find_element(By.TAG_NAME, "h1").text)

    def seen() -> str:
        return str(b.find_element(By.TAG_NAME, "body").text)

    def submit(field_id: str, value: str) -> None:
        field = b.find_element(By.ID, field_id)
        field.clear()
        field.send_keys(value)
        old = b.find_element(By.TAG_NAME, "html")
        field.find_element(By.XPATH, "./ancestor::form//button[@type='submit']").click()
        wait.until(ec.staleness_of(old))

    # search from the home page, the way a person does: the labelled box, then the button
    b.get(live_server + "/")
    assert "Which model does this chatbot really run?" in heading()
    assert b.find_element(By.CSS_SELECTOR, "label[for=q]").text == "Namespace, release name or weights digest"
    submit("q", "deepseek")
    assert heading() == "Search results for “deepseek”"
    assert "deepseek/chat/1.0.0" in seen()

    # open the release from the results
    b.find_element(By.LINK_TEXT, str(REL)).click()
    wait.until(ec.text_to_be_present_in_element((By.TAG_NAME, "h1"), str(REL)))
    assert b.current_url == f"{live_server}/r/deepseek/chat/1.0.0"
    assert b.find_element(By.ID, "weights-digest").text == world.manifest.weights.digest
    assert b.find_element(By.ID, "publisher").text == world.client.account.address  # type: ignore[union-attr]
    assert b.find_element(By.ID, "signer").text == world.key.did
    operators = b.find_element(By.ID, "operators").text
    assert world.operator in operators and "deepseek/chat (model)" in operators
    endorsement = b.find_element(By.CSS_SELECTOR, "#endorsements tbody tr").text
    assert "filing.submitted" in endorsement and "trusted" in endorsement
    assert "Revoked by its publisher" not in seen()

    # the weights digest typed into the search box in the header finds the release
    submit("site-q", world.manifest.weights.digest)
    assert f"Releases with weights {world.manifest.weights.digest}" in seen()
    assert b.find_element(By.LINK_TEXT, str(REL)).is_displayed()

    # check a chatbot URL against the release it claims
    b.find_element(By.LINK_TEXT, "Check a chatbot").click()
    wait.until(ec.text_to_be_present_in_element((By.TAG_NAME, "h1"), "Check a chatbot"))
    b.find_element(By.ID, "url").send_keys("http://127.0.0.1:9")
    submit("release", str(REL))
    verdict = b.find_element(By.ID, "verdict")
    assert verdict.is_displayed() and verdict.text == "unverified"
    rows = {
        tr.find_element(By.TAG_NAME, "th").text: tr.find_elements(By.TAG_NAME, "td")[0].text
        for tr in b.find_elements(By.CSS_SELECTOR, "#checks tbody tr")
    }
    assert rows == {"release": "pass", "not-revoked": "pass", "identity": "fail", "behaviour": "skip warning"}
    chain = b.find_element(By.ID, "chain").text
    assert "31337" in chain and world.client.address in chain
    assert b.find_element(By.ID, "url").get_attribute("value") == "http://127.0.0.1:9"

    # a look-alike name: "did you mean", then once someone claims it, a warning everywhere
    submit("site-q", "deep-seek")
    warning = b.find_element(By.ID, "confusables")
    assert warning.is_displayed() and warning.text.startswith("Did you mean deepseek?")
    squat(world)

    def warned(driver: Any) -> Any:  # reload until the page knows the new name (look-ups may be cached)
        driver.refresh()
        found = driver.find_elements(By.ID, "confusables")
        return found[0] if found and found[0].text.startswith("Warning") else False

    warning = WebDriverWait(b, 10, poll_frequency=0.25).until(warned)
    assert warning.is_displayed()
    assert warning.text.startswith("Warning: “deep-seek” could be mistaken for deepseek.")
    b.find_element(By.LINK_TEXT, "deep-seek").click()
    wait.until(ec.text_to_be_present_in_element((By.TAG_NAME, "h1"), "Namespace deep-seek"))
    assert "could be mistaken for deepseek" in b.find_element(By.ID, "confusables").text
    b.get(f"{live_server}/check")
    b.find_element(By.ID, "url").send_keys("http://127.0.0.1:9")
    submit("release", "deep-seek/chat/1.0.0")
    assert b.find_element(By.ID, "verdict").text == "unverified"
    assert b.find_element(By.ID, "confusables").is_displayed()
    assert "could be mistaken for deepseek" in b.find_element(By.ID, "confusables").text
    names_row = b.find_element(By.XPATH, "//table[@id='checks']//tr[th='names']").text
    assert "skip" in names_row and "could be mistaken for one registered before it: deepseek" in names_row


# --- the behavioural check's button, and what every page says -----------------------------


def test_a_behavioural_check_starts_only_from_this_site_for_a_registered_release(world: World) -> None:
    html, text = page(world, "/check", url="http://127.0.0.1:9", release=str(REL))
    assert "holds no reference weights for deepseek/chat/1.0.0" in text and 'id="start-behaviour"' not in html
    start = "/check/behaviour"
    params = {"url": "http://127.0.0.1:9", "release": str(REL)}
    for headers in ({"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"}, {"Origin": "https://evil.example"},
                    {"Origin": "null"}):  # fmt: skip
        resp = world.http.post(start, params=params, headers=headers, follow_redirects=False)
        assert resp.status_code == 403 and resp.headers["content-type"].startswith("text/html"), headers
        assert "starts only from this verifier's own check page" in text_of(resp.text)
        assert "default-src 'none'" in resp.headers["content-security-policy"]
    same = {"Sec-Fetch-Site": "same-origin"}
    for bad, says in (
        ({"url": "ftp://x", "release": str(REL)}, "The URL must start with https:// or http://"),
        ({"url": "http://127.0.0.1:9"}, "Name the release the chatbot claims to run"),
        ({"url": "http://127.0.0.1:9", "release": "Deep/x"}, "The release is not a valid name"),
    ):
        resp = world.http.post(start, params=bad, headers=same, follow_redirects=False)
        assert resp.status_code == 422 and says in text_of(resp.text), (bad, resp.text[:300])
    resp = world.http.post(start, params={**params, "release": "deepseek/chat/9.9"}, headers=same)
    assert resp.status_code == 404 and "deepseek/chat/9.9 is not published" in text_of(resp.text)
    resp = world.http.post(start, params=params, headers={"Origin": "http://testserver"}, follow_redirects=False)
    assert resp.status_code == 422 and "holds no reference weights" in text_of(resp.text)
    assert "modelseal reference add FILE" in text_of(resp.text)
    _, text = page(world, "/check/behaviour/0123456789abcdef", 404)
    assert "There is no behavioural check with this id" in text
    assert world.http.get(start).status_code == 405


def test_every_page_names_the_chain_and_the_indexed_block(world: World) -> None:
    block = world.client.block_number()
    for path, status in (("/", 200), ("/search?q=deep", 200), ("/ns/deepseek", 200), ("/ns/nobody", 404),
                         (f"/r/{REL}", 200), ("/r/deepseek/chat/9", 404), ("/check", 200), ("/filings", 200),
                         ("/nothing-here", 404)):  # fmt: skip
        html, text = page(world, path, status)
        assert 'class="chainline dev" id="chain-line"' in html, path
        line = text[text.index("Chain 31337") :]
        assert line.startswith(
            "Chain 31337 · development chain (anvil / Hardhat): anyone can run and rewrite it, so its facts prove "
            f"nothing to others · registry {world.client.address[:6]}\u2026{world.client.address[-4:]} · indexed to "
            f"block {block} ("
        ), (path, line[:300])


def test_times_hashes_and_event_details_for_people() -> None:
    from verifier.web import _short, event_details, readable_time

    assert readable_time("2026-11-30T14:03:59Z") == "2026-11-30 14:03 UTC"
    assert readable_time(1796005129) == "2026-11-30 02:18 UTC"
    assert readable_time(2**64 - 1) == "+584554051223-11-09 07:00 UTC"  # any uint64 a transaction chose
    assert _short("0x14dC79964da2C08b23698B3D3cc7Ca32193d9955") == "0x14dC\u20269955"
    assert _short("4f2adaa0d81197090f909ecf0c31a70d122a94613f8a3ca292a10090cf78bafd") == "4f2adaa0\u2026bafd"
    assert _short("did:key:z6Mkm6a74GafAsS8WL6MYKq1CGeAibBFTze3Zpx6nPabEjPs") == "did:key:z6Mkm6\u2026EjPs"
    assert _short("deepseek/chat") == "deepseek/chat"
    shown = event_details(
        {"namespaceId": "0x" + "ab" * 32, "didHash": "0x" + "cd" * 32, "namespace": "deepseek", "validFrom": 1796005129,
         "validUntil": 0, "did": "did:key:z6Mkm6a74GafAsS8WL6MYKq1CGeAibBFTze3Zpx6nPabEjPs", "origins": [],
         "time": 1796005129, "weightsDigest": "0x" + "ef" * 32}
    )  # fmt: skip
    assert [(d["key"], d["kind"]) for d in shown] == [
        ("namespace", "text"), ("validFrom", "time"), ("did", "hash"), ("time", "time"), ("weightsDigest", "hash")
    ]  # fmt: skip
