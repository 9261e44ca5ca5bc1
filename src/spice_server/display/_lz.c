/*
 * SPICE's LZ image format for palette images (LZ_PLT), encoder side.
 *
 * An image of at most 256 colours goes as indices into a palette of them: 1 bit a
 * pixel for two colours, 4 bits for up to 16, 8 bits for up to 256, rows packed
 * and padded to whole bytes, the first pixel in the high bits (the "BE" types).
 * A terminal's page is two colours: 1/24 of the bytes of its 24-bit rows before
 * any compression.
 *
 * The packed bytes are then coded as LZ77: a control byte below 32 says that
 * control + 1 bytes follow as they are; any other is a copy of earlier output:
 * its top 3 bits are the length less 2 (7: longer, the rest of the length less 9
 * follows as bytes of 255 and one below 255), its low 5 bits the high bits of the
 * distance less 1, whose low byte comes after the length. A distance whose
 * 13 bits would be all ones (8192 and beyond) is marked by them and follows as 16
 * bits, less 8191. Copies are 3 bytes at least and may overlap what they write
 * (a run). The decoder stops once it has the image's bytes; nothing ends the
 * stream. Before the stream, seven big-endian 32-bit words: magic "LZ  ", version
 * 1.1, image type, width, height, stride (bytes a row), top-down. Written from the
 * description of the format in spice-common's lz_common.h and lz_decompress_tmpl.c.
 *
 * Python sees two functions taking a C-contiguous (height, width) buffer of 32-bit
 * 0xXXRRGGBB pixels: fits_palette(pixels), whether they have 256 colours at most
 * (a pass that stops at the 257th), and encode_palette(pixels) -> (lz data,
 * palette), or None past 256 colours. The encoder drops the GIL while it works,
 * since images are coded on encoder threads.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "_out.h"
#include "_pixels.h"

#define MAX_PIXELS (1u << 26) /* 64 Mpixel: far beyond any screen */
#define MAX_COLOURS 256

enum { TYPE_PLT1_BE = 2, TYPE_PLT4_BE = 4, TYPE_PLT8 = 5 };

#define MAGIC 0x20205a4cu
#define VERSION 0x00010001u
#define HEADER_BYTES 28

#define MIN_MATCH 3
#define LITERAL_MAX 32        /* bytes one control byte can announce */
#define NEAR_LIMIT 8191       /* distances less 1 below this take 13 bits */
#define FAR_LIMIT (8191 + 65535) /* ...and up to this, 16 more bits */
#define HASH_BITS 15
#define CHAIN_DEPTH 24        /* earlier places tried for each match */
#define GOOD_ENOUGH 64        /* a match this long is not bettered */

/* -- the palette ------------------------------------------------------------- */

typedef struct {
    uint32_t colour[MAX_COLOURS];
    unsigned count;
    int32_t slot[1024]; /* open addressing: colour -> index, -1 free */
} Palette;

static unsigned colour_hash(uint32_t colour)
{
    return (colour * 2654435761u) >> 22; /* 10 bits */
}

/* The index of ``colour``, added if new; -1 if the palette is full. */
static int palette_index(Palette *palette, uint32_t colour)
{
    unsigned at = colour_hash(colour);
    for (;;) {
        int32_t index = palette->slot[at];
        if (index < 0) {
            if (palette->count == MAX_COLOURS) {
                return -1;
            }
            palette->colour[palette->count] = colour;
            palette->slot[at] = (int32_t)palette->count;
            return (int)palette->count++;
        }
        if (palette->colour[index] == colour) {
            return index;
        }
        at = (at + 1) & 1023;
    }
}

/* Each pixel's index into ``indices`` (NULL: only whether they fit), or 0 at the 257th
 * colour. */
static int index_pixels(const uint32_t *pixels, size_t count, Palette *palette, uint8_t *indices)
{
    memset(palette->slot, 0xff, sizeof palette->slot);
    palette->count = 0;
    uint32_t last = 0;
    int last_index = -1;
    for (size_t i = 0; i < count; i++) {
        uint32_t colour = pixels[i] & 0xffffffu;
        if (last_index < 0 || colour != last) {
            last_index = palette_index(palette, colour);
            if (last_index < 0) {
                return 0;
            }
            last = colour;
        }
        if (indices) {
            indices[i] = (uint8_t)last_index;
        }
    }
    return 1;
}

/* The indices packed ``bits`` to a pixel into rows of ``stride`` bytes, first pixel high. */
static void pack_rows(const uint8_t *indices, unsigned width, unsigned height, unsigned bits,
                      unsigned stride, uint8_t *out)
{
    unsigned per_byte = 8 / bits;
    for (unsigned y = 0; y < height; y++) {
        const uint8_t *row = indices + (size_t)y * width;
        uint8_t *packed = out + (size_t)y * stride;
        memset(packed, 0, stride);
        for (unsigned x = 0; x < width; x++) {
            unsigned shift = 8 - bits * (x % per_byte + 1);
            packed[x / per_byte] |= (uint8_t)(row[x] << shift);
        }
    }
}

/* -- LZ77 -------------------------------------------------------------------- */


static void put_literals(Out *out, const uint8_t *from, size_t count)
{
    while (count > 0) {
        size_t run = count < LITERAL_MAX ? count : LITERAL_MAX;
        put(out, (uint8_t)(run - 1));
        if (out->capacity - out->used < run) {
            out->overflow = 1;
            return;
        }
        memcpy(out->data + out->used, from, run);
        out->used += run;
        from += run;
        count -= run;
    }
}

static void put_copy(Out *out, size_t length, size_t distance)
{
    size_t code = length - 2 < 7 ? length - 2 : 7;
    size_t offset = distance - 1;
    size_t high = offset < NEAR_LIMIT ? offset >> 8 : 31;
    put(out, (uint8_t)((code << 5) | high));
    if (code == 7) {
        size_t rest = length - 9;
        for (; rest >= 255; rest -= 255) {
            put(out, 255);
        }
        put(out, (uint8_t)rest);
    }
    if (offset < NEAR_LIMIT) {
        put(out, (uint8_t)(offset & 255));
    } else {
        size_t far = offset - NEAR_LIMIT;
        put(out, 255);
        put(out, (uint8_t)(far >> 8));
        put(out, (uint8_t)(far & 255));
    }
}

static unsigned hash3(const uint8_t *at)
{
    uint32_t word = (uint32_t)at[0] << 16 | (uint32_t)at[1] << 8 | at[2];
    return (word * 2654435761u) >> (32 - HASH_BITS);
}

/* Codes ``size`` bytes into ``out``; 0 if memory ran out. Greedy: the copy that saves
 * most of CHAIN_DEPTH earlier places with the same first three bytes. Every copy saves
 * a byte at least (a far one is 5 bytes long at least: it costs 4), which pays for
 * the control byte of the literals before it: the stream is never longer than the
 * bytes, plus a control byte for every 32 of them. */
static int compress(const uint8_t *in, size_t size, Out *out)
{
    int32_t *head = malloc(sizeof(int32_t) << HASH_BITS);
    int32_t *previous = malloc(sizeof(int32_t) * (size ? size : 1));
    if (!head || !previous) {
        free(head);
        free(previous);
        return 0;
    }
    memset(head, 0xff, sizeof(int32_t) << HASH_BITS);
    size_t at = 0, literals = 0;
    while (at < size) {
        size_t best = 0, best_distance = 0, best_saving = 0;
        if (at + MIN_MATCH <= size) {
            unsigned hash = hash3(in + at);
            int32_t candidate = head[hash];
            for (int tries = CHAIN_DEPTH; candidate >= 0 && tries > 0; tries--) {
                size_t distance = at - (size_t)candidate;
                if (distance > FAR_LIMIT + 1) {
                    break;
                }
                size_t length = 0, limit = size - at;
                const uint8_t *a = in + at, *b = in + candidate;
                while (length < limit && a[length] == b[length]) {
                    length++;
                }
                size_t cost = distance > NEAR_LIMIT ? 4 : 2; /* bytes, short copies */
                if (length > cost && length - cost > best_saving) {
                    best = length;
                    best_distance = distance;
                    best_saving = length - cost;
                    if (length >= GOOD_ENOUGH) {
                        break;
                    }
                }
                candidate = previous[candidate];
            }
            previous[at] = head[hash];
            head[hash] = (int32_t)at;
        }
        if (best == 0) {
            at++;
            literals++;
            continue;
        }
        put_literals(out, in + at - literals, literals);
        literals = 0;
        put_copy(out, best, best_distance);
        /* The places inside the copy are remembered too, for later matches; of a long
         * copy (a flat area's run) only its last ones: the rest repeat them. */
        size_t end = at + best;
        at = best < GOOD_ENOUGH ? at + 1 : end - MIN_MATCH;
        for (; at < end; at++) {
            if (at + MIN_MATCH <= size) {
                unsigned hash = hash3(in + at);
                previous[at] = head[hash];
                head[hash] = (int32_t)at;
            }
        }
    }
    put_literals(out, in + at - literals, literals);
    free(head);
    free(previous);
    return 1;
}

static void put32(uint8_t *at, uint32_t word)
{
    at[0] = (uint8_t)(word >> 24);
    at[1] = (uint8_t)(word >> 16);
    at[2] = (uint8_t)(word >> 8);
    at[3] = (uint8_t)word;
}

typedef struct {
    Palette palette;
    Out out;
    int colours_ok; /* 0: more than 256 colours */
} Result;

static int encode(const uint32_t *pixels, unsigned width, unsigned height, Result *result)
{
    size_t count = (size_t)width * height;
    uint8_t *indices = malloc(count);
    if (!indices) {
        return 0;
    }
    result->colours_ok = index_pixels(pixels, count, &result->palette, indices);
    if (!result->colours_ok) {
        free(indices);
        return 1;
    }
    unsigned colours = result->palette.count;
    unsigned bits = colours <= 2 ? 1 : colours <= 16 ? 4 : 8;
    unsigned type = bits == 1 ? TYPE_PLT1_BE : bits == 4 ? TYPE_PLT4_BE : TYPE_PLT8;
    unsigned stride = (width * bits + 7) / 8;
    size_t size = (size_t)stride * height;
    uint8_t *packed = indices;
    if (bits != 8) {
        packed = malloc(size);
        if (!packed) {
            free(indices);
            return 0;
        }
        pack_rows(indices, width, height, bits, stride, packed);
        free(indices);
    }
    result->out.capacity = HEADER_BYTES + size + size / LITERAL_MAX + 16;
    result->out.data = malloc(result->out.capacity);
    if (!result->out.data) {
        free(packed);
        return 0;
    }
    uint32_t header[7] = {MAGIC, VERSION, type, width, height, stride, 1};
    for (int i = 0; i < 7; i++) {
        put32(result->out.data + 4 * i, header[i]);
    }
    result->out.used = HEADER_BYTES;
    int ok = compress(packed, size, &result->out);
    free(packed);
    return ok && !result->out.overflow;
}

/* -- Python ------------------------------------------------------------------ */

static PyObject *lz_fits_palette(PyObject *module, PyObject *arg)
{
    (void)module;
    Py_buffer view;
    if (!view_pixels(arg, &view, "LZ", MAX_PIXELS)) {
        return NULL;
    }
    Palette *palette = malloc(sizeof *palette);
    if (!palette) {
        PyBuffer_Release(&view);
        return PyErr_NoMemory();
    }
    size_t count = (size_t)view.shape[0] * (size_t)view.shape[1];
    int fits = index_pixels((const uint32_t *)view.buf, count, palette, NULL);
    free(palette);
    PyBuffer_Release(&view);
    return PyBool_FromLong(fits);
}

static PyObject *lz_encode_palette(PyObject *module, PyObject *arg)
{
    (void)module;
    Py_buffer view;
    if (!view_pixels(arg, &view, "LZ", MAX_PIXELS)) {
        return NULL;
    }
    PyObject *value = NULL;
    Py_ssize_t height = view.shape[0], width = view.shape[1];
    Result *result = calloc(1, sizeof *result);
    if (!result) {
        PyErr_NoMemory();
        goto done;
    }
    int ok;
    Py_BEGIN_ALLOW_THREADS
    ok = encode((const uint32_t *)view.buf, (unsigned)width, (unsigned)height, result);
    Py_END_ALLOW_THREADS
    if (!ok && result->out.overflow) {
        PyErr_SetString(PyExc_RuntimeError, "LZ stream longer than its bound");
    } else if (!ok) {
        PyErr_NoMemory();
    } else if (!result->colours_ok) {
        value = Py_NewRef(Py_None);
    } else {
        unsigned colours = result->palette.count < 2 ? 2 : result->palette.count;
        PyObject *palette = PyTuple_New(colours);
        for (unsigned i = 0; palette && i < colours; i++) {
            uint32_t colour = i < result->palette.count ? result->palette.colour[i] : 0;
            PyObject *entry = PyLong_FromUnsignedLong(colour);
            if (!entry) {
                Py_CLEAR(palette);
                break;
            }
            PyTuple_SET_ITEM(palette, i, entry);
        }
        if (palette) {
            value = Py_BuildValue("(y#N)", (const char *)result->out.data,
                                  (Py_ssize_t)result->out.used, palette);
        }
    }
done:
    if (result) {
        free(result->out.data);
        free(result);
    }
    PyBuffer_Release(&view);
    return value;
}

static PyMethodDef lz_methods[] = {
    {"fits_palette", lz_fits_palette, METH_O,
     "fits_palette(pixels) -> bool\n\n"
     "Whether a C-contiguous (height, width) uint32 array of 0xXXRRGGBB pixels has\n"
     "256 colours at most (the x byte aside)."},
    {"encode_palette", lz_encode_palette, METH_O,
     "encode_palette(pixels) -> (lz_data, palette) | None\n\n"
     "A C-contiguous (height, width) uint32 array of 0xXXRRGGBB pixels as SPICE LZ\n"
     "data of a palette image (header and stream) and its palette of 0x00RRGGBB\n"
     "colours (two at least); None if the pixels have more than 256 colours. The\n"
     "GIL is released while it codes."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef lz_module = {
    .m_base = PyModuleDef_HEAD_INIT,
    .m_name = "_lz",
    .m_doc = "SPICE's LZ image encoder for palette images (a C extension).",
    .m_size = -1,
    .m_methods = lz_methods,
};

PyMODINIT_FUNC PyInit__lz(void)
{
    return PyModule_Create(&lz_module);
}
