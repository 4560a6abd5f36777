/* Login throttling: back-off for addresses, networks and principals that sent wrong passwords, in bounded tables. */
#ifndef SMD_SERVER_THROTTLE_H
#define SMD_SERVER_THROTTLE_H

#include <stdbool.h>
#include <stdint.h>

#include "server/config.h"

/* Three fixed-size tables (addresses, their /24 or /64 networks, principals) remember failed
 * logins. Each record lets freeFailures wrong passwords through; every further one backs the
 * record off for backoffMs, doubling up to maxBackoffMs. A record with no failure for forgetMs
 * starts afresh; when a table is full the least recently used record that is not backed off is
 * evicted, so memory stays bounded whatever the number of attacking addresses. Failed-login log
 * lines are aggregated per address and interval (docs/config.md § logins). */
typedef struct smd_throttle smd_throttle;

typedef enum smd_throttle_verdict {
    SMD_THROTTLE_ALLOW,     /* go on and check the password */
    SMD_THROTTLE_ADDRESS,   /* the client's address is backed off */
    SMD_THROTTLE_NETWORK,   /* its /24 (IPv4) or /64 (IPv6) network is */
    SMD_THROTTLE_PRINCIPAL, /* the principal is, and this address has failed before */
} smd_throttle_verdict;

typedef struct smd_throttle_decision {
    smd_throttle_verdict verdict;
    bool suspect;     /* the address has failures on record (it gets only a share of the check budget) */
    int64_t retry_ms; /* verdict other than ALLOW: time until that back-off ends */
} smd_throttle_decision;

typedef struct smd_throttle_stats {
    unsigned long long failures;   /* wrong passwords recorded */
    unsigned long long refused;    /* logins refused by a back-off */
    unsigned long long evictions;  /* records dropped to make room */
    unsigned long long log_lines;  /* failed-login lines written */
    unsigned long long suppressed; /* lines not written because of the global line cap */
} smd_throttle_stats;

/* NULL when out of memory or without randomness (table keys are keyed hashes). */
smd_throttle *smd_throttle_new(const smd_login_limits *limits);
void smd_throttle_free(smd_throttle *t);
/* Whether a login from ip for principal may check its password now. */
void smd_throttle_admit(smd_throttle *t, const char *ip, const char *principal, int64_t now_ms,
                       smd_throttle_decision *out);
/* A login that was allowed turned out wrong (bad password, unknown principal). */
void smd_throttle_failed(smd_throttle *t, const char *ip, const char *principal, int64_t now_ms);
/* A login was refused without a check (a back-off, or the check budget): counted for the log. */
void smd_throttle_refused(smd_throttle *t, const char *ip, const char *principal, int64_t now_ms);
/* Writes the summary lines whose interval has ended; looks at a bounded number of records. */
void smd_throttle_tick(smd_throttle *t, int64_t now_ms);
void smd_throttle_get_stats(const smd_throttle *t, smd_throttle_stats *out);

#endif
