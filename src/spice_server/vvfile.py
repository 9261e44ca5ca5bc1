"""remote-viewer connection files (``.vv``): everything a client needs, in one file.

The format is virt-viewer's key file: a ``[virt-viewer]`` group with ``type=spice``,
``host``, ``port``, ``tls-port``, the CA certificate itself (``ca``, PEM with its line
breaks written as ``\\n``), ``host-subject``, ``secure-channels`` (``;``-separated) and,
only when asked for, ``password``. A file holding a password is a secret, so the file is
always created readable by its owner only.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ConnectionFile:
    host: str
    port: int | None = None
    tls_port: int | None = None
    ca_pem: str | None = None
    host_subject: str | None = None
    secure_channels: tuple[str, ...] = ()
    password: str | None = None
    title: str | None = None

    def render(self) -> str:
        lines = ["[virt-viewer]", "type=spice", f"host={_value(self.host)}"]
        if self.port is not None:
            lines.append(f"port={self.port}")
        if self.tls_port is not None:
            lines.append(f"tls-port={self.tls_port}")
        if self.ca_pem:
            lines.append(f"ca={_value(self.ca_pem)}")
        if self.host_subject:
            lines.append(f"host-subject={_value(self.host_subject)}")
        if self.secure_channels:
            lines.append("secure-channels=" + ";".join(self.secure_channels))
        if self.password is not None:
            lines.append(f"password={_value(self.password)}")
        if self.title:
            lines.append(f"title={_value(self.title)}")
        lines.append("delete-this-file=0")
        return "\n".join(lines) + "\n"

    def write(self, path: Path) -> None:
        """Write the file with owner-only permissions from its creation on."""
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            os.fchmod(f.fileno(), 0o600)  # an existing file keeps its mode through O_CREAT
            f.write(self.render())


def _value(text: str) -> str:
    """A key file value: backslashes and line breaks escaped, as GLib's key files expect."""
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")
