/* Reference-counted string interning, so the many sessions sharing a value store it once. */
#ifndef SM_SERVER_INTERN_H
#define SM_SERVER_INTERN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct sm_intern sm_intern;

sm_intern *sm_intern_new(void);
/* Frees the table and every string in it, referenced or not. */
void sm_intern_free(sm_intern *t);

/* Returns the interned copy of s[0..len) (NUL-terminated) with one more reference, or NULL when
 * out of memory. Equal strings intern to the same pointer. */
const char *sm_intern_str(sm_intern *t, const char *s, size_t len);
static inline const char *sm_intern_cstr(sm_intern *t, const char *s)
{
    return sm_intern_str(t, s, strlen(s));
}
/* Takes one more reference on an interned string (returns it). NULL passes through. */
const char *sm_intern_ref(const char *s);
/* Drops one reference; the string is freed at zero. NULL is ignored. */
void sm_intern_unref(sm_intern *t, const char *s);
/* Byte length of an interned string. */
size_t sm_intern_len(const char *s);

/* Number of distinct strings held, and their bytes including overhead (for statistics). */
size_t sm_intern_count(const sm_intern *t);
size_t sm_intern_bytes(const sm_intern *t);

#endif
