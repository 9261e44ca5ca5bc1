"""One module per SPICE channel: each a state machine over parsed client messages."""
