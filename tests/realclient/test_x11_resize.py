"""The resize policy on real X servers: who may change the screen, and its size coming back.

Each test exports an Xorg with the dummy driver (which resizes freely, so only the policy
can keep a size) that the back end did not start, as ``spice-server x11 --display`` does.
"""

from __future__ import annotations

import logging

import pytest

from harness import wait_until
from test_x11 import Exported, x_screen

pytestmark = pytest.mark.realclient


def test_a_client_does_not_resize_a_display_the_server_did_not_start(
    make_harness, make_client, tmp_path, caplog
):
    caplog.set_level(logging.INFO, logger="spice_server")
    s = Exported(make_harness, make_client, tmp_path, kind="dummy", resize="virtual")
    try:
        s.client.send(cmd="monitor_config", width=800, height=600)
        wait_until(lambda: "keeps its size" in caplog.text, what="the refusal logged")
        assert x_screen(s.x.name).shape == (768, 1024)
        assert s.client.framebuffer().shape == (768, 1024)
        assert "resize policy 'virtual'" in caplog.text
    finally:
        s.close()


@pytest.mark.parametrize("restore", [True, False], ids=["restored", "kept"])
def test_the_size_comes_back_when_the_last_client_leaves(
    make_harness, make_client, tmp_path, caplog, restore
):
    caplog.set_level(logging.INFO, logger="spice_server")
    s = Exported(
        make_harness, make_client, tmp_path, kind="dummy", resize="always", restore_size=restore
    )
    try:
        second = make_client(s.harness.port)
        second.wait_ready()
        s.client.send(cmd="monitor_config", width=800, height=600)
        second.wait_for(
            lambda e: e["event"] == "primary" and e["width"] == 800,
            what="the other client following the resize",
        )
        assert x_screen(s.x.name).shape == (600, 800)
        s.client.close()
        wait_until(lambda: s.harness.call(lambda: s.harness.server.session_count) == 1)
        # One client is still there: the screen keeps the size it was given.
        assert x_screen(s.x.name).shape == (600, 800)
        assert s.harness.call(lambda: s.desktop.sizes.changed)
        second.close()
        wait_until(lambda: s.harness.call(lambda: s.harness.server.session_count) == 0)
        if restore:
            wait_until(
                lambda: x_screen(s.x.name).shape == (768, 1024), what="the original size back"
            )
            wait_until(  # logged once X said it is done
                lambda: "the last client left: the X screen goes back to 1024x768" in caplog.text,
                what="the size given back logged",
            )
        else:
            wait_until(lambda: not s.harness.call(lambda: s.desktop.sizes.changed))
            assert x_screen(s.x.name).shape == (600, 800)
    finally:
        s.close()


def test_a_client_does_not_add_monitors_to_a_display_the_server_did_not_start(
    make_harness, make_client, tmp_path, caplog
):
    """Several monitors are a layout of the screen: the policy refuses them as it refuses
    a size, and tells the client it may have one monitor."""
    from test_x11_monitors import ask, x_monitors

    caplog.set_level(logging.INFO, logger="spice_server")
    s = Exported(make_harness, make_client, tmp_path, kind="dummy", resize="virtual")
    try:
        first = s.client.wait_for(
            lambda e: e["event"] == "monitors" and e["monitors"], what="the monitors"
        )
        assert first["max"] == 1 and len(first["monitors"]) == 1
        ask(s.client, [(0, 0, 800, 600), (800, 0, 800, 600)])
        wait_until(lambda: "keeps its size" in caplog.text, what="the refusal logged")
        assert "asked for a 800x600+0+0, 800x600+800+0 screen" in caplog.text
        assert x_monitors(s.x.name) == ((1024, 768), {(0, 0, 1024, 768)})
        assert s.client.framebuffer().shape == (768, 1024)
    finally:
        s.close()


def test_one_monitor_of_the_original_size_comes_back_after_several(
    make_harness, make_client, tmp_path, caplog
):
    """A client lit two outputs; when it leaves, X shows one monitor at the start size."""
    from test_x11_monitors import ask, wait_client_monitors, x_monitors

    caplog.set_level(logging.INFO, logger="spice_server")
    s = Exported(make_harness, make_client, tmp_path, kind="dummy", resize="always")
    try:
        wanted = [(0, 0, 800, 600), (800, 0, 800, 600)]
        ask(s.client, wanted)
        wait_client_monitors(s.client, wanted)
        assert x_monitors(s.x.name) == ((1600, 600), set(wanted))
        s.client.close()
        wait_until(
            lambda: x_monitors(s.x.name) == ((1024, 768), {(0, 0, 1024, 768)}),
            what="one monitor at the original size",
        )
        wait_until(
            lambda: "the last client left: the X screen goes back to 1024x768" in caplog.text,
            what="the size given back logged",
        )
        assert not s.harness.call(lambda: s.desktop.sizes.changed)
    finally:
        s.close()
