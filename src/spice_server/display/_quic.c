/*
 * QUIC, SPICE's lossless image codec (after SFALIC), encoder side, for 32-bit
 * B,G,R,x pixels (QUIC image type RGB32: the x byte is not sent).
 *
 * Every pixel's R, G and B are predicted from the pixel to the left and the one
 * above, and the prediction error is coded with one of eight Golomb-Rice codes.
 * Which code is chosen by the error of the left neighbour (its "context"): for
 * each group of contexts (a bucket) the coder keeps the total length every code
 * would have needed so far and uses the shortest. Buckets are updated only now
 * and then, at pseudo-random intervals that widen as the image goes on, which
 * is what makes QUIC fast. Where both the row above and the pixels just coded
 * repeat, runs of equal pixels are coded as one length (an adaptive unary code).
 *
 * The decoder (spice-gtk, spice-html5) replays the same adaptation, so every
 * constant, table and ordering below is part of the format: they must not be
 * "improved". Written from the description of the format in spice-common's
 * quic.c and spice-html5's quic.js.
 *
 * Python sees one function, encode(pixels) -> bytes, taking a C-contiguous
 * (height, width) buffer of 32-bit 0xXXRRGGBB pixels. It drops the GIL while it
 * codes, since images are coded on encoder threads.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "_pixels.h"

/* The stream's header: magic "QUIC", version 0.0, image type RGB32. */
#define QUIC_MAGIC 0x43495551u
#define QUIC_VERSION 0u
#define QUIC_TYPE_RGB32 4u

/* The decoders refuse images of more pixels than this. */
#define MAX_PIXELS (512u * 1024u * 1024u - 1u)

/* Golomb-Rice codes for 8-bit values: code k sends v >> k in unary, then the k
 * low bits; values whose unary part would make the code longer than
 * CODE_LIMIT bits are sent as an escape (a fixed number of zeros, then the
 * value's offset in plain binary). */
#define CODES 8
#define CODE_LIMIT 26

/* A bucket is a group of contexts sharing one choice of code: contexts 0, 1-2,
 * 3-6, 7-14, ... 127-255 (the "evolution 3" model). */
#define BUCKETS 8

/* The interval between model updates is chosen with a random mask of `level`
 * bits; the level rises by one every LEVEL_PIXELS pixels up to MAX_LEVEL. */
#define MAX_LEVEL 6
#define LEVEL_PIXELS 2048

/* When a bucket's shortest total passes this threshold (indexed by level), its
 * totals are halved so that the model follows the image. */
static const unsigned halving_threshold[MAX_LEVEL + 1] = {110, 550, 900, 800, 550, 400, 350};

/* The pseudo-random sequence that spaces the model updates. */
static const uint32_t update_spacing[256] = {
    0x02c57542, 0x35427717, 0x2f5a2153, 0x9244f155, 0x7bd26d07, 0x354c6052,
    0x57329b28, 0x2993868e, 0x6cd8808c, 0x147b46e0, 0x99db66af, 0xe32b4cac,
    0x1b671264, 0x9d433486, 0x62a4c192, 0x06089a4b, 0x9e3dce44, 0xdaabee13,
    0x222425ea, 0xa46f331d, 0xcd589250, 0x8bb81d7f, 0xc8b736b9, 0x35948d33,
    0xd7ac7fd0, 0x5fbe2803, 0x2cfbc105, 0x013dbc4e, 0x7a37820f, 0x39f88e9e,
    0xedd58794, 0xc5076689, 0xfcada5a4, 0x64c2f46d, 0xb3ba3243, 0x8974b4f9,
    0x5a05aebd, 0x20afcd00, 0x39e2b008, 0x88a18a45, 0x600bde29, 0xf3971ace,
    0xf37b0a6b, 0x7041495b, 0x70b707ab, 0x06beffbb, 0x4206051f, 0xe13c4ee3,
    0xc1a78327, 0x91aa067c, 0x8295f72a, 0x732917a6, 0x1d871b4d, 0x4048f136,
    0xf1840e7e, 0x6a6048c1, 0x696cb71a, 0x7ff501c3, 0x0fc6310b, 0x57e0f83d,
    0x8cc26e74, 0x11a525a2, 0x946934c7, 0x7cd888f0, 0x8f9d8604, 0x4f86e73b,
    0x04520316, 0xdeeea20c, 0xf1def496, 0x67687288, 0xf540c5b2, 0x22401484,
    0x3478658a, 0xc2385746, 0x01979c2c, 0x5dad73c8, 0x0321f58b, 0xf0fedbee,
    0x92826ddf, 0x284bec73, 0x5b1a1975, 0x03df1e11, 0x20963e01, 0xa17cf12b,
    0x740d776e, 0xa7a6bf3c, 0x01b5cce4, 0x1118aa76, 0xfc6fac0a, 0xce927e9b,
    0x00bf2567, 0x806f216c, 0xbca69056, 0x795bd3e9, 0xc9dc4557, 0x8929b6c2,
    0x789d52ec, 0x3f3fbf40, 0xb9197368, 0xa38c15b5, 0xc3b44fa8, 0xca8333b0,
    0xb7e8d590, 0xbe807feb, 0xbf5f8360, 0xd99e2f5c, 0x372928e1, 0x7c757c4c,
    0x0db5b154, 0xc01ede02, 0x1fc86e78, 0x1f3985be, 0xb4805c77, 0x00c880fa,
    0x974c1b12, 0x35ab0214, 0xb2dc840d, 0x5b00ae37, 0xd313b026, 0xb260969d,
    0x7f4c8879, 0x1734c4d3, 0x49068631, 0xb9f6a021, 0x6b863e6f, 0xcee5debf,
    0x29f8c9fb, 0x53dd6880, 0x72b61223, 0x1f67a9fd, 0x0a0f6993, 0x13e59119,
    0x11cca12e, 0xfe6b6766, 0x16b6effc, 0x97918fc4, 0xc2b8a563, 0x94f2f741,
    0x0bfa8c9a, 0xd1537ae8, 0xc1da349c, 0x873c60ca, 0x95005b85, 0x9b5c080e,
    0xbc8abbd9, 0xe1eab1d2, 0x6dac9070, 0x4ea9ebf1, 0xe0cf30d4, 0x1ef5bd7b,
    0xd161043e, 0x5d2fa2e2, 0xff5d3cae, 0x86ed9f87, 0x2aa1daa1, 0xbd731a34,
    0x9e8f4b22, 0xb1c2c67a, 0xc21758c9, 0xa182215d, 0xccb01948, 0x8d168df7,
    0x04238cfe, 0x368c3dbc, 0x0aeadca5, 0xbad21c24, 0x0a71fee5, 0x9fc5d872,
    0x54c152c6, 0xfc329483, 0x6783384a, 0xeddb3e1c, 0x65f90e30, 0x884ad098,
    0xce81675a, 0x4b372f7d, 0x68bf9a39, 0x43445f1e, 0x40f8d8cb, 0x90d5acb6,
    0x4cd07282, 0x349eeb06, 0x0c9d5332, 0x520b24ef, 0x80020447, 0x67976491,
    0x2f931ca3, 0xfe9b0535, 0xfcd30220, 0x61a9e6cc, 0xa487d8d7, 0x3f7c5dd1,
    0x7d0127c5, 0x48f51d15, 0x60dea871, 0xc9a91cb7, 0x58b53bb3, 0x9d5e0b2d,
    0x624a78b4, 0x30dbee1b, 0x9bdf22e7, 0x1df5c299, 0x2d5643a7, 0xf4dd35ff,
    0x03ca8fd6, 0x53b47ed8, 0x6f2c19aa, 0xfeb0c1f4, 0x49e54438, 0x2f2577e6,
    0xbf876969, 0x72440ea9, 0xfa0bafb8, 0x74f5b3a0, 0x7dd357cd, 0x89ce1358,
    0x6ef2cdda, 0x1e7767f3, 0xa6be9fdb, 0x4f5f88f8, 0xba994a3a, 0x08ca6b65,
    0xe0893818, 0x9e00a16a, 0xf42bfc8f, 0x9972eedc, 0x749c8b51, 0x32c05f5e,
    0xd706805f, 0x6bfbb7cf, 0xd9210a10, 0x31a1db97, 0x923a9559, 0x37a7a1f6,
    0x059f8861, 0xca493e62, 0x65157e81, 0x8f6467dd, 0xab85ff9f, 0x9331aff2,
    0x8616b9f5, 0xedbd5695, 0xee7e29b1, 0x313ac44f, 0xb903112f, 0x432ef649,
    0xdc0a36c0, 0x61cf2bba, 0x81474925, 0xa8b6c7ad, 0xee5931de, 0xb2f8158d,
    0x59fb7409, 0x2e3dfaed, 0x9af25a3f, 0xe1fed4d5,
};

/* Run lengths: the expected run is 2^run_order_bits[state]; each whole expected
 * run is a 1 bit (and raises the state), the rest a 0 and its length in
 * run_order_bits[state] bits (and the state falls back by one). */
#define RUN_STATES 32
static const uint8_t run_order_bits[RUN_STATES] = {
    0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3,
    4, 4, 5, 5, 6, 6, 7, 7, 8, 9, 10, 11, 12, 13, 14, 15,
};

/* Tables built once at import. */
static uint32_t code_bits[CODES][256];
static uint8_t code_length[CODES][256];
static uint8_t fold[256];      /* a signed error mod 256 -> 0, -1, 1, -2, 2, ... as 0, 1, 2, ... */
static uint8_t bucket_of[256]; /* context -> bucket */

static unsigned bit_length(unsigned v)
{
    unsigned n = 0;
    while (v) {
        n++;
        v >>= 1;
    }
    return n;
}

static void build_tables(void)
{
    for (unsigned k = 0; k < CODES; k++) {
        unsigned unary_limit = CODE_LIMIT - 8;
        if (unary_limit > (1u << (8 - k)) - 1) {
            unary_limit = (1u << (8 - k)) - 1;
        }
        unsigned plain = unary_limit << k;            /* values with a Golomb-Rice code */
        unsigned escaped = 256 - plain;               /* the others */
        unsigned offset_bits = escaped == 1 ? 0 : bit_length(escaped - 1);
        for (unsigned v = 0; v < 256; v++) {
            if (v < plain) {
                code_bits[k][v] = (1u << k) | (v & ((1u << k) - 1));
                code_length[k][v] = (uint8_t)((v >> k) + 1 + k);
            } else {
                code_bits[k][v] = v - plain;
                code_length[k][v] = (uint8_t)(unary_limit + offset_bits);
            }
        }
    }
    for (unsigned e = 0; e < 256; e++) {
        fold[e] = (uint8_t)(e < 128 ? e << 1 : ((255 - e) << 1) + 1);
        unsigned b = bit_length(e + 1) - 1;
        bucket_of[e] = (uint8_t)(b < BUCKETS ? b : BUCKETS - 1);
    }
}

/* -- the bit stream: MSB first into 32-bit words, stored little-endian ---------- */

typedef struct {
    uint8_t *data;
    size_t used, capacity; /* in bytes, whole words */
    uint64_t pending;      /* the low `pending_bits` bits are not written yet */
    unsigned pending_bits;
    int failed;            /* out of memory */
} BitWriter;

static void write_word(BitWriter *w, uint32_t word)
{
    if (w->used == w->capacity) {
        size_t capacity = w->capacity * 2;
        uint8_t *data = w->failed ? NULL : realloc(w->data, capacity);
        if (!data) {
            w->failed = 1;
            w->used = 0; /* keep going harmlessly; the caller sees `failed` */
            return;
        }
        w->data = data;
        w->capacity = capacity;
    }
    uint8_t *p = w->data + w->used;
    p[0] = (uint8_t)word;
    p[1] = (uint8_t)(word >> 8);
    p[2] = (uint8_t)(word >> 16);
    p[3] = (uint8_t)(word >> 24);
    w->used += 4;
}

/* Append the `length` (<= 32) low bits of `bits`. */
static inline void put_bits(BitWriter *w, uint32_t bits, unsigned length)
{
    w->pending = (w->pending << length) | bits;
    w->pending_bits += length;
    if (w->pending_bits >= 32) {
        w->pending_bits -= 32;
        write_word(w, (uint32_t)(w->pending >> w->pending_bits));
    }
}

/* The last word, zero-padded, then one word of zeros: the decoders read a word ahead. */
static void finish_bits(BitWriter *w)
{
    if (w->pending_bits) {
        write_word(w, (uint32_t)(w->pending << (32 - w->pending_bits)));
        w->pending_bits = 0;
    }
    write_word(w, 0);
}

/* -- the coder's state ------------------------------------------------------- */

typedef struct {
    uint32_t totals[BUCKETS][CODES]; /* code lengths each code would have cost */
    uint8_t best[BUCKETS];           /* the code each bucket uses now */
    uint8_t *errors;                 /* this row's folded errors; errors[-1] is the row's left context */
} Plane;

typedef struct {
    BitWriter out;
    Plane planes[3]; /* R, G, B: the order they are coded in for each pixel */
    unsigned countdown;  /* pixels to code before the next model update */
    unsigned seed;       /* position in update_spacing */
    unsigned level;      /* bits of the update-spacing mask */
    unsigned level_left; /* pixels until the level rises */
    unsigned run_state;  /* index into run_order_bits */
} Coder;

static inline unsigned next_spacing(Coder *c, unsigned mask)
{
    c->seed = (c->seed + 1) & 0xff;
    return update_spacing[c->seed] & mask;
}

static inline unsigned channel(uint32_t pixel, int plane)
{
    return (pixel >> (16 - 8 * plane)) & 0xff; /* plane 0 R, 1 G, 2 B */
}

static inline int same_colour(uint32_t a, uint32_t b)
{
    return ((a ^ b) & 0xffffff) == 0;
}

/* Code pixel i of the row: errors against the prediction, each with the code
 * its context's bucket uses. The prediction is the left neighbour on the first
 * row, the one above for the first column, else the mean of the two. */
static inline void code_pixel(Coder *c, const uint32_t *above, const uint32_t *row, int i)
{
    for (int p = 0; p < 3; p++) {
        Plane *plane = &c->planes[p];
        unsigned predicted;
        if (!above) {
            predicted = i ? channel(row[i - 1], p) : 0;
        } else if (!i) {
            predicted = channel(above[0], p);
        } else {
            predicted = (channel(row[i - 1], p) + channel(above[i], p)) >> 1;
        }
        unsigned error = fold[(channel(row[i], p) - predicted) & 0xff];
        plane->errors[i] = (uint8_t)error;
        unsigned code = plane->best[bucket_of[plane->errors[i - 1]]];
        put_bits(&c->out, code_bits[code][error], code_length[code][error]);
    }
}

/* Learn from pixel i: every code's cost for its errors goes into the totals of
 * the bucket of its context, and the bucket takes the cheapest code (the
 * highest-numbered one on a tie). */
static void update_models(Coder *c, int i)
{
    unsigned threshold = halving_threshold[c->level];
    for (int p = 0; p < 3; p++) {
        Plane *plane = &c->planes[p];
        unsigned bucket = bucket_of[plane->errors[i - 1]];
        unsigned error = plane->errors[i];
        uint32_t *totals = plane->totals[bucket];
        unsigned best = CODES - 1;
        uint32_t best_total = totals[best] += code_length[best][error];
        for (int k = CODES - 2; k >= 0; k--) {
            uint32_t total = totals[k] += code_length[k][error];
            if (total < best_total) {
                best = (unsigned)k;
                best_total = total;
            }
        }
        plane->best[bucket] = (uint8_t)best;
        if (best_total > threshold) {
            for (int k = 0; k < CODES; k++) {
                totals[k] >>= 1;
            }
        }
    }
}

static void code_run(Coder *c, unsigned length)
{
    unsigned whole = 0;
    while (length >= (1u << run_order_bits[c->run_state])) {
        length -= 1u << run_order_bits[c->run_state];
        whole++;
        if (c->run_state < RUN_STATES - 1) {
            c->run_state++;
        }
    }
    for (; whole >= 16; whole -= 16) {
        put_bits(&c->out, 0xffff, 16);
    }
    if (whole) {
        put_bits(&c->out, (1u << whole) - 1, whole);
    }
    put_bits(&c->out, length, run_order_bits[c->run_state] + 1u); /* a 0, then the rest */
    if (c->run_state) {
        c->run_state--;
    }
}

/* Code pixels [i, end) of a row at one update-spacing level. A run starts where
 * the two pixels above agree and the last two coded agree (from the fourth
 * pixel on, and not twice at the same pixel); it stops at `end`. The update
 * countdown does not move during runs. */
static void code_span(Coder *c, const uint32_t *above, const uint32_t *row, int i, int end)
{
    const unsigned mask = (1u << c->level) - 1;
    int next_update;
    int last_run_start = 0;

    if (i == 0) {
        code_pixel(c, above, row, 0);
        if (c->countdown) {
            c->countdown--;
        } else {
            c->countdown = next_spacing(c, mask);
            update_models(c, 0);
        }
        i = 1;
    }
    next_update = i + (int)c->countdown;

    while (i < end) {
        if (above && i > 2 && i != last_run_start && same_colour(above[i - 1], above[i]) &&
            same_colour(row[i - 1], row[i - 2])) {
            unsigned length = 0;
            c->countdown = (unsigned)(next_update - i);
            last_run_start = i;
            while (same_colour(row[i], row[i - 1])) {
                length++;
                if (++i == end) {
                    code_run(c, length);
                    return;
                }
            }
            code_run(c, length);
            next_update = i + (int)c->countdown;
            continue;
        }
        code_pixel(c, above, row, i);
        if (i == next_update) {
            update_models(c, i);
            next_update = i + 1 + (int)next_spacing(c, mask);
        }
        i++;
    }
    c->countdown = (unsigned)(next_update - end);
}

/* A row is coded in spans that end where the update-spacing level rises. */
static void code_row(Coder *c, const uint32_t *above, const uint32_t *row, unsigned width)
{
    unsigned start = 0;
    while (c->level < MAX_LEVEL && c->level_left <= width - start) {
        if (c->level_left) {
            code_span(c, above, row, (int)start, (int)(start + c->level_left));
            start += c->level_left;
        }
        c->level++;
        c->level_left = LEVEL_PIXELS;
    }
    if (start < width) {
        code_span(c, above, row, (int)start, (int)width);
        if (c->level < MAX_LEVEL) {
            c->level_left -= width - start;
        }
    }
}

/* The whole stream, or 0 (and no data) when memory runs out. */
static int code_image(const uint32_t *pixels, unsigned width, unsigned height, BitWriter *out)
{
    Coder *c = calloc(1, sizeof(Coder));
    uint8_t *errors = calloc(3, (size_t)width + 1);
    int ok = 0;
    if (!c || !errors) {
        goto done;
    }
    c->out = *out;
    c->seed = 0xff;
    c->level_left = LEVEL_PIXELS;
    for (int p = 0; p < 3; p++) {
        c->planes[p].errors = errors + p * ((size_t)width + 1) + 1;
        memset(c->planes[p].best, CODES - 1, sizeof(c->planes[p].best));
    }

    const uint32_t header[5] = {QUIC_MAGIC, QUIC_VERSION, QUIC_TYPE_RGB32, width, height};
    for (int k = 0; k < 5; k++) {
        write_word(&c->out, header[k]);
    }
    code_row(c, NULL, pixels, width);
    for (unsigned y = 1; y < height; y++) {
        for (int p = 0; p < 3; p++) {
            c->planes[p].errors[-1] = c->planes[p].errors[0];
        }
        code_row(c, pixels + (size_t)(y - 1) * width, pixels + (size_t)y * width, width);
    }
    finish_bits(&c->out);
    *out = c->out;
    ok = !out->failed;
done:
    free(errors);
    free(c);
    return ok;
}

/* -- Python ------------------------------------------------------------------ */

static PyObject *quic_encode(PyObject *module, PyObject *arg)
{
    (void)module;
    Py_buffer view;
    if (!view_pixels(arg, &view, "QUIC", MAX_PIXELS)) {
        return NULL;
    }
    PyObject *result = NULL;
    Py_ssize_t height = view.shape[0], width = view.shape[1];
    BitWriter out = {0};
    out.capacity = ((size_t)width * (size_t)height + 16) * 4;
    out.data = malloc(out.capacity);
    if (!out.data) {
        PyErr_NoMemory();
        goto done;
    }
    int ok;
    Py_BEGIN_ALLOW_THREADS
    ok = code_image((const uint32_t *)view.buf, (unsigned)width, (unsigned)height, &out);
    Py_END_ALLOW_THREADS
    if (ok) {
        result = PyBytes_FromStringAndSize((const char *)out.data, (Py_ssize_t)out.used);
    } else {
        PyErr_NoMemory();
    }
    free(out.data);
done:
    PyBuffer_Release(&view);
    return result;
}

static PyMethodDef quic_methods[] = {
    {"encode", quic_encode, METH_O,
     "encode(pixels) -> bytes\n\n"
     "The QUIC stream (image type RGB32) of a C-contiguous (height, width) uint32\n"
     "array of 0xXXRRGGBB pixels; the x byte is not sent. The GIL is released while\n"
     "it codes."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef quic_module = {
    .m_base = PyModuleDef_HEAD_INIT,
    .m_name = "_quic",
    .m_doc = "SPICE's QUIC lossless image encoder for 32-bit pixels (a C extension).",
    .m_size = -1,
    .m_methods = quic_methods,
};

PyMODINIT_FUNC PyInit__quic(void)
{
    build_tables();
    return PyModule_Create(&quic_module);
}
