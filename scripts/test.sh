#!/usr/bin/env bash
# Set up everything the tests need on a fresh Debian machine, then run them: the real
# SPICE clients (spice-gtk through GObject introspection with GStreamer's VP8 and H.264
# decoders, spicy-screenshot, spice-html5 in Chromium, which Playwright drives) and real X
# servers and programs (Xvfb, Xorg with the dummy driver, xterm, xev, xclip) from Debian,
# a C compiler and Python's headers for the QUIC encoder (a small C extension built by
# pip), the project and its test tools in a virtual environment, then ruff, mypy, pytest.
# Arguments are passed to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(
    gir1.2-spiceclientglib-2.0 python3-gi spice-client-gtk
    xvfb xserver-xorg-core xserver-xorg-video-dummy xterm x11-utils xclip virt-viewer
    gir1.2-gtk-3.0
    gir1.2-gstreamer-1.0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good
    gstreamer1.0-plugins-bad gstreamer1.0-libav
    chromium spice-html5 openssl libsasl2-modules pulseaudio pulseaudio-utils x11-xkb-utils
    gcc python3-dev
)

have_packages() {
    local status
    status=$(dpkg-query -W -f='${Status}\n' "${DEBIAN_PACKAGES[@]}" 2>/dev/null) || return 1
    ! grep -qv "install ok installed" <<<"$status"
}

if ! have_packages; then
    sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get update -q
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends \
        "${DEBIAN_PACKAGES[@]}"
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[test,x11]"

.venv/bin/ruff check src tests benchmarks
.venv/bin/ruff format --check src tests benchmarks
.venv/bin/mypy
.venv/bin/python -m pytest "$@"
