"""The compiled parts, the QUIC, LZ and GLZ image encoders; everything else is in pyproject.toml."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "spice_server.display._quic",
            sources=["src/spice_server/display/_quic.c"],
            depends=["src/spice_server/display/_pixels.h"],
            extra_compile_args=["-O3", "-std=c99"],
        ),
        Extension(
            "spice_server.display._lz",
            sources=["src/spice_server/display/_lz.c"],
            depends=["src/spice_server/display/_pixels.h", "src/spice_server/display/_out.h"],
            extra_compile_args=["-O3", "-std=c99"],
        ),
        Extension(
            "spice_server.display._glz",
            sources=["src/spice_server/display/_glz.c"],
            depends=["src/spice_server/display/_pixels.h", "src/spice_server/display/_out.h"],
            extra_compile_args=["-O3", "-std=c99"],
        ),
    ]
)
