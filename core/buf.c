/* Growable byte buffer with optional headroom (for lws's LWS_PRE) and a JSON text writer on top. */
#include "core/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

#define BUF_MIN_ALLOC 256

void sm_buf_init(sm_buf *b, size_t headroom, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->headroom = headroom;
    b->max = max;
    b->overflow = false;
}

void sm_buf_free(sm_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->overflow = false;
}

void sm_buf_reset(sm_buf *b)
{
    b->len = 0;
    b->overflow = false;
    if (b->data)
        b->data[b->headroom] = '\0';
}

/* Slow path of sm_buf_reserve: checks the limit and grows geometrically so appends stay amortised O(1). */
static int buf_grow(sm_buf *b, size_t extra)
{
    if (extra > SIZE_MAX / 4 - b->len - b->headroom || (b->max && extra > b->max - b->len)) {
        b->overflow = true;
        return SM_ERR_LIMIT;
    }
    size_t need = b->headroom + b->len + extra + 1;
    if (need <= b->cap)
        return SM_OK;
    size_t ncap = b->cap ? b->cap : BUF_MIN_ALLOC;
    while (ncap < need)
        ncap *= 2;
    /* No point allocating beyond what max can ever use. */
    if (b->max && ncap > b->headroom + b->max + 1)
        ncap = b->headroom + b->max + 1;
    char *n = realloc(b->data, ncap);
    if (!n) {
        b->overflow = true;
        return SM_ERR_NOMEM;
    }
    if (!b->data)
        n[b->headroom] = '\0';
    b->data = n;
    b->cap = ncap;
    return SM_OK;
}

static inline int buf_need(sm_buf *b, size_t extra)
{
    if (b->data && extra < b->cap - b->headroom - b->len &&
        (!b->max || extra <= b->max - b->len))
        return SM_OK;
    return buf_grow(b, extra);
}

int sm_buf_reserve(sm_buf *b, size_t extra)
{
    return buf_need(b, extra);
}

int sm_buf_append(sm_buf *b, const void *p, size_t n)
{
    int rc = buf_need(b, n);
    if (rc != SM_OK)
        return rc;
    char *dst = b->data + b->headroom + b->len;
    if (n)
        memcpy(dst, p, n);
    dst[n] = '\0';
    b->len += n;
    return SM_OK;
}

int sm_buf_puts(sm_buf *b, const char *s)
{
    return sm_buf_append(b, s, strlen(s));
}

int sm_buf_putc(sm_buf *b, char c)
{
    int rc = buf_need(b, 1);
    if (rc != SM_OK)
        return rc;
    char *dst = b->data + b->headroom + b->len;
    dst[0] = c;
    dst[1] = '\0';
    b->len++;
    return SM_OK;
}

int sm_buf_printf(sm_buf *b, const char *fmt, ...)
{
    va_list ap;
    /* Format straight into the free space first; most formatted pieces fit without growing. */
    size_t room = b->data ? b->cap - b->headroom - b->len : 0;
    char *dst = room ? b->data + b->headroom + b->len : NULL;
    va_start(ap, fmt);
    int n = vsnprintf(dst, room, fmt, ap);
    va_end(ap);
    if (n < 0) {
        if (dst)
            *dst = '\0';
        b->overflow = true;
        return SM_ERR_INVALID;
    }
    if ((size_t)n < room && (!b->max || (size_t)n <= b->max - b->len)) {
        b->len += (size_t)n;
        return SM_OK;
    }
    if (dst)
        *dst = '\0';
    int rc = buf_need(b, (size_t)n);
    if (rc != SM_OK)
        return rc;
    va_start(ap, fmt);
    vsnprintf(b->data + b->headroom + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return SM_OK;
}

char *sm_buf_steal(sm_buf *b)
{
    /* Always hand back an allocation so the caller can rely on a NUL-terminated payload. */
    if (!b->data && buf_grow(b, 0) != SM_OK)
        return NULL;
    char *p = b->data;
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->overflow = false;
    return p;
}

/* JSON string escaping: 0 = copy as is, otherwise the character after the backslash ('u' = \u00XX).
 * Bytes >= 0x80 are copied: callers pass valid UTF-8 and JSON allows it raw. */
static const char json_escape[256] = {
    ['\b'] = 'b', ['\t'] = 't', ['\n'] = 'n', ['\f'] = 'f', ['\r'] = 'r', ['"'] = '"', ['\\'] = '\\',
    [0x00] = 'u', [0x01] = 'u', [0x02] = 'u', [0x03] = 'u', [0x04] = 'u', [0x05] = 'u', [0x06] = 'u',
    [0x07] = 'u', [0x0b] = 'u', [0x0e] = 'u', [0x0f] = 'u', [0x10] = 'u', [0x11] = 'u', [0x12] = 'u',
    [0x13] = 'u', [0x14] = 'u', [0x15] = 'u', [0x16] = 'u', [0x17] = 'u', [0x18] = 'u', [0x19] = 'u',
    [0x1a] = 'u', [0x1b] = 'u', [0x1c] = 'u', [0x1d] = 'u', [0x1e] = 'u', [0x1f] = 'u',
};

int sm_json_stringn(sm_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    /* Reserve for the common case (nothing to escape) once; escapes reserve their extra bytes. */
    int rc = buf_need(b, n + 2);
    if (rc != SM_OK)
        return rc;
    char *dst = b->data + b->headroom + b->len;
    size_t used = 0, budget = n + 2;
    dst[used++] = '"';
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        size_t run = i;
        while (run < n && !json_escape[u[run]])
            run++;
        if (run > i) {
            memcpy(dst + used, u + i, run - i);
            used += run - i;
            i = run;
            if (i == n)
                break;
        }
        char e = json_escape[u[i]];
        size_t extra = e == 'u' ? 5 : 1; /* beyond the 1 byte already budgeted for this char */
        if (used + extra + (n - i) + 1 > budget) {
            b->len += used; /* let the grow path see what is written so far */
            rc = buf_need(b, extra + (n - i) + 1);
            b->len -= used;
            if (rc != SM_OK) {
                b->data[b->headroom + b->len] = '\0';
                return rc;
            }
            dst = b->data + b->headroom + b->len;
            budget = used + extra + (n - i) + 1;
        }
        dst[used++] = '\\';
        dst[used++] = e;
        if (e == 'u') {
            dst[used++] = '0';
            dst[used++] = '0';
            dst[used++] = hex[u[i] >> 4];
            dst[used++] = hex[u[i] & 15];
        }
        i++;
    }
    dst[used++] = '"';
    dst[used] = '\0';
    b->len += used;
    return SM_OK;
}

int sm_json_string(sm_buf *b, const char *s)
{
    if (!s)
        return sm_buf_append(b, "null", 4);
    return sm_json_stringn(b, s, strlen(s));
}

int sm_json_int(sm_buf *b, int64_t v)
{
    char tmp[24];
    char *end = tmp + sizeof tmp, *p = end;
    /* Work in unsigned so INT64_MIN negates without overflow. */
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    return sm_buf_append(b, p, (size_t)(end - p));
}

int sm_json_bool(sm_buf *b, bool v)
{
    return v ? sm_buf_append(b, "true", 4) : sm_buf_append(b, "false", 5);
}

int sm_json_key(sm_buf *b, const char *key, bool *first)
{
    int rc;
    if (first && *first)
        *first = false;
    else if ((rc = sm_buf_putc(b, ',')) != SM_OK)
        return rc;
    if ((rc = sm_json_string(b, key)) != SM_OK)
        return rc;
    return sm_buf_putc(b, ':');
}
