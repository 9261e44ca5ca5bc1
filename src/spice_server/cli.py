"""The ``spice-server`` command: run a ready-made back end."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Sequence

from .backends.demo import DemoDesktop
from .core.asyncio_core import AsyncioCore
from .core.base import ChannelEvent, ChannelEventInfo, Core
from .core.selector_core import SelectorCore
from .protocol.constants import ChannelType, ImageCompression
from .server import ConfigurationError, Server

log = logging.getLogger("spice_server.cli")

COMPRESSIONS = {
    "auto": ImageCompression.AUTO_LZ,
    "lz4": ImageCompression.LZ4,
    "off": ImageCompression.OFF,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.command == "demo":
        return _run_demo(args)
    return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="spice-server", description="A SPICE server in Python.")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="serve the demo desktop (the default back end)")
    demo.add_argument("--addr", default="127.0.0.1", help="address to listen on")
    demo.add_argument("--port", type=int, default=5900)
    demo.add_argument("--password", default=None, help="password clients must give")
    demo.add_argument("--width", type=int, default=1024)
    demo.add_argument("--height", type=int, default=768)
    demo.add_argument(
        "--insecure", action="store_true", help="allow a non-loopback address without a password"
    )
    demo.add_argument(
        "--exclusive",
        action="store_true",
        help="a new client replaces the connected one (libspice's behaviour)",
    )
    demo.add_argument("--image-compression", choices=sorted(COMPRESSIONS), default="auto")
    demo.add_argument(
        "--core", choices=("asyncio", "selector"), default="asyncio", help="the main loop to run on"
    )
    demo.add_argument("-v", "--verbose", action="store_true")
    return parser


def _log_channel_event(event: ChannelEvent, info: ChannelEventInfo) -> None:
    """Connects and disconnects of whole clients: their main channel comes and goes."""
    if info.type != ChannelType.MAIN:
        return
    peer = info.peer_address[0] if info.peer_address else "?"
    if event == ChannelEvent.INITIALIZED:
        log.info("client %s connected (session %08x)", peer, info.connection_id)
    elif event == ChannelEvent.DISCONNECTED:
        log.info("client %s disconnected (session %08x)", peer, info.connection_id)


def _run_demo(args: argparse.Namespace) -> int:
    try:
        server = Server(
            addr=args.addr,
            port=args.port,
            password=args.password,
            allow_insecure=args.insecure,
            exclusive=args.exclusive,
            image_compression=COMPRESSIONS[args.image_compression],
            name="spice-server demo",
        )
        desktop = DemoDesktop(server, args.width, args.height)
    except (ConfigurationError, ValueError) as exc:
        print(f"spice-server: {exc}", file=sys.stderr)
        return 2

    def start(core: Core) -> None:
        server.init(core)
        desktop.start(core)
        uri = server.uri()
        print(f"Serving the demo desktop at {uri}", flush=True)
        print(f"Connect with: remote-viewer {uri}", flush=True)

    try:
        if args.core == "selector":
            selector_core = SelectorCore(_log_channel_event)
            start(selector_core)
            signal.signal(signal.SIGTERM, lambda *_: selector_core.stop())
            with contextlib.suppress(KeyboardInterrupt):
                selector_core.run()
        else:
            asyncio.run(_serve_asyncio(start))
    except (ConfigurationError, OSError) as exc:
        print(f"spice-server: {exc}", file=sys.stderr)
        return 2
    finally:
        server.destroy()
    return 0


async def _serve_asyncio(start: object) -> None:
    core = AsyncioCore(asyncio.get_running_loop(), _log_channel_event)
    start(core)  # type: ignore[operator]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("stopping")


if __name__ == "__main__":
    sys.exit(main())
