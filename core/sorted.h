/* Binary search over an array kept sorted by a string key (property sets, role sets, filter keys, session properties). */
#ifndef SM_CORE_SORTED_H
#define SM_CORE_SORTED_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

/* items: count elements of stride bytes each, whose FIRST member is a (const) char * key, sorted by
 * strcmp (byte order). Returns the index of key with *found true, or the index where it would be
 * inserted with *found false. Inline so that each caller's constant stride folds away. */
static inline size_t sm_sorted_search(const void *items, size_t count, size_t stride, const char *key,
                                      bool *found)
{
    size_t lo = 0, hi = count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const char *mid_key;
        /* memcpy, not a cast: the member may be char * or const char *, read here as one type. */
        memcpy(&mid_key, (const char *)items + mid * stride, sizeof mid_key);
        int c = strcmp(mid_key, key);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

#endif
