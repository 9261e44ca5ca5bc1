/*
 * What the image encoders (_quic.c, _lz.c, _glz.c) take from Python: a C-contiguous
 * (height, width) buffer of 32-bit 0xXXRRGGBB pixels, of at most ``max_pixels``.
 * One check for all, so that they refuse the same things with the same words.
 */

#ifndef SPICE_SERVER_PIXELS_H
#define SPICE_SERVER_PIXELS_H

#include <Python.h> /* after PY_SSIZE_T_CLEAN, in the file that includes this */

#include <string.h>

/* Views ``arg`` as the pixels; 0 with a ValueError (or the buffer protocol's error)
 * set, and nothing held, if it is not such an array. ``codec`` names the encoder in
 * the error. */
static int view_pixels(PyObject *arg, Py_buffer *view, const char *codec,
                       unsigned long long max_pixels)
{
    if (PyObject_GetBuffer(arg, view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) {
        return 0;
    }
    if (view->ndim != 2 || view->itemsize != 4 || !view->format ||
        strchr("IL", view->format[strlen(view->format) - 1]) == NULL) {
        PyErr_Format(PyExc_ValueError, "%s needs a (height, width) array of uint32 pixels", codec);
    } else if (view->shape[0] <= 0 || view->shape[1] <= 0 ||
               (unsigned long long)view->shape[0] * (unsigned long long)view->shape[1] > max_pixels) {
        PyErr_Format(PyExc_ValueError, "%s cannot code a %zdx%zd image", codec, view->shape[1],
                     view->shape[0]);
    } else {
        return 1;
    }
    PyBuffer_Release(view);
    return 0;
}

#endif
