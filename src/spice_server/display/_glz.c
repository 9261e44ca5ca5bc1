/*
 * SPICE's GLZ image format, encoder side: LZ77 over a window of the images sent before.
 *
 * A client that decodes GLZ (spice-gtk) keeps the images it decoded, by id, until an
 * image tells it to let them go; a copy in a GLZ stream may take its pixels from one of
 * them. So text redrawn at another place, a dialog shown again, a page's parts drawn in
 * another order cost a few bytes a run of pixels, where an image coded alone (LZ4, LZ)
 * codes them again. Each client has a ``Dictionary`` of its own: the images it keeps,
 * copied here (up to ``window`` pixels), and a hash table of where each three pixels
 * were seen.
 *
 * The stream, written from the description of the format in spice-common's lz_common.h
 * and spice-gtk's GLZ decoder: big-endian words magic "LZ  " and version 1.1, a byte
 * of image type (RGB32: 8) and top-down flag (bit 4), width, height and stride (32
 * bits each), the image's id (64 bits) and how many images before it the client must
 * keep (32 bits: win_head_dist); then control bytes. One below 32 says that control + 1
 * pixels follow as they are, 3 bytes each (B, G, R). Any other is a copy: its top 3 bits
 * the length (7: longer, the rest follows as bytes of 255 and one below 255), bit 4 a
 * long-offset flag, its low 4 bits the low bits of the pixel offset, whose next 8 bits
 * come next. Then a byte whose top 2 bits count the bytes of the image distance that
 * follow it: with a short offset (12 bits) its low 6 bits are the distance's low bits;
 * with a long one its bit 5 says a last byte of offset follows (bits 17 to 24) and its
 * low 5 bits are offset bits 12 to 16, and the distance is all in the bytes that follow.
 * Distance 0 is this image, the offset then counting back from the pixel being written,
 * less 1; otherwise the offset is the pixel's place in image id - distance.
 *
 * The client waits for an image a copy takes pixels from, and lets go of its window
 * only in order of ids: each id must reach it, in order, once (the Python side sends
 * an image it no longer needs as a draw that shows nothing; a client still decodes
 * that).
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "_out.h"
#include "_pixels.h"

#define MAX_PIXELS (1u << 25) /* the long offset's 25 bits */
#define MAX_WINDOW (1u << 25)
#define MAGIC 0x20205a4cu
#define VERSION 0x00010001u
#define TYPE_RGB32 8
#define TOP_DOWN 0x10
#define HEADER_BYTES 33

#define LITERAL_MAX 32
#define HASH_BITS 16
#define WAYS 2 /* places remembered for each hash, newest first */
#define GOOD_ENOUGH 256
#define SKIP_SHIFT 5 /* after 32 places without a copy, look at every other one, ... */
#define RGB 0xffffffu
#define MAX_DISTANCE (1u << 24) /* images back: three bytes with a long offset */

typedef struct {
    uint64_t id;
    uint64_t start; /* where its first pixel is in the sequence of all pixels kept */
    size_t size;    /* pixels */
    size_t at;      /* where its pixels are in the ring */
} Kept;

typedef struct {
    PyObject_HEAD
    uint32_t *ring;     /* the kept images' pixels */
    size_t window;      /* the ring's size, pixels */
    size_t ring_end;    /* where the next image goes, unless it must wrap */
    Kept *kept;         /* circular, oldest first */
    size_t kept_capacity, kept_first, kept_count;
    uint64_t *head;     /* hash -> sequence position + 1 (0: none), WAYS a hash */
    uint32_t *where;    /* ...and where that pixel is (or will be) in the ring */
    uint64_t next_id;
    uint64_t total;     /* pixels in the sequence so far */
    int busy;
} Dictionary;

/* -- the output -------------------------------------------------------------- */


static void put32(Out *out, uint32_t word)
{
    for (int shift = 24; shift >= 0; shift -= 8) {
        put(out, (uint8_t)(word >> shift));
    }
}

static void put_literals(Out *out, const uint32_t *from, size_t count)
{
    if (out->capacity - out->used < count * 3 + count / LITERAL_MAX + 1) {
        out->overflow = 1;
        return;
    }
    uint8_t *at = out->data + out->used;
    while (count > 0) {
        size_t run = count < LITERAL_MAX ? count : LITERAL_MAX;
        *at++ = (uint8_t)(run - 1);
        for (size_t i = 0; i < run; i++) {
            uint32_t pixel = from[i];
            at[0] = (uint8_t)pixel;
            at[1] = (uint8_t)(pixel >> 8);
            at[2] = (uint8_t)(pixel >> 16);
            at += 3;
        }
        from += run;
        count -= run;
    }
    out->used = (size_t)(at - out->data);
}

/* The bytes a copy takes: ``offset`` as written (biased already), ``distance`` in images. */
static size_t copy_cost(size_t length, size_t offset, uint64_t distance)
{
    size_t bytes = 3;
    if (length >= 7) {
        bytes += 1 + (length - 7) / 255;
    }
    int distance_bytes = 0;
    uint64_t rest = distance;
    if (offset < (1u << 12)) {
        rest >>= 6;
    } else if (offset >= (1u << 17)) {
        bytes++;
    }
    for (; rest; rest >>= 8) {
        distance_bytes++;
    }
    return bytes + (size_t)distance_bytes;
}

static void put_copy(Out *out, size_t length, size_t offset, uint64_t distance)
{
    int is_long = offset >= (1u << 12);
    unsigned code = length < 7 ? (unsigned)length : 7;
    put(out, (uint8_t)((code << 5) | ((unsigned)is_long << 4) | (offset & 0x0f)));
    if (code == 7) {
        size_t rest = length - 7;
        for (; rest >= 255; rest -= 255) {
            put(out, 255);
        }
        put(out, (uint8_t)rest);
    }
    put(out, (uint8_t)(offset >> 4));
    if (!is_long) {
        uint64_t high = distance >> 6;
        unsigned count = 0;
        for (uint64_t rest = high; rest; rest >>= 8) {
            count++;
        }
        put(out, (uint8_t)((count << 6) | (distance & 0x3f)));
        for (unsigned i = 0; i < count; i++) {
            put(out, (uint8_t)(high >> (8 * i)));
        }
    } else {
        unsigned count = 0;
        for (uint64_t rest = distance; rest; rest >>= 8) {
            count++;
        }
        int longer = offset >= (1u << 17);
        put(out, (uint8_t)((count << 6) | ((unsigned)longer << 5) | ((offset >> 12) & 0x1f)));
        for (unsigned i = 0; i < count; i++) {
            put(out, (uint8_t)(distance >> (8 * i)));
        }
        if (longer) {
            put(out, (uint8_t)(offset >> 17));
        }
    }
}

/* -- the window ---------------------------------------------------------------- */

static Kept *kept_at(Dictionary *d, size_t index)
{
    return &d->kept[(d->kept_first + index) % d->kept_capacity];
}

static void forget_oldest(Dictionary *d)
{
    d->kept_first = (d->kept_first + 1) % d->kept_capacity;
    d->kept_count--;
}

static int overlaps(const Kept *kept, size_t at, size_t size)
{
    return kept->at < at + size && at < kept->at + kept->size;
}

/* Where an image of ``size`` pixels goes in the ring, the images it covers forgotten.
 * The kept images lie one after the other from the oldest, around the ring, up to
 * ring_end: what follows is free up to the oldest. So the ones in the way are the
 * oldest, and, where the image goes back to the ring's start, the ones past ring_end
 * (older than those it covers there) go first. */
static size_t make_room(Dictionary *d, size_t size)
{
    size_t at = d->ring_end;
    if (at + size > d->window) {
        at = 0;
        while (d->kept_count && kept_at(d, 0)->at >= d->ring_end) {
            forget_oldest(d);
        }
    }
    while (d->kept_count && overlaps(kept_at(d, 0), at, size)) {
        forget_oldest(d);
    }
    return at;
}

/* The kept image holding sequence position ``position`` (one is, if it is not older
 * than the oldest kept). */
static Kept *holding(Dictionary *d, uint64_t position)
{
    size_t low = 0, high = d->kept_count; /* the answer is in [low, high) */
    while (high - low > 1) {
        size_t middle = (low + high) / 2;
        if (kept_at(d, middle)->start <= position) {
            low = middle;
        } else {
            high = middle;
        }
    }
    return kept_at(d, low);
}

static unsigned hash3(const uint32_t *at)
{
    uint32_t key = (at[0] & RGB) ^ ((at[1] & RGB) << 7) ^ ((at[2] & RGB) * 0x9E3779B1u);
    return (key * 0x85EBCA77u) >> (32 - HASH_BITS);
}

/* Remembers that the three pixels from ``i`` were seen there (``ring_at``: where the
 * image goes in the ring); not inside a run of one colour, whose every place has the
 * same three: a lookup should find where a run begins, which lines up with what
 * follows it (a row of flat tiles found at the start of a tile, not at any of its
 * pixels). */
static void remember(Dictionary *d, const uint32_t *pixels, size_t i, size_t count, size_t ring_at)
{
    if (i + 3 > count) {
        return;
    }
    if (i > 0 && ((pixels[i - 1] ^ pixels[i]) & RGB) == 0 && ((pixels[i] ^ pixels[i + 1]) & RGB) == 0 &&
        ((pixels[i] ^ pixels[i + 2]) & RGB) == 0) {
        return;
    }
    size_t slot = (size_t)hash3(pixels + i) * WAYS;
    memmove(d->head + slot + 1, d->head + slot, sizeof(uint64_t) * (WAYS - 1));
    memmove(d->where + slot + 1, d->where + slot, sizeof(uint32_t) * (WAYS - 1));
    d->head[slot] = d->total + i + 1;
    d->where[slot] = (uint32_t)(ring_at + i);
}

static size_t same(const uint32_t *a, const uint32_t *b, size_t limit)
{
    size_t length = 0;
    while (length < limit && ((a[length] ^ b[length]) & RGB) == 0) {
        length++;
    }
    return length;
}

static int same3(const uint32_t *a, const uint32_t *b)
{
    return (((a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2])) & RGB) == 0;
}

typedef struct {
    size_t length, offset;
    uint64_t distance;
    long saving;
} Copy;

/* Of the places remembered for the three pixels at ``i``, the copy that saves most
 * bytes against literals (none: length 0). */
static Copy best_copy(Dictionary *d, const uint32_t *pixels, size_t i, size_t count, uint64_t id,
                      uint64_t oldest_start)
{
    Copy best = {0, 0, 0, 0};
    size_t slot = (size_t)hash3(pixels + i) * WAYS;
    for (int way = 0; way < WAYS && d->head[slot + way]; way++) {
        uint64_t position = d->head[slot + way] - 1;
        Copy copy;
        if (position >= d->total) { /* earlier in this image */
            size_t back = (size_t)(d->total + i - position);
            if (!same3(pixels + i, pixels + i - back)) {
                continue;
            }
            copy.length = same(pixels + i, pixels + i - back, count - i);
            copy.offset = back - 1;
            copy.distance = 0;
        } else if (position >= oldest_start) {
            const uint32_t *ref = d->ring + d->where[slot + way];
            if (!same3(pixels + i, ref)) {
                continue;
            }
            Kept *kept = holding(d, position);
            copy.distance = id - kept->id;
            if (copy.distance >= MAX_DISTANCE) {
                break;
            }
            size_t place = (size_t)(position - kept->start);
            size_t limit = kept->size - place;
            if (limit > count - i) {
                limit = count - i;
            }
            copy.length = same(pixels + i, ref, limit);
            copy.offset = place;
        } else {
            break; /* the ways are newest first: the rest are older still */
        }
        copy.saving = (long)(3 * copy.length) - (long)copy_cost(copy.length, copy.offset, copy.distance);
        if (copy.saving > best.saving) {
            best = copy;
            if (copy.length >= GOOD_ENOUGH) {
                break;
            }
        }
    }
    return best;
}

/* Codes ``pixels`` (going to ``ring_at``) against themselves and the kept images,
 * oldest usable ``oldest_start``. Greedy; where no copy is found for a while, places
 * are looked at further and further apart (as LZ4 does), so that pixels with nothing
 * to copy (a photograph's) cost little time. */
static void compress(Dictionary *d, const uint32_t *pixels, size_t count, uint64_t id,
                     uint64_t oldest_start, size_t ring_at, Out *out)
{
    size_t i = 0, literals = 0, misses = 0;
    while (i < count) {
        Copy copy = {0, 0, 0, 0};
        if (i + 3 <= count) {
            copy = best_copy(d, pixels, i, count, id, oldest_start);
        }
        if (copy.length == 0) {
            remember(d, pixels, i, count, ring_at);
            size_t step = 1 + (misses++ >> SKIP_SHIFT);
            if (step > count - i) {
                step = count - i;
            }
            i += step;
            literals += step;
            continue;
        }
        misses = 0;
        put_literals(out, pixels + i - literals, literals);
        literals = 0;
        put_copy(out, copy.length, copy.offset, copy.distance);
        /* The places inside the copy are remembered too; of a long one (a flat area's
         * run) only its last ones: the rest repeat them. */
        size_t end = i + copy.length;
        size_t from = copy.length < GOOD_ENOUGH ? i : end - 3;
        for (size_t at = from; at < end; at++) {
            remember(d, pixels, at, count, ring_at);
        }
        i = end;
    }
    put_literals(out, pixels + i - literals, literals);
}

/* -- Python ------------------------------------------------------------------ */

static int dictionary_init(Dictionary *self, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"window", "first_id", NULL};
    Py_ssize_t window;
    unsigned long long first_id = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "n|K", keywords, &window, &first_id)) {
        return -1;
    }
    if (window < 1 || (size_t)window > MAX_WINDOW) {
        PyErr_Format(PyExc_ValueError, "a GLZ window of %zd pixels (1 to %u)", window,
                     MAX_WINDOW);
        return -1;
    }
    if (self->ring) {
        PyErr_SetString(PyExc_RuntimeError, "a GLZ dictionary is initialised once");
        return -1;
    }
    self->window = (size_t)window;
    self->ring = malloc(sizeof(uint32_t) * self->window);
    self->kept_capacity = 1024;
    self->kept = malloc(sizeof(Kept) * self->kept_capacity);
    self->head = calloc((size_t)WAYS << HASH_BITS, sizeof(uint64_t));
    self->where = calloc((size_t)WAYS << HASH_BITS, sizeof(uint32_t));
    if (!self->ring || !self->kept || !self->head || !self->where) {
        PyErr_NoMemory();
        return -1;
    }
    self->next_id = first_id;
    return 0;
}

static void dictionary_dealloc(Dictionary *self)
{
    free(self->ring);
    free(self->kept);
    free(self->head);
    free(self->where);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int keep(Dictionary *self)
{
    if (self->kept_count < self->kept_capacity) {
        return 1;
    }
    size_t capacity = self->kept_capacity * 2;
    Kept *kept = malloc(sizeof(Kept) * capacity);
    if (!kept) {
        return 0;
    }
    for (size_t i = 0; i < self->kept_count; i++) {
        kept[i] = *kept_at(self, i);
    }
    free(self->kept);
    self->kept = kept;
    self->kept_capacity = capacity;
    self->kept_first = 0;
    return 1;
}

static PyObject *dictionary_encode(Dictionary *self, PyObject *arg)
{
    Py_buffer view;
    if (!view_pixels(arg, &view, "GLZ", MAX_PIXELS)) {
        return NULL;
    }
    if (self->busy) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_RuntimeError, "a GLZ dictionary codes one image at a time");
        return NULL;
    }
    if (!keep(self)) {
        PyBuffer_Release(&view);
        return PyErr_NoMemory();
    }
    size_t width = (size_t)view.shape[1], height = (size_t)view.shape[0];
    size_t count = width * height;
    Out out = {0};
    out.capacity = HEADER_BYTES + 3 * count + count / LITERAL_MAX + 16;
    out.data = malloc(out.capacity);
    if (!out.data) {
        PyBuffer_Release(&view);
        return PyErr_NoMemory();
    }
    const uint32_t *pixels = (const uint32_t *)view.buf;
    uint64_t id = self->next_id;
    self->busy = 1;
    Py_BEGIN_ALLOW_THREADS
    int kept = count <= self->window;
    size_t at = 0;
    if (kept) {
        at = make_room(self, count);
    } else {
        while (self->kept_count) { /* the client lets go of all before it */
            forget_oldest(self);
        }
    }
    uint64_t oldest_id = self->kept_count ? kept_at(self, 0)->id : id;
    uint64_t oldest_start = self->kept_count ? kept_at(self, 0)->start : self->total;
    put32(&out, MAGIC);
    put32(&out, VERSION);
    put(&out, TYPE_RGB32 | TOP_DOWN);
    put32(&out, (uint32_t)width);
    put32(&out, (uint32_t)height);
    put32(&out, (uint32_t)(width * 4));
    put32(&out, (uint32_t)(id >> 32));
    put32(&out, (uint32_t)id);
    put32(&out, (uint32_t)(id - oldest_id));
    compress(self, pixels, count, id, oldest_start, at, &out);
    if (kept) {
        memcpy(self->ring + at, pixels, sizeof(uint32_t) * count);
        Kept *slot = &self->kept[(self->kept_first + self->kept_count) % self->kept_capacity];
        slot->id = id;
        slot->start = self->total;
        slot->size = count;
        slot->at = at;
        self->kept_count++;
        self->ring_end = at + count;
    }
    Py_END_ALLOW_THREADS
    self->total += count; /* the image's places stay in the table: too old once forgotten */
    self->next_id = id + 1;
    self->busy = 0;
    PyBuffer_Release(&view);
    PyObject *value = NULL;
    if (out.overflow) {
        PyErr_SetString(PyExc_RuntimeError, "GLZ stream longer than its bound");
    } else {
        value = PyBytes_FromStringAndSize((const char *)out.data, (Py_ssize_t)out.used);
    }
    free(out.data);
    return value;
}

static PyObject *dictionary_next_id(Dictionary *self, void *closure)
{
    (void)closure;
    return PyLong_FromUnsignedLongLong(self->next_id);
}

static PyObject *dictionary_kept(Dictionary *self, void *closure)
{
    (void)closure;
    return PyLong_FromSize_t(self->kept_count);
}

static PyMethodDef dictionary_methods[] = {
    {"encode", (PyCFunction)dictionary_encode, METH_O,
     "encode(pixels) -> bytes\n\n"
     "A C-contiguous (height, width) uint32 array of 0xXXRRGGBB pixels as a GLZ stream\n"
     "(header and data) of id ``next_id``, coded against the images kept; it is kept in\n"
     "turn if it fits the window. The client must get every stream, in order. The GIL\n"
     "is released while it codes; one image at a time."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef dictionary_getset[] = {
    {"next_id", (getter)dictionary_next_id, NULL, "The id the next image gets.", NULL},
    {"kept", (getter)dictionary_kept, NULL, "How many images are kept.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject DictionaryType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "spice_server.display._glz.Dictionary",
    .tp_basicsize = sizeof(Dictionary),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Dictionary(window, first_id=0)\n\n"
              "The images one client keeps for GLZ (up to ``window`` pixels), and the\n"
              "ids of the next ones, from ``first_id``.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)dictionary_init,
    .tp_dealloc = (destructor)dictionary_dealloc,
    .tp_methods = dictionary_methods,
    .tp_getset = dictionary_getset,
};

static struct PyModuleDef glz_module = {
    .m_base = PyModuleDef_HEAD_INIT,
    .m_name = "_glz",
    .m_doc = "SPICE's GLZ image encoder (a C extension).",
    .m_size = -1,
};

PyMODINIT_FUNC PyInit__glz(void)
{
    if (PyType_Ready(&DictionaryType) < 0) {
        return NULL;
    }
    PyObject *module = PyModule_Create(&glz_module);
    if (!module) {
        return NULL;
    }
    if (PyModule_AddObjectRef(module, "Dictionary", (PyObject *)&DictionaryType) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
