#!/usr/bin/python3
"""A GTK 3 program that owns the CLIPBOARD selection with the text of a file.

Run by Debian's /usr/bin/python3 (gir1.2-gtk-3.0) on the test's X server: a real
toolkit's selection owner. GTK answers a request for more than 256 kB in parts (the
INCR protocol of the ICCCM), as desktop programs built on it do. Runs until killed.
"""

import sys

import gi

gi.require_version("Gtk", "3.0")
gi.require_version("Gdk", "3.0")
from gi.repository import Gdk, Gtk  # noqa: E402

with open(sys.argv[1], encoding="utf-8") as source:
    text = source.read()
Gtk.Clipboard.get(Gdk.SELECTION_CLIPBOARD).set_text(text, -1)
Gtk.main()
