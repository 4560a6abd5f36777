/* Reference-counted string interning: the many sessions sharing a key or value store it once. */
#include "core/intern.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"

typedef struct sm_istr {
    struct sm_istr *next;
    uint32_t hash;
    uint32_t refs;
    uint32_t len;
    char s[];
} sm_istr;

struct sm_intern {
    sm_istr **buckets;
    size_t nbuckets; /* power of two */
    size_t count;
    size_t bytes;
};

static sm_istr *header_of(const char *s)
{
    return (sm_istr *)(void *)(s - offsetof(sm_istr, s));
}

sm_intern *sm_intern_new(void)
{
    sm_intern *pool = calloc(1, sizeof *pool);
    if (!pool)
        return NULL;
    pool->nbuckets = 1024;
    pool->buckets = calloc(pool->nbuckets, sizeof *pool->buckets);
    if (!pool->buckets) {
        free(pool);
        return NULL;
    }
    return pool;
}

void sm_intern_free(sm_intern *pool)
{
    if (!pool)
        return;
    for (size_t i = 0; i < pool->nbuckets; i++) {
        sm_istr *e = pool->buckets[i];
        while (e) {
            sm_istr *next = e->next;
            free(e);
            e = next;
        }
    }
    free(pool->buckets);
    free(pool);
}

static void grow(sm_intern *pool)
{
    size_t n = pool->nbuckets * 2;
    sm_istr **b = calloc(n, sizeof *b);
    if (!b)
        return; /* longer chains, still correct */
    for (size_t i = 0; i < pool->nbuckets; i++) {
        sm_istr *e = pool->buckets[i];
        while (e) {
            sm_istr *next = e->next;
            size_t j = e->hash & (n - 1);
            e->next = b[j];
            b[j] = e;
            e = next;
        }
    }
    free(pool->buckets);
    pool->buckets = b;
    pool->nbuckets = n;
}

const char *sm_intern_str(sm_intern *pool, const char *s, size_t len)
{
    if (!pool || !s || len > UINT32_MAX - 1)
        return NULL;
    uint32_t h = sm_hash_bytes(s, len);
    size_t j = h & (pool->nbuckets - 1);
    for (sm_istr *e = pool->buckets[j]; e; e = e->next) {
        if (e->hash == h && e->len == len && memcmp(e->s, s, len) == 0) {
            if (e->refs == UINT32_MAX)
                return NULL;
            e->refs++;
            return e->s;
        }
    }
    sm_istr *e = malloc(sizeof *e + len + 1);
    if (!e)
        return NULL;
    e->hash = h;
    e->refs = 1;
    e->len = (uint32_t)len;
    memcpy(e->s, s, len);
    e->s[len] = '\0';
    e->next = pool->buckets[j];
    pool->buckets[j] = e;
    pool->count++;
    pool->bytes += sizeof *e + len + 1;
    if (pool->count > pool->nbuckets)
        grow(pool);
    return e->s;
}

const char *sm_intern_cstr(sm_intern *pool, const char *s)
{
    return s ? sm_intern_str(pool, s, strlen(s)) : NULL;
}

const char *sm_intern_ref(const char *s)
{
    if (s) {
        sm_istr *e = header_of(s);
        if (e->refs < UINT32_MAX)
            e->refs++;
    }
    return s;
}

void sm_intern_unref(sm_intern *pool, const char *s)
{
    if (!s || !pool)
        return;
    sm_istr *e = header_of(s);
    if (e->refs == UINT32_MAX) /* saturated: keep forever rather than free while referenced */
        return;
    if (--e->refs > 0)
        return;
    size_t j = e->hash & (pool->nbuckets - 1);
    for (sm_istr **pp = &pool->buckets[j]; *pp; pp = &(*pp)->next) {
        if (*pp == e) {
            *pp = e->next;
            pool->count--;
            pool->bytes -= sizeof *e + e->len + 1u;
            free(e);
            return;
        }
    }
}

size_t sm_intern_len(const char *s)
{
    return s ? header_of(s)->len : 0;
}

size_t sm_intern_count(const sm_intern *pool)
{
    return pool ? pool->count : 0;
}

size_t sm_intern_bytes(const sm_intern *pool)
{
    return pool ? pool->bytes : 0;
}
