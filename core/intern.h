/* Reference-counted string interning: the many sessions sharing a key or value store it once. */
#ifndef SM_CORE_INTERN_H
#define SM_CORE_INTERN_H

#include <stddef.h>
#include <stdint.h>

/* Why: the server's 15,000 sessions and the monitor's 100,000 rows share a few dozen keys and
 * many values ($Country, $ClientType, ...); interning keeps memory flat and lets equal values be
 * compared by pointer. */
typedef struct sm_intern sm_intern;

sm_intern *sm_intern_new(void);
/* Frees the pool and every string still in it. */
void sm_intern_free(sm_intern *pool);

/* Returns the pooled copy of s[0..len) with one more reference, or NULL on allocation failure.
 * The result is NUL-terminated and stays valid until its last reference is dropped. */
const char *sm_intern_str(sm_intern *pool, const char *s, size_t len);
/* Same for a NUL-terminated string. */
const char *sm_intern_cstr(sm_intern *pool, const char *s);
/* Adds a reference to a string returned by this pool. */
const char *sm_intern_ref(const char *s);
/* Drops a reference; the string is freed with its last one. NULL is ignored. */
void sm_intern_unref(sm_intern *pool, const char *s);

/* Length in bytes of a pooled string, without strlen. */
size_t sm_intern_len(const char *s);

/* Number of distinct strings, and the bytes they take including per-string overhead (statistics). */
size_t sm_intern_count(const sm_intern *pool);
size_t sm_intern_bytes(const sm_intern *pool);

#endif
