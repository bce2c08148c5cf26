"""The web page as a person sees it, in real headless Chromium at a desktop's 1280 CSS px and a
phone's 390 CSS px: no page scrolls sideways, the header's search button is whole, the check's
banner names what failed and lists the warnings (amber when ``verified`` carries warnings, never
green), and a behavioural check starts from a button and shows its progress without JavaScript.

The world is real: a throwaway anvil, the SmolLM2 release served by ``modelseal serve`` (llama.cpp)
with an authorised key, a look-alike namespace claimed later serving the same weights, a site
relaying the genuine operator's answers, a regulator's trusted endorsement of a filing. Screenshots
of the check page (verified, mismatch, warning) at both widths are written to
``test-artifacts/screenshots/`` (ignored by git) for a reviewer to look at.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from servers import serve_app
from test_identity_e2e import REL, Env, _Proxy
from test_web import chromium

from registry.chain.client import ANVIL_DEV_KEYS, RegistryClient
from registry.chain.devchain import free_port
from registry.hashing.model import hash_model
from registry.names import ReleaseName
from registry.signing.keys import Ed25519Key
from registry.signing.manifest import Manifest
from registry.signing.proofs import sign_manifest
from tools.waiting import wait_http
from verifier.app import create_app
from verifier.settings import VerifierSettings

SCREENSHOTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "screenshots"
WIDTHS = {"phone": 390, "desktop": 1280}
FILED = ReleaseName("smollm", REL.model, "1.1.0-cn")
LOOKALIKE = ReleaseName("smol-lm", REL.model, "1.0.0")


class Site(Env):
    """:class:`test_identity_e2e.Env` (anvil, the SmolLM2 release, operator keys) and more to show:
    a second release with a regulator filing (manifest uploaded, endorsed by a trusted regulator), a
    look-alike namespace claimed later that serves the same weights with its own authorised key, and
    a verifier that trusts the regulator and holds the SmolLM2 weights as a reference."""

    def __init__(self, root: Path, model: Path) -> None:
        super().__init__(root, model)
        w3 = self.client.w3
        regulator = RegistryClient(
            w3, self.client.address, account=Account.from_key(ANVIL_DEV_KEYS[8]), deploy_block=self.client.deploy_block
        )
        squatter = RegistryClient(
            w3, self.client.address, account=Account.from_key(ANVIL_DEV_KEYS[9]), deploy_block=self.client.deploy_block
        )
        self.regulator = regulator.account.address  # type: ignore[union-attr]
        md = hash_model(model)
        signer = Ed25519Key.generate()
        self.client.add_signer("smollm", signer.did)
        filing = {"jurisdiction": "CN", "number": "Beijing-SM-2026-042"}
        self.filed = sign_manifest(Manifest.create(FILED, signer.did, md, filing=filing), signer)
        self.client.publish(FILED, self.filed.digest.value, md.weights.value, signer.did)
        regulator.endorse(FILED, "filing.submitted", os.urandom(32))
        squatter.claim_namespace(LOOKALIKE.namespace)
        squatter_key = Ed25519Key.generate()
        squatter.add_signer(LOOKALIKE.namespace, squatter_key.did)
        copied = sign_manifest(Manifest.create(LOOKALIKE, squatter_key.did, md), squatter_key)
        squatter.publish(LOOKALIKE, copied.digest.value, md.weights.value, squatter_key.did)
        squatter.authorize_operator(
            LOOKALIKE.namespace, LOOKALIKE.model, None, self.stranger.did, self.client.now() + 10**6
        )
        self.settings = VerifierSettings(
            home=root / "verifier-web",
            rpc_url=self.rpc,
            registry=self.client.address,
            deploy_block=self.client.deploy_block,
            index_in_background=False,
            allow_loopback_targets=True,
            trust={"filing.submitted": [self.regulator], "filing.approved": []},
            trust_labels={self.regulator: "Beijing Cyberspace Administration"},
        )
        self.app = create_app(self.settings)
        self.services = self.app.state.services
        self.services.indexer.sync_once()
        from fastapi.testclient import TestClient

        self.http = TestClient(self.app)
        assert self.http.post("/v1/manifests", json=self.filed.document()).status_code in (200, 201)
        self.services.behaviour.store.add(model)

    def serve_release(self, key: str, release: ReleaseName) -> str:
        """``modelseal serve`` of the SmolLM2 file as ``release`` with ``key`` (Env.serve serves REL only)."""
        port = free_port()
        cmd = [sys.executable, "-m", "registry", "serve", str(self.model), "--release", str(release), "--key", key]
        proc = subprocess.Popen([*cmd, "--port", str(port)], env=self.env, stderr=subprocess.PIPE)
        self.procs.append(proc)
        url = f"http://127.0.0.1:{port}"
        wait_http(url + "/.well-known/model-identity", proc)
        return url


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, smollm_model: Path) -> Iterator[Site]:
    s = Site(tmp_path_factory.mktemp("web-layout"), smollm_model)
    try:
        yield s
    finally:
        s.close()


@pytest.fixture(scope="module")
def honest(site: Site) -> str:
    return site.serve("honest")


@pytest.fixture(scope="module")
def lookalike(site: Site) -> str:
    """The look-alike namespace's own authorised operator, serving the same weights."""
    return site.serve_release("stranger", LOOKALIKE)


@pytest.fixture(scope="module")
def relay(honest: str) -> Iterator[str]:
    """A site at its own address relaying every byte to the genuine operator."""
    proxy = _Proxy(honest, "transparent")
    yield proxy.url
    proxy.server.shutdown()


@pytest.fixture(scope="module")
def live(site: Site) -> Iterator[str]:
    with serve_app(site.app) as url:
        yield url


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with chromium(tmp_path_factory.mktemp("chromium") / "profile") as driver:
        yield driver


# --- what every page must pass at both widths ------------------------------------------------


def at_width(b: Any, width: int) -> None:
    """Lay pages out as a ``width`` CSS px screen: a phone (touch, device-width viewport) below
    1000 px, a desktop otherwise. The page's own ``<meta name="viewport">`` makes the phone's
    layout viewport its width; without it a phone lays pages out at 980 px."""
    phone = width < 1000
    b.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": 844 if phone else 1000, "deviceScaleFactor": 1, "mobile": phone},
    )


def layout(b: Any) -> dict[str, Any]:
    found: dict[str, Any] = b.execute_script(
        """
        const doc = document.documentElement;
        const button = document.querySelector('#site-search button');
        const box = button ? button.getBoundingClientRect() : null;
        const hit = box ? document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2) : null;
        const wide = [...document.querySelectorAll('body *')]
            .filter(e => e.getBoundingClientRect().right > doc.clientWidth + 0.5 && !e.closest('.scroll'))
            .slice(0, 5).map(e => e.tagName + (e.id ? '#' + e.id : '') + ' ' + (e.textContent || '').slice(0, 40));
        return {scrollWidth: doc.scrollWidth, clientWidth: doc.clientWidth, innerWidth: window.innerWidth,
                button: box && {left: box.left, right: box.right, top: box.top, bottom: box.bottom},
                buttonHit: hit === button || (hit !== null && button !== null && button.contains(hit)), wide: wide};
        """
    )
    return found


def assert_fits(b: Any, width: int, where: str, header_search: bool = True) -> None:
    """No sideways scrolling at ``width``, and the header's Search button whole and clickable."""
    got = layout(b)
    assert got["innerWidth"] == width and got["clientWidth"] == width, (where, got)  # the viewport really is that wide
    assert got["scrollWidth"] <= got["clientWidth"], (where, got)
    if header_search:
        box = got["button"]
        assert box is not None, (where, "no search button in the header")
        assert box["left"] >= 0 and box["right"] <= got["clientWidth"] and box["top"] >= 0, (where, got)
        assert got["buttonHit"], (where, "the header's search button is covered", got)


def screenshot(b: Any, name: str) -> Path:
    """The whole page (not only the viewport) as a PNG in test-artifacts/screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    size = b.execute_script("return [document.documentElement.clientWidth, document.documentElement.scrollHeight]")
    shot = b.execute_cdp_cmd(
        "Page.captureScreenshot",
        {
            "format": "png",
            "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": size[0], "height": size[1], "scale": 1},
        },
    )
    path = SCREENSHOTS / f"{name}.png"
    path.write_bytes(base64.b64decode(shot["data"]))
    return path


def pages(live: str, honest: str) -> dict[str, tuple[str, bool]]:
    """Every kind of page: its URL, and whether it has the header's search box (home has its own)."""
    from urllib.parse import urlencode

    return {
        "home": (live + "/", False),
        "search results": (live + "/search?q=smol", True),
        "search for a long word": (live + "/search?" + urlencode({"q": "x" * 200}), True),
        "search by weights": (live + "/search?q=" + "00" * 32, True),
        "namespace": (live + "/ns/smollm", True),
        "look-alike namespace": (live + "/ns/smol-lm", True),
        "missing namespace": (live + "/ns/smol_lm", True),
        "release": (live + f"/r/{FILED}", True),
        "missing release": (live + f"/r/{REL.namespace}/{REL.model}/9.9.9", True),
        "check form": (live + "/check", True),
        "check result": (live + "/check?" + urlencode({"url": honest, "release": str(REL)}), True),
        "check refused": (live + "/check?" + urlencode({"url": "ftp://" + "x" * 300}), True),
        "filings": (live + "/filings", True),
        "error page": (live + "/nothing-here", True),
    }


def test_no_page_scrolls_sideways_at_1280_and_390_px(site: Site, honest: str, live: str, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    b = browser
    for label, width in WIDTHS.items():
        at_width(b, width)
        for name, (url, header_search) in pages(live, honest).items():
            b.get(url)
            where = f"{name} at {width} px ({label})"
            assert_fits(b, width, where, header_search)
            line = b.find_element(By.ID, "chain-line").text
            assert "Chain 31337" in line and "development chain" in line and "indexed to block" in line, (where, line)
    at_width(b, 390)
    b.get(live + f"/r/{FILED}")
    assert b.find_element(By.ID, "weights-digest").is_displayed()
    endorser = b.find_element(By.CSS_SELECTOR, "#endorsements tbody tr").text
    assert "Beijing Cyberspace Administration · trusted for filing.submitted" in endorser  # not a bare address
    b.get(live + "/ns/smollm")
    assert "Look-alikes registered later: smol-lm" in b.find_element(By.ID, "lookalikes").text
    assert not b.find_elements(By.ID, "confusables")  # first registration wins: no warning on the original
    assert "UTC" in b.find_element(By.CSS_SELECTOR, "table.events").text
    assert "1796" not in b.find_element(By.CSS_SELECTOR, "table.events").text  # no unix seconds


def _banner(b: Any) -> dict[str, Any]:
    from selenium.webdriver.common.by import By

    box = b.find_element(By.ID, "verdict-box")
    warnings = [li.get_attribute("data-code") for li in box.find_elements(By.CSS_SELECTOR, "#warnings li")]
    colour = b.execute_script("return getComputedStyle(arguments[0]).backgroundColor", box)
    return {
        "verdict": b.find_element(By.ID, "verdict").text,
        "reason": b.find_element(By.ID, "verdict-reason").text,
        "warnings": warnings,
        "class": box.get_attribute("class"),
        "colour": colour,
        "text": box.text,
    }


GREEN = "rgb(218, 251, 225)"
AMBER = "rgb(255, 248, 197)"
RED = "rgb(255, 235, 233)"


def test_check_page_banner_names_failures_and_shows_warnings(
    site: Site, honest: str, lookalike: str, relay: str, live: str, browser: Any
) -> None:
    from urllib.parse import urlencode

    from selenium.webdriver.common.by import By

    b = browser
    states = {
        "verified": {"url": honest, "release": str(REL)},
        "mismatch": {"url": relay, "release": str(REL)},
        "warning": {"url": lookalike, "release": str(LOOKALIKE)},
    }
    for width in WIDTHS.values():
        at_width(b, width)
        for state, params in states.items():
            b.get(live + "/check?" + urlencode(params))
            where = f"check page, {state}, at {width} px"
            assert_fits(b, width, where)
            seen = _banner(b)
            # the warnings come first in the banner, right under the verdict word, before any explanation
            assert seen["text"].index("warning") < seen["text"].index("Checked at"), (where, seen["text"])
            assert "Checked at" in seen["text"] and "UTC" in seen["text"] and "chain 31337" in seen["text"]
            if state == "verified":
                # a dev chain always warns: verified, but amber and never green
                assert seen["verdict"] == "verified" and "dev-chain" in seen["warnings"], (where, seen)
                assert "warned" in seen["class"] and seen["colour"] == AMBER, (where, seen)
            elif state == "mismatch":
                assert seen["verdict"] == "mismatch" and seen["colour"] == RED, (where, seen)
                assert seen["reason"].startswith("Mismatch: the challenge failed:"), (where, seen)
                assert f"relayed from the genuine operator at {honest}" in seen["reason"], (where, seen)
                assert seen["warnings"][0] == "relayed-answers", (where, seen)
            else:
                assert seen["verdict"] == "verified" and seen["colour"] == AMBER, (where, seen)
                assert seen["warnings"][0] == "confusable-name" and "dev-chain" in seen["warnings"], (where, seen)
                assert "Look-alike name" in seen["text"]
                assert "could be mistaken for smollm" in b.find_element(By.ID, "confusables").text
            assert seen["colour"] != GREEN, "a warning never sits under a green banner"
            assert "POST /v1/" not in b.find_element(By.TAG_NAME, "body").text
            print("screenshot:", screenshot(b, f"check-{state}-{width}px"))


def test_a_behavioural_check_starts_from_a_button_and_shows_its_progress(
    site: Site, honest: str, live: str, browser: Any
) -> None:
    from urllib.parse import urlencode

    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    b = browser
    at_width(b, 390)
    url = honest + "/"  # the chatbot as one app knows it: its own record of behavioural checks
    b.get(live + "/check?" + urlencode({"url": url, "release": str(REL)}))
    row = b.find_element(By.ID, "check-behaviour").text
    assert "no behavioural check has run" in row and "POST" not in row
    old = b.find_element(By.TAG_NAME, "html")
    b.find_element(By.ID, "start-behaviour").click()
    WebDriverWait(b, 30).until(ec.staleness_of(old))
    assert b.current_url.startswith(live + "/check/behaviour/")
    assert b.find_element(By.TAG_NAME, "h1").text == "Behavioural check"
    state = b.find_element(By.ID, "job-state").text
    assert state in ("queued", "running", "done"), state
    if state != "done":
        assert b.find_elements(By.CSS_SELECTOR, 'meta[http-equiv="refresh"]')  # reloads itself, no script
        assert_fits(b, 390, "behavioural check in progress")
        screenshot(b, "behaviour-running-390px")

    def finished(driver: Any) -> bool:  # the page reloads itself every few seconds
        found = driver.find_elements(By.ID, "job-state")
        return bool(found) and found[0].text in ("done", "error")

    WebDriverWait(b, 240, poll_frequency=1).until(finished)
    assert b.find_element(By.ID, "job-state").text == "done", b.find_element(By.TAG_NAME, "body").text
    assert not b.find_elements(By.CSS_SELECTOR, 'meta[http-equiv="refresh"]')
    result = b.find_element(By.ID, "job-result").text
    assert result.startswith("pass"), result
    assert_fits(b, 390, "behavioural check done")
    screenshot(b, "behaviour-done-390px")
    b.find_element(By.ID, "back-to-check").click()
    WebDriverWait(b, 60).until(ec.presence_of_element_located((By.ID, "verdict")))
    assert b.find_element(By.CSS_SELECTOR, "#check-behaviour .tag").text == "pass", b.find_element(By.ID, "checks").text
    seen = _banner(b)
    assert seen["verdict"] == "verified" and seen["warnings"] == ["dev-chain"], seen
