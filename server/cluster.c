/* Cluster mode (docs/cluster.md): membership in Redis, routed requests, remote listener proxies, on hiredis + libev. */
#include "server/cluster.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <ev.h>
#include <hiredis/adapters/libev.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <cjson/cJSON.h>

#include "core/clock.h"
#include "core/events_scan.h"
#include "core/props.h"
#include "server/audit.h"
#include "server/log.h"
#include "server/random.h"
#include "server/server.h"

#define MAX_PEERS 64
#define RECONNECT_S 0.5
#define PENDING_TICK_S 0.02
#define JOIN_TIMEOUT_MS 3000
#define SNAPSHOT_WINDOW (256u * 1024u)   /* unacknowledged snapshot bytes per proxy */
#define PROXY_STEP_BYTES (64u * 1024u)   /* snapshot bytes produced per proxy per loop pass */
#define HEADER_MAX 256
#define CLOSE_STEP 2048                   /* CLOSED events of gone nodes' sessions per loop pass */
#define RESYNC_STEP 65536                 /* known sessions listed in resync registrations per loop pass */
#define SCAN_KEEP_BYTES (256u * 1024u)    /* event reader buffers kept between messages */

static const char JOIN_SCRIPT[] =
    "local cur = redis.call('GET', KEYS[1]) "
    "if cur and cur ~= ARGV[4] then return -1 end "
    "local p = redis.call('GET', KEYS[2]) "
    "if p and p ~= ARGV[2] then return -2 end "
    "redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3]) "
    "redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3]) "
    "return 1";
static const char REFRESH_SCRIPT[] =
    "if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end "
    "redis.call('PEXPIRE', KEYS[1], ARGV[2]) redis.call('PEXPIRE', KEYS[2], ARGV[2]) return 1";
static const char LEAVE_SCRIPT[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1], KEYS[2]) end return 1";

static size_t id_slot(uint64_t k, size_t cap)
{
    k *= 0x9e3779b97f4a7c15ull;
    return (size_t)(k >> 32) & (cap - 1);
}

/* ---- what a listener was told about one remote node's sessions ---- */

/* One remote session a listener knows: its state and the requested properties as last told
 * (strings interned in srv->strings, so listeners and sessions share them), so that after a
 * Redis outage the listener gets exactly what changed (docs/cluster.md § Reconvergence). */
typedef struct known {
    uint32_t counter;
    uint8_t used; /* 0 = empty slot */
    uint8_t state;
    uint16_t nprops;
    sm_kv *props;
} known; /* 16 bytes */

typedef struct kmap {
    known *slots;
    size_t cap, count;
} kmap;

static known *kmap_get(const kmap *m, uint32_t counter)
{
    if (!m->cap)
        return NULL;
    for (size_t at = id_slot(counter, m->cap); m->slots[at].used; at = (at + 1) & (m->cap - 1))
        if (m->slots[at].counter == counter)
            return &m->slots[at];
    return NULL;
}

static void known_clear(sm_intern *strings, known *kn)
{
    for (uint32_t i = 0; i < kn->nprops; i++) {
        sm_intern_unref(strings, kn->props[i].key);
        sm_intern_unref(strings, kn->props[i].value);
    }
    free(kn->props);
    kn->props = NULL;
    kn->nprops = 0;
}

/* The record of counter, added empty when new; NULL when out of memory. Invalidates pointers
 * into m. */
static known *kmap_put(kmap *m, uint32_t counter)
{
    known *have = kmap_get(m, counter);
    if (have)
        return have;
    if ((m->count + 1) * 2 > m->cap) {
        size_t ncap = m->cap ? m->cap * 2 : 64;
        known *n = calloc(ncap, sizeof *n);
        if (!n)
            return NULL;
        for (size_t i = 0; i < m->cap; i++)
            if (m->slots[i].used) {
                size_t at = id_slot(m->slots[i].counter, ncap);
                while (n[at].used)
                    at = (at + 1) & (ncap - 1);
                n[at] = m->slots[i];
            }
        free(m->slots);
        m->slots = n;
        m->cap = ncap;
    }
    size_t at = id_slot(counter, m->cap);
    while (m->slots[at].used)
        at = (at + 1) & (m->cap - 1);
    memset(&m->slots[at], 0, sizeof m->slots[at]);
    m->slots[at].counter = counter;
    m->slots[at].used = 1;
    m->count++;
    return &m->slots[at];
}

/* Takes the record out of m without freeing its properties (into *out when not NULL). */
static bool kmap_take(kmap *m, uint32_t counter, known *out)
{
    known *kn = kmap_get(m, counter);
    if (!kn)
        return false;
    if (out)
        *out = *kn;
    size_t at = (size_t)(kn - m->slots);
    memset(kn, 0, sizeof *kn);
    m->count--;
    /* Backward shift keeps probe chains whole without tombstones. */
    size_t hole = at;
    for (size_t i = (at + 1) & (m->cap - 1); m->slots[i].used; i = (i + 1) & (m->cap - 1)) {
        size_t home = id_slot(m->slots[i].counter, m->cap);
        bool movable = hole <= i ? (home <= hole || home > i) : (home <= hole && home > i);
        if (movable) {
            m->slots[hole] = m->slots[i];
            memset(&m->slots[i], 0, sizeof m->slots[i]);
            hole = i;
        }
    }
    return true;
}

static void kmap_remove(kmap *m, sm_intern *strings, uint32_t counter)
{
    known kn;
    if (kmap_take(m, counter, &kn))
        known_clear(strings, &kn);
}

static void kmap_free(kmap *m, sm_intern *strings)
{
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].used)
            known_clear(strings, &m->slots[i]);
    free(m->slots);
    memset(m, 0, sizeof *m);
}

/* Moves every record of src that dst lacks into dst (dst's are newer); src ends empty. */
static void kmap_merge(kmap *dst, kmap *src, sm_intern *strings)
{
    if (!dst->count || !src->count) { /* the usual case, in constant time */
        kmap *keep = dst->count ? dst : src, *drop = dst->count ? src : dst;
        free(drop->slots);
        kmap moved = *keep;
        memset(src, 0, sizeof *src);
        *dst = moved;
        return;
    }
    for (size_t i = 0; i < src->cap; i++) {
        known *kn = &src->slots[i];
        if (!kn->used)
            continue;
        known *to = kmap_get(dst, kn->counter) ? NULL : kmap_put(dst, kn->counter);
        if (to) {
            *to = *kn;
        } else {
            known_clear(strings, kn);
        }
    }
    free(src->slots);
    memset(src, 0, sizeof *src);
}

/* The record's properties become props (interned); false when out of memory (then it has none). */
static bool known_set_props(sm_intern *strings, known *kn, const sm_kv *props, size_t n)
{
    known_clear(strings, kn);
    if (!n)
        return true;
    if (n > UINT16_MAX) /* far more than a session can hold (limits.maxPropertiesPerSession) */
        n = UINT16_MAX;
    sm_kv *a = calloc(n, sizeof *a);
    if (!a)
        return false;
    uint16_t used = 0;
    for (size_t i = 0; i < n; i++) {
        if (!props[i].key || !props[i].value)
            continue;
        a[used].key = sm_intern_cstr(strings, props[i].key);
        a[used].value = sm_intern_cstr(strings, props[i].value);
        if (!a[used].key || !a[used].value) {
            sm_intern_unref(strings, a[used].key);
            sm_intern_unref(strings, a[used].value);
            kn->props = a;
            kn->nprops = used;
            known_clear(strings, kn);
            return false;
        }
        used++;
    }
    kn->props = a;
    kn->nprops = used;
    return true;
}

static const char *kv_find(const sm_kv *kv, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (kv[i].key && strcmp(kv[i].key, key) == 0)
            return kv[i].value;
    return NULL;
}

/* An update as the listener got it: each key of `changed` now has its value in `properties`,
 * or is gone (both event forms, full or changedOnly, carry that). The record changes in place,
 * interning only the new values: this runs for every remote event a listener gets. False when
 * out of memory (the record is then emptied: a later resync reports every property as changed). */
static bool known_apply(sm_intern *strings, known *kn, const sm_event *ev)
{
    for (size_t i = 0; i < ev->changed.count; i++) {
        const char *key = ev->changed.items[i].key;
        const char *now = kv_find(ev->properties.items, ev->properties.count, key);
        uint32_t at = 0;
        while (at < kn->nprops && strcmp(kn->props[at].key, key) != 0)
            at++;
        if (at < kn->nprops) {
            if (now && strcmp(kn->props[at].value, now) == 0)
                continue;
            const char *value = now ? sm_intern_cstr(strings, now) : NULL;
            if (now && !value)
                goto nomem;
            sm_intern_unref(strings, kn->props[at].value);
            if (value) {
                kn->props[at].value = value;
                continue;
            }
            sm_intern_unref(strings, kn->props[at].key);
            memmove(&kn->props[at], &kn->props[at + 1], (kn->nprops - at - 1) * sizeof *kn->props);
            kn->nprops--;
            continue;
        }
        if (!now || kn->nprops == UINT16_MAX)
            continue;
        sm_kv *grown = realloc(kn->props, ((size_t)kn->nprops + 1) * sizeof *grown);
        if (!grown)
            goto nomem;
        kn->props = grown;
        const char *k = sm_intern_cstr(strings, key), *v = sm_intern_cstr(strings, now);
        if (!k || !v) {
            sm_intern_unref(strings, k);
            sm_intern_unref(strings, v);
            goto nomem;
        }
        kn->props[kn->nprops++] = (sm_kv){k, v};
    }
    return true;
nomem:
    known_clear(strings, kn);
    return false;
}

/* A lower-case hex digit's value (what the nodes write), else -1. */
static int hex_value(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The counter part of a session ID ("%08x-%08x", SMD_SESSION_ID_LEN long), by hand: it is read
 * for every event from another node, where strtoul cost more than a tenth of the whole path. */
static uint32_t session_counter(const char *id)
{
    uint32_t v = 0;
    for (const char *h = id + 9; h < id + SMD_SESSION_ID_LEN; h++) {
        int d = hex_value(*h);
        if (d < 0)
            break;
        v = v << 4 | (uint32_t)d;
    }
    return v;
}

/* ---- state ---- */

typedef struct peer {
    char name[SMD_NODE_NAME_MAX + 1];
    uint64_t epoch;
    uint64_t dead_epoch; /* messages of this epoch are ignored: it was declared dead */
    uint32_t prefix;
    int64_t last_seen_ms;
    bool alive;
    bool synced; /* it has told us directly that it knows this epoch of ours (a `W`) */
} peer;

/* One other node's part of one of this node's listeners. */
typedef struct rpart {
    int peer;
    uint64_t epoch;
    bool done;   /* its snapshot part ended */
    bool late;   /* joined after snapshot_end: its snapshot events go out as live OPEN events */
    bool resync; /* its snapshot is compared with `old`: only the differences reach the client */
    bool unsent; /* its `L` (with the sessions of `old`) is still to be sent, from the work slices */
    int64_t count;
    int64_t last_ms; /* its last message, or the last time this node held back its acknowledgement */
    uint64_t received, acked;
    kmap ids; /* the node's sessions the listener knows */
    kmap old; /* resync: what it knew before the outage and the snapshot has not confirmed yet */
    int64_t since_ms; /* resync: wall-clock time of the last message from its node before the outage */
} rpart;

/* The sessions of a part whose node is gone, reported CLOSED a bounded number per loop pass. */
typedef struct closing {
    struct closing *next;
    uint32_t prefix;
    sm_close_reason reason;
    kmap ids;
    size_t pos; /* next slot of ids to report */
} closing;

/* What a listener knew of a node's sessions when this node lost the cluster, kept until that
 * node is back (then compared with its snapshot) or known gone (then reported CLOSED). */
typedef struct held {
    struct held *next;
    char name[SMD_NODE_NAME_MAX + 1];
    uint32_t prefix;
    int64_t since_ms; /* wall-clock time of the last message from that node */
    kmap ids;
} held;

typedef struct smd_cluster_view {
    closing *closing; /* oldest first */
    held *held;
    rpart parts[MAX_PEERS];
    size_t nparts;
    bool local_done, ended;
    int64_t local_count;
    int64_t gone_count; /* snapshot events of parts removed before snapshot_end */
    char missing[MAX_PEERS][SMD_NODE_NAME_MAX + 1];
    size_t nmissing;
    bool degraded_told;
} smd_cluster_view;

typedef struct smd_cluster_proxy {
    struct smd_cluster_proxy *next;
    smd_listener *l;
    int peer;
    uint64_t epoch;
    int64_t lid; /* the listener's ID on its own node */
    kmap told;    /* resync: this node's sessions the listener already knows (no properties) */
    bool resync;
    int64_t since_ms; /* resync: sessions older than this that the listener does not know entered its filter */
    smd_outq q;   /* encoded events waiting to be published */
    uint64_t sent, acked;
    bool failed;
    bool end_sent;
} smd_cluster_proxy;

typedef struct pending {
    struct pending *next;
    uint64_t rid;
    char session[SMD_SESSION_ID_LEN + 1]; /* the requesting session */
    int64_t client_id;
    sm_msg_type op;
    bool by_filter;
    int64_t count;
    uint64_t waiting; /* peer bits */
    uint64_t epochs[MAX_PEERS];
    int64_t deadline_ms;
    bool local_pending; /* by filter: this node's own part is still running */
    sm_errcode err_code;
    char err_text[200];
    char missing[MAX_PEERS][SMD_NODE_NAME_MAX + 1]; /* nodes that did not answer, by name */
    size_t nmissing;
} pending;

typedef struct smd_cluster {
    smd_server *srv;
    const smd_cluster_cfg *cfg;
    struct ev_loop *loop;
    char self[SMD_NODE_NAME_MAX + 1];
    uint64_t epoch;
    char value[64];      /* "PREFIX EPOCH" stored in the node key */
    char prev_value[64]; /* what the key held at our last join ("" = none) */
    char node_key[96], prefix_key[64], to_channel[96];
    char *host;
    int port;
    char *unix_path;
    char *user, *password;
    redisAsyncContext *cmd, *sub;
    int subscribed;
    bool joined, join_sent, cmd_authed;
    int64_t last_refresh_ok_ms;
    int64_t up_since_ms; /* the last (re)join */
    size_t inflight;
    peer peers[MAX_PEERS];
    size_t npeers;
    smd_cluster_proxy *proxies;
    closing *graveyard; /* released maps of known sessions, freed a slice per loop pass */
    struct remote_req *remotes;
    size_t nremote;
    pending *pendings;
    size_t npending;
    uint64_t next_rid;
    ev_timer heartbeat, reconnect, tick;
    ev_prepare flush;
    ev_idle work;
    smd_conn sink;        /* stand-in connection for requests from other nodes */
    smd_session sink_session;
    sm_buf scratch;
    sm_events_scanner events_in; /* reused for every `E` message */
    bool leaving;
    bool reset; /* drop both connections at the next timer (never from inside a hiredis callback) */
    uint64_t answers_missing_nodes; /* metrics */
} smd_cluster;

static void go_down(smd_cluster *k, const char *why);
static void publish(smd_cluster *k, const char *channel, const char *head, size_t hlen, const char *body, size_t blen);
static void proxies_drop_peer(smd_cluster *k, int p);

static bool cluster_up(const smd_cluster *k)
{
    return k->cmd && k->sub && k->subscribed >= 2 && k->joined;
}

static int64_t wall_ms(void)
{
    return sm_wall_ms();
}

static int find_peer(const smd_cluster *k, const char *name)
{
    for (size_t i = 0; i < k->npeers; i++)
        if (strcmp(k->peers[i].name, name) == 0)
            return (int)i;
    return -1;
}

/* Alive and known to know us: requests and listeners go only to such nodes. */
static bool peer_live(const smd_cluster *k, size_t i)
{
    return k->peers[i].alive && k->peers[i].synced;
}

static int peer_by_prefix(const smd_cluster *k, uint32_t prefix)
{
    for (size_t i = 0; i < k->npeers; i++)
        if (peer_live(k, i) && k->peers[i].prefix == prefix)
            return (int)i;
    return -1;
}

static void to_channel(const char *node, char *buf, size_t len)
{
    snprintf(buf, len, "sessmon:to:%s", node);
}

static void send_peer(smd_cluster *k, int p, const char *head, size_t hlen, const char *body, size_t blen)
{
    char ch[96];
    to_channel(k->peers[p].name, ch, sizeof ch);
    publish(k, ch, head, hlen, body, blen);
}

/* ---- sending to a client ---- */

static bool conn_send_text(smd_conn *c, const char *text, size_t len)
{
    if (c->closing || !c->session || c->session->doomed)
        return false;
    if (smd_outq_push_text(&c->q, text, len, c->srv->headroom) != SM_OK) {
        smd_server_doom(c->srv, c->session, SM_CLOSE_INTERNAL_ERROR);
        return false;
    }
    if (smd_conn_queue_over_limit(c)) {
        smd_server_doom(c->srv, c->session, SM_CLOSE_MESSAGE_QUEUE_LIMIT_REACHED);
        return false;
    }
    smd_conn_want_write(c);
    return true;
}

static smd_conn *session_conn(smd_cluster *k, const char *sid)
{
    smd_session *s = smd_registry_find(&k->srv->reg, sid);
    return s && s->conn && !s->doomed ? s->conn : NULL;
}

/* ---- Redis plumbing ---- */

static void publish_done(redisAsyncContext *ac, void *r, void *priv)
{
    (void)r;
    smd_cluster *k = ac->data;
    size_t n = (size_t)(uintptr_t)priv;
    if (k)
        k->inflight = k->inflight > n ? k->inflight - n : 0;
}

static void publish(smd_cluster *k, const char *channel, const char *head, size_t hlen, const char *body, size_t blen)
{
    if (!k->cmd)
        return;
    sm_buf *b = &k->scratch;
    sm_buf_reset(b);
    if (sm_buf_append(b, head, hlen) != SM_OK || (blen && sm_buf_append(b, body, blen) != SM_OK) || b->overflow) {
        smd_log(SMD_LOG_ERROR, "cluster: out of memory building a message");
        return;
    }
    const char *argv[3] = {"PUBLISH", channel, sm_buf_payload(b)};
    size_t lens[3] = {7, strlen(channel), b->len};
    k->inflight += b->len;
    if (redisAsyncCommandArgv(k->cmd, publish_done, (void *)(uintptr_t)b->len, 3, argv, lens) != REDIS_OK)
        k->inflight -= b->len;
    if (k->inflight > k->cfg->max_unanswered_bytes) {
        go_down(k, "more than cluster.maxUnansweredBytes handed to Redis is still unanswered");
        k->reset = true;
    }
}

static void heartbeat_publish(smd_cluster *k)
{
    char head[HEADER_MAX];
    int n = snprintf(head, sizeof head, "H %s %016" PRIx64 " %08x\n", k->self, k->epoch, k->srv->reg.id_prefix);
    publish(k, "sessmon:all", head, (size_t)n, NULL, 0);
}

/* ---- the other nodes' parts of this node's listeners ---- */

static smd_listener *find_listener(smd_cluster *k, int64_t lid)
{
    for (smd_listener *l = k->srv->listeners; l; l = l->gnext)
        if (l->id == lid && l->view)
            return l;
    return NULL;
}

static rpart *find_part(smd_cluster_view *v, int p, uint64_t epoch)
{
    for (size_t i = 0; i < v->nparts; i++)
        if (v->parts[i].peer == p && v->parts[i].epoch == epoch)
            return &v->parts[i];
    return NULL;
}

static void send_snapshot_end(smd_cluster *k, smd_listener *l)
{
    smd_cluster_view *v = l->view;
    (void)k;
    if (v->ended || !l->owner->conn)
        return;
    int64_t total = v->local_count + v->gone_count;
    for (size_t i = 0; i < v->nparts; i++)
        if (!v->parts[i].late)
            total += v->parts[i].count;
    const char *names[MAX_PEERS];
    for (size_t i = 0; i < v->nmissing; i++)
        names[i] = v->missing[i];
    sm_msg m;
    memset(&m, 0, sizeof m);
    m.type = SM_MSG_SNAPSHOT_END;
    m.listener = l->id;
    m.count = total;
    m.missing.items = names;
    m.missing.count = v->nmissing;
    smd_conn_send(l->owner->conn, &m);
    v->ended = true;
    /* Parts still running go on as live events. */
    for (size_t i = 0; i < v->nparts; i++)
        if (!v->parts[i].done)
            v->parts[i].late = true;
}

static void maybe_end_snapshot(smd_cluster *k, smd_listener *l)
{
    smd_cluster_view *v = l->view;
    if (v->ended || !v->local_done)
        return;
    for (size_t i = 0; i < v->nparts; i++)
        if (!v->parts[i].done && !v->parts[i].late)
            return;
    send_snapshot_end(k, l);
}

static void note_missing(smd_cluster_view *v, const char *name)
{
    for (size_t i = 0; i < v->nmissing; i++)
        if (strcmp(v->missing[i], name) == 0)
            return;
    if (v->nmissing < MAX_PEERS)
        snprintf(v->missing[v->nmissing++], sizeof v->missing[0], "%s", name);
}

static void wake_work(smd_cluster *k);

#define RELEASE_NOW 1024 /* records freed at once; bigger maps are freed CLOSE_STEP per loop pass */

/* Frees c (its records unreferenced a bounded number per loop pass when there are many). */
static void release_closing(smd_server *srv, closing *c)
{
    smd_cluster *k = srv->cluster;
    if (!k || c->ids.count <= RELEASE_NOW) {
        kmap_free(&c->ids, srv->strings);
        free(c);
        return;
    }
    c->reason = SM_CLOSE_NONE;
    c->next = k->graveyard;
    k->graveyard = c;
    wake_work(k);
}

static void release(smd_server *srv, kmap *m)
{
    closing *c = m->count > RELEASE_NOW && srv->cluster ? calloc(1, sizeof *c) : NULL;
    if (!c) {
        kmap_free(m, srv->strings);
        return;
    }
    c->ids = *m;
    memset(m, 0, sizeof *m);
    release_closing(srv, c);
}

/* One slice of freeing released maps; true when some are left. */
static bool graveyard_step(smd_cluster *k)
{
    size_t budget = CLOSE_STEP * 4;
    while (k->graveyard && budget) {
        closing *c = k->graveyard;
        for (; c->pos < c->ids.cap && budget; c->pos++, budget--)
            if (c->ids.slots[c->pos].used)
                known_clear(k->srv->strings, &c->ids.slots[c->pos]);
        if (c->pos < c->ids.cap)
            break;
        k->graveyard = c->next;
        free(c->ids.slots);
        free(c);
    }
    return k->graveyard != NULL;
}

/* CLOSED for a remote session the listener knew, with its last values as told (full form). */
static void emit_closed(smd_cluster *k, smd_listener *l, uint32_t prefix, const known *kn, sm_close_reason reason)
{
    char sid[SMD_SESSION_ID_LEN + 1];
    snprintf(sid, sizeof sid, "%08x-%08x", prefix, kn->counter);
    sm_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = SM_EVENT_CLOSED;
    ev.session_id = sid;
    ev.state = SM_STATE_CLOSED;
    ev.reason = reason;
    if (!l->changed_only) {
        ev.properties.items = kn->props;
        ev.properties.count = kn->nprops;
    }
    smd_listener_emit(k->srv, l, &ev);
}

/* Reports up to budget sessions of l's closing backlog; returns how many it reported. */
static size_t closing_drain(smd_cluster *k, smd_listener *l, size_t budget)
{
    smd_cluster_view *v = l->view;
    size_t used = 0;
    while (v->closing && used < budget) {
        closing *c = v->closing;
        bool live = l->owner->conn && !l->owner->doomed;
        for (; c->pos < c->ids.cap && used < budget && live; c->pos++) {
            if (!c->ids.slots[c->pos].used)
                continue;
            emit_closed(k, l, c->prefix, &c->ids.slots[c->pos], c->reason);
            known_clear(k->srv->strings, &c->ids.slots[c->pos]);
            used++;
        }
        if (live && c->pos < c->ids.cap)
            break;
        v->closing = c->next;
        release_closing(k->srv, c);
    }
    return used;
}

/* Every session of *ids is reported CLOSED, a bounded number per loop pass; *ids ends empty. */
static void close_all(smd_cluster *k, smd_listener *l, uint32_t prefix, kmap *ids, sm_close_reason reason)
{
    smd_cluster_view *v = l->view;
    closing *c = ids->count ? calloc(1, sizeof *c) : NULL;
    if (c) {
        c->prefix = prefix;
        c->reason = reason;
        c->ids = *ids;
        memset(ids, 0, sizeof *ids);
        closing **pp = &v->closing;
        while (*pp)
            pp = &(*pp)->next;
        *pp = c;
        wake_work(k);
    } else if (ids->count && l->owner->conn && !l->owner->doomed) {
        /* No memory for the backlog: reported now. */
        for (size_t s = 0; s < ids->cap; s++)
            if (ids->slots[s].used)
                emit_closed(k, l, prefix, &ids->slots[s], reason);
    }
    kmap_free(ids, k->srv->strings);
}

static void part_remove(smd_cluster *k, smd_listener *l, size_t i)
{
    smd_cluster_view *v = l->view;
    rpart *r = &v->parts[i];
    if (!v->ended && !r->done && !r->late)
        note_missing(v, k->peers[r->peer].name);
    if (!r->late)
        v->gone_count += r->count; /* sent as snapshot events all the same */
    release(k->srv, &r->ids);
    release(k->srv, &r->old);
    v->parts[i] = v->parts[--v->nparts];
    maybe_end_snapshot(k, l);
}

/* The part's node is gone: every session of it the listener knows is reported CLOSED
 * (docs/cluster.md), a bounded number per loop pass. */
static void part_drop(smd_cluster *k, smd_listener *l, size_t i, sm_close_reason reason)
{
    rpart *r = &l->view->parts[i];
    kmap_merge(&r->ids, &r->old, k->srv->strings);
    close_all(k, l, k->peers[r->peer].prefix, &r->ids, reason);
    part_remove(k, l, i);
}

static held *find_held(smd_cluster_view *v, const char *name)
{
    for (held *h = v->held; h; h = h->next)
        if (strcmp(h->name, name) == 0)
            return h;
    return NULL;
}

static void held_unlink(smd_cluster_view *v, held *h)
{
    for (held **pp = &v->held; *pp; pp = &(*pp)->next)
        if (*pp == h) {
            *pp = h->next;
            return;
        }
}

/* This node cannot see the part's node for a while (it lost Redis, or that node rejoined): what
 * the listener knows of its sessions is kept, not closed, and compared with that node's snapshot
 * when it is back (docs/cluster.md § Reconvergence). */
static void part_hold(smd_cluster *k, smd_listener *l, size_t i)
{
    smd_cluster_view *v = l->view;
    rpart *r = &v->parts[i];
    peer *pe = &k->peers[r->peer];
    kmap_merge(&r->ids, &r->old, k->srv->strings);
    held *h = find_held(v, pe->name);
    int64_t since = sm_wall_ms() - (sm_mono_ms() - pe->last_seen_ms);
    if (!h && (h = calloc(1, sizeof *h)) != NULL) {
        snprintf(h->name, sizeof h->name, "%s", pe->name);
        h->prefix = pe->prefix;
        h->since_ms = since;
        h->next = v->held;
        v->held = h;
    }
    if (h && since < h->since_ms)
        h->since_ms = since;
    if (h)
        kmap_merge(&h->ids, &r->ids, k->srv->strings);
    else
        close_all(k, l, pe->prefix, &r->ids, SM_CLOSE_CONNECTION_LOST);
    part_remove(k, l, i);
}

/* A held view of a node that is not coming back (or came back as another process): CLOSED. */
static void held_drop(smd_cluster *k, smd_listener *l, held *h)
{
    held_unlink(l->view, h);
    close_all(k, l, h->prefix, &h->ids, SM_CLOSE_CONNECTION_LOST);
    free(h);
}

/* L FROM EPOCH LID NTOLD, then the add_listener request, then NTOLD 4-byte session counters the
 * listener already knows there (a resync: the proxy sends FILTER_LEAVE for those that no longer
 * match). */
static void send_listener_to(smd_cluster *k, smd_listener *l, int p, const sm_msg *add, const kmap *told,
                             int64_t since_ms)
{
    sm_buf body;
    sm_buf_init(&body, 0, 0);
    if (sm_msg_encode(add, &body) != SM_OK || body.overflow) {
        sm_buf_free(&body);
        return;
    }
    size_t ntold = told ? told->count : 0;
    for (size_t i = 0; told && i < told->cap; i++)
        if (told->slots[i].used) {
            uint32_t c = told->slots[i].counter;
            unsigned char le[4] = {(unsigned char)c, (unsigned char)(c >> 8), (unsigned char)(c >> 16),
                                   (unsigned char)(c >> 24)};
            if (sm_buf_append(&body, (const char *)le, 4) != SM_OK)
                break;
        }
    if (body.overflow) {
        sm_buf_free(&body);
        return;
    }
    char head[HEADER_MAX];
    int n = snprintf(head, sizeof head, "L %s %016" PRIx64 " %" PRId64 " %zu %" PRId64 "\n", k->self, k->epoch, l->id,
                     ntold, told ? since_ms : 0);
    send_peer(k, p, head, (size_t)n, sm_buf_payload(&body), body.len);
    sm_buf_free(&body);
}

/* The add_listener request a proxy is built from: l's own arguments. */
static void listener_request(const smd_listener *l, sm_msg *m, const char **keys)
{
    memset(m, 0, sizeof *m);
    m->type = SM_MSG_ADD_LISTENER;
    m->id = l->id;
    size_t n = 0;
    if (l->all_fixed)
        keys[n++] = SM_SELECT_ALL_FIXED;
    if (l->all_user)
        keys[n++] = SM_SELECT_ALL_USER;
    for (size_t i = 0; i < l->nkeys; i++)
        keys[n++] = l->keys[i];
    m->has_keys = true;
    m->keys.items = keys;
    m->keys.count = n;
    m->has_after = l->has_after;
    m->after = l->after;
}

/* Registers part r of l on its node (with what the listener knew there, for a resync). */
static void send_part(smd_cluster *k, smd_listener *l, rpart *r, const char *filter)
{
    r->unsent = false;
    const char **keys = malloc((l->nkeys + 2) * sizeof *keys);
    if (!keys)
        return;
    sm_msg m;
    listener_request(l, &m, keys);
    m.filter = filter;
    send_listener_to(k, l, r->peer, &m, r->resync ? &r->old : NULL, r->since_ms);
    free(keys);
}

static void add_part(smd_cluster *k, smd_listener *l, int p, const char *filter)
{
    smd_cluster_view *v = l->view;
    if (v->nparts >= MAX_PEERS || find_part(v, p, k->peers[p].epoch))
        return;
    held *h = find_held(v, k->peers[p].name);
    if (h && h->prefix != k->peers[p].prefix) {
        held_drop(k, l, h); /* the name came back as another process: its old sessions are gone */
        h = NULL;
    }
    /* Its previous sessions are all reported closed before it can announce them again. */
    for (closing *c = v->closing; c; c = c->next)
        if (c->prefix == k->peers[p].prefix) {
            closing_drain(k, l, SIZE_MAX);
            break;
        }
    rpart *r = &v->parts[v->nparts++];
    memset(r, 0, sizeof *r);
    r->peer = p;
    r->epoch = k->peers[p].epoch;
    r->late = v->ended;
    r->last_ms = sm_mono_ms();
    if (h) {
        /* The `L` carries what it knew (4 bytes a session): sent from the work slices, a bounded
         * amount per loop pass. */
        r->old = h->ids;
        r->since_ms = h->since_ms;
        r->resync = r->unsent = true;
        r->late = true; /* the client has had this node's part of the snapshot (or its name in missing) */
        held_unlink(v, h);
        free(h);
        wake_work(k);
        return;
    }
    send_part(k, l, r, filter);
}

/* The filter text of a listener is kept with its view (the parsed filter cannot be printed back). */
typedef struct view_ext {
    smd_cluster_view v;
    char *filter;
} view_ext;

void smd_cluster_listener_added(smd_server *srv, smd_listener *l, const sm_msg *m)
{
    smd_cluster *k = srv->cluster;
    view_ext *x = calloc(1, sizeof *x);
    if (!x)
        return; /* the listener stays local-only; logged */
    if (m->filter && !(x->filter = strdup(m->filter))) {
        free(x);
        return;
    }
    l->view = &x->v;
    if (!cluster_up(k)) {
        /* Degraded: the snapshot is this node's only, and says so ("*": the cluster as a whole). */
        note_missing(&x->v, "*");
        return;
    }
    for (size_t i = 0; i < k->npeers; i++) {
        if (peer_live(k, i))
            add_part(k, l, (int)i, x->filter);
        else if (k->peers[i].alive)
            note_missing(&x->v, k->peers[i].name); /* still introducing itself */
    }
}

void smd_cluster_listener_freed(smd_server *srv, smd_listener *l)
{
    smd_cluster *k = srv->cluster;
    view_ext *x = (view_ext *)l->view;
    for (size_t i = 0; i < x->v.nparts; i++) {
        if (k && cluster_up(k)) {
            char head[HEADER_MAX];
            int n = snprintf(head, sizeof head, "U %s %016" PRIx64 " %" PRId64 "\n", k->self, k->epoch, l->id);
            send_peer(k, x->v.parts[i].peer, head, (size_t)n, NULL, 0);
        }
        release(srv, &x->v.parts[i].ids);
        release(srv, &x->v.parts[i].old);
    }
    while (x->v.closing) {
        closing *c = x->v.closing;
        x->v.closing = c->next;
        release_closing(srv, c);
    }
    while (x->v.held) {
        held *h = x->v.held;
        x->v.held = h->next;
        release(srv, &h->ids);
        free(h);
    }
    free(x->filter);
    free(x);
    l->view = NULL;
}

void smd_cluster_local_snapshot_done(smd_server *srv, smd_listener *l)
{
    l->view->local_done = true;
    l->view->local_count = l->snapshot_count;
    maybe_end_snapshot(srv->cluster, l);
}

static void tell_degraded(smd_cluster *k)
{
    for (smd_listener *l = k->srv->listeners; l; l = l->gnext) {
        if (!l->view || l->view->degraded_told || !l->owner->conn)
            continue;
        l->view->degraded_told = true;
        smd_conn_send_error(l->owner->conn, 0, SM_CODE_CLUSTER_UNAVAILABLE,
                           "cluster view degraded: Redis cannot be reached; other nodes' sessions stay as last "
                           "reported until the cluster is reachable again, then what changed meanwhile is sent");
    }
}

/* ---- membership ---- */

static void pending_peer_gone(smd_cluster *k, int p);
static void pending_finish(smd_cluster *k, pending *pd);
static void pending_name_waiting(smd_cluster *k, pending *pd);
static void pending_maybe_finish(smd_cluster *k, pending *pd);

/* hold: the node is not known dead, only out of sight (this node lost Redis, or the node
 * rejoined): listeners keep what they know of its sessions until it is back (part_hold). */
static void peer_down(smd_cluster *k, int p, const char *why, bool hold)
{
    peer *pe = &k->peers[p];
    if (!pe->alive)
        return;
    smd_log(SMD_LOG_WARN, "cluster: node %s is gone (%s)", pe->name, why);
    pe->alive = false;
    pe->synced = false;
    pe->dead_epoch = pe->epoch;
    for (smd_listener *l = k->srv->listeners; l; l = l->gnext)
        if (l->view)
            for (size_t i = 0; i < l->view->nparts; i++)
                if (l->view->parts[i].peer == p && l->view->parts[i].epoch == pe->epoch) {
                    if (hold)
                        part_hold(k, l, i);
                    else
                        part_drop(k, l, i, SM_CLOSE_CONNECTION_LOST);
                    break;
                }
    proxies_drop_peer(k, p);
    pending_peer_gone(k, p);
    smd_server_reap(k->srv);
}

/* A direct introduction: the receiver learns us even if it missed our heartbeats; `got` says
 * whether we already have its own introduction (if not, it sends one back). */
static void send_hello(smd_cluster *k, int p)
{
    char head[HEADER_MAX];
    int n = snprintf(head, sizeof head, "W %s %016" PRIx64 " %08x %d\n", k->self, k->epoch, k->srv->reg.id_prefix,
                     k->peers[p].synced ? 1 : 0);
    send_peer(k, p, head, (size_t)n, NULL, 0);
}

static void peer_up(smd_cluster *k, int p)
{
    peer *pe = &k->peers[p];
    pe->alive = true;
    pe->synced = false;
    pe->last_seen_ms = sm_mono_ms();
    smd_log(SMD_LOG_INFO, "cluster: node %s (prefix %08x) is live", pe->name, pe->prefix);
    send_hello(k, p);
}

/* It knows us now: this node's listeners get their part there. */
static void peer_synced(smd_cluster *k, int p)
{
    peer *pe = &k->peers[p];
    if (pe->synced)
        return;
    pe->synced = true;
    for (smd_listener *l = k->srv->listeners; l; l = l->gnext)
        if (l->view)
            add_part(k, l, p, ((view_ext *)l->view)->filter);
}

static int learn_peer(smd_cluster *k, const char *name, uint64_t epoch, uint32_t prefix)
{
    if (strcmp(name, k->self) == 0)
        return -1;
    int p = find_peer(k, name);
    if (p < 0) {
        if (k->npeers >= MAX_PEERS)
            return -1;
        p = (int)k->npeers++;
        memset(&k->peers[p], 0, sizeof k->peers[p]);
        snprintf(k->peers[p].name, sizeof k->peers[p].name, "%s", name);
    }
    peer *pe = &k->peers[p];
    if (epoch == pe->dead_epoch)
        return -1;
    if (pe->alive && pe->epoch != epoch)
        peer_down(k, p, "it rejoined", true);
    pe->last_seen_ms = sm_mono_ms();
    if (!pe->alive) {
        pe->epoch = epoch;
        pe->prefix = prefix;
        if (cluster_up(k))
            peer_up(k, p);
    }
    return p;
}

/* Everything learnt about the others is dropped: after a rejoin they are learnt afresh. */
static void forget_peers(smd_cluster *k)
{
    for (size_t i = 0; i < k->npeers; i++)
        if (k->peers[i].alive)
            peer_down(k, (int)i, "this node lost the cluster", true);
    k->npeers = 0;
}

static void go_down(smd_cluster *k, const char *why)
{
    if (k->joined)
        smd_log(SMD_LOG_WARN, "cluster: left the cluster view (%s); serving local sessions only until Redis is back",
               why);
    k->joined = false;
    k->join_sent = false;
    /* Answered (or their missing nodes named) while the peers are still known. */
    for (pending *pd = k->pendings, *next; pd; pd = next) {
        next = pd->next;
        if (!pd->by_filter) {
            pending_finish(k, pd);
        } else {
            pending_name_waiting(k, pd);
            pending_maybe_finish(k, pd);
        }
    }
    forget_peers(k);
    tell_degraded(k);
}

static void join_reply(redisAsyncContext *ac, void *r, void *priv)
{
    (void)priv;
    smd_cluster *k = ac->data;
    redisReply *reply = r;
    if (!k)
        return;
    k->join_sent = false;
    if (!reply || reply->type != REDIS_REPLY_INTEGER) {
        smd_log(SMD_LOG_WARN, "cluster: rejoining failed: %s", reply && reply->str ? reply->str : "no answer");
        return;
    }
    if (reply->integer != 1) {
        smd_log(SMD_LOG_ERROR, "cluster: cannot rejoin: %s",
               reply->integer == -1 ? "the node name is held by another live node" : "the ID prefix is taken");
        return;
    }
    snprintf(k->prev_value, sizeof k->prev_value, "%s", k->value);
    k->joined = true;
    k->last_refresh_ok_ms = k->up_since_ms = sm_mono_ms();
    for (smd_listener *l = k->srv->listeners; l; l = l->gnext)
        if (l->view)
            l->view->degraded_told = false;
    smd_log(SMD_LOG_INFO, "cluster: joined as %s (epoch %016" PRIx64 ")", k->self, k->epoch);
    heartbeat_publish(k);
    for (size_t i = 0; i < k->npeers; i++)
        if (k->peers[i].alive) {
            k->peers[i].synced = false;
            send_hello(k, (int)i);
        }
}

static void new_epoch(smd_cluster *k)
{
    uint64_t e = 0;
    while (e == 0)
        if (smd_random_bytes(&e, sizeof e) != SM_OK)
            e = (uint64_t)sm_wall_ms() * 2654435761u;
    k->epoch = e;
    snprintf(k->value, sizeof k->value, "%08x %016" PRIx64, k->srv->reg.id_prefix, k->epoch);
}

static void send_join(smd_cluster *k)
{
    if (k->join_sent || !k->cmd || !k->sub || k->subscribed < 2)
        return;
    new_epoch(k);
    char ttl[24];
    snprintf(ttl, sizeof ttl, "%" PRId64, k->cfg->node_timeout_ms);
    const char *argv[] = {"EVAL", JOIN_SCRIPT, "2", k->node_key, k->prefix_key, k->value, k->self, ttl, k->prev_value};
    size_t lens[9];
    for (int i = 0; i < 9; i++)
        lens[i] = strlen(argv[i]);
    if (redisAsyncCommandArgv(k->cmd, join_reply, NULL, 9, argv, lens) == REDIS_OK)
        k->join_sent = true;
}

static void refresh_reply(redisAsyncContext *ac, void *r, void *priv)
{
    smd_cluster *k = ac->data;
    redisReply *reply = r;
    uint64_t epoch = (uint64_t)(uintptr_t)priv;
    if (!k || !reply || !k->joined || (uint64_t)(uint32_t)k->epoch != epoch)
        return;
    if (reply->type == REDIS_REPLY_INTEGER && reply->integer == 1) {
        k->last_refresh_ok_ms = sm_mono_ms();
    } else if (reply->type == REDIS_REPLY_INTEGER) {
        go_down(k, "this node was declared dead (its key expired)");
    }
}

/* ---- listener proxies (this node's part of other nodes' listeners) ---- */

bool smd_cluster_proxy_open(const smd_cluster_proxy *p)
{
    return !p->failed;
}

sm_event_type smd_cluster_proxy_snapshot_event(const smd_cluster_proxy *p, const smd_session *s, bool matching)
{
    if (!p->resync)
        return matching ? SM_EVENT_OPEN : SM_EVENT_NONE;
    bool told = p->told.count && kmap_get(&p->told, session_counter(s->id));
    if (!matching)
        return told ? SM_EVENT_FILTER_LEAVE : SM_EVENT_NONE;
    /* Unknown to the listener although it existed before the outage: it entered the filter
     * meanwhile (its OPEN, had it matched, would have arrived before that node's last message). */
    return !told && s->start_ms < p->since_ms ? SM_EVENT_FILTER_ENTER : SM_EVENT_OPEN;
}

void smd_cluster_proxy_fail(smd_server *srv, smd_cluster_proxy *p)
{
    (void)srv;
    p->failed = true;
}

smd_outq *smd_cluster_proxy_queue(smd_cluster_proxy *p)
{
    return &p->q;
}

void smd_cluster_proxy_queued(smd_server *srv, smd_cluster_proxy *p, int rc)
{
    smd_cluster *k = srv->cluster;
    if (p->failed)
        return;
    if (rc != SM_OK) {
        p->failed = true;
        return;
    }
    if (p->sent - p->acked + p->q.bytes > k->cfg->max_proxy_bytes) {
        /* The listener's node does not keep up: drop the proxy, it closes the listening session. */
        char head[HEADER_MAX];
        int n = snprintf(head, sizeof head, "O %s %016" PRIx64 " %" PRId64 "\n", k->self, k->epoch, p->lid);
        send_peer(k, p->peer, head, (size_t)n, NULL, 0);
        smd_log(SMD_LOG_WARN, "cluster: listener %" PRId64 " of node %s fell %zu bytes behind; dropped", p->lid,
               k->peers[p->peer].name, k->cfg->max_proxy_bytes);
        p->failed = true;
        smd_outq_clear(&p->q);
    }
}

static void proxy_flush(smd_cluster *k, smd_cluster_proxy *p)
{
    char head[HEADER_MAX];
    int n = snprintf(head, sizeof head, "E %s %016" PRIx64 " %" PRId64 "\n", k->self, k->epoch, p->lid);
    smd_outmsg *m;
    while (!p->failed && (m = smd_outq_pop(&p->q)) != NULL) {
        send_peer(k, p->peer, head, (size_t)n, sm_buf_payload(&m->buf), m->buf.len);
        p->sent += m->buf.len;
        smd_outmsg_free(m);
    }
}

static void proxy_free(smd_cluster *k, smd_cluster_proxy *p)
{
    smd_listener_free_proxy(k->srv, p->l);
    kmap_free(&p->told, k->srv->strings);
    smd_outq_clear(&p->q);
    free(p);
}

/* Frees failed proxies (never while listeners are being walked: only from the loop's own callbacks). */
static void proxies_collect(smd_cluster *k)
{
    for (smd_cluster_proxy **pp = &k->proxies; *pp;) {
        smd_cluster_proxy *p = *pp;
        if (p->failed) {
            *pp = p->next;
            proxy_free(k, p);
        } else {
            pp = &p->next;
        }
    }
}

static void proxies_drop_peer(smd_cluster *k, int peer_index)
{
    for (smd_cluster_proxy *p = k->proxies; p; p = p->next)
        if (p->peer == peer_index)
            p->failed = true;
}

static bool proxy_wants_work(const smd_cluster_proxy *p)
{
    return !p->failed && p->l->snapshotting && p->sent - p->acked < SNAPSHOT_WINDOW;
}

static void wake_work(smd_cluster *k)
{
    if (!ev_is_active(&k->work))
        ev_idle_start(k->loop, &k->work);
}

/* One bounded slice of snapshot work per proxy and loop pass. */
static void work_cb(struct ev_loop *loop, ev_idle *w, int revents)
{
    (void)revents;
    smd_cluster *k = w->data;
    bool more = false;
    for (smd_cluster_proxy *p = k->proxies; p; p = p->next) {
        if (!proxy_wants_work(p))
            continue;
        bool done = smd_listener_snapshot_step(k->srv, p->l, &p->q, p->q.bytes + PROXY_STEP_BYTES);
        proxy_flush(k, p);
        if (done && !p->failed && !p->end_sent) {
            char head[HEADER_MAX];
            int n = snprintf(head, sizeof head, "S %s %016" PRIx64 " %" PRId64 " %" PRId64 "\n", k->self, k->epoch,
                             p->lid, p->l->snapshot_count);
            send_peer(k, p->peer, head, (size_t)n, NULL, 0);
            p->end_sent = true;
            kmap_free(&p->told, k->srv->strings); /* only the snapshot needed it */
        }
        more = more || proxy_wants_work(p);
    }
    /* Resync registrations carry 4 bytes per known session: a bounded number of them per pass. */
    size_t told = 0;
    for (smd_listener *l = k->srv->listeners; l && cluster_up(k); l = l->gnext)
        for (size_t i = 0; l->view && i < l->view->nparts; i++) {
            rpart *r = &l->view->parts[i];
            if (!r->unsent)
                continue;
            if (told >= RESYNC_STEP) {
                more = true;
                break;
            }
            told += r->old.count + 1;
            send_part(k, l, r, ((view_ext *)l->view)->filter);
            if (!cluster_up(k))
                goto sent; /* Redis was dropped (too much unanswered): l may be gone */
        }
sent:;
    size_t budget = CLOSE_STEP;
    for (smd_listener *l = k->srv->listeners; l && budget; l = l->gnext)
        if (l->view && l->view->closing) {
            budget -= closing_drain(k, l, budget);
            more = more || l->view->closing;
        }
    more = graveyard_step(k) || more;
    smd_server_reap(k->srv);
    if (!more)
        ev_idle_stop(loop, w);
}

/* ---- requests between nodes ---- */

static void answer(smd_cluster *k, int p, uint64_t epoch, uint64_t rid, const char *text, size_t len)
{
    if (!k->peers[p].alive || k->peers[p].epoch != epoch)
        return; /* its node is gone: nobody waits for this answer */
    char head[HEADER_MAX];
    int n = snprintf(head, sizeof head, "A %s %016" PRIx64 " %" PRIu64 "\n", k->self, k->epoch, rid);
    send_peer(k, p, head, (size_t)n, text, len);
}

/* A request from another node runs here through a stand-in connection and session of its own
 * (by-filter requests are sliced jobs that answer later); what the handler writes to it is the
 * answer, sent back at the end of the loop pass. */
typedef struct remote_req {
    struct remote_req *next;
    smd_conn conn;
    smd_session session;
    int peer;
    uint64_t epoch, rid;
    smd_cluster_origin origin; /* the requester on its node (read only when auditing) */
} remote_req;

static void copy_member(const cJSON *o, const char *key, char *out, size_t cap, bool *ok)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsString(v) || strlen(v->valuestring) >= cap) {
        *ok = false;
        return;
    }
    memcpy(out, v->valuestring, strlen(v->valuestring) + 1);
}

/* The "requester" member the requesting node adds to a request's JSON (ignored by the message
 * decoder, like every unknown field): who asked, for this node's audit record. */
static void read_requester(const char *body, size_t blen, smd_cluster_origin *o)
{
    cJSON *root = cJSON_ParseWithLength(body, blen);
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(root, "requester");
    bool ok = cJSON_IsObject(r);
    if (ok) {
        copy_member(r, "principal", o->principal, sizeof o->principal, &ok);
        copy_member(r, "sessionId", o->session_id, sizeof o->session_id, &ok);
        copy_member(r, "clientIp", o->client_ip, sizeof o->client_ip, &ok);
    }
    o->has_requester = ok;
    cJSON_Delete(root);
}

/* Appends the requester member to an encoded request (the text ends with its closing brace). */
static void add_requester(sm_buf *body, const smd_conn *c)
{
    const smd_session *s = c->session;
    char *text = sm_buf_payload(body);
    if (!s || !text || body->len < 2 || text[body->len - 1] != '}')
        return;
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "principal", s->fixed[SMD_FIX_PRINCIPAL] ? s->fixed[SMD_FIX_PRINCIPAL] : "");
    cJSON_AddStringToObject(r, "sessionId", s->id);
    cJSON_AddStringToObject(r, "clientIp", s->fixed[SMD_FIX_CLIENT_IP] ? s->fixed[SMD_FIX_CLIENT_IP] : c->ip);
    char *json = cJSON_PrintUnformatted(r);
    cJSON_Delete(r);
    if (json) {
        body->len--; /* the closing brace, written again below */
        sm_buf_puts(body, ",\"requester\":");
        sm_buf_puts(body, json);
        sm_buf_putc(body, '}');
    }
    cJSON_free(json);
}

static void remote_free(smd_cluster *k, remote_req *r)
{
    /* A job still holding it (only at shutdown) must not reach it any more. */
    if (r->session.pending_ops)
        for (smd_job *j = k->srv->jobs; j; j = j->next)
            if (j->requester == &r->session)
                j->requester = NULL;
    smd_outq_clear(&r->conn.q);
    free(r);
    k->nremote--;
}

static void serve_request(smd_cluster *k, int p, uint64_t rid, int64_t deadline, unsigned perms, const char *body,
                          size_t blen)
{
    if (wall_ms() >= deadline) {
        smd_log(SMD_LOG_INFO, "cluster: dropped a request of node %s that arrived after its deadline",
               k->peers[p].name);
        return;
    }
    if ((int64_t)k->nremote >= k->cfg->max_pending_requests) {
        smd_log(SMD_LOG_WARN, "cluster: %" PRId64 " requests of other nodes in progress; dropped one of %s",
               k->cfg->max_pending_requests, k->peers[p].name);
        return;
    }
    sm_msg m;
    sm_error err;
    sm_error_clear(&err);
    if (sm_msg_decode(body, blen, 0, &m, &err) != SM_OK ||
        !(m.type == SM_MSG_GET || m.type == SM_MSG_SET || m.type == SM_MSG_SET_BY_FILTER ||
          m.type == SM_MSG_CLOSE_SESSION || m.type == SM_MSG_CLOSE_BY_FILTER)) {
        sm_msg_free(&m);
        return;
    }
    remote_req *r = calloc(1, sizeof *r);
    if (!r) {
        sm_msg_free(&m);
        return;
    }
    r->peer = p;
    r->epoch = k->peers[p].epoch;
    r->rid = rid;
    smd_outq_init(&r->conn.q);
    r->conn.srv = k->srv;
    r->conn.write_requested = true; /* never asks the transport for anything */
    r->conn.cluster_remote = true;  /* never routed again, never closed, never paused */
    r->conn.session = &r->session;
    r->conn.established = true;
    r->session.conn = &r->conn;
    r->session.state = SM_STATE_ACTIVE;
    r->session.permissions = (uint8_t)(perms & SM_PERM_ALL);
    snprintf(r->session.id, sizeof r->session.id, "%s", "cluster-request");
    snprintf(r->origin.node, sizeof r->origin.node, "%s", k->peers[p].name);
    r->origin.request = rid;
    if (smd_audit_on(k->srv->audit))
        read_requester(body, blen, &r->origin);
    r->next = k->remotes;
    k->remotes = r;
    k->nremote++;
    smd_server_handle_request(&r->conn, &m);
    sm_msg_free(&m);
    smd_server_reap(k->srv);
}

bool smd_cluster_remote_origin(const smd_conn *c, smd_cluster_origin *out)
{
    smd_cluster *k = c->srv ? c->srv->cluster : NULL;
    if (!k || !c->cluster_remote)
        return false;
    for (const remote_req *r = k->remotes; r; r = r->next)
        if (&r->conn == c) {
            *out = r->origin;
            return true;
        }
    return false;
}

/* End of a loop pass: answers that are ready go back. */
static void remotes_flush(smd_cluster *k)
{
    for (remote_req **pp = &k->remotes; *pp;) {
        remote_req *r = *pp;
        smd_outmsg *o = r->conn.q.head ? smd_outq_pop(&r->conn.q) : NULL;
        if (!o) {
            pp = &r->next;
            continue;
        }
        answer(k, r->peer, r->epoch, r->rid, sm_buf_payload(&o->buf), o->buf.len);
        smd_outmsg_free(o);
        *pp = r->next;
        remote_free(k, r);
    }
}

static pending *pending_new(smd_cluster *k, smd_conn *c, const sm_msg *m, bool by_filter)
{
    if ((int64_t)k->npending >= k->cfg->max_pending_requests)
        return NULL;
    pending *pd = calloc(1, sizeof *pd);
    if (!pd)
        return NULL;
    pd->rid = ++k->next_rid;
    snprintf(pd->session, sizeof pd->session, "%s", c->session->id);
    pd->client_id = m->id;
    pd->op = m->type;
    pd->by_filter = by_filter;
    pd->local_pending = by_filter;
    pd->deadline_ms = sm_mono_ms() + k->cfg->request_timeout_ms;
    pd->next = k->pendings;
    k->pendings = pd;
    k->npending++;
    return pd;
}

static void pending_unlink(smd_cluster *k, pending *pd)
{
    for (pending **pp = &k->pendings; *pp; pp = &(*pp)->next)
        if (*pp == pd) {
            *pp = pd->next;
            k->npending--;
            return;
        }
}

/* The nodes it still waits for become names (before the peer table is cleared). */
static void pending_name_waiting(smd_cluster *k, pending *pd)
{
    for (size_t i = 0; i < k->npeers && i < MAX_PEERS; i++)
        if (pd->waiting & (1ull << i)) {
            if (pd->nmissing < MAX_PEERS)
                snprintf(pd->missing[pd->nmissing++], sizeof pd->missing[0], "%s", k->peers[i].name);
            pd->waiting &= ~(1ull << i);
        }
}

/* Sends the final answer of a by-filter request (or the timeout of a by-ID one) and frees it. */
static void pending_finish(smd_cluster *k, pending *pd)
{
    pending_unlink(k, pd);
    pending_name_waiting(k, pd);
    if (pd->nmissing)
        k->answers_missing_nodes++;
    smd_conn *c = session_conn(k, pd->session);
    if (c) {
        if (!pd->by_filter) {
            smd_conn_send_error(c, pd->client_id, SM_CODE_CLUSTER_UNAVAILABLE,
                               "the node that holds this session did not answer within %" PRId64 " ms",
                               k->cfg->request_timeout_ms);
        } else if (pd->err_code) {
            size_t used = strlen(pd->err_text);
            snprintf(pd->err_text + used, sizeof pd->err_text - used, " (%" PRId64 " sessions changed elsewhere)",
                     pd->count);
            smd_conn_send_error(c, pd->client_id, pd->err_code, "%s", pd->err_text);
        } else {
            const char *names[MAX_PEERS];
            for (size_t i = 0; i < pd->nmissing; i++)
                names[i] = pd->missing[i];
            sm_msg r;
            memset(&r, 0, sizeof r);
            r.type = SM_MSG_REPLY;
            r.id = pd->client_id;
            r.op = pd->op;
            r.count = pd->count;
            r.missing.items = names;
            r.missing.count = pd->nmissing;
            smd_conn_send(c, &r);
        }
    }
    free(pd);
}

/* A by-filter request is answered once this node's own part is done and every other node has
 * answered or its deadline has passed. */
static void pending_maybe_finish(smd_cluster *k, pending *pd)
{
    if (!pd->local_pending && (!pd->waiting || sm_mono_ms() >= pd->deadline_ms))
        pending_finish(k, pd);
}

static void pending_error(pending *pd, const char *node, sm_errcode code, const char *text)
{
    if (pd->err_code)
        return;
    pd->err_code = code;
    snprintf(pd->err_text, sizeof pd->err_text, "node %s: %.140s", node, text ? text : "");
}

static void pending_answer(smd_cluster *k, int p, uint64_t rid, const char *body, size_t blen)
{
    pending *pd = k->pendings;
    while (pd && pd->rid != rid)
        pd = pd->next;
    if (!pd || !(pd->waiting & (1ull << p)) || pd->epochs[p] != k->peers[p].epoch)
        return;
    pd->waiting &= ~(1ull << p);
    if (!pd->by_filter) {
        pending_unlink(k, pd);
        smd_conn *c = session_conn(k, pd->session);
        if (c)
            conn_send_text(c, body, blen);
        free(pd);
        return;
    }
    sm_msg m;
    sm_error err;
    sm_error_clear(&err);
    if (sm_msg_decode(body, blen, 0, &m, &err) == SM_OK) {
        if (m.type == SM_MSG_REPLY)
            pd->count += m.count;
        else if (m.type == SM_MSG_ERROR)
            pending_error(pd, k->peers[p].name, m.code, m.message);
    }
    sm_msg_free(&m);
    pending_maybe_finish(k, pd);
}

static void pending_peer_gone(smd_cluster *k, int p)
{
    for (pending *pd = k->pendings, *next; pd; pd = next) {
        next = pd->next;
        if (!(pd->waiting & (1ull << p)))
            continue;
        /* A by-ID request fails now rather than at its deadline; a by-filter one names the node. */
        if (!pd->by_filter) {
            pending_finish(k, pd);
            continue;
        }
        if (pd->nmissing < MAX_PEERS)
            snprintf(pd->missing[pd->nmissing++], sizeof pd->missing[0], "%s", k->peers[p].name);
        pd->waiting &= ~(1ull << p);
        pending_maybe_finish(k, pd);
    }
}

void smd_cluster_local_done(smd_server *srv, uint64_t rid, int64_t count, sm_errcode code, const char *text)
{
    smd_cluster *k = srv->cluster;
    pending *pd = k ? k->pendings : NULL;
    while (pd && pd->rid != rid)
        pd = pd->next;
    if (!pd)
        return;
    pd->local_pending = false;
    pd->count += count;
    if (code)
        pending_error(pd, k->self, code, text);
    pending_maybe_finish(k, pd);
}

static bool send_request(smd_cluster *k, pending *pd, int p, const sm_msg *m, const smd_conn *c)
{
    unsigned perms = c->session->permissions;
    sm_buf body;
    sm_buf_init(&body, 0, 0);
    bool encoded = sm_msg_encode(m, &body) == SM_OK;
    if (encoded)
        add_requester(&body, c);
    if (!encoded || body.overflow) {
        sm_buf_free(&body);
        return false;
    }
    char head[HEADER_MAX];
    int64_t deadline = wall_ms() + k->cfg->request_timeout_ms;
    int n = snprintf(head, sizeof head, "Q %s %016" PRIx64 " %" PRIu64 " %" PRId64 " %u\n", k->self, k->epoch,
                     pd->rid, deadline, perms);
    send_peer(k, p, head, (size_t)n, sm_buf_payload(&body), body.len);
    sm_buf_free(&body);
    pd->waiting |= 1ull << p;
    pd->epochs[p] = k->peers[p].epoch;
    return true;
}

bool smd_cluster_route(smd_conn *c, const sm_msg *m)
{
    smd_cluster *k = c->srv->cluster;
    if (!k || c->cluster_remote || !m->session_id || strlen(m->session_id) != SMD_SESSION_ID_LEN)
        return false;
    char hex[9];
    memcpy(hex, m->session_id, 8);
    hex[8] = '\0';
    char *end;
    unsigned long prefix = strtoul(hex, &end, 16);
    if (*end || prefix == k->srv->reg.id_prefix)
        return false;
    if (!cluster_up(k)) {
        smd_conn_send_error(c, m->id, SM_CODE_CLUSTER_UNAVAILABLE,
                           "the session is not on this node and the cluster cannot be reached");
        return true;
    }
    int p = peer_by_prefix(k, (uint32_t)prefix);
    if (p < 0) {
        for (size_t i = 0; i < k->npeers; i++)
            if (k->peers[i].alive && k->peers[i].prefix == (uint32_t)prefix) {
                smd_conn_send_error(c, m->id, SM_CODE_CLUSTER_UNAVAILABLE,
                                   "the node that holds this session is still joining the cluster");
                return true;
            }
        return false; /* no live node holds it: NO_SUCH_SESSION */
    }
    pending *pd = pending_new(k, c, m, false);
    if (!pd) {
        smd_conn_send_error(c, m->id, SM_CODE_LIMIT_EXCEEDED,
                           "too many cluster requests in flight (cluster.maxPendingRequests %" PRId64 ")",
                           k->cfg->max_pending_requests);
        return true;
    }
    if (!send_request(k, pd, p, m, c)) {
        pending_unlink(k, pd);
        free(pd);
        smd_conn_send_error(c, m->id, SM_CODE_INTERNAL_ERROR, "out of memory");
    }
    return true;
}

bool smd_cluster_unavailable(smd_conn *c, const sm_msg *m)
{
    smd_cluster *k = c->srv->cluster;
    if (!k || c->cluster_remote)
        return false;
    if (!cluster_up(k)) {
        smd_conn_send_error(c, m->id, SM_CODE_CLUSTER_UNAVAILABLE,
                           "the cluster cannot be reached (Redis is down or unreachable); nothing was changed");
        return true;
    }
    /* Refused before it runs anywhere: running it here only would give a silently low count. */
    if ((int64_t)k->npending >= k->cfg->max_pending_requests) {
        smd_conn_send_error(c, m->id, SM_CODE_LIMIT_EXCEEDED,
                           "too many cluster requests in flight (cluster.maxPendingRequests %" PRId64
                           "); nothing was changed",
                           k->cfg->max_pending_requests);
        return true;
    }
    return false;
}

uint64_t smd_cluster_fan_out(smd_conn *c, const sm_msg *m)
{
    smd_cluster *k = c->srv->cluster;
    if (!k || c->cluster_remote)
        return 0;
    bool any = false;
    for (size_t i = 0; i < k->npeers; i++)
        any = any || peer_live(k, i);
    if (!any)
        return 0;
    pending *pd = pending_new(k, c, m, true);
    if (!pd) {
        smd_log(SMD_LOG_WARN, "cluster: out of memory; a by-filter request ran on this node only");
        return 0;
    }
    for (size_t i = 0; i < k->npeers; i++)
        if (peer_live(k, i))
            send_request(k, pd, (int)i, m, c);
    return pd->rid;
}

/* ---- incoming messages ---- */

/* Resync: the event a listener gets for a session it knew (kn, as told) that its node now
 * reports as ev (an OPEN or FILTER_ENTER with every requested property): nothing when equal,
 * else one PROPERTIES (or DISCONNECTED / RECONNECTED when the state changed) with the changed
 * keys' previous values in `changed`, like the event it would have got live. */
static void emit_difference(smd_cluster *k, smd_listener *l, const known *kn, const sm_event *ev)
{
    size_t cap = kn->nprops + ev->properties.count;
    sm_kv *props = calloc(cap ? cap : 1, sizeof *props), *changed = calloc(cap ? cap : 1, sizeof *changed);
    if (!props || !changed) {
        free(props);
        free(changed);
        smd_server_doom(k->srv, l->owner, SM_CLOSE_INTERNAL_ERROR);
        return;
    }
    size_t nchanged = 0, nprops = 0;
    for (uint32_t i = 0; i < kn->nprops; i++) {
        const char *now = kv_find(ev->properties.items, ev->properties.count, kn->props[i].key);
        if (!now || strcmp(now, kn->props[i].value) != 0)
            changed[nchanged++] = kn->props[i];
    }
    for (size_t i = 0; i < ev->properties.count; i++)
        if (!kv_find(kn->props, kn->nprops, ev->properties.items[i].key))
            changed[nchanged++] = (sm_kv){ev->properties.items[i].key, NULL}; /* added */
    sm_event out = *ev;
    out.snapshot = false;
    out.type = SM_EVENT_PROPERTIES;
    if (ev->state != (sm_session_state)kn->state)
        out.type = ev->state == SM_STATE_DISCONNECTED ? SM_EVENT_DISCONNECTED : SM_EVENT_RECONNECTED;
    if (nchanged || out.type != SM_EVENT_PROPERTIES) {
        if (l->changed_only) {
            for (size_t i = 0; i < nchanged; i++) {
                const char *now = kv_find(ev->properties.items, ev->properties.count, changed[i].key);
                if (now)
                    props[nprops++] = (sm_kv){changed[i].key, now};
            }
            out.properties.items = props;
            out.properties.count = nprops;
        }
        out.changed.items = changed;
        out.changed.count = nchanged;
        out.has_changed = nchanged > 0;
        smd_listener_emit(k->srv, l, &out);
    }
    free(props);
    free(changed);
}

/* Keeps r's record of what the listener was told in step with ev (an event about to go out). */
static void note_told(smd_cluster *k, rpart *r, uint32_t counter, const sm_event *ev)
{
    sm_intern *strings = k->srv->strings;
    if (ev->type == SM_EVENT_CLOSED || ev->type == SM_EVENT_FILTER_LEAVE) {
        kmap_remove(&r->ids, strings, counter);
        return;
    }
    known *kn = ev->type == SM_EVENT_OPEN || ev->type == SM_EVENT_FILTER_ENTER ? kmap_put(&r->ids, counter)
                                                                               : kmap_get(&r->ids, counter);
    if (!kn)
        return; /* out of memory: a later resync reports this session as new (OPEN) */
    kn->state = (uint8_t)ev->state;
    if (ev->type == SM_EVENT_OPEN || ev->type == SM_EVENT_FILTER_ENTER)
        known_set_props(strings, kn, ev->properties.items, ev->properties.count);
    else if (ev->has_changed)
        known_apply(strings, kn, ev);
}

/* Resync part: ev is about a session the listener may have known before the outage (in r->old).
 * Returns true when it was handled here (the difference, or nothing, went out). */
static bool resync_event(smd_cluster *k, smd_listener *l, rpart *r, uint32_t counter, sm_event *ev)
{
    known before;
    if (!kmap_take(&r->old, counter, &before)) {
        if (ev->type == SM_EVENT_FILTER_LEAVE && ev->snapshot)
            return true; /* a session it never knew: nothing to say */
        return false;
    }
    if (ev->type == SM_EVENT_OPEN || ev->type == SM_EVENT_FILTER_ENTER) {
        emit_difference(k, l, &before, ev);
        known_clear(k->srv->strings, &before);
        note_told(k, r, counter, ev);
        return true;
    }
    /* Anything else about it (FILTER_LEAVE of the resync, or a live event) is news as it is; the
     * record continues from what it knew. */
    known *kn = kmap_put(&r->ids, counter);
    if (kn) {
        known_clear(k->srv->strings, kn);
        *kn = before;
    } else {
        known_clear(k->srv->strings, &before);
    }
    return false;
}

/* The events of a proxy: read without a parse tree, and each one relayed to the client as the
 * bytes its node encoded, unless this node has to change it (a late part's snapshot, a resync). */
static void on_events(smd_cluster *k, int p, int64_t lid, const char *body, size_t blen)
{
    smd_listener *l = find_listener(k, lid);
    rpart *r = l ? find_part(l->view, p, k->peers[p].epoch) : NULL;
    if (!r)
        return;
    r->received += blen;
    r->last_ms = sm_mono_ms();
    if (!l->owner->conn || l->owner->doomed)
        return;
    sm_events_scanner *in = &k->events_in;
    sm_error err;
    sm_error_clear(&err);
    if (sm_events_scan(in, body, blen, &err) != SM_OK)
        return; /* not what a node writes: dropped whole, like any malformed message from Redis */
    for (size_t i = 0; i < in->count; i++) {
        sm_scanned_event *se = &in->events[i];
        sm_event *ev = &se->ev;
        if (strlen(ev->session_id) != SMD_SESSION_ID_LEN)
            continue;
        uint32_t counter = session_counter(ev->session_id);
        if (r->resync && resync_event(k, l, r, counter, ev))
            continue;
        bool as_received = true;
        if (ev->snapshot) {
            if (r->late)
                ev->snapshot = as_received = false;
            else
                r->count++;
        }
        note_told(k, r, counter, ev);
        if (as_received)
            smd_listener_emit_json(k->srv, l, se->json, se->len);
        else
            smd_listener_emit(k->srv, l, ev);
    }
    sm_events_scanner_trim(in, SCAN_KEEP_BYTES);
}

static void on_listener(smd_cluster *k, int p, int64_t lid, size_t ntold, int64_t since_ms, const char *body,
                        size_t blen)
{
    if (ntold > blen / 4)
        return;
    const unsigned char *told = (const unsigned char *)body + (blen - ntold * 4);
    blen -= ntold * 4;
    sm_msg m;
    sm_error err;
    sm_error_clear(&err);
    if (sm_msg_decode(body, blen, 0, &m, &err) != SM_OK || m.type != SM_MSG_ADD_LISTENER) {
        sm_msg_free(&m);
        return;
    }
    sm_error why;
    sm_error_clear(&why);
    smd_cluster_proxy *px = calloc(1, sizeof *px);
    for (size_t i = 0; px && i < ntold; i++) {
        const unsigned char *c = told + i * 4;
        if (!kmap_put(&px->told, (uint32_t)c[0] | (uint32_t)c[1] << 8 | (uint32_t)c[2] << 16 | (uint32_t)c[3] << 24)) {
            kmap_free(&px->told, k->srv->strings);
            free(px);
            px = NULL;
        }
    }
    if (px) {
        px->peer = p;
        px->epoch = k->peers[p].epoch;
        px->lid = lid;
        px->resync = since_ms > 0;
        px->since_ms = since_ms;
        smd_outq_init(&px->q);
        px->l = smd_listener_new_proxy(k->srv, &k->sink, &m, px, &why);
        smd_outq_clear(&k->sink.q);
        if (!px->l) {
            free(px);
            px = NULL;
        }
    } else {
        sm_error_set(&why, SM_ERR_NOMEM, "out of memory");
    }
    if (px) {
        px->next = k->proxies;
        k->proxies = px;
        wake_work(k);
    } else {
        /* Refused here: the listener's node says so to its client rather than waiting for a part
         * that will never come (docs/cluster.md § Bounds). */
        char head[HEADER_MAX];
        int n = snprintf(head, sizeof head, "R %s %016" PRIx64 " %" PRId64 " %d\n", k->self, k->epoch, lid,
                         why.code == SM_ERR_LIMIT ? (int)SM_CODE_LIMIT_EXCEEDED : (int)SM_CODE_INTERNAL_ERROR);
        smd_log(SMD_LOG_WARN, "cluster: refused listener %" PRId64 " of node %s: %s", lid, k->peers[p].name,
                why.message);
        send_peer(k, p, head, (size_t)n, why.message, strlen(why.message));
    }
    sm_msg_free(&m);
}

/* Another node refused its part of listener lid: the listener goes on without that node's
 * sessions (named in `missing` if its snapshot has not ended) and its client gets an `error`
 * without id saying which node refused and why. */
static void on_refused(smd_cluster *k, int p, int64_t lid, sm_errcode code, const char *body, size_t blen)
{
    smd_listener *l = find_listener(k, lid);
    if (!l)
        return;
    smd_cluster_view *v = l->view;
    for (size_t i = 0; i < v->nparts; i++)
        if (v->parts[i].peer == p && v->parts[i].epoch == k->peers[p].epoch) {
            part_drop(k, l, i, SM_CLOSE_CONNECTION_LOST);
            break;
        }
    if (l->owner->conn && !l->owner->doomed)
        smd_conn_send_error(l->owner->conn, 0, code, "listener %" PRId64 ": node %s refused its part: %.*s", lid,
                            k->peers[p].name, (int)(blen < 200 ? blen : 200), body);
}

static smd_cluster_proxy *find_proxy(smd_cluster *k, int p, int64_t lid)
{
    for (smd_cluster_proxy *x = k->proxies; x; x = x->next)
        if (x->peer == p && x->lid == lid && x->epoch == k->peers[p].epoch && !x->failed)
            return x;
    return NULL;
}

/* Reads a header's `KIND FROM EPOCH ` as the nodes write it (one space apart, FROM at most
 * SMD_NODE_NAME_MAX bytes, EPOCH 1-16 hex digits): the rest of the header, or NULL. Done by hand
 * because it runs for every message from Redis, where sscanf's format parsing cost as much as
 * reading a small `events` body. */
static const char *header_start(const char *head, char *kind, char *from, uint64_t *epoch)
{
    if (!head[0] || head[1] != ' ')
        return NULL;
    *kind = head[0];
    const char *f = head + 2, *sp = strchr(f, ' ');
    if (!sp || sp == f || (size_t)(sp - f) > SMD_NODE_NAME_MAX)
        return NULL;
    memcpy(from, f, (size_t)(sp - f));
    from[sp - f] = '\0';
    const char *e = sp + 1;
    uint64_t v = 0;
    size_t digits = 0;
    for (;; e++, digits++) {
        int d = hex_value(*e);
        if (d < 0)
            break;
        v = v << 4 | (uint64_t)d;
    }
    if (!digits || digits > 16 || (*e && *e != ' '))
        return NULL;
    *epoch = v;
    while (*e == ' ')
        e++;
    return e;
}

static void on_message(smd_cluster *k, const char *data, size_t len)
{
    const char *nl = memchr(data, '\n', len < HEADER_MAX ? len : HEADER_MAX);
    if (!nl)
        return;
    char head[HEADER_MAX + 1];
    memcpy(head, data, (size_t)(nl - data));
    head[nl - data] = '\0';
    const char *body = nl + 1;
    size_t blen = len - (size_t)(body - data);
    char kind = 0, from[SMD_NODE_NAME_MAX + 1];
    uint64_t epoch = 0;
    const char *rest = header_start(head, &kind, from, &epoch);
    if (!rest)
        return;
    if (strcmp(from, k->self) == 0 || !k->joined)
        return;
    if (kind == 'H') {
        unsigned prefix = 0;
        if (sscanf(rest, "%x", &prefix) == 1)
            learn_peer(k, from, epoch, prefix);
        return;
    }
    if (kind == 'W') {
        unsigned prefix = 0;
        int got = 0, p;
        if (sscanf(rest, "%x %d", &prefix, &got) != 2 || (p = learn_peer(k, from, epoch, prefix)) < 0 ||
            !k->peers[p].alive || k->peers[p].epoch != epoch)
            return;
        peer_synced(k, p);
        if (!got)
            send_hello(k, p);
        smd_server_reap(k->srv);
        return;
    }
    int p = find_peer(k, from);
    if (p < 0 || !k->peers[p].alive || k->peers[p].epoch != epoch)
        return; /* unknown, or declared dead: ignored until it rejoins */
    k->peers[p].last_seen_ms = sm_mono_ms();
    switch (kind) {
    case 'B':
        peer_down(k, p, "it left", false);
        break;
    case 'Q': {
        uint64_t rid;
        int64_t deadline;
        unsigned perms;
        if (sscanf(rest, "%" SCNu64 " %" SCNd64 " %u", &rid, &deadline, &perms) == 3)
            serve_request(k, p, rid, deadline, perms, body, blen);
        break;
    }
    case 'A': {
        uint64_t rid;
        if (sscanf(rest, "%" SCNu64, &rid) == 1)
            pending_answer(k, p, rid, body, blen);
        break;
    }
    case 'L': {
        int64_t lid;
        size_t ntold = 0;
        int64_t since = 0;
        if (sscanf(rest, "%" SCNd64 " %zu %" SCNd64, &lid, &ntold, &since) >= 1 && !find_proxy(k, p, lid))
            on_listener(k, p, lid, ntold, since, body, blen);
        break;
    }
    case 'U': {
        int64_t lid;
        smd_cluster_proxy *x;
        if (sscanf(rest, "%" SCNd64, &lid) == 1 && (x = find_proxy(k, p, lid)))
            x->failed = true;
        break;
    }
    case 'E': {
        /* The hot path (one per proxy and loop pass of every node): no sscanf. */
        char *end;
        errno = 0;
        int64_t lid = strtoll(rest, &end, 10);
        if (end != rest && errno == 0)
            on_events(k, p, lid, body, blen);
        break;
    }
    case 'S': {
        int64_t lid, count;
        smd_listener *l;
        rpart *r;
        if (sscanf(rest, "%" SCNd64 " %" SCNd64, &lid, &count) == 2 && (l = find_listener(k, lid)) &&
            (r = find_part(l->view, p, epoch))) {
            r->done = true;
            if (r->resync) {
                /* What it knew and the snapshot did not mention closed meanwhile. */
                r->resync = false;
                close_all(k, l, k->peers[p].prefix, &r->old, SM_CLOSE_CONNECTION_LOST);
            }
            maybe_end_snapshot(k, l);
        }
        break;
    }
    case 'K': {
        int64_t lid;
        uint64_t bytes;
        smd_cluster_proxy *x;
        if (sscanf(rest, "%" SCNd64 " %" SCNu64, &lid, &bytes) == 2 && (x = find_proxy(k, p, lid))) {
            if (bytes > x->acked && bytes <= x->sent)
                x->acked = bytes;
            if (proxy_wants_work(x))
                wake_work(k);
        }
        break;
    }
    case 'R': {
        int64_t lid;
        int code;
        if (sscanf(rest, "%" SCNd64 " %d", &lid, &code) == 2)
            on_refused(k, p, lid, code == SM_CODE_LIMIT_EXCEEDED ? SM_CODE_LIMIT_EXCEEDED : SM_CODE_INTERNAL_ERROR,
                       body, blen);
        break;
    }
    case 'O': {
        int64_t lid;
        smd_listener *l;
        if (sscanf(rest, "%" SCNd64, &lid) == 1 && (l = find_listener(k, lid)))
            smd_server_doom(k->srv, l->owner, SM_CLOSE_MESSAGE_QUEUE_LIMIT_REACHED);
        break;
    }
    default:
        break;
    }
    smd_server_reap(k->srv);
}

static void sub_message(redisAsyncContext *ac, void *r, void *priv)
{
    (void)priv;
    smd_cluster *k = ac->data;
    redisReply *reply = r;
    if (!k || !reply || reply->type != REDIS_REPLY_ARRAY || reply->elements < 3)
        return;
    redisReply *kind = reply->element[0];
    if (kind->type != REDIS_REPLY_STRING)
        return;
    if (strcmp(kind->str, "subscribe") == 0) {
        k->subscribed++;
        send_join(k);
        return;
    }
    if (strcmp(kind->str, "message") == 0 && reply->element[2]->type == REDIS_REPLY_STRING)
        on_message(k, reply->element[2]->str, reply->element[2]->len);
}

/* ---- connections ---- */

static void auth_reply(redisAsyncContext *ac, void *r, void *priv)
{
    (void)priv;
    redisReply *reply = r;
    if (reply && reply->type == REDIS_REPLY_ERROR)
        smd_log(SMD_LOG_ERROR, "cluster: Redis refused the credentials: %s", reply->str);
    (void)ac;
}

static void send_auth(smd_cluster *k, redisAsyncContext *ac)
{
    if (!k->password)
        return;
    if (k->user) {
        const char *argv[] = {"AUTH", k->user, k->password};
        size_t lens[] = {4, strlen(k->user), strlen(k->password)};
        redisAsyncCommandArgv(ac, auth_reply, NULL, 3, argv, lens);
    } else {
        const char *argv[] = {"AUTH", k->password};
        size_t lens[] = {4, strlen(k->password)};
        redisAsyncCommandArgv(ac, auth_reply, NULL, 2, argv, lens);
    }
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    (void)status;
    smd_cluster *k = ac->data;
    if (!k)
        return;
    if (ac == k->cmd)
        k->cmd = NULL;
    if (ac == k->sub) {
        k->sub = NULL;
        k->subscribed = 0;
    }
    k->inflight = 0;
    go_down(k, "the connection to Redis was lost");
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    smd_cluster *k = ac->data;
    if (!k || status == REDIS_OK)
        return;
    /* hiredis frees the context after this callback. */
    if (ac == k->cmd)
        k->cmd = NULL;
    if (ac == k->sub) {
        k->sub = NULL;
        k->subscribed = 0;
    }
}

static redisAsyncContext *connect_one(smd_cluster *k)
{
    redisAsyncContext *ac = k->unix_path ? redisAsyncConnectUnix(k->unix_path) : redisAsyncConnect(k->host, k->port);
    if (!ac)
        return NULL;
    if (ac->err) {
        redisAsyncFree(ac);
        return NULL;
    }
    ac->data = k;
    redisLibevAttach(k->loop, ac);
    /* Messages from other nodes (events for this node's listeners among them) are read before the
     * other watchers that are ready in the same loop pass (the watchers are not started yet). One
     * below the maximum: an idle watcher runs only when nothing of its priority or higher is
     * pending, and the server's slices (an EV_MAXPRI idle) must not wait for a busy subscriber. */
    redisLibevEvents *watchers = ac->ev.data;
    if (watchers)
        ev_set_priority(&watchers->rev, EV_MAXPRI - 1);
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    send_auth(k, ac);
    return ac;
}

static void ensure_connections(smd_cluster *k)
{
    if (!k->cmd)
        k->cmd = connect_one(k);
    if (!k->sub && (k->sub = connect_one(k)) != NULL) {
        k->subscribed = 0;
        const char *argv[] = {"SUBSCRIBE", "sessmon:all", k->to_channel};
        size_t lens[] = {9, strlen(argv[1]), strlen(argv[2])};
        redisAsyncCommandArgv(k->sub, sub_message, NULL, 3, argv, lens);
    }
    send_join(k);
}

static void drop_connections(smd_cluster *k)
{
    redisAsyncContext *a = k->cmd, *b = k->sub;
    k->cmd = k->sub = NULL;
    k->subscribed = 0;
    if (a) {
        a->data = NULL;
        redisAsyncFree(a);
    }
    if (b) {
        b->data = NULL;
        redisAsyncFree(b);
    }
    k->inflight = 0;
}

/* ---- timers ---- */

static void heartbeat_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    smd_cluster *k = w->data;
    int64_t now = sm_mono_ms();
    if (k->joined && now - k->last_refresh_ok_ms > k->cfg->node_timeout_ms) {
        /* Frozen, or Redis stopped answering: the others have declared this node dead by now. */
        go_down(k, "no confirmation from Redis within cluster.nodeTimeoutMs");
        drop_connections(k);
    }
    if (!cluster_up(k))
        return;
    char ttl[24];
    snprintf(ttl, sizeof ttl, "%" PRId64, k->cfg->node_timeout_ms);
    const char *argv[] = {"EVAL", REFRESH_SCRIPT, "2", k->node_key, k->prefix_key, k->value, ttl};
    size_t lens[7];
    for (int i = 0; i < 7; i++)
        lens[i] = strlen(argv[i]);
    redisAsyncCommandArgv(k->cmd, refresh_reply, (void *)(uintptr_t)(uint32_t)k->epoch, 7, argv, lens);
    heartbeat_publish(k);
    for (size_t i = 0; i < k->npeers; i++)
        if (k->peers[i].alive && now - k->peers[i].last_seen_ms > k->cfg->node_timeout_ms)
            peer_down(k, (int)i, "no heartbeat within cluster.nodeTimeoutMs", false);
}

static void reconnect_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    smd_cluster *k = w->data;
    if (k->leaving)
        return;
    if (k->reset) {
        k->reset = false;
        drop_connections(k);
    }
    if (!k->cmd || !k->sub || !k->joined)
        ensure_connections(k);
}

/* Request deadlines and snapshot deadlines. */
static void tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    smd_cluster *k = w->data;
    int64_t now = sm_mono_ms();
    for (pending *pd = k->pendings, *next; pd; pd = next) {
        next = pd->next;
        if (now >= pd->deadline_ms && !pd->local_pending)
            pending_finish(k, pd);
    }
    /* A snapshot part that makes no progress for requestTimeoutMs (while this node is not the one
     * holding it back) is named missing; what it sends later goes out as live events. */
    /* Held views of nodes that did not come back within nodeTimeoutMs of this node's return. */
    bool settled = cluster_up(k) && now - k->up_since_ms > k->cfg->node_timeout_ms;
    for (smd_listener *l = k->srv->listeners; l; l = l->gnext) {
        smd_cluster_view *v = l->view;
        for (held *h = v && settled ? v->held : NULL, *next; h; h = next) {
            next = h->next;
            int p = find_peer(k, h->name);
            if (p < 0 || !k->peers[p].alive)
                held_drop(k, l, h);
        }
        if (!v || v->ended)
            continue;
        bool changed = false;
        for (size_t i = 0; i < v->nparts; i++) {
            rpart *r = &v->parts[i];
            if (r->done || r->late)
                continue;
            if (r->received != r->acked)
                r->last_ms = now;
            else if (now - r->last_ms > k->cfg->request_timeout_ms) {
                note_missing(v, k->peers[r->peer].name);
                r->late = true;
                changed = true;
            }
        }
        if (changed)
            maybe_end_snapshot(k, l);
    }
    smd_server_reap(k->srv);
}

/* Hands what this loop pass queued for Redis to the kernel now. Left to hiredis, the bytes would
 * wait for the write watcher of the next pass, behind every other watcher ready by then: one loop
 * pass (and two epoll_ctl calls) more between a change and its PUBLISH. */
static void write_now(smd_cluster *k)
{
    if (k->cmd && (k->cmd->c.flags & REDIS_CONNECTED))
        redisAsyncHandleWrite(k->cmd); /* on a write error hiredis disconnects: on_disconnect runs */
}

/* End of every loop pass: publish what proxies produced, acknowledge what clients consumed. */
static void flush_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
    (void)loop;
    (void)revents;
    smd_cluster *k = w->data;
    for (smd_cluster_proxy *p = k->proxies; p; p = p->next)
        if (p->q.head)
            proxy_flush(k, p);
    proxies_collect(k);
    remotes_flush(k);
    if (!cluster_up(k)) {
        write_now(k);
        return;
    }
    size_t chunk = smd_snapshot_chunk(k->srv);
    /* Live events flow whatever the acknowledgements say (they only bound the sender's backlog),
     * so they are acknowledged in steps, not one `K` per `E`; a snapshot part at once. */
    uint64_t step = (k->cfg->max_proxy_bytes < SNAPSHOT_WINDOW ? k->cfg->max_proxy_bytes : SNAPSHOT_WINDOW) / 4;
    for (smd_listener *l = k->srv->listeners; l; l = l->gnext) {
        smd_cluster_view *v = l->view;
        if (!v || !l->owner->conn || l->owner->conn->q.bytes >= chunk)
            continue;
        for (size_t i = 0; i < v->nparts; i++) {
            rpart *r = &v->parts[i];
            if (r->received == r->acked || (r->done && r->received - r->acked < step))
                continue;
            char head[HEADER_MAX];
            int n = snprintf(head, sizeof head, "K %s %016" PRIx64 " %" PRId64 " %" PRIu64 "\n", k->self, k->epoch,
                             l->id, r->received);
            send_peer(k, r->peer, head, (size_t)n, NULL, 0);
            r->acked = r->received;
        }
    }
    write_now(k);
}

/* ---- start / stop ---- */

static int parse_url(smd_cluster *k, const char *url, sm_error *err)
{
    if (strncmp(url, "unix:", 5) == 0) {
        k->unix_path = strdup(url + 5);
        return k->unix_path ? SM_OK : sm_error_set(err, SM_ERR_NOMEM, "out of memory");
    }
    const char *host = url + 8, *colon = strrchr(host, ':');
    k->host = strndup(host, (size_t)(colon - host));
    k->port = atoi(colon + 1);
    if (k->host && k->host[0] == '[') { /* [v6]:port */
        size_t n = strlen(k->host);
        memmove(k->host, k->host + 1, n);
        if (n >= 2 && k->host[n - 2] == ']')
            k->host[n - 2] = '\0';
    }
    return k->host ? SM_OK : sm_error_set(err, SM_ERR_NOMEM, "out of memory");
}

static int read_secrets(smd_cluster *k, sm_error *err)
{
    const smd_cluster_cfg *c = k->cfg;
    const char *user = c->user ? c->user : getenv("SESSMON_REDIS_USER");
    if (user && *user && !(k->user = strdup(user)))
        return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
    if (c->password_file) {
        FILE *f = fopen(c->password_file, "r");
        if (!f)
            return sm_error_set(err, SM_ERR_IO, "cluster: cannot read %.200s: %s", c->password_file, strerror(errno));
        char line[512];
        if (!fgets(line, sizeof line, f))
            line[0] = '\0';
        fclose(f);
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0])
            return sm_error_set(err, SM_ERR_INVALID, "cluster: %.200s holds no password", c->password_file);
        k->password = strdup(line);
        memset(line, 0, sizeof line);
    } else {
        const char *pw = getenv("SESSMON_REDIS_PASSWORD");
        if (pw && *pw)
            k->password = strdup(pw);
    }
    return SM_OK;
}

static redisReply *sync_command(redisContext *rc, int argc, const char **argv)
{
    size_t lens[16];
    for (int i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    return redisCommandArgv(rc, argc, argv, lens);
}

/* The blocking join at start-up: a clear error (name in use, no Redis, bad password) before serving. */
static int join_blocking(smd_cluster *k, sm_error *err)
{
    struct timeval tv = {JOIN_TIMEOUT_MS / 1000, (JOIN_TIMEOUT_MS % 1000) * 1000};
    redisContext *rc = k->unix_path ? redisConnectUnixWithTimeout(k->unix_path, tv)
                                    : redisConnectWithTimeout(k->host, k->port, tv);
    if (!rc || rc->err) {
        int e = sm_error_set(err, SM_ERR_IO, "cluster: cannot connect to Redis at %.200s: %s", k->cfg->redis,
                             rc ? rc->errstr : "out of memory");
        if (rc)
            redisFree(rc);
        return e;
    }
    redisSetTimeout(rc, tv);
    int result = SM_OK;
    redisReply *r = NULL;
    if (k->password) {
        const char *a3[] = {"AUTH", k->user ? k->user : "", k->password};
        r = k->user ? sync_command(rc, 3, a3) : sync_command(rc, 2, (const char *[]){"AUTH", k->password});
        if (!r || r->type == REDIS_REPLY_ERROR) {
            result = sm_error_set(err, SM_ERR_IO, "cluster: Redis refused the credentials: %.200s",
                                  r ? r->str : rc->errstr);
            goto out;
        }
        freeReplyObject(r);
        r = NULL;
    }
    for (int attempt = 0; attempt < 8; attempt++) {
        new_epoch(k);
        snprintf(k->prefix_key, sizeof k->prefix_key, "sessmon:prefix:%08x", k->srv->reg.id_prefix);
        char ttl[24];
        snprintf(ttl, sizeof ttl, "%" PRId64, k->cfg->node_timeout_ms);
        const char *argv[] = {"EVAL", JOIN_SCRIPT, "2", k->node_key, k->prefix_key, k->value, k->self, ttl, ""};
        r = sync_command(rc, 9, argv);
        if (!r || r->type != REDIS_REPLY_INTEGER) {
            result = sm_error_set(err, SM_ERR_IO, "cluster: joining failed: %.200s", r && r->str ? r->str : rc->errstr);
            goto out;
        }
        long long v = r->integer;
        freeReplyObject(r);
        r = NULL;
        if (v == 1)
            break;
        if (v == -1) {
            result = sm_error_set(err, SM_ERR_INVALID, "cluster: node name '%s' is in use by a live node", k->self);
            goto out;
        }
        /* The random ID prefix is another node's: draw again (no session exists yet). */
        uint32_t prefix;
        if (smd_random_bytes(&prefix, sizeof prefix) != SM_OK) {
            result = sm_error_set(err, SM_ERR_IO, "no randomness from the kernel");
            goto out;
        }
        k->srv->reg.id_prefix = prefix;
        if (attempt == 7)
            result = sm_error_set(err, SM_ERR_IO, "cluster: could not claim a session ID prefix");
    }
    if (result != SM_OK)
        goto out;
    snprintf(k->prev_value, sizeof k->prev_value, "%s", k->value);
    /* The live nodes now, so a listener added at once already covers them. */
    char cursor[32] = "0";
    do {
        const char *argv[] = {"SCAN", cursor, "MATCH", "sessmon:node:*", "COUNT", "1000"};
        r = sync_command(rc, 6, argv);
        if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2)
            break;
        snprintf(cursor, sizeof cursor, "%s", r->element[0]->str ? r->element[0]->str : "0");
        redisReply *keys = r->element[1];
        for (size_t i = 0; i < keys->elements; i++) {
            const char *key = keys->element[i]->str;
            if (!key || strncmp(key, "sessmon:node:", 13) != 0)
                continue;
            redisReply *v = redisCommand(rc, "GET %s", key);
            unsigned prefix;
            uint64_t epoch;
            if (v && v->type == REDIS_REPLY_STRING && sscanf(v->str, "%x %" SCNx64, &prefix, &epoch) == 2)
                learn_peer(k, key + 13, epoch, prefix);
            if (v)
                freeReplyObject(v);
        }
        freeReplyObject(r);
        r = NULL;
    } while (strcmp(cursor, "0") != 0);
out:
    if (r)
        freeReplyObject(r);
    redisFree(rc);
    return result;
}

int smd_cluster_start(smd_server *srv, struct ev_loop *loop, sm_error *err)
{
    const smd_cluster_cfg *cfg = &srv->cfg->cluster;
    smd_cluster *k = calloc(1, sizeof *k);
    if (!k)
        return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
    k->srv = srv;
    k->cfg = cfg;
    k->loop = loop;
    snprintf(k->self, sizeof k->self, "%s", cfg->node);
    snprintf(k->node_key, sizeof k->node_key, "sessmon:node:%s", k->self);
    to_channel(k->self, k->to_channel, sizeof k->to_channel);
    sm_buf_init(&k->scratch, 0, 0);
    smd_outq_init(&k->sink.q);
    k->sink.srv = srv;
    k->sink.write_requested = true; /* never asks the transport for anything */
    k->sink.cluster_remote = true;
    k->sink.session = &k->sink_session;
    k->sink_session.state = SM_STATE_CLOSED; /* so nothing can doom or close it */
    int rc = parse_url(k, cfg->redis, err);
    if (rc == SM_OK)
        rc = read_secrets(k, err);
    if (rc == SM_OK)
        rc = join_blocking(k, err);
    if (rc != SM_OK) {
        srv->cluster = k;
        smd_cluster_stop(srv);
        return rc;
    }
    /* Peers learnt by the scan count as live from now on. */
    for (size_t i = 0; i < k->npeers; i++) {
        k->peers[i].alive = true;
        k->peers[i].last_seen_ms = sm_mono_ms();
    }
    srv->cluster = k;
    double hb = (double)cfg->heartbeat_ms / 1000.0;
    ev_timer_init(&k->heartbeat, heartbeat_cb, hb, hb);
    ev_timer_init(&k->reconnect, reconnect_cb, RECONNECT_S, RECONNECT_S);
    ev_timer_init(&k->tick, tick_cb, PENDING_TICK_S, PENDING_TICK_S);
    ev_prepare_init(&k->flush, flush_cb);
    ev_idle_init(&k->work, work_cb);
    k->heartbeat.data = k->reconnect.data = k->tick.data = k->flush.data = k->work.data = k;
    ev_timer_start(loop, &k->heartbeat);
    ev_timer_start(loop, &k->reconnect);
    ev_timer_start(loop, &k->tick);
    ev_prepare_start(loop, &k->flush);
    /* The async connections: the join is repeated there with a fresh epoch and our previous value. */
    k->joined = false;
    ensure_connections(k);
    smd_log(SMD_LOG_INFO, "cluster: node %s, session ID prefix %08x, %zu other live node(s), Redis %s", k->self,
           srv->reg.id_prefix, k->npeers, cfg->redis);
    return SM_OK;
}

void smd_cluster_leave(smd_server *srv)
{
    smd_cluster *k = srv->cluster;
    if (!k || k->leaving)
        return;
    k->leaving = true;
    if (!cluster_up(k))
        return;
    /* What the listeners elsewhere are owed goes before the goodbye, which makes them drop ours. */
    for (smd_cluster_proxy *p = k->proxies; p; p = p->next)
        if (p->q.head)
            proxy_flush(k, p);
    char head[HEADER_MAX];
    int n = snprintf(head, sizeof head, "B %s %016" PRIx64 "\n", k->self, k->epoch);
    publish(k, "sessmon:all", head, (size_t)n, NULL, 0);
    const char *argv[] = {"EVAL", LEAVE_SCRIPT, "2", k->node_key, k->prefix_key, k->value};
    size_t lens[6];
    for (int i = 0; i < 6; i++)
        lens[i] = strlen(argv[i]);
    redisAsyncCommandArgv(k->cmd, NULL, NULL, 6, argv, lens);
    /* The loop may end right after this: write it all out now (a few hundred ms at most). */
    int done = 0;
    for (int tries = 0; tries < 20 && !done && k->cmd; tries++) {
        if (redisBufferWrite(&k->cmd->c, &done) != REDIS_OK)
            break;
        if (!done) {
            struct pollfd pfd = {.fd = k->cmd->c.fd, .events = POLLOUT};
            poll(&pfd, 1, 10);
        }
    }
}

void smd_cluster_stop(smd_server *srv)
{
    smd_cluster *k = srv->cluster;
    if (!k)
        return;
    if (k->loop) {
        ev_timer_stop(k->loop, &k->heartbeat);
        ev_timer_stop(k->loop, &k->reconnect);
        ev_timer_stop(k->loop, &k->tick);
        ev_prepare_stop(k->loop, &k->flush);
        ev_idle_stop(k->loop, &k->work);
    }
    for (smd_cluster_proxy *p = k->proxies, *next; p; p = next) {
        next = p->next;
        proxy_free(k, p);
    }
    k->proxies = NULL;
    for (pending *pd = k->pendings, *next; pd; pd = next) {
        next = pd->next;
        free(pd);
    }
    while (k->remotes) {
        remote_req *r = k->remotes;
        k->remotes = r->next;
        remote_free(k, r);
    }
    drop_connections(k);
    while (k->graveyard) {
        closing *c = k->graveyard;
        k->graveyard = c->next;
        kmap_free(&c->ids, srv->strings);
        free(c);
    }
    srv->cluster = NULL;
    smd_outq_clear(&k->sink.q);
    sm_buf_free(&k->scratch);
    sm_events_scanner_free(&k->events_in);
    free(k->host);
    free(k->unix_path);
    free(k->user);
    if (k->password) {
        memset(k->password, 0, strlen(k->password));
        free(k->password);
    }
    free(k);
}

bool smd_cluster_get_stats(const smd_server *srv, smd_cluster_stats *out)
{
    memset(out, 0, sizeof *out);
    const smd_cluster *k = srv->cluster;
    if (!k)
        return false;
    out->redis_connected = cluster_up(k);
    for (size_t i = 0; i < k->npeers; i++)
        out->live_nodes += peer_live(k, i);
    out->pending_requests = k->npending;
    out->remote_requests = k->nremote;
    for (const smd_cluster_proxy *p = k->proxies; p; p = p->next)
        out->proxies++;
    out->answers_missing_nodes = k->answers_missing_nodes;
    return true;
}
