/* Admission of pre-login connections: how many one address, one subnet and everyone may hold at once. */
#include "server/gate.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "server/random.h"

static bool address_of(const struct sockaddr *sa, socklen_t salen, uint8_t out[16])
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (sa->sa_family == AF_INET && salen >= (socklen_t)sizeof(struct sockaddr_in)) {
        memcpy(out, mapped, 12);
        memcpy(out + 12, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
        return true;
    }
    if (sa->sa_family == AF_INET6 && salen >= (socklen_t)sizeof(struct sockaddr_in6)) {
        memcpy(out, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 16);
        return true;
    }
    return false;
}

static bool is_v4(const uint8_t addr[16])
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return memcmp(addr, mapped, 12) == 0;
}

static void make_key(const uint8_t addr[16], bool subnet, uint8_t key[17])
{
    memset(key, 0, 17);
    key[0] = subnet ? 's' : 'a';
    memcpy(key + 1, addr, 16);
    if (subnet) {
        if (is_v4(addr))
            key[16] = 0; /* /24: the last octet */
        else
            memset(key + 9, 0, 8); /* /64 */
    }
}

static size_t hash_key(const smd_gate *g, const uint8_t key[17])
{
    uint64_t h = 1469598103934665603ull ^ g->seed;
    for (int i = 0; i < 17; i++) {
        h ^= key[i];
        h *= 1099511628211ull;
    }
    h ^= h >> 29;
    return (size_t)h & (g->counts_cap - 1);
}

/* The slot holding key, or the free slot where it would go. */
static size_t find_slot(const smd_gate *g, const uint8_t key[17])
{
    size_t i = hash_key(g, key);
    while (g->counts[i].count && memcmp(g->counts[i].key, key, 17) != 0)
        i = (i + 1) & (g->counts_cap - 1);
    return i;
}

static uint32_t count_of_key(const smd_gate *g, const uint8_t key[17])
{
    return g->counts[find_slot(g, key)].count;
}

static void increment(smd_gate *g, const uint8_t key[17])
{
    size_t i = find_slot(g, key);
    if (!g->counts[i].count)
        memcpy(g->counts[i].key, key, 17);
    g->counts[i].count++;
}

/* Linear probing deletes by moving later members of the run back, so lookups stay correct
 * without tombstones. */
static void decrement(smd_gate *g, const uint8_t key[17])
{
    size_t mask = g->counts_cap - 1;
    size_t i = find_slot(g, key);
    if (!g->counts[i].count || --g->counts[i].count)
        return;
    size_t hole = i;
    for (size_t j = (hole + 1) & mask; g->counts[j].count; j = (j + 1) & mask) {
        size_t home = hash_key(g, g->counts[j].key);
        /* j may fill the hole unless its home lies cyclically in (hole, j]. */
        bool stays = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
        if (stays)
            continue;
        g->counts[hole] = g->counts[j];
        g->counts[j].count = 0;
        hole = j;
    }
}

int smd_gate_init(smd_gate *g, const smd_gate_limits *limits, size_t max_fd)
{
    memset(g, 0, sizeof *g);
    g->oldest = g->newest = -1;
    if (!limits->per_address || !limits->per_subnet || !limits->total || !max_fd)
        return SM_ERR_INVALID;
    g->limits = *limits;
    /* Each pending connection adds at most two keys: at most 2 × total live keys, half full. */
    size_t want = limits->total < max_fd ? limits->total : max_fd;
    size_t cap = 64;
    while (cap < 4 * want)
        cap *= 2;
    g->entries = calloc(max_fd, sizeof *g->entries);
    g->counts = calloc(cap, sizeof *g->counts);
    if (!g->entries || !g->counts) {
        smd_gate_free(g);
        return SM_ERR_NOMEM;
    }
    g->max_fd = max_fd;
    g->counts_cap = cap;
    if (smd_random_bytes(&g->seed, sizeof g->seed) != SM_OK)
        g->seed = (uint64_t)(uintptr_t)g->entries; /* only collision resistance is lost */
    return SM_OK;
}

void smd_gate_free(smd_gate *g)
{
    free(g->entries);
    free(g->counts);
    memset(g, 0, sizeof *g);
    g->oldest = g->newest = -1;
}

smd_gate_verdict smd_gate_admit(smd_gate *g, int fd, const struct sockaddr *sa, socklen_t salen, int64_t now_ms)
{
    if (fd < 0 || (size_t)fd >= g->max_fd || g->entries[fd].used)
        return SMD_GATE_BAD_FD;
    if (g->count >= g->limits.total)
        return SMD_GATE_FULL;
    uint8_t addr[16] = {0}, akey[17], skey[17];
    if (!address_of(sa, salen, addr))
        memset(addr, 0, sizeof addr); /* unknown families share one bucket */
    make_key(addr, false, akey);
    make_key(addr, true, skey);
    if (count_of_key(g, akey) >= g->limits.per_address)
        return SMD_GATE_OVER_ADDRESS;
    if (count_of_key(g, skey) >= g->limits.per_subnet)
        return SMD_GATE_OVER_SUBNET;
    increment(g, akey);
    increment(g, skey);
    smd_gate_entry *e = &g->entries[fd];
    e->used = true;
    e->handle = NULL;
    e->since_ms = now_ms;
    memcpy(e->addr, addr, 16);
    e->newer = -1;
    e->older = g->newest;
    if (g->newest >= 0)
        g->entries[g->newest].newer = fd;
    else
        g->oldest = fd;
    g->newest = fd;
    g->count++;
    return SMD_GATE_ADMITTED;
}

bool smd_gate_holds(const smd_gate *g, int fd)
{
    return fd >= 0 && (size_t)fd < g->max_fd && g->entries[fd].used;
}

void smd_gate_set_handle(smd_gate *g, int fd, void *handle)
{
    if (smd_gate_holds(g, fd))
        g->entries[fd].handle = handle;
}

void *smd_gate_handle(const smd_gate *g, int fd)
{
    return smd_gate_holds(g, fd) ? g->entries[fd].handle : NULL;
}

void smd_gate_release(smd_gate *g, int fd)
{
    if (!smd_gate_holds(g, fd))
        return;
    smd_gate_entry *e = &g->entries[fd];
    uint8_t key[17];
    make_key(e->addr, false, key);
    decrement(g, key);
    make_key(e->addr, true, key);
    decrement(g, key);
    if (e->older >= 0)
        g->entries[e->older].newer = e->newer;
    else
        g->oldest = e->newer;
    if (e->newer >= 0)
        g->entries[e->newer].older = e->older;
    else
        g->newest = e->older;
    memset(e, 0, sizeof *e);
    g->count--;
}

int smd_gate_oldest(const smd_gate *g, int64_t *since_ms)
{
    if (g->oldest >= 0 && since_ms)
        *since_ms = g->entries[g->oldest].since_ms;
    return g->oldest;
}

size_t smd_gate_count_of(const smd_gate *g, const struct sockaddr *sa, socklen_t salen, bool subnet)
{
    uint8_t addr[16] = {0}, key[17];
    if (!g->counts || !address_of(sa, salen, addr))
        return 0;
    make_key(addr, subnet, key);
    return count_of_key(g, key);
}
