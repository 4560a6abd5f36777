/* Reference-counted string interning, so the many sessions sharing a value store it once. */
#include "server/intern.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

typedef struct ientry {
    struct ientry *next;
    uint32_t hash;
    uint32_t refs;
    uint32_t len;
    char s[];
} ientry;

struct sm_intern {
    ientry **buckets;
    size_t nbuckets; /* power of two */
    size_t count;
    size_t bytes;
};

static ientry *entry_of(const char *s)
{
    return (ientry *)(void *)((char *)(uintptr_t)s - offsetof(ientry, s));
}

/* FNV-1a, folded: the strings are short and hashing is not the hot path. */
static uint32_t hash_bytes(const char *s, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 0x100000001b3ull;
    }
    return (uint32_t)(h ^ (h >> 32));
}

sm_intern *sm_intern_new(void)
{
    sm_intern *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->nbuckets = 1024;
    t->buckets = calloc(t->nbuckets, sizeof *t->buckets);
    if (!t->buckets) {
        free(t);
        return NULL;
    }
    return t;
}

void sm_intern_free(sm_intern *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->nbuckets; i++) {
        ientry *e = t->buckets[i];
        while (e) {
            ientry *n = e->next;
            free(e);
            e = n;
        }
    }
    free(t->buckets);
    free(t);
}

static void maybe_grow(sm_intern *t)
{
    if (t->count < t->nbuckets)
        return;
    size_t nb = t->nbuckets * 2;
    ientry **b = calloc(nb, sizeof *b);
    if (!b)
        return; /* chains just get longer */
    for (size_t i = 0; i < t->nbuckets; i++) {
        ientry *e = t->buckets[i];
        while (e) {
            ientry *n = e->next;
            size_t at = e->hash & (nb - 1);
            e->next = b[at];
            b[at] = e;
            e = n;
        }
    }
    free(t->buckets);
    t->buckets = b;
    t->nbuckets = nb;
}

const char *sm_intern_str(sm_intern *t, const char *s, size_t len)
{
    if (len > UINT32_MAX - 1)
        return NULL;
    uint32_t h = hash_bytes(s, len);
    size_t at = h & (t->nbuckets - 1);
    for (ientry *e = t->buckets[at]; e; e = e->next) {
        if (e->hash == h && e->len == len && memcmp(e->s, s, len) == 0) {
            e->refs++;
            return e->s;
        }
    }
    ientry *e = malloc(sizeof *e + len + 1);
    if (!e)
        return NULL;
    e->hash = h;
    e->refs = 1;
    e->len = (uint32_t)len;
    memcpy(e->s, s, len);
    e->s[len] = '\0';
    e->next = t->buckets[at];
    t->buckets[at] = e;
    t->count++;
    t->bytes += sizeof *e + len + 1;
    maybe_grow(t);
    return e->s;
}

const char *sm_intern_ref(const char *s)
{
    if (s)
        entry_of(s)->refs++;
    return s;
}

void sm_intern_unref(sm_intern *t, const char *s)
{
    if (!s)
        return;
    ientry *e = entry_of(s);
    if (--e->refs > 0)
        return;
    ientry **pp = &t->buckets[e->hash & (t->nbuckets - 1)];
    while (*pp && *pp != e)
        pp = &(*pp)->next;
    if (*pp)
        *pp = e->next;
    t->count--;
    t->bytes -= sizeof *e + e->len + 1;
    free(e);
}

size_t sm_intern_len(const char *s)
{
    return entry_of(s)->len;
}

size_t sm_intern_count(const sm_intern *t)
{
    return t->count;
}

size_t sm_intern_bytes(const sm_intern *t)
{
    return t->bytes;
}
