"""Audio as SPICE carries it: 16-bit stereo PCM in frames of 480 samples, raw or Opus.

The protocol fixes the sample format (S16 little-endian, interleaved stereo) and the frame
(480 samples per channel per DATA message); only the rate varies. Opus is used at 48000 Hz
only, where one frame is a legal 10 ms Opus frame.
"""

from __future__ import annotations

CHANNELS = 2
SAMPLE_BYTES = 2 * CHANNELS  # one stereo S16 sample
FRAME_SAMPLES = 480
FRAME_BYTES = FRAME_SAMPLES * SAMPLE_BYTES
OPUS_RATE = 48000
RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)
