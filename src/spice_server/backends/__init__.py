"""Ready-made back ends: the demo desktop (the embedded default) and helpers they share."""
