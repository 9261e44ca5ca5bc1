"""The ``spice-server`` command: run a ready-made back end."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Callable, Sequence
from typing import Protocol

from . import cli_network
from .config import DEFAULT_MAX_FILE_SIZE, Limits
from .core.asyncio_core import AsyncioCore
from .core.base import ChannelEvent, ChannelEventFlags, ChannelEventInfo, Core
from .core.selector_core import SelectorCore
from .protocol.constants import ChannelType, ImageCompression
from .server import ConfigurationError, Server

log = logging.getLogger("spice_server.cli")

COMPRESSIONS = {
    "auto": ImageCompression.AUTO_GLZ,
    "auto-lz": ImageCompression.AUTO_LZ,
    "lz4": ImageCompression.LZ4,
    "off": ImageCompression.OFF,
    "quic": ImageCompression.QUIC,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    return _run(args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="spice-server", description="A SPICE server in Python.")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="serve the demo desktop (the default back end)")
    demo.add_argument("--width", type=int, default=1024)
    demo.add_argument("--height", type=int, default=768)
    x11 = commands.add_parser("x11", help="share an existing X display")
    x11.add_argument("--display", default=None, help="the X display (default: $DISPLAY)")
    session = commands.add_parser(
        "session",
        help="start a private X server running COMMAND (default: a terminal) and share it",
    )
    session.add_argument(
        "--size", default="1280x800", help="the screen's size until a client asks for another"
    )
    session.add_argument(
        "--x-server",
        choices=("auto", "xorg", "xvfb"),
        default="auto",
        help="Xorg with the dummy driver, Xvfb, or auto: Xorg when it can, else Xvfb",
    )
    session.add_argument(
        "program",
        nargs="*",
        metavar="COMMAND",
        help="what to run, after '--' (default: ~/.xsession, or a terminal)",
    )
    for sub in (x11, session):
        sub.add_argument(
            "--no-sound",
            action="store_true",
            help="do not capture the desktop's sound (PulseAudio or PipeWire, through parec)",
        )
        sub.add_argument(
            "--resize",
            choices=("always", "virtual", "never"),
            default="virtual",
            help="when clients' window sizes change the X screen: always, never, or "
            "virtual (the default: only on an X server spice-server started, as in "
            "'session')",
        )
        sub.add_argument(
            "--no-restore-size",
            dest="restore_size",
            action="store_false",
            help="keep the size clients set when the last one leaves (default: restore it)",
        )
    for sub in (demo, x11, session):
        cli_network.add_arguments(sub)
        sub.add_argument(
            "--websocket-origin",
            action="append",
            default=[],
            metavar="ORIGIN",
            help="a web origin (https://host:port) whose pages may connect besides loopback "
            "ones; repeatable",
        )
        sub.add_argument(
            "--max-clipboard",
            type=int,
            default=Limits().max_clipboard,
            metavar="BYTES",
            help="the largest clipboard record taken from a client or the guest agent",
        )
        sub.add_argument(
            "--no-websocket",
            dest="websocket",
            action="store_false",
            help="serve only native SPICE clients, not browsers (spice-html5) over WebSocket",
        )
        sub.add_argument(
            "--exclusive",
            action="store_true",
            help="a new client replaces the connected one (libspice's behaviour)",
        )
        sub.add_argument(
            "--image-compression",
            choices=sorted(COMPRESSIONS),
            default="auto",
            help="lossless images: auto (QUIC for photographs, LZ palette images for text "
            "and UI of 256 colours at most, else GLZ for spice-gtk: LZ against the images the "
            "client keeps, or LZ4), auto-lz (as auto, LZ4 instead of GLZ), quic (as auto-lz), "
            "lz4 (LZ4 only), off (plain bitmaps)",
        )
        sub.add_argument(
            "--jpeg",
            choices=("auto", "always", "never"),
            default="auto",
            help="JPEG for photographic images: always, never, or auto (clients without LZ4)",
        )
        sub.add_argument(
            "--streaming-video",
            choices=("filter", "all", "off"),
            default="filter",
            help="which fast-changing areas become video streams",
        )
        sub.add_argument(
            "--video-codecs",
            default="mjpeg,h264,vp8",
            help="stream codecs in order of preference (h264, vp8, mjpeg)",
        )
        sub.add_argument(
            "--playback-compression",
            choices=("on", "off"),
            default="on",
            help="send sound as Opus to clients that decode it (default on), or raw PCM",
        )
        sub.add_argument(
            "--file-transfer-dir",
            default=None,
            help="where files sent by clients go (default: your Downloads directory)",
        )
        sub.add_argument(
            "--file-transfer-max-size",
            type=int,
            default=DEFAULT_MAX_FILE_SIZE // 1024**2,
            metavar="MB",
            help="the largest file a client may send, in MiB",
        )
        sub.add_argument(
            "--no-file-transfer",
            dest="file_transfer",
            action="store_false",
            help="refuse files sent by clients",
        )
        sub.add_argument(
            "--core",
            choices=("asyncio", "selector"),
            default="asyncio",
            help="the main loop to run on",
        )
        sub.add_argument("-v", "--verbose", action="store_true")
    return parser


def _log_channel_event(event: ChannelEvent, info: ChannelEventInfo) -> None:
    """Connects and disconnects of whole clients: their main channel comes and goes."""
    if info.type != ChannelType.MAIN:
        return
    peer = info.peer_address[0] if info.peer_address else "?"
    if event == ChannelEvent.INITIALIZED:
        tls = " over TLS" if info.flags & ChannelEventFlags.TLS else ""
        log.info("client %s connected%s (session %08x)", peer, tls, info.connection_id)
    elif event == ChannelEvent.DISCONNECTED:
        log.info("client %s disconnected (session %08x)", peer, info.connection_id)


class Backend(Protocol):
    """A ready-made back end: it registers its devices with the server when started."""

    def start(self, core: Core) -> None: ...


class Ending:
    """How the command ends: the exit status, the loop's stoppers and what to clean up."""

    def __init__(self) -> None:
        self.code = 0
        self.stoppers: list[Callable[[], None]] = []
        self.cleanups: list[Callable[[], None]] = []

    def stop(self, code: int) -> None:
        self.code = code
        for stop in self.stoppers:
            stop()


def _make_backend(args: argparse.Namespace, server: Server, ending: Ending) -> Backend:
    if args.command == "demo":
        from .backends.demo import DemoDesktop

        return DemoDesktop(server, args.width, args.height)
    try:
        from .backends.x11 import X11Desktop, X11Error
        from .backends.x11.session import SessionDesktop, XSession, default_command, parse_size
    except ImportError as exc:
        raise ValueError(
            f"the x11 back end needs xcffib: pip install 'spice-server[x11]' ({exc})"
        ) from exc
    session: XSession | None = None
    display = None
    try:
        if args.command == "session":
            command = args.program or default_command()
            session = XSession(parse_size(args.size), command, args.x_server)
            session.start()
            ending.cleanups.append(session.close)
            display = session.display
        else:
            display = args.display
            if not (display or os.environ.get("DISPLAY")):
                raise ValueError(
                    "no X display to share: give --display (e.g. --display :0) or set DISPLAY"
                )
        desktop = X11Desktop(
            server,
            display,
            on_lost=lambda reason: ending.stop(1),
            sound=not args.no_sound,
            resize=args.resize,
            restore_size=args.restore_size,
            started_here=session is not None,
        )
        desktop.connect()  # before listening: a display that cannot be shared fails first
    except X11Error as exc:
        raise ValueError(str(exc)) from exc
    if session is None:
        return desktop
    return SessionDesktop(session, desktop, lambda status: ending.stop(0 if status == 0 else 1))


def _run(args: argparse.Namespace) -> int:
    ending = Ending()
    # Until the loop takes SIGTERM over, it interrupts like Ctrl-C, so a session's X
    # server and command started before the loop are still cleaned up.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        return _serve(args, ending)
    except KeyboardInterrupt:
        return ending.code
    finally:
        for cleanup in ending.cleanups:
            cleanup()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _serve(args: argparse.Namespace, ending: Ending) -> int:
    stoppers = ending.stoppers
    try:
        network = cli_network.server_options(args)
        server = Server(
            **network,
            websocket=args.websocket,
            websocket_origins=args.websocket_origin,
            limits=Limits(max_clipboard=args.max_clipboard),
            exclusive=args.exclusive,
            image_compression=COMPRESSIONS[args.image_compression],
            jpeg_compression=args.jpeg,
            streaming_video=args.streaming_video,
            video_codecs=[name.strip() for name in args.video_codecs.split(",") if name.strip()],
            playback_compression=args.playback_compression == "on",
            file_transfer=args.file_transfer,
            file_transfer_dir=args.file_transfer_dir,
            file_transfer_max_size=args.file_transfer_max_size * 1024**2,
            name=f"spice-server {args.command}",
        )
        backend = _make_backend(args, server, ending)
    except (ConfigurationError, ValueError) as exc:
        print(f"spice-server: {exc}", file=sys.stderr)
        return 2

    def start(core: Core) -> None:
        server.init(core)
        backend.start(core)
        print(f"Serving the {args.command} back end at {server.uri()}", flush=True)
        cli_network.announce(server, args, network)

    try:
        if args.core == "selector":
            selector_core = SelectorCore(_log_channel_event)
            stoppers.append(selector_core.stop)
            start(selector_core)
            signal.signal(signal.SIGTERM, lambda *_: selector_core.stop())
            with contextlib.suppress(KeyboardInterrupt):
                selector_core.run()
        else:
            asyncio.run(_serve_asyncio(start, stoppers))
    except (ConfigurationError, OSError, RuntimeError) as exc:
        print(f"spice-server: {exc}", file=sys.stderr)
        return 2
    finally:
        server.destroy()
    return ending.code


async def _serve_asyncio(start: Callable[[Core], None], stoppers: list[Callable[[], None]]) -> None:
    loop = asyncio.get_running_loop()
    core = AsyncioCore(loop, _log_channel_event)
    stop = asyncio.Event()
    stoppers.append(stop.set)
    start(core)
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("stopping")


if __name__ == "__main__":
    sys.exit(main())
