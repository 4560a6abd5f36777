/* FNV-1a string hash shared by the hash tables of the string pool, the server registry and the monitor's model. */
#ifndef SM_CORE_HASH_H
#define SM_CORE_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* FNV-1a: the keys are short strings (session IDs, property names and values), and it needs no
 * alignment. Callers mask the result with a power-of-two table size. */
static inline uint32_t sm_hash_bytes(const char *s, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 16777619u;
    }
    return h;
}

static inline uint32_t sm_hash_str(const char *s)
{
    return sm_hash_bytes(s, strlen(s));
}

#endif
