/* Admission of pre-login connections: how many one address, one subnet and everyone may hold at once. */
#ifndef SMD_SERVER_GATE_H
#define SMD_SERVER_GATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* A connection is pre-login ("pending") from accept until its session is opened or resumed.
 * IPv4 subnets are /24, IPv6 subnets /64; IPv4-mapped IPv6 addresses count as IPv4. */
typedef struct smd_gate_limits {
    size_t per_address;
    size_t per_subnet;
    size_t total;
} smd_gate_limits;

typedef enum smd_gate_verdict {
    SMD_GATE_ADMITTED,
    SMD_GATE_OVER_ADDRESS, /* that address already holds per_address pending connections */
    SMD_GATE_OVER_SUBNET,
    SMD_GATE_FULL, /* total reached: make room (smd_gate_oldest) or wait */
    SMD_GATE_BAD_FD
} smd_gate_verdict;

typedef struct smd_gate_entry {
    void *handle; /* the transport's connection, once known */
    int64_t since_ms;
    int older, newer; /* age order (fds), -1 = none */
    uint8_t addr[16]; /* IPv6, or IPv4-mapped */
    bool used;
} smd_gate_entry;

typedef struct smd_gate_count {
    uint8_t key[17]; /* [0] = 'a' (address) or 's' (subnet), then the masked address */
    uint32_t count;  /* 0 = free slot */
} smd_gate_count;

typedef struct smd_gate {
    smd_gate_limits limits;
    smd_gate_entry *entries; /* indexed by fd */
    size_t max_fd;
    smd_gate_count *counts; /* open addressing, power-of-two size, at most half full */
    size_t counts_cap;
    uint64_t seed; /* keeps clients from choosing addresses that collide */
    int oldest, newest;
    size_t count;
} smd_gate;

/* fds 0..max_fd-1 can be tracked. SM_OK or SM_ERR_NOMEM / SM_ERR_INVALID (a zero limit). */
int smd_gate_init(smd_gate *g, const smd_gate_limits *limits, size_t max_fd);
void smd_gate_free(smd_gate *g);
/* Counts fd (accepted from sa) as pending when every limit allows it. */
smd_gate_verdict smd_gate_admit(smd_gate *g, int fd, const struct sockaddr *sa, socklen_t salen, int64_t now_ms);
bool smd_gate_holds(const smd_gate *g, int fd);
void smd_gate_set_handle(smd_gate *g, int fd, void *handle);
void *smd_gate_handle(const smd_gate *g, int fd);
/* fd is no longer pending (logged in, or closed). Does nothing when it is not held. */
void smd_gate_release(smd_gate *g, int fd);
/* The longest-pending fd (its admission time in *since_ms), or -1 when none. */
int smd_gate_oldest(const smd_gate *g, int64_t *since_ms);
/* Pending connections of the address / subnet of sa (for tests and logs). */
size_t smd_gate_count_of(const smd_gate *g, const struct sockaddr *sa, socklen_t salen, bool subnet);
static inline size_t smd_gate_pending(const smd_gate *g)
{
    return g->count;
}

#endif
