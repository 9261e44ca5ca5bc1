/*
 * Where the image encoders (_lz.c, _glz.c) write their streams: a buffer sized from a
 * bound on the stream, and a flag set if a write would pass it (the bound should make
 * that impossible; it is checked all the same, and the encoder then raises).
 */

#ifndef SPICE_SERVER_OUT_H
#define SPICE_SERVER_OUT_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint8_t *data;
    size_t used, capacity;
    int overflow;
} Out;

static void put(Out *out, uint8_t byte)
{
    if (out->used < out->capacity) {
        out->data[out->used++] = byte;
    } else {
        out->overflow = 1;
    }
}

#endif
