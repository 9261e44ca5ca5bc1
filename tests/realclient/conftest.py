"""Fixtures of the real-client tests: an exported Xvfb, browsers and spice-html5 pages."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from spice_server.backends.x11 import X11Desktop

from html5client import LOCAL_HOST, Browsers, Html5Client
from xserver import XServer


@pytest.fixture
def exported(make_harness, tmp_path) -> Iterator[Callable[..., tuple]]:
    """``exported(size, **settings)``: an Xvfb of that size exported by the x11 back end,
    with the given server settings; returns the X server and the harness."""
    made: list[tuple[XServer, X11Desktop, object]] = []

    def make(size: tuple[int, int], **options: object) -> tuple:
        x = XServer(tmp_path, "xvfb", *size)
        harness = make_harness(**options)
        desktop = X11Desktop(harness.server, x.name)
        harness.call(desktop.start, harness.core)
        made.append((x, desktop, harness))
        return x, harness

    yield make
    for x, desktop, _harness in made:
        try:
            if not desktop.lost:
                _harness.call(desktop.stop)
        finally:
            x.kill()


@pytest.fixture(scope="module")
def browsers() -> Iterator[Browsers]:
    browsers = Browsers()
    yield browsers
    browsers.close()


@pytest.fixture
def open_page(browsers: Browsers) -> Iterator[Callable[..., Html5Client]]:
    """``open_page(port, password=None, page_host=LOCAL_HOST, image_delay_ms=0)``:
    spice-html5's page in the browser, connected to that port; closed after the test."""
    pages: list[Html5Client] = []

    def open_(
        port: int, password: str | None = None, page_host: str = LOCAL_HOST, image_delay_ms: int = 0
    ) -> Html5Client:
        page = browsers.open(port, password, page_host, image_delay_ms)
        pages.append(page)
        return page

    yield open_
    for page in pages:
        page.close()
