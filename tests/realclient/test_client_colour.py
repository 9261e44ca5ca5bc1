"""The colours spice-gtk shows of a stream, through its own conversion (GStreamer).

spice-gtk turns decoded I420 into B, G, R, X with GStreamer's videoconvert, which is
darker by 2 to 4 levels than the BT.601 conversion it stands for (see
spice_server.display.yuv). The encoders' YUV carries a correction for it: here the very
conversion the client runs (benchmarks/clients/gst_convert.py under /usr/bin/python3)
must show 3072 colours from the whole RGB cube within a level of their source on
average, and a photograph, before any encoding, far closer than without the correction.
If GStreamer's conversion changes, the plain check fails too: the correction is then to
be measured again (benchmarks/client_colour.py).
"""

from __future__ import annotations

import numpy as np
import pytest
from client_colour import at_client, block_centres, colour_blocks, errors, psnr

from spice_server.display.yuv import to_yuv420

from scenery import landscape

pytestmark = pytest.mark.realclient


def test_spice_gtk_conversion_of_corrected_yuv_gives_back_the_source_colours(real_client):
    picture, colours = colour_blocks()
    plain, corrected = (
        block_centres(p)
        for p in at_client([to_yuv420(picture, corrected=False), to_yuv420(picture)])
    )
    plain_bias, plain_rms = errors(plain, colours)
    bias, rms = errors(corrected, colours)
    print(f"mean error B G R: plain {np.round(plain_bias, 2)}, corrected {np.round(bias, 2)}")
    print(f"RMS error B G R: plain {np.round(plain_rms, 2)}, corrected {np.round(rms, 2)}")
    assert plain_bias[1] < -3, "GStreamer's conversion no longer darkens green: measure again"
    assert np.abs(bias).max() < 0.75 and rms.max() < 1.5


def test_a_photograph_through_the_client_conversion_alone_keeps_40_db(real_client):
    photo = np.ascontiguousarray(landscape(560, 360, seed=3, grain=1.5)).view(np.uint8)
    photo = photo.reshape(360, 560, 4)
    plain, corrected = at_client([to_yuv420(photo, corrected=False), to_yuv420(photo)])
    figures = round(psnr(plain, photo), 2), round(psnr(corrected, photo), 2)
    print(f"PSNR through the client's conversion, plain and corrected (dB): {figures}")
    assert figures[1] >= 40 and figures[1] >= figures[0] + 3, figures
