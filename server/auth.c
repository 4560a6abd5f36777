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
#include "server/metrics.h"
#include "server/random.h"
#include "server/throttle.h"

#define SALT_LEN 16
#define HASH_LEN 32
#define CACHE_SLOTS 4096
/* Uncached verifications may use at most checkBudgetMs of each second: PBKDF2 runs on the event
 * loop (in slices, between everyone else's work), and a flood of wrong passwords must not take the
 * loop's time from every other session. A check reserves its expected cost when it starts, so
 * checks still running count too. The budget is kept as
 * leaky buckets of debt (CPU time spent, paid back at the budget's rate), so a check that takes longer
 * than a second (a slow machine, a costly hash) is paid back over the following seconds instead
 * of being forgotten when a new second starts. */
#define SECOND_NS 1000000000LL

typedef struct debt {
    long long ns;          /* unpaid check time */
    long long rate;        /* paid back per second */
    long long paid_at_ns;  /* last pay-back */
} debt;

struct smd_auth {
    unsigned char key[32];
    unsigned char slots[CACHE_SLOTS][HASH_LEN];
    unsigned char used[CACHE_SLOTS];
    long long budget_ns;         /* per second, for everybody */
    long long suspect_budget_ns; /* per second, what addresses with failures on record may spend */
    debt all, suspects, clean;   /* clean: the reserve of addresses without failures */
    long long warned_at_ns; /* last over-budget warning (one per log interval) */
    long long log_interval_ns;
    long long ns_per_iteration; /* CPU cost of one iteration, learnt from finished checks */
    smd_throttle *throttle;
    smd_auth_stats stats;
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
    if (asprintf(&out, "%s$%u$%s$%s", SMD_AUTH_SCHEME, iterations, salt64, hash64) < 0)
        return NULL;
    return out;
}

int smd_auth_hash_password(const char *password, size_t len, unsigned iterations, char **out, sm_error *err)
{
    *out = NULL;
    if (iterations < SMD_AUTH_MIN_ITERATIONS || iterations > SMD_AUTH_MAX_ITERATIONS)
        return sm_error_set(err, SM_ERR_INVALID, "iterations must be between %u and %u", SMD_AUTH_MIN_ITERATIONS,
                            SMD_AUTH_MAX_ITERATIONS);
    if (len > SMD_AUTH_PASSWORD_MAX)
        return sm_error_set(err, SM_ERR_INVALID, "password is longer than %d bytes", SMD_AUTH_PASSWORD_MAX);
    unsigned char salt[SALT_LEN], hash[HASH_LEN];
    if (smd_random_bytes(salt, sizeof salt) != 0)
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
    if (!scheme_end || (size_t)(scheme_end - text) != strlen(SMD_AUTH_SCHEME) ||
        strncmp(text, SMD_AUTH_SCHEME, strlen(SMD_AUTH_SCHEME)) != 0)
        return sm_error_set(err, SM_ERR_INVALID, "password hash must start with '%s$'", SMD_AUTH_SCHEME);
    const char *p = scheme_end + 1;
    unsigned long it = 0;
    const char *digits = p;
    while (*p >= '0' && *p <= '9' && p - digits < 9)
        it = it * 10 + (unsigned long)(*p++ - '0');
    if (p == digits || *p != '$' || it < SMD_AUTH_MIN_ITERATIONS || it > SMD_AUTH_MAX_ITERATIONS)
        return sm_error_set(err, SM_ERR_INVALID, "password hash: iteration count must be %u..%u",
                            SMD_AUTH_MIN_ITERATIONS, SMD_AUTH_MAX_ITERATIONS);
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

int smd_auth_check_hash(const char *text, sm_error *err)
{
    parsed_hash ph;
    return parse_hash(text, &ph, err);
}

unsigned smd_auth_hash_iterations(const char *text)
{
    parsed_hash ph;
    return text && parse_hash(text, &ph, NULL) == SM_OK ? ph.iterations : 0;
}

char *smd_auth_dummy_hash(unsigned iterations)
{
    if (iterations < SMD_AUTH_MIN_ITERATIONS || iterations > SMD_AUTH_MAX_ITERATIONS)
        return NULL;
    unsigned char salt[SALT_LEN], hash[HASH_LEN];
    if (smd_random_bytes(salt, sizeof salt) != 0 || smd_random_bytes(hash, sizeof hash) != 0)
        return NULL;
    return format_hash(iterations, salt, hash);
}

void smd_auth_get_stats(const smd_auth *a, smd_auth_stats *out)
{
    memset(out, 0, sizeof *out);
    if (!a)
        return;
    *out = a->stats;
    smd_throttle_stats ts;
    smd_throttle_get_stats(a->throttle, &ts);
    out->throttled = ts.refused;
    out->failures = ts.failures;
    out->log_lines = ts.log_lines;
    out->log_left_out = ts.suppressed;
}

smd_auth *smd_auth_new(const smd_login_limits *limits)
{
    smd_login_limits defaults;
    if (!limits) {
        smd_login_limits_default(&defaults);
        limits = &defaults;
    }
    smd_auth *a = calloc(1, sizeof *a);
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
    a->ns_per_iteration = 1000; /* about twice this machine's; the first finished check corrects it */
    if (smd_random_bytes(a->key, sizeof a->key) != 0 || !(a->throttle = smd_throttle_new(limits))) {
        smd_auth_free(a);
        return NULL;
    }
    return a;
}

void smd_auth_free(smd_auth *a)
{
    if (!a)
        return;
    smd_throttle_free(a->throttle);
    OPENSSL_cleanse(a, sizeof *a);
    free(a);
}

static bool cache_key(const smd_auth *a, const char *principal, const char *password, size_t plen, const char *hash,
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

typedef enum check_result { CHECK_MATCH, CHECK_MISMATCH, CHECK_OVER_BUDGET, CHECK_STARTED } check_result;

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
static bool within_budget(smd_auth *a, bool suspect, long long now, long long *wait_ns)
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

/* Adds (or, negative, takes back) check time to the debts a check is charged to. */
static void charge(smd_auth *a, bool suspect, long long ns)
{
    debt *mine = suspect ? &a->suspects : &a->clean;
    a->all.ns = a->all.ns + ns > 0 ? a->all.ns + ns : 0;
    mine->ns = mine->ns + ns > 0 ? mine->ns + ns : 0;
}

/* PBKDF2-HMAC-SHA256 computed a slice at a time (one 32-byte block: the stored hash is one block).
 * HMAC is built from two SHA-256 contexts that have already absorbed the padded key, copied for
 * every iteration, which is what OpenSSL's own PBKDF2 does. */
struct smd_auth_check {
    EVP_MD_CTX *inner, *outer, *work;
    unsigned char u[HASH_LEN], t[HASH_LEN];
    unsigned done, iterations;
    parsed_hash expected;
    bool suspect;
    bool failed; /* the digest failed (out of memory): a mismatch */
    long long reserved_ns; /* charged to the budget at the start: the expected cost */
    long long spent_ns;    /* CPU time of the slices so far */
    /* for the result */
    bool have_ck;
    size_t slot;
    unsigned char ck[HASH_LEN];
    char ip[48];
    char *principal;
};

static void check_free(smd_auth_check *chk)
{
    if (!chk)
        return;
    EVP_MD_CTX_free(chk->inner);
    EVP_MD_CTX_free(chk->outer);
    EVP_MD_CTX_free(chk->work);
    free(chk->principal);
    OPENSSL_cleanse(chk, sizeof *chk);
    free(chk);
}

/* One HMAC of in with the prepared key contexts, into out (may be in). */
static bool hmac_block(smd_auth_check *chk, const unsigned char *in, size_t len, unsigned char out[HASH_LEN])
{
    unsigned int n = 0;
    return EVP_MD_CTX_copy_ex(chk->work, chk->inner) == 1 && EVP_DigestUpdate(chk->work, in, len) == 1 &&
           EVP_DigestFinal_ex(chk->work, out, &n) == 1 && EVP_MD_CTX_copy_ex(chk->work, chk->outer) == 1 &&
           EVP_DigestUpdate(chk->work, out, HASH_LEN) == 1 && EVP_DigestFinal_ex(chk->work, out, &n) == 1;
}

/* Prepares the key contexts and computes U1 = HMAC(password, salt || 1); NULL when out of memory. */
static smd_auth_check *check_new(const char *password, size_t plen, const parsed_hash *ph)
{
    smd_auth_check *chk = calloc(1, sizeof *chk);
    if (!chk)
        return NULL;
    chk->expected = *ph;
    chk->iterations = ph->iterations;
    chk->inner = EVP_MD_CTX_new();
    chk->outer = EVP_MD_CTX_new();
    chk->work = EVP_MD_CTX_new();
    unsigned char key[64], pad[64];
    memset(key, 0, sizeof key);
    bool ok = chk->inner && chk->outer && chk->work;
    if (ok && plen > sizeof key) {
        unsigned int n = 0;
        ok = EVP_Digest(password, plen, key, &n, EVP_sha256(), NULL) == 1;
    } else if (ok) {
        memcpy(key, password, plen);
    }
    for (size_t i = 0; i < sizeof pad; i++)
        pad[i] = key[i] ^ 0x36;
    ok = ok && EVP_DigestInit_ex(chk->inner, EVP_sha256(), NULL) == 1 && EVP_DigestUpdate(chk->inner, pad, 64) == 1;
    for (size_t i = 0; i < sizeof pad; i++)
        pad[i] = key[i] ^ 0x5c;
    ok = ok && EVP_DigestInit_ex(chk->outer, EVP_sha256(), NULL) == 1 && EVP_DigestUpdate(chk->outer, pad, 64) == 1;
    OPENSSL_cleanse(key, sizeof key);
    OPENSSL_cleanse(pad, sizeof pad);
    unsigned char first[SALT_LEN + 4];
    memcpy(first, ph->salt, SALT_LEN);
    memcpy(first + SALT_LEN, "\0\0\0\1", 4);
    if (!ok || !hmac_block(chk, first, sizeof first, chk->u)) {
        check_free(chk);
        return NULL;
    }
    memcpy(chk->t, chk->u, HASH_LEN);
    chk->done = 1;
    return chk;
}

/* Iterations until the deadline (monotonic ns; 0 = to the end). True when the check is done. */
static bool check_step(smd_auth *a, smd_auth_check *chk, long long deadline_ns)
{
    long long cpu_start = thread_cpu_ns();
    while (chk->done < chk->iterations && !chk->failed) {
        /* The clock every 64 iterations: about 50 us. */
        unsigned stop = chk->iterations - chk->done < 64 ? chk->iterations : chk->done + 64;
        for (; chk->done < stop; chk->done++) {
            if (!hmac_block(chk, chk->u, HASH_LEN, chk->u)) {
                chk->failed = true;
                break;
            }
            for (size_t i = 0; i < HASH_LEN; i++)
                chk->t[i] ^= chk->u[i];
        }
        if (deadline_ns && mono_ns() >= deadline_ns)
            break;
    }
    long long before = chk->spent_ns;
    chk->spent_ns += thread_cpu_ns() - cpu_start;
    /* What runs beyond the reservation is charged as it happens, so a check slower than expected
     * counts in full against the budget while it runs. */
    long long floor = before > chk->reserved_ns ? before : chk->reserved_ns;
    if (a && chk->spent_ns > floor)
        charge(a, chk->suspect, chk->spent_ns - floor);
    return chk->done >= chk->iterations || chk->failed;
}

/* Settles the budget for a check that ends (done or abandoned): unused reservation is paid back,
 * and the cost per iteration learnt for the next reservations. */
static void check_settle(smd_auth *a, smd_auth_check *chk)
{
    if (!a)
        return;
    if (chk->spent_ns < chk->reserved_ns)
        charge(a, chk->suspect, chk->spent_ns - chk->reserved_ns);
    if (chk->done >= chk->iterations && chk->iterations && !chk->failed) {
        long long per = chk->spent_ns / chk->iterations;
        if (per > 0)
            a->ns_per_iteration = (a->ns_per_iteration * 3 + per) / 4;
    }
}

/* The password check's start: the cache, then (within the budget; a NULL a has none) a PBKDF2
 * computation in *started, to be stepped by the caller. *retry_ms says when trying again can
 * succeed when over budget. */
static check_result check_password(smd_auth *a, const char *principal, const char *password, size_t plen,
                                   const char *hash, bool suspect, int64_t *retry_ms, smd_auth_check **started)
{
    *started = NULL;
    if (!password || !hash || plen > SMD_AUTH_PASSWORD_MAX)
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
    long long start = mono_ns();
    if (a) {
        long long wait_ns = 0;
        if (!within_budget(a, suspect, start, &wait_ns)) {
            if (start - a->warned_at_ns >= a->log_interval_ns) {
                a->warned_at_ns = start;
                smd_log(SMD_LOG_WARN, "password checks are over their budget (%lld ms a second): refusing logins that "
                                    "need one for now",
                       a->budget_ns / 1000000);
            }
            a->stats.over_budget++;
            *retry_ms = (wait_ns + 999999) / 1000000;
            return CHECK_OVER_BUDGET;
        }
    }
    long long cpu_start = thread_cpu_ns();
    smd_auth_check *chk = check_new(password, plen, &ph);
    if (!chk) {
        *retry_ms = 1000;
        return CHECK_OVER_BUDGET;
    }
    chk->spent_ns = thread_cpu_ns() - cpu_start;
    chk->suspect = suspect;
    chk->have_ck = have_ck;
    chk->slot = slot;
    memcpy(chk->ck, ck, HASH_LEN);
    if (a) {
        a->stats.kdf_runs++;
        a->stats.last_iterations = ph.iterations;
        /* Reserved in full now: checks in progress count against the budget before they finish. */
        chk->reserved_ns = (long long)ph.iterations * a->ns_per_iteration;
        charge(a, suspect, chk->reserved_ns > chk->spent_ns ? chk->reserved_ns : chk->spent_ns);
        if (chk->spent_ns > chk->reserved_ns)
            chk->reserved_ns = chk->spent_ns;
    }
    OPENSSL_cleanse(ck, sizeof ck);
    *started = chk;
    return CHECK_STARTED;
}

/* The result of a finished check; remembers a success in the cache. */
static check_result check_result_of(smd_auth *a, smd_auth_check *chk)
{
    check_settle(a, chk);
    if (chk->failed)
        return CHECK_MISMATCH;
    bool ok = CRYPTO_memcmp(chk->t, chk->expected.hash, HASH_LEN) == 0;
    if (ok && a && chk->have_ck) {
        memcpy(a->slots[chk->slot], chk->ck, HASH_LEN);
        a->used[chk->slot] = 1;
    }
    return ok ? CHECK_MATCH : CHECK_MISMATCH;
}

bool smd_auth_verify(smd_auth *a, const char *principal, const char *password, size_t plen, const char *hash)
{
    int64_t retry_ms = 0;
    smd_auth_check *chk = NULL;
    check_result r = check_password(a, principal, password, plen, hash, false, &retry_ms, &chk);
    if (r == CHECK_STARTED) {
        check_step(a, chk, 0);
        r = check_result_of(a, chk);
        check_free(chk);
    }
    return r == CHECK_MATCH;
}

static void login_outcome(smd_auth *a, const char *ip, const char *principal, int64_t now, check_result r,
                          smd_login_result *out)
{
    switch (r) {
    case CHECK_MATCH:
        smd_metrics.logins[SMD_LOGIN_OUTCOME_OK]++;
        out->status = SMD_LOGIN_OK;
        break;
    case CHECK_OVER_BUDGET:
        smd_metrics.logins[SMD_LOGIN_OUTCOME_BUSY]++;
        smd_throttle_refused(a->throttle, ip, principal, now);
        out->status = SMD_LOGIN_BUSY;
        out->why = "too many password checks right now";
        break;
    case CHECK_MISMATCH:
    case CHECK_STARTED:
        smd_metrics.logins[SMD_LOGIN_OUTCOME_FAILED]++;
        smd_throttle_failed(a->throttle, ip, principal, now);
        out->status = SMD_LOGIN_BAD;
        break;
    }
}

bool smd_auth_login_start(smd_auth *a, const char *ip, const char *principal, const char *password, size_t plen,
                         const char *hash, smd_login_result *out, smd_auth_check **pending)
{
    memset(out, 0, sizeof *out);
    *pending = NULL;
    int64_t now = (int64_t)(mono_ns() / 1000000);
    smd_throttle_decision d;
    smd_throttle_admit(a->throttle, ip, principal, now, &d);
    if (d.verdict != SMD_THROTTLE_ALLOW) {
        /* Refused before the cache too: a backed-off client must not learn from a fast success
         * that a guess was right. */
        smd_metrics.logins[SMD_LOGIN_OUTCOME_THROTTLED]++;
        smd_throttle_refused(a->throttle, ip, principal, now);
        out->status = SMD_LOGIN_THROTTLED;
        out->retry_ms = d.retry_ms;
        out->why = d.verdict == SMD_THROTTLE_ADDRESS   ? "too many failed logins from this address"
                   : d.verdict == SMD_THROTTLE_NETWORK ? "too many failed logins from this network"
                                                      : "too many failed logins for this principal";
        return true;
    }
    smd_auth_check *chk = NULL;
    check_result r = check_password(a, principal, password, plen, hash, d.suspect, &out->retry_ms, &chk);
    if (r == CHECK_STARTED) {
        snprintf(chk->ip, sizeof chk->ip, "%s", ip);
        if (!(chk->principal = strdup(principal))) {
            check_settle(a, chk);
            check_free(chk);
            out->retry_ms = 1000;
            login_outcome(a, ip, principal, now, CHECK_OVER_BUDGET, out);
            return true;
        }
        *pending = chk;
        return false;
    }
    login_outcome(a, ip, principal, now, r, out);
    return true;
}

bool smd_auth_check_run(smd_auth *a, smd_auth_check *chk, long long budget_us)
{
    return check_step(a, chk, mono_ns() + budget_us * 1000LL);
}

void smd_auth_check_finish(smd_auth *a, smd_auth_check *chk, smd_login_result *out)
{
    memset(out, 0, sizeof *out);
    if (chk->done < chk->iterations && !chk->failed)
        check_step(a, chk, 0);
    check_result r = check_result_of(a, chk);
    login_outcome(a, chk->ip, chk->principal, (int64_t)(mono_ns() / 1000000), r, out);
    check_free(chk);
}

void smd_auth_check_abandon(smd_auth *a, smd_auth_check *chk)
{
    if (!chk)
        return;
    check_settle(a, chk);
    /* Counted as a failure: a flood that hangs up before its answers must still back off. */
    smd_metrics.logins[SMD_LOGIN_OUTCOME_ABANDONED]++;
    smd_throttle_failed(a->throttle, chk->ip, chk->principal, (int64_t)(mono_ns() / 1000000));
    check_free(chk);
}

void smd_auth_login(smd_auth *a, const char *ip, const char *principal, const char *password, size_t plen,
                   const char *hash, smd_login_result *out)
{
    smd_auth_check *chk = NULL;
    if (!smd_auth_login_start(a, ip, principal, password, plen, hash, out, &chk))
        smd_auth_check_finish(a, chk, out);
}

void smd_auth_tick(smd_auth *a)
{
    if (a)
        smd_throttle_tick(a->throttle, (int64_t)(mono_ns() / 1000000));
}
