"""The demo desktop: the embedded default back end, made to show each feature working.

It registers a display, a keyboard, a mouse, a tablet, a speaker and a microphone, and
shows:

* a header with the address, the number of clients, the mouse mode and the lock LEDs;
* a text box showing what is typed (shift and caps lock applied; Caps Lock toggles the
  LED, which the client's keyboard follows);
* an animation (a bouncing ball and a clock), so frames keep flowing;
* a sketch area with the pointer's trail and a ripple for every click and wheel turn;
* sound: a short note for every key and click, a volume bar (Page Up / Page Down, End
  mutes), and the level of the client's microphone while recording (Insert toggles it).

``devices`` holds the interfaces, ``scene`` the drawing (a pure function of a state
snapshot) and ``desktop`` the state between them.
"""

from .desktop import DemoDesktop
from .devices import NOTE_SECONDS

__all__ = ["NOTE_SECONDS", "DemoDesktop"]
