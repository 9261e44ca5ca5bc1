"""spice-html5 in headless Chromium, driven through Playwright: the browser-side real client.

Both come from Debian (``spice-html5``, ``chromium``); Playwright only drives the browser,
launched from Debian's binary. spice-html5's own page, ``spice_auto.html``, is loaded with
its ``host``/``port`` arguments from a small HTTP server on the loopback that serves the
Debian package's files. The page's host name is the test's choice: Chromium resolves a
made-up "foreign" name to the same loopback server, so a test can show the server a page
from elsewhere (a browser sends the page's origin with the WebSocket upgrade).

Over TLS (``Browsers(tls=...)``) the page itself comes over HTTPS, since spice_auto.html
opens wss:// exactly when its page is https://, and Chromium accepts the test's server
certificate by its public key alone (``--ignore-certificate-errors-spki-list``), trusting
nothing else it would not trust anyway.

The page must really come from a loopback address: Chromium blocks pages whose server is
not on the local network from opening connections to it (Local Network Access checks).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import http.server
import shutil
import ssl
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import numpy as np
from playwright.sync_api import Browser, Error, Page, Playwright, sync_playwright

SPICE_HTML5_DIR = Path("/usr/share/spice-html5")
CHROMIUM = "chromium"
LOCAL_HOST = "localhost"
FOREIGN_HOST = "spice.example.com"  # resolved by the browser to the loopback server
SURFACE = "#spice_surface_0"  # the canvas spice-html5 makes for the primary surface

# The canvas's RGBA bytes as base64, read in slices (a huge string argument is slow).
_READ_CANVAS = """([selector, area]) => {
    const canvas = document.querySelector(selector);
    if (!canvas) return null;
    const [x, y, width, height] = area ?? [0, 0, canvas.width, canvas.height];
    const data = canvas.getContext('2d').getImageData(x, y, width, height).data;
    let binary = '';
    for (let i = 0; i < data.length; i += 0x8000)
        binary += String.fromCharCode.apply(null, data.subarray(i, i + 0x8000));
    return {width: width, height: height, rgba: btoa(binary)};
}"""


def check_browser_client() -> str:
    """The Chromium binary; fails loudly (never skips) when the browser or client is missing."""
    chromium = shutil.which(CHROMIUM)
    missing = []
    if chromium is None:
        missing.append("chromium")
    if not (SPICE_HTML5_DIR / "spice_auto.html").is_file():
        missing.append("spice-html5")
    if missing or chromium is None:
        raise RuntimeError(
            f"the browser client is missing: install the Debian packages {' '.join(missing)} "
            "(scripts/test.sh does)"
        )
    return chromium


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class Browsers:
    """One headless Chromium and the page's web server for a test module."""

    def __init__(self, tls: tuple[Path, Path] | None = None) -> None:
        """``tls``: the certificate and key of the page's server and of the SPICE server."""
        chromium = check_browser_client()
        handler = functools.partial(_QuietHandler, directory=str(SPICE_HTML5_DIR))
        self._web = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.web_port = self._web.server_address[1]
        self.scheme = "http"
        args = [f"--host-resolver-rules=MAP {FOREIGN_HOST} 127.0.0.1"]
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self._web.socket = context.wrap_socket(self._web.socket, server_side=True)
            self.scheme = "https"
            args.append(f"--ignore-certificate-errors-spki-list={_spki_hash(tls[0])}")
        threading.Thread(
            target=self._web.serve_forever, name="spice-html5 web", daemon=True
        ).start()
        self._playwright: Playwright = sync_playwright().start()
        try:
            self.browser: Browser = self._playwright.chromium.launch(
                executable_path=chromium,
                headless=True,
                args=args,
            )
        except Exception:
            self.close()
            raise

    def open(
        self,
        port: int,
        password: str | None = None,
        page_host: str = LOCAL_HOST,
        image_delay_ms: int = 0,
        image_jitter_ms: int = 0,
    ) -> Html5Client:
        """spice_auto.html from ``http://page_host:web_port``, connecting to ``port``;
        ``image_delay_ms``: images (spice-html5's JPEG) load that much later, as on a
        loaded machine; ``image_jitter_ms``: each up to that much later again, at random,
        so that they land in another order than sent, as a loaded browser's may."""
        query: dict[str, Any] = {"host": "127.0.0.1", "port": port}
        if password is not None:
            query["password"] = password
        url = f"{self.scheme}://{page_host}:{self.web_port}/spice_auto.html?{urlencode(query)}"
        return Html5Client(self.browser, url, image_delay_ms, image_jitter_ms)

    def close(self) -> None:
        if hasattr(self, "browser"):
            self.browser.close()
        self._playwright.stop()
        self._web.shutdown()
        self._web.server_close()


# Every image's onload handler runs that much later, and up to JITTER_MS more at random:
# spice-html5 draws a JPEG from one.
_DELAY_IMAGES = """
(() => {
    const onload = Object.getOwnPropertyDescriptor(HTMLElement.prototype, "onload");
    Object.defineProperty(HTMLImageElement.prototype, "onload", {
        configurable: true,
        get() { return onload.get.call(this); },
        set(handler) {
            const late = handler && function (event) {
                setTimeout(() => handler.call(this, event), DELAY_MS + JITTER_MS * Math.random());
            };
            onload.set.call(this, late);
        },
    });
})();
"""


class Html5Client:
    """One spice_auto.html page in a fresh browser context; its canvas and keyboard."""

    def __init__(
        self, browser: Browser, url: str, image_delay_ms: int = 0, image_jitter_ms: int = 0
    ) -> None:
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.page: Page = self.context.new_page()
        if image_delay_ms or image_jitter_ms:
            script = _DELAY_IMAGES.replace("DELAY_MS", str(image_delay_ms))
            self.page.add_init_script(script.replace("JITTER_MS", str(image_jitter_ms)))
        self.console: list[str] = []
        self.page.on("console", lambda message: self.console.append(message.text))
        self.page.on("pageerror", self._page_error)
        self.page.goto(url)

    def _page_error(self, error: Error) -> None:
        """Where spice-html5 failed too: its message alone rarely says what it was doing."""
        where = " | ".join((error.stack or "").splitlines()[1:4])
        self.console.append(f"page error: {error} at {where}")

    def canvas(self, area: tuple[int, int, int, int] | None = None) -> np.ndarray | None:
        """The primary surface as spice-html5 drew it, (h, w) uint32 0x00RRGGBB; None if none.
        ``area`` (x, y, width, height): only that part, which is quicker to read."""
        shot = self.page.evaluate(_READ_CANVAS, [SURFACE, area])
        if shot is None:
            return None
        rgba = np.frombuffer(base64.b64decode(shot["rgba"]), dtype=np.uint8)
        rgba = rgba.reshape(shot["height"], shot["width"], 4).astype(np.uint32)
        return (rgba[..., 0] << 16) | (rgba[..., 1] << 8) | rgba[..., 2]

    def wait_canvas(
        self,
        expected: np.ndarray,
        timeout: float = 20.0,
        lossy: tuple[int, int, int, int] | None = None,
        tolerance: float = 10.0,
    ) -> np.ndarray:
        """Poll the canvas until it equals ``expected`` (RGB bits): exactly, except inside
        ``lossy`` (x, y, width, height), where the mean error per channel must stay under
        ``tolerance``."""
        want = expected & 0x00FFFFFF
        exact = np.ones(want.shape, dtype=bool)
        if lossy is not None:
            x, y, width, height = lossy
            exact[y : y + height, x : x + width] = False
        deadline = time.monotonic() + timeout
        while True:
            got = self.canvas()
            state = "no canvas"
            if got is not None and got.shape != want.shape:
                state = f"canvas {got.shape[::-1]}, server {want.shape[::-1]}"
            elif got is not None:
                differ = int((got != want)[exact].sum())
                error = _mean_error(got[~exact], want[~exact]) if lossy is not None else 0.0
                if differ == 0 and error < tolerance:
                    return got
                state = f"{differ} pixels differ, mean error {error:.1f} in the lossy area"
            if time.monotonic() > deadline:
                raise AssertionError(f"spice-html5's canvas is not the server's: {state}\n{self}")
            time.sleep(0.1)

    def press(self, key: str) -> None:
        """A key pressed and released on the display canvas, as a user would."""
        self.page.focus(SURFACE)
        self.page.keyboard.press(key)

    def messages(self) -> str:
        """What spice_auto.html shows the user in its message area."""
        return str(self.page.evaluate("document.getElementById('message-div')?.innerText ?? ''"))

    def __str__(self) -> str:
        lines = self.console[-15:]
        return f"page messages: {self.messages()!r}\nconsole (last {len(lines)}): {lines}"

    def close(self) -> None:
        self.context.close()


def _spki_hash(cert_file: Path) -> str:
    """Base64 SHA-256 of a certificate's public key, as Chromium's SPKI allow-list takes it."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    key = x509.load_pem_x509_certificate(cert_file.read_bytes()).public_key()
    spki = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


def _mean_error(got: np.ndarray, want: np.ndarray) -> float:
    """Mean absolute difference per colour channel of two runs of 0x00RRGGBB pixels."""
    a = got.astype(np.uint32).view(np.uint8).reshape(-1, 4)[:, :3].astype(int)
    b = want.astype(np.uint32).view(np.uint8).reshape(-1, 4)[:, :3].astype(int)
    return float(np.abs(a - b).mean()) if a.size else 0.0
