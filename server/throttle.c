/* Login throttling: back-off for addresses, networks and principals that sent wrong passwords, in bounded tables. */
#include "server/throttle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "server/log.h"
#include "server/random.h"

/* Set-associative tables: a key can live in one bucket of WAYS records, so a lookup or an
 * eviction looks at WAYS records whatever the table size. */
#define WAYS 8
#define LOG_PRINCIPAL_MAX 64
/* All failed-login lines together (first failures, summaries, back-off notices): beyond this the
 * lines are counted and the count is logged instead, so an attack from very many addresses
 * cannot flood the log either. */
#define LOG_LINES_PER_SECOND 20
#define LOG_LINES_BURST 40
/* Records the tick looks at per call, so one tick is cheap whatever tableEntries is. */
#define TICK_SCAN 4096

typedef struct rec {
    uint64_t key; /* 0 = free */
    int64_t last_used_ms;
    int64_t last_failure_ms;
    int64_t blocked_until_ms;
    uint32_t failures; /* since the record was last forgotten */
} rec;

typedef struct table {
    rec *recs;
    size_t buckets; /* recs holds buckets * WAYS */
} table;

/* Failed logins of one address not yet logged (parallel to the address table). */
typedef struct addr_log {
    bool open; /* an interval is running: its first failure was logged, the rest are counted */
    bool several_principals;
    int64_t since_ms;
    uint32_t failures, refused;
    char ip[48];
    char principal[LOG_PRINCIPAL_MAX];
} addr_log;

struct smd_throttle {
    smd_login_limits lim;
    unsigned char key[32];
    table addresses, networks, principals;
    addr_log *logs;
    size_t tick_cursor;
    double line_tokens;
    int64_t line_refill_ms;
    unsigned long long unreported_suppressed;
    int64_t last_now_ms; /* latest time any call gave */
    smd_throttle_stats stats;
};

/* ---- log lines under one global cap ---- */

static bool line_allowed(smd_throttle *t, int64_t now)
{
    if (now > t->line_refill_ms) {
        t->line_tokens += (double)(now - t->line_refill_ms) * LOG_LINES_PER_SECOND / 1000.0;
        if (t->line_tokens > LOG_LINES_BURST)
            t->line_tokens = LOG_LINES_BURST;
        t->line_refill_ms = now;
    }
    if (t->line_tokens >= 1.0) {
        t->line_tokens -= 1.0;
        t->stats.log_lines++;
        return true;
    }
    t->stats.suppressed++;
    t->unreported_suppressed++;
    return false;
}

/* Copies at most cap-1 bytes of s without cutting a UTF-8 sequence, adding "..." when shortened. */
static void clip_into(char *dst, size_t cap, const char *s)
{
    size_t len = strlen(s);
    if (len < cap) {
        memcpy(dst, s, len + 1);
        return;
    }
    size_t n = cap - 4;
    while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
        n--;
    memcpy(dst, s, n);
    memcpy(dst + n, "...", 4);
}

static long long seconds_rounded_up(int64_t ms)
{
    long long s = (long long)((ms + 999) / 1000);
    return s < 1 ? 1 : s;
}

/* The summary of an address's interval, if it has anything to say; the interval then restarts
 * (with nothing counted) or, when it was quiet, ends, so the next failure is logged at once. */
static void flush_summary(smd_throttle *t, addr_log *l, int64_t now)
{
    if (!l->open)
        return;
    if (l->failures == 0 && l->refused == 0) {
        l->open = false;
        return;
    }
    if (line_allowed(t, now)) {
        long long secs = (long long)((now - l->since_ms + 500) / 1000);
        if (secs < 1)
            secs = 1;
        char refused[64] = "";
        if (l->refused)
            snprintf(refused, sizeof refused, "; %u more refused without a check", l->refused);
        if (l->failures)
            smd_log(SMD_LOG_INFO, "%u failed logins for principal '%s'%s from %s in the last %lld s%s", l->failures,
                   l->principal, l->several_principals ? " and others" : "", l->ip, secs, refused);
        else
            smd_log(SMD_LOG_INFO, "%u logins for principal '%s'%s from %s refused without a check in the last %lld s",
                   l->refused, l->principal, l->several_principals ? " and others" : "", l->ip, secs);
    }
    l->failures = l->refused = 0;
    l->several_principals = false;
    l->since_ms = now;
}

static void report_suppressed(smd_throttle *t, int64_t now)
{
    if (!t->unreported_suppressed)
        return;
    unsigned long long n = t->unreported_suppressed;
    if (!line_allowed(t, now))
        return;
    t->unreported_suppressed = 0;
    smd_log(SMD_LOG_WARN, "%llu failed-login log lines left out (more than %d a second)", n, LOG_LINES_PER_SECOND);
}

/* ---- keys and tables ---- */

/* A keyed hash, so that nobody can pick addresses or principal names that crowd one bucket. */
static uint64_t keyed(const smd_throttle *t, char kind, const void *data, size_t len)
{
    unsigned char digest[32], mac[32];
    unsigned int dlen = 0, mlen = 0;
    if (EVP_Digest(data, len, digest, &dlen, EVP_sha256(), NULL) != 1)
        memset(digest, 0, sizeof digest);
    unsigned char msg[33];
    msg[0] = (unsigned char)kind;
    memcpy(msg + 1, digest, 32);
    if (!HMAC(EVP_sha256(), t->key, sizeof t->key, msg, sizeof msg, mac, &mlen))
        memcpy(mac, digest, sizeof mac);
    uint64_t k = 0;
    for (int i = 0; i < 8; i++)
        k = k << 8 | mac[i];
    return k ? k : 1;
}

/* Keys of an address and of its /24 (IPv4, IPv4-mapped IPv6 included) or /64 (IPv6) network;
 * net_text (may be NULL) gets the network in CIDR form. */
static void address_keys(const smd_throttle *t, const char *ip, uint64_t *addr, uint64_t *net, char *net_text,
                         size_t cap)
{
    unsigned char b[16];
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    bool v4 = inet_pton(AF_INET, ip, b) == 1, v6 = false;
    if (!v4 && inet_pton(AF_INET6, ip, b) == 1) {
        if (memcmp(b, mapped, sizeof mapped) == 0) {
            memmove(b, b + 12, 4);
            v4 = true;
        } else {
            v6 = true;
        }
    }
    if (v4) {
        *addr = keyed(t, 'a', b, 4);
        *net = keyed(t, 'n', b, 3);
        if (net_text)
            snprintf(net_text, cap, "%u.%u.%u.0/24", b[0], b[1], b[2]);
    } else if (v6) {
        *addr = keyed(t, 'A', b, 16);
        *net = keyed(t, 'N', b, 8);
        if (net_text) {
            char text[INET6_ADDRSTRLEN];
            memset(b + 8, 0, 8);
            inet_ntop(AF_INET6, b, text, sizeof text);
            snprintf(net_text, cap, "%s/64", text);
        }
    } else {
        /* Not an address (a transport that names peers otherwise): it is its own network. */
        *addr = keyed(t, 'x', ip, strlen(ip));
        *net = keyed(t, 'X', ip, strlen(ip));
        if (net_text)
            snprintf(net_text, cap, "%s", ip);
    }
}

static bool table_init(table *tb, size_t entries)
{
    tb->buckets = (entries + WAYS - 1) / WAYS;
    tb->recs = calloc(tb->buckets * WAYS, sizeof *tb->recs);
    return tb->recs != NULL;
}

static void forget_if_stale(const smd_throttle *t, rec *r, int64_t now)
{
    if (r->failures && now - r->last_failure_ms >= t->lim.forget_ms) {
        r->failures = 0;
        r->blocked_until_ms = 0;
    }
}

/* The record of key (NULL when absent and !create). Creating evicts, when the bucket is full,
 * the least recently used record that is not backed off (or the least recently used of all):
 * an attacker's many fresh addresses push out quiet records before backed-off ones. */
static rec *lookup(smd_throttle *t, table *tb, uint64_t key, int64_t now, bool create)
{
    rec *bucket = &tb->recs[(size_t)(key % tb->buckets) * WAYS];
    for (size_t i = 0; i < WAYS; i++)
        if (bucket[i].key == key) {
            forget_if_stale(t, &bucket[i], now);
            bucket[i].last_used_ms = now;
            return &bucket[i];
        }
    if (!create)
        return NULL;
    rec *victim = NULL;
    bool victim_blocked = true;
    for (size_t i = 0; i < WAYS; i++) {
        rec *r = &bucket[i];
        if (!r->key) {
            victim = r;
            break;
        }
        bool blocked = r->blocked_until_ms > now;
        if (!victim || (victim_blocked && !blocked) ||
            (victim_blocked == blocked && r->last_used_ms < victim->last_used_ms)) {
            victim = r;
            victim_blocked = blocked;
        }
    }
    if (victim->key) {
        t->stats.evictions++;
        if (tb == &t->addresses) {
            addr_log *l = &t->logs[victim - tb->recs];
            flush_summary(t, l, now);
            memset(l, 0, sizeof *l);
        }
    }
    memset(victim, 0, sizeof *victim);
    victim->key = key;
    victim->last_used_ms = now;
    return victim;
}

/* Counts a failure; true when it starts the record's back-off (from a clean state). */
static bool bump(const smd_throttle *t, rec *r, unsigned free_failures, int64_t now)
{
    if (r->failures < UINT32_MAX)
        r->failures++;
    r->last_failure_ms = now;
    if (r->failures < free_failures)
        return false;
    unsigned over = r->failures - free_failures; /* 0 for the failure that starts the back-off */
    int64_t delay = t->lim.backoff_ms;
    for (unsigned i = 0; i < over && delay < t->lim.max_backoff_ms; i++)
        delay *= 2;
    if (delay > t->lim.max_backoff_ms)
        delay = t->lim.max_backoff_ms;
    r->blocked_until_ms = now + delay;
    return over == 0;
}

/* ---- the interface ---- */

smd_throttle *smd_throttle_new(const smd_login_limits *limits)
{
    smd_throttle *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->lim = *limits;
    t->line_tokens = LOG_LINES_BURST;
    if (smd_random_bytes(t->key, sizeof t->key) != 0 || !table_init(&t->addresses, limits->table_entries) ||
        !table_init(&t->networks, limits->table_entries) || !table_init(&t->principals, limits->table_entries) ||
        !(t->logs = calloc(t->addresses.buckets * WAYS, sizeof *t->logs))) {
        smd_throttle_free(t);
        return NULL;
    }
    return t;
}

void smd_throttle_free(smd_throttle *t)
{
    if (!t)
        return;
    /* What was counted but not yet summarised is said now (at shutdown), within the line cap. */
    if (t->logs)
        for (size_t i = 0; i < t->addresses.buckets * WAYS; i++)
            flush_summary(t, &t->logs[i], t->last_now_ms);
    free(t->addresses.recs);
    free(t->networks.recs);
    free(t->principals.recs);
    free(t->logs);
    OPENSSL_cleanse(t->key, sizeof t->key);
    free(t);
}

void smd_throttle_admit(smd_throttle *t, const char *ip, const char *principal, int64_t now_ms,
                       smd_throttle_decision *out)
{
    t->last_now_ms = now_ms;
    uint64_t ka, kn;
    address_keys(t, ip, &ka, &kn, NULL, 0);
    rec *a = lookup(t, &t->addresses, ka, now_ms, false);
    rec *n = lookup(t, &t->networks, kn, now_ms, false);
    rec *p = lookup(t, &t->principals, keyed(t, 'p', principal, strlen(principal)), now_ms, false);
    out->verdict = SMD_THROTTLE_ALLOW;
    out->retry_ms = 0;
    out->suspect = a && a->failures > 0;
    if (a && a->blocked_until_ms > now_ms) {
        out->verdict = SMD_THROTTLE_ADDRESS;
        out->retry_ms = a->blocked_until_ms - now_ms;
    } else if (n && n->blocked_until_ms > now_ms) {
        out->verdict = SMD_THROTTLE_NETWORK;
        out->retry_ms = n->blocked_until_ms - now_ms;
    } else if (p && p->blocked_until_ms > now_ms && out->suspect) {
        /* A backed-off principal stays open to addresses with a clean record: its real user
         * elsewhere still gets in, and a distributed attacker gets one try per fresh address
         * (and at most networkFreeFailures per network). */
        out->verdict = SMD_THROTTLE_PRINCIPAL;
        out->retry_ms = p->blocked_until_ms - now_ms;
    }
}

/* The address's summary window for one more failure or refusal: an expired window is written out
 * first, a new one opened; the principal is noted. True when the window was just opened. */
static bool log_window(smd_throttle *t, addr_log *l, const char *ip, const char *pclip, int64_t now_ms)
{
    if (l->open && now_ms - l->since_ms >= t->lim.log_interval_ms)
        flush_summary(t, l, now_ms);
    bool opened = !l->open;
    if (opened) {
        l->open = true;
        l->since_ms = now_ms;
        l->failures = l->refused = 0;
        l->several_principals = false;
        clip_into(l->ip, sizeof l->ip, ip);
    }
    if (l->failures == 0 && l->refused == 0)
        memcpy(l->principal, pclip, sizeof l->principal);
    else if (strcmp(l->principal, pclip) != 0)
        l->several_principals = true;
    return opened;
}

void smd_throttle_failed(smd_throttle *t, const char *ip, const char *principal, int64_t now_ms)
{
    t->last_now_ms = now_ms;
    t->stats.failures++;
    uint64_t ka, kn;
    char net_text[64];
    address_keys(t, ip, &ka, &kn, net_text, sizeof net_text);
    rec *a = lookup(t, &t->addresses, ka, now_ms, true);
    addr_log *l = &t->logs[a - t->addresses.recs];
    char pclip[LOG_PRINCIPAL_MAX];
    clip_into(pclip, sizeof pclip, principal);
    if (log_window(t, l, ip, pclip, now_ms)) {
        if (line_allowed(t, now_ms))
            smd_log(SMD_LOG_INFO, "authentication failed for principal '%s' from %s", pclip, ip);
    } else {
        l->failures++;
    }

    const smd_login_limits *lim = &t->lim;
    if (bump(t, a, lim->address_free_failures, now_ms) && line_allowed(t, now_ms))
        smd_log(SMD_LOG_WARN, "logins from %s backed off after %u failed logins (for %lld s, then longer)", ip,
               a->failures, seconds_rounded_up(a->blocked_until_ms - now_ms));
    rec *n = lookup(t, &t->networks, kn, now_ms, true);
    if (bump(t, n, lim->network_free_failures, now_ms) && line_allowed(t, now_ms))
        smd_log(SMD_LOG_WARN, "logins from network %s backed off after %u failed logins (for %lld s, then longer)",
               net_text, n->failures, seconds_rounded_up(n->blocked_until_ms - now_ms));
    rec *p = lookup(t, &t->principals, keyed(t, 'p', principal, strlen(principal)), now_ms, true);
    if (bump(t, p, lim->principal_free_failures, now_ms) && line_allowed(t, now_ms))
        smd_log(SMD_LOG_WARN,
               "logins for principal '%s' backed off after %u failed logins (for %lld s, then longer), "
               "except from addresses without failures",
               pclip, p->failures, seconds_rounded_up(p->blocked_until_ms - now_ms));
}

void smd_throttle_refused(smd_throttle *t, const char *ip, const char *principal, int64_t now_ms)
{
    t->last_now_ms = now_ms;
    t->stats.refused++;
    uint64_t ka, kn;
    address_keys(t, ip, &ka, &kn, NULL, 0);
    rec *a = lookup(t, &t->addresses, ka, now_ms, true);
    addr_log *l = &t->logs[a - t->addresses.recs];
    char pclip[LOG_PRINCIPAL_MAX];
    clip_into(pclip, sizeof pclip, principal);
    /* Refusals are only ever summarised: nothing was checked, there is nothing new to say. */
    log_window(t, l, ip, pclip, now_ms);
    l->refused++;
}

void smd_throttle_tick(smd_throttle *t, int64_t now_ms)
{
    t->last_now_ms = now_ms;
    size_t total = t->addresses.buckets * WAYS;
    size_t scan = total < TICK_SCAN ? total : TICK_SCAN;
    for (size_t i = 0; i < scan; i++) {
        size_t at = t->tick_cursor;
        t->tick_cursor = (t->tick_cursor + 1) % total;
        addr_log *l = &t->logs[at];
        if (l->open && now_ms - l->since_ms >= t->lim.log_interval_ms)
            flush_summary(t, l, now_ms);
    }
    report_suppressed(t, now_ms);
}

void smd_throttle_get_stats(const smd_throttle *t, smd_throttle_stats *out)
{
    if (t)
        *out = t->stats;
    else
        memset(out, 0, sizeof *out);
}
