"""Display machinery: framebuffers, damage tracking, image encoders, cursor images."""
