/* Password hashes (PBKDF2-HMAC-SHA256, salted), verification with a cache of recent successes, and throttled logins. */
#include "server/auth.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "core/base64.h"
#include "server/log.h"
#include "server/random.h"
#include "server/throttle.h"

#define SALT_LEN 16
#define HASH_LEN 32
#define CACHE_SLOTS 4096
/* Uncached verifications may use at most checkBudgetMs of each second: PBKDF2 runs on the event
 * loop, and a flood of wrong passwords must not stall every other session. The budget is kept as
 * leaky buckets of debt (CPU time spent, paid back at the budget's rate), so a check that takes longer
 * than a second (a slow machine, a costly hash) is paid back over the following seconds instead
 * of being forgotten when a new second starts. */
#define SECOND_NS 1000000000LL

typedef struct debt {
    long long ns;          /* unpaid check time */
    long long rate;        /* paid back per second */
    long long paid_at_ns;  /* last pay-back */
} debt;

struct sm_auth {
    unsigned char key[32];
    unsigned char slots[CACHE_SLOTS][HASH_LEN];
    unsigned char used[CACHE_SLOTS];
    long long budget_ns;         /* per second, for everybody */
    long long suspect_budget_ns; /* per second, what addresses with failures on record may spend */
    debt all, suspects, clean;   /* clean: the reserve of addresses without failures */
    long long warned_at_ns; /* last over-budget warning (one per log interval) */
    long long log_interval_ns;
    sm_throttle *throttle;
    sm_auth_stats stats;
};

/* CPU time of this thread: what a check costs the event loop itself, whatever else runs on the
 * machine (wall time would charge a check for the CPU other processes took meanwhile). */
static long long thread_cpu_ns(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
        return 0;
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static long long mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* The stored form "scheme$iterations$salt$hash", or NULL when out of memory. */
static char *format_hash(unsigned iterations, const unsigned char salt[SALT_LEN], const unsigned char hash[HASH_LEN])
{
    char salt64[SM_BASE64_LEN(SALT_LEN) + 1], hash64[SM_BASE64_LEN(HASH_LEN) + 1];
    sm_base64_encode(salt, SALT_LEN, salt64);
    sm_base64_encode(hash, HASH_LEN, hash64);
    char *out = NULL;
    if (asprintf(&out, "%s$%u$%s$%s", SM_AUTH_SCHEME, iterations, salt64, hash64) < 0)
        return NULL;
    return out;
}

int sm_auth_hash_password(const char *password, size_t len, unsigned iterations, char **out, sm_error *err)
{
    *out = NULL;
    if (iterations < SM_AUTH_MIN_ITERATIONS || iterations > SM_AUTH_MAX_ITERATIONS)
        return sm_error_set(err, SM_ERR_INVALID, "iterations must be between %u and %u", SM_AUTH_MIN_ITERATIONS,
                            SM_AUTH_MAX_ITERATIONS);
    if (len > SM_AUTH_PASSWORD_MAX)
        return sm_error_set(err, SM_ERR_INVALID, "password is longer than %d bytes", SM_AUTH_PASSWORD_MAX);
    unsigned char salt[SALT_LEN], hash[HASH_LEN];
    if (sm_random_bytes(salt, sizeof salt) != 0)
        return sm_error_set(err, SM_ERR_IO, "getrandom failed: %s", strerror(errno));
    if (PKCS5_PBKDF2_HMAC(password, (int)len, salt, sizeof salt, (int)iterations, EVP_sha256(), sizeof hash, hash) != 1)
        return sm_error_set(err, SM_ERR_IO, "PBKDF2 failed");
    *out = format_hash(iterations, salt, hash);
    OPENSSL_cleanse(hash, sizeof hash);
    if (!*out)
        return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
    return SM_OK;
}

typedef struct parsed_hash {
    unsigned iterations;
    unsigned char salt[SALT_LEN];
    unsigned char hash[HASH_LEN];
} parsed_hash;

static int parse_hash(const char *text, parsed_hash *ph, sm_error *err)
{
    const char *scheme_end = strchr(text, '$');
    if (!scheme_end || (size_t)(scheme_end - text) != strlen(SM_AUTH_SCHEME) ||
        strncmp(text, SM_AUTH_SCHEME, strlen(SM_AUTH_SCHEME)) != 0)
        return sm_error_set(err, SM_ERR_INVALID, "password hash must start with '%s$'", SM_AUTH_SCHEME);
    const char *p = scheme_end + 1;
    unsigned long it = 0;
    const char *digits = p;
    while (*p >= '0' && *p <= '9' && p - digits < 9)
        it = it * 10 + (unsigned long)(*p++ - '0');
    if (p == digits || *p != '$' || it < SM_AUTH_MIN_ITERATIONS || it > SM_AUTH_MAX_ITERATIONS)
        return sm_error_set(err, SM_ERR_INVALID, "password hash: iteration count must be %u..%u",
                            SM_AUTH_MIN_ITERATIONS, SM_AUTH_MAX_ITERATIONS);
    const char *salt = p + 1;
    const char *salt_end = strchr(salt, '$');
    if (!salt_end || !sm_base64_decode_exact(salt, (size_t)(salt_end - salt), ph->salt, SALT_LEN))
        return sm_error_set(err, SM_ERR_INVALID, "password hash: salt must be %d bytes of base64", SALT_LEN);
    const char *hash = salt_end + 1;
    if (!sm_base64_decode_exact(hash, strlen(hash), ph->hash, HASH_LEN))
        return sm_error_set(err, SM_ERR_INVALID, "password hash: hash must be %d bytes of base64", HASH_LEN);
    ph->iterations = (unsigned)it;
    return SM_OK;
}

int sm_auth_check_hash(const char *text, sm_error *err)
{
    parsed_hash ph;
    return parse_hash(text, &ph, err);
}

unsigned sm_auth_hash_iterations(const char *text)
{
    parsed_hash ph;
    return text && parse_hash(text, &ph, NULL) == SM_OK ? ph.iterations : 0;
}

char *sm_auth_dummy_hash(unsigned iterations)
{
    if (iterations < SM_AUTH_MIN_ITERATIONS || iterations > SM_AUTH_MAX_ITERATIONS)
        return NULL;
    unsigned char salt[SALT_LEN], hash[HASH_LEN];
    if (sm_random_bytes(salt, sizeof salt) != 0 || sm_random_bytes(hash, sizeof hash) != 0)
        return NULL;
    return format_hash(iterations, salt, hash);
}

void sm_auth_get_stats(const sm_auth *a, sm_auth_stats *out)
{
    memset(out, 0, sizeof *out);
    if (!a)
        return;
    *out = a->stats;
    sm_throttle_stats ts;
    sm_throttle_get_stats(a->throttle, &ts);
    out->throttled = ts.refused;
    out->failures = ts.failures;
    out->log_lines = ts.log_lines;
    out->log_left_out = ts.suppressed;
}

sm_auth *sm_auth_new(const sm_login_limits *limits)
{
    sm_login_limits defaults;
    if (!limits) {
        sm_login_limits_default(&defaults);
        limits = &defaults;
    }
    sm_auth *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->budget_ns = (long long)limits->check_budget_ms * 1000000LL;
    a->suspect_budget_ns = a->budget_ns * (long long)limits->suspect_share_percent / 100;
    long long now = mono_ns();
    a->all = (debt){0, a->budget_ns, now};
    a->suspects = (debt){0, a->suspect_budget_ns, now};
    a->clean = (debt){0, a->budget_ns - a->suspect_budget_ns, now};
    a->log_interval_ns = (long long)limits->log_interval_ms * 1000000LL;
    a->warned_at_ns = -a->log_interval_ns;
    if (sm_random_bytes(a->key, sizeof a->key) != 0 || !(a->throttle = sm_throttle_new(limits))) {
        sm_auth_free(a);
        return NULL;
    }
    return a;
}

void sm_auth_free(sm_auth *a)
{
    if (!a)
        return;
    sm_throttle_free(a->throttle);
    OPENSSL_cleanse(a, sizeof *a);
    free(a);
}

static bool cache_key(const sm_auth *a, const char *principal, const char *password, size_t plen, const char *hash,
                      unsigned char out[HASH_LEN])
{
    /* One buffer principal \0 password \0 hash, so no two inputs share an encoding. */
    size_t l1 = strlen(principal), l3 = strlen(hash);
    size_t total = l1 + 1 + plen + 1 + l3;
    unsigned char *buf = malloc(total);
    if (!buf)
        return false;
    memcpy(buf, principal, l1);
    buf[l1] = 0;
    memcpy(buf + l1 + 1, password, plen);
    buf[l1 + 1 + plen] = 0;
    memcpy(buf + l1 + 2 + plen, hash, l3);
    unsigned int olen = 0;
    bool ok = HMAC(EVP_sha256(), a->key, sizeof a->key, buf, total, out, &olen) != NULL && olen == HASH_LEN;
    OPENSSL_cleanse(buf, total);
    free(buf);
    return ok;
}

typedef enum check_result { CHECK_MATCH, CHECK_MISMATCH, CHECK_OVER_BUDGET } check_result;

static void pay_back(debt *d, long long now)
{
    if (d->rate <= 0) {
        d->paid_at_ns = now;
        return;
    }
    long long elapsed = now - d->paid_at_ns;
    if (elapsed <= 0)
        return;
    /* elapsed * rate overflows only after about 30 s of idleness at 300 ms/s: clamp first. */
    long long paid = elapsed >= 60 * SECOND_NS ? d->ns : (long long)((double)elapsed * (double)d->rate / SECOND_NS);
    d->ns = paid >= d->ns ? 0 : d->ns - paid;
    d->paid_at_ns = now;
}

/* Nanoseconds until d is below limit again. */
static long long wait_below(const debt *d, long long limit)
{
    if (d->ns < limit)
        return 0;
    if (d->rate <= 0)
        return SECOND_NS;
    return (long long)((double)(d->ns - limit + 1) * SECOND_NS / (double)d->rate);
}

/* Whether an uncached check may start now, else (in *wait_ns) how long until it may. Suspects
 * (addresses with failures on record) may run up only their share; the rest of the budget is a
 * reserve that clean addresses can always reach, even when a suspect's check overran the whole
 * budget (one PBKDF2 run can take longer than the share, more so on a loaded machine). */
static bool within_budget(sm_auth *a, bool suspect, long long now, long long *wait_ns)
{
    pay_back(&a->all, now);
    pay_back(&a->suspects, now);
    pay_back(&a->clean, now);
    if (suspect) {
        *wait_ns = wait_below(&a->suspects, a->suspect_budget_ns);
        long long w = wait_below(&a->all, a->budget_ns);
        if (w > *wait_ns)
            *wait_ns = w;
    } else {
        long long w_all = wait_below(&a->all, a->budget_ns);
        long long w_reserve = wait_below(&a->clean, a->clean.rate);
        *wait_ns = w_all < w_reserve ? w_all : w_reserve;
    }
    return *wait_ns == 0;
}

/* The password check; an uncached one only within the budget (within_budget; a NULL a has
 * none). *retry_ms says when trying again can succeed when over budget. */
static check_result check_password(sm_auth *a, const char *principal, const char *password, size_t plen,
                                   const char *hash, bool suspect, int64_t *retry_ms)
{
    if (!password || !hash || plen > SM_AUTH_PASSWORD_MAX)
        return CHECK_MISMATCH;
    unsigned char ck[HASH_LEN];
    bool have_ck = a && cache_key(a, principal, password, plen, hash, ck);
    size_t slot = 0;
    if (have_ck) {
        slot = ((size_t)ck[0] | (size_t)ck[1] << 8) % CACHE_SLOTS;
        if (a->used[slot] && CRYPTO_memcmp(a->slots[slot], ck, HASH_LEN) == 0) {
            a->stats.cache_hits++;
            return CHECK_MATCH;
        }
    }
    parsed_hash ph;
    if (parse_hash(hash, &ph, NULL) != SM_OK)
        return CHECK_MISMATCH;
    long long start = mono_ns(), cpu_start = thread_cpu_ns();
    if (a) {
        long long wait_ns = 0;
        if (!within_budget(a, suspect, start, &wait_ns)) {
            if (start - a->warned_at_ns >= a->log_interval_ns) {
                a->warned_at_ns = start;
                sm_log(SM_LOG_WARN, "password checks are over their budget (%lld ms a second): refusing logins that "
                                    "need one for now",
                       a->budget_ns / 1000000);
            }
            a->stats.over_budget++;
            *retry_ms = (wait_ns + 999999) / 1000000;
            return CHECK_OVER_BUDGET;
        }
        a->stats.kdf_runs++;
        a->stats.last_iterations = ph.iterations;
    }
    unsigned char got[HASH_LEN];
    int ok_kdf =
        PKCS5_PBKDF2_HMAC(password, (int)plen, ph.salt, SALT_LEN, (int)ph.iterations, EVP_sha256(), HASH_LEN, got);
    if (a) {
        long long took = thread_cpu_ns() - cpu_start;
        a->all.ns += took;
        if (suspect)
            a->suspects.ns += took;
        else
            a->clean.ns += took;
    }
    if (ok_kdf != 1)
        return CHECK_MISMATCH;
    bool ok = CRYPTO_memcmp(got, ph.hash, HASH_LEN) == 0;
    OPENSSL_cleanse(got, sizeof got);
    if (ok && have_ck) {
        memcpy(a->slots[slot], ck, HASH_LEN);
        a->used[slot] = 1;
    }
    return ok ? CHECK_MATCH : CHECK_MISMATCH;
}

bool sm_auth_verify(sm_auth *a, const char *principal, const char *password, size_t plen, const char *hash)
{
    int64_t retry_ms = 0;
    return check_password(a, principal, password, plen, hash, false, &retry_ms) == CHECK_MATCH;
}

void sm_auth_login(sm_auth *a, const char *ip, const char *principal, const char *password, size_t plen,
                   const char *hash, sm_login_result *out)
{
    memset(out, 0, sizeof *out);
    int64_t now = (int64_t)(mono_ns() / 1000000);
    sm_throttle_decision d;
    sm_throttle_admit(a->throttle, ip, principal, now, &d);
    if (d.verdict != SM_THROTTLE_ALLOW) {
        /* Refused before the cache too: a backed-off client must not learn from a fast success
         * that a guess was right. */
        sm_throttle_refused(a->throttle, ip, principal, now);
        out->status = SM_LOGIN_THROTTLED;
        out->retry_ms = d.retry_ms;
        out->why = d.verdict == SM_THROTTLE_ADDRESS   ? "too many failed logins from this address"
                   : d.verdict == SM_THROTTLE_NETWORK ? "too many failed logins from this network"
                                                      : "too many failed logins for this principal";
        return;
    }
    switch (check_password(a, principal, password, plen, hash, d.suspect, &out->retry_ms)) {
    case CHECK_MATCH:
        out->status = SM_LOGIN_OK;
        break;
    case CHECK_OVER_BUDGET:
        sm_throttle_refused(a->throttle, ip, principal, now);
        out->status = SM_LOGIN_BUSY;
        out->why = "too many password checks right now";
        break;
    case CHECK_MISMATCH:
        sm_throttle_failed(a->throttle, ip, principal, now);
        out->status = SM_LOGIN_BAD;
        break;
    }
}

void sm_auth_tick(sm_auth *a)
{
    if (a)
        sm_throttle_tick(a->throttle, (int64_t)(mono_ns() / 1000000));
}
