/* Growable byte buffer with optional headroom (for lws's LWS_PRE) and a JSON text writer on top. */
#ifndef SM_CORE_BUF_H
#define SM_CORE_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* data[0..headroom) is reserved space before the payload; the payload is data[headroom..headroom+len).
 * max bounds the payload (0 = unbounded); an append past it fails and sets overflow.
 * Every append returns SM_OK (0) or a negative sm_status: SM_ERR_LIMIT (max reached) or
 * SM_ERR_NOMEM, and then sets overflow; a failed append writes nothing. */
typedef struct sm_buf {
    char *data;
    size_t len;
    size_t cap; /* bytes allocated at data, headroom included */
    size_t headroom;
    size_t max;
    bool overflow; /* an append failed (limit or allocation); the contents are then incomplete */
} sm_buf;

void sm_buf_init(sm_buf *b, size_t headroom, size_t max);
void sm_buf_free(sm_buf *b);
/* Empties the payload, keeps the allocation, clears overflow. */
void sm_buf_reset(sm_buf *b);
/* Ensures room for extra payload bytes (+1 for a NUL). SM_OK or a negative status (sets overflow). */
int sm_buf_reserve(sm_buf *b, size_t extra);
int sm_buf_append(sm_buf *b, const void *p, size_t n);
int sm_buf_puts(sm_buf *b, const char *s);
int sm_buf_putc(sm_buf *b, char c);
int sm_buf_printf(sm_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Pointer to the payload (NUL-terminated when non-empty). */
static inline char *sm_buf_payload(const sm_buf *b)
{
    return b->data ? b->data + b->headroom : NULL;
}
/* Detaches the allocation (headroom included) and leaves b empty; the caller frees it. */
char *sm_buf_steal(sm_buf *b);

/* JSON writer. These append text and never validate; callers pass valid UTF-8. */
int sm_json_string(sm_buf *b, const char *s);           /* "..." with JSON escaping; NULL writes null */
int sm_json_stringn(sm_buf *b, const char *s, size_t n);
int sm_json_int(sm_buf *b, int64_t v);
int sm_json_bool(sm_buf *b, bool v);
/* Writes ,"key": (comma unless *first, which it then clears). */
int sm_json_key(sm_buf *b, const char *key, bool *first);

#endif
