import numpy as np

class Dictionary:
    """The images one client keeps for GLZ (up to ``window`` pixels), and the ids of the
    next ones, from ``first_id``."""

    def __init__(self, window: int, first_id: int = 0) -> None: ...
    @property
    def next_id(self) -> int:
        """The id the next image gets."""
    @property
    def kept(self) -> int:
        """How many images are kept."""
    def encode(self, pixels: np.ndarray, /) -> bytes:
        """A C-contiguous (height, width) uint32 array as a GLZ stream (header and data)
        of id ``next_id``, coded against the images kept; the client must get every
        stream, in order. One image at a time; the GIL is released while it codes."""
