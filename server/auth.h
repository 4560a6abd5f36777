/* Password hashes (PBKDF2-HMAC-SHA256, salted), verification with a cache of recent successes, and throttled logins. */
#ifndef SMD_SERVER_AUTH_H
#define SMD_SERVER_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "server/config.h"

#define SMD_AUTH_SCHEME "pbkdf2-sha256"
#define SMD_AUTH_DEFAULT_ITERATIONS 600000u
#define SMD_AUTH_MIN_ITERATIONS 1000u
#define SMD_AUTH_MAX_ITERATIONS 10000000u
#define SMD_AUTH_PASSWORD_MAX 1024 /* bytes; longer passwords are refused without hashing */

/* Makes "pbkdf2-sha256$<iterations>$<salt b64>$<hash b64>" with a fresh 16-byte random salt.
 * *out is malloc'd. SM_OK, SM_ERR_INVALID (iterations out of range, password too long) or SM_ERR_IO. */
int smd_auth_hash_password(const char *password, size_t len, unsigned iterations, char **out, sm_error *err);
/* Checks that text is a well-formed hash string (for config validation). */
int smd_auth_check_hash(const char *text, sm_error *err);
/* Iteration count of a well-formed hash string, 0 when malformed. */
unsigned smd_auth_hash_iterations(const char *text);
/* A well-formed hash string of the given iterations that no password matches (random salt and
 * random "hash"; nothing is derived, so it is cheap to make). Verifying against it costs exactly
 * what a wrong password for a real principal costs: logins for unknown principals use it, so the
 * time of a refusal does not tell whether a principal exists. malloc'd; NULL when out of memory,
 * iterations out of range, or no randomness. */
char *smd_auth_dummy_hash(unsigned iterations);

/* Verifies passwords; successes are remembered (keyed by an HMAC of principal, password and hash
 * under a per-process random key) so that thousands of logins with the same credentials cost one
 * PBKDF2 run. The cache is direct-mapped and bounded. Uncached checks get at most checkBudgetMs of
 * CPU time each second (they run on the event loop, a slice at a time), addresses with failed logins on record only
 * suspectSharePercent of it; logins are throttled per address, network and principal first
 * (server/throttle.h, docs/config.md § logins). */
typedef struct smd_auth smd_auth;
/* limits NULL = the defaults. NULL when out of memory or without randomness. */
smd_auth *smd_auth_new(const smd_login_limits *limits);
void smd_auth_free(smd_auth *a);
/* True when password matches hash, within the whole check budget (no throttling: for callers
 * without a client address). Constant-time comparison; never fails on malformed input (that is
 * simply false). a may be NULL (no cache, no budget). */
bool smd_auth_verify(smd_auth *a, const char *principal, const char *password, size_t password_len, const char *hash);

typedef enum smd_login_status {
    SMD_LOGIN_OK,
    SMD_LOGIN_BAD,       /* wrong password, unknown principal, no password: AUTHENTICATION_FAILED */
    SMD_LOGIN_THROTTLED, /* too many failed logins (address, network or principal backed off) */
    SMD_LOGIN_BUSY,      /* the check budget of this second is spent (for this client) */
} smd_login_status;

typedef struct smd_login_result {
    smd_login_status status;
    int64_t retry_ms; /* THROTTLED, BUSY: how long until trying again can succeed */
    const char *why;  /* THROTTLED, BUSY: static text, e.g. "too many failed logins from this address" */
} smd_login_result;

/* One login from client address ip: throttling, then the password check (hash NULL or password
 * NULL: a failure without a check), all at once. Failures are recorded and logged (aggregated) here. */
void smd_auth_login(smd_auth *a, const char *ip, const char *principal, const char *password, size_t password_len,
                   const char *hash, smd_login_result *out);
/* The same in steps, so that the event loop never runs a whole PBKDF2 computation in one pass:
 * throttling, the cache and the budget decide at once (true, *out filled), or a password check is
 * started (false, *pending set; the expected cost is charged to the budget already). Run it with
 * smd_auth_check_run until that returns true, then smd_auth_check_finish gives the result (records a
 * failure, caches a success) and frees it; smd_auth_check_abandon frees one whose client went away
 * (counted as a failed login). Unknown principals go the same way against a dummy hash. */
typedef struct smd_auth_check smd_auth_check;
bool smd_auth_login_start(smd_auth *a, const char *ip, const char *principal, const char *password, size_t password_len,
                         const char *hash, smd_login_result *out, smd_auth_check **pending);
/* Iterates for about budget_us of time; true when the check is done. Its CPU time is charged. */
bool smd_auth_check_run(smd_auth *a, smd_auth_check *check, long long budget_us);
void smd_auth_check_finish(smd_auth *a, smd_auth_check *check, smd_login_result *out);
void smd_auth_check_abandon(smd_auth *a, smd_auth_check *check);
/* Periodic work: failed-login summary lines that are due. */
void smd_auth_tick(smd_auth *a);

/* What the checks have done so far (statistics; tests use them to check which path a login took). */
typedef struct smd_auth_stats {
    unsigned long long kdf_runs;    /* PBKDF2 computations (uncached checks) */
    unsigned long long cache_hits;  /* successes answered from the cache */
    unsigned long long over_budget; /* checks refused because the second's budget (or share) was spent */
    unsigned long long throttled;   /* logins refused by a back-off */
    unsigned long long failures;    /* failed logins recorded */
    unsigned long long log_lines;   /* failed-login log lines written */
    unsigned long long log_left_out; /* failed-login log lines left out by the global line cap */
    unsigned last_iterations;       /* iterations of the latest PBKDF2 computation */
} smd_auth_stats;
void smd_auth_get_stats(const smd_auth *a, smd_auth_stats *out);

#endif
