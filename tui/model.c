/* The monitor's session table, fed by listener events, with change marks, history and resync. */
#include "tui/model.h"

#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "core/sorted.h"

#define RATE_BUCKETS 8
#define RATE_WINDOW_S 4
#define SET_CACHE 64 /* positions of an OPEN's property set remembered (see cached_intern) */

struct smt_model {
    sm_intern *pool;
    smt_row **buckets;
    size_t nbuckets; /* power of two */
    size_t rows;     /* in the hash */
    size_t open_count;
    size_t disconnected;
    bool resyncing;

    smt_row *dirty_head, *dirty_tail;
    size_t dirty_count;
    smt_row *closing_head, *closing_tail;

    smt_keystat *keys;
    size_t nkeys, capkeys;
    uint32_t *keyidx; /* open addressing over keys[], value = index + 1 */
    size_t nkeyidx;   /* power of two */

    uint64_t rate_sec[RATE_BUCKETS];
    uint32_t rate_count[RATE_BUCKETS];
    uint64_t events_total;
    uint64_t last_mark; /* newest highlight start, to know when marks expire */

    /* The key and value last interned at each position of an OPEN's set (held references), and
     * the sorted order of the last set whose keys are all in set_keys (set_n of them; 0: none). */
    const char *set_keys[SET_CACHE], *set_values[SET_CACHE];
    uint8_t set_order[SET_CACHE];
    size_t set_n;
};

smt_model *smt_model_new(void)
{
    smt_model *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->pool = sm_intern_new();
    m->nbuckets = 1024;
    m->buckets = calloc(m->nbuckets, sizeof *m->buckets);
    m->nkeyidx = 256;
    m->keyidx = calloc(m->nkeyidx, sizeof *m->keyidx);
    if (!m->pool || !m->buckets || !m->keyidx) {
        sm_intern_free(m->pool);
        free(m->buckets);
        free(m->keyidx);
        free(m);
        return NULL;
    }
    return m;
}

sm_intern *smt_model_pool(smt_model *m)
{
    return m->pool;
}

/* ---- key statistics ---- */

/* Keys are interned, so the pointer is the identity: hashing it spares reading the string for
 * every property of every event (Fibonacci hashing: the high bits of the product are mixed). */
static uint32_t key_ptr_hash(const char *key)
{
    return (uint32_t)(((uint64_t)(uintptr_t)key * 0x9E3779B97F4A7C15ull) >> 32);
}

static smt_keystat *keystat_find(smt_model *m, const char *key, bool create)
{
    uint32_t h = key_ptr_hash(key);
    size_t mask = m->nkeyidx - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        uint32_t v = m->keyidx[i];
        if (v == 0)
            break;
        if (m->keys[v - 1].key == key)
            return &m->keys[v - 1];
    }
    if (!create || m->nkeys >= SMT_MODEL_MAX_KEYS)
        return NULL;
    if (m->nkeys == m->capkeys) {
        size_t cap = m->capkeys ? m->capkeys * 2 : 64;
        smt_keystat *k = realloc(m->keys, cap * sizeof *k);
        if (!k)
            return NULL;
        m->keys = k;
        m->capkeys = cap;
    }
    if ((m->nkeys + 1) * 2 > m->nkeyidx) {
        size_t n = m->nkeyidx * 2;
        uint32_t *idx = calloc(n, sizeof *idx);
        if (!idx)
            return NULL;
        for (size_t k = 0; k < m->nkeys; k++) {
            uint32_t kh = key_ptr_hash(m->keys[k].key);
            size_t j = kh & (n - 1);
            while (idx[j])
                j = (j + 1) & (n - 1);
            idx[j] = (uint32_t)k + 1;
        }
        free(m->keyidx);
        m->keyidx = idx;
        m->nkeyidx = n;
        mask = n - 1;
    }
    size_t i = h & mask;
    while (m->keyidx[i])
        i = (i + 1) & mask;
    m->keys[m->nkeys].key = sm_intern_ref(key);
    m->keys[m->nkeys].count = 0;
    m->keyidx[i] = (uint32_t)m->nkeys + 1;
    return &m->keys[m->nkeys++];
}

/* Key counts cover open sessions, like the header: a closed row fading out no longer counts. */
static bool counts_keys(const smt_row *r)
{
    return r->state != SM_REMOTE_CLOSED;
}

static void keystat_add(smt_model *m, const char *key, int delta)
{
    smt_keystat *k = keystat_find(m, key, delta > 0);
    if (!k)
        return;
    if (delta > 0)
        k->count++;
    else if (k->count > 0)
        k->count--;
}

size_t smt_model_key_count(const smt_model *m)
{
    return m->nkeys;
}

const smt_keystat *smt_model_key_at(const smt_model *m, size_t i)
{
    return i < m->nkeys ? &m->keys[i] : NULL;
}

/* ---- rows ---- */

static void mark_dirty(smt_model *m, smt_row *r)
{
    if (r->dirty)
        return;
    r->dirty = true;
    r->dnext = NULL;
    if (m->dirty_tail)
        m->dirty_tail->dnext = r;
    else
        m->dirty_head = r;
    m->dirty_tail = r;
    m->dirty_count++;
}

static void closing_unlink(smt_model *m, smt_row *r)
{
    if (!r->closing)
        return;
    if (r->cprev)
        r->cprev->cnext = r->cnext;
    else
        m->closing_head = r->cnext;
    if (r->cnext)
        r->cnext->cprev = r->cprev;
    else
        m->closing_tail = r->cprev;
    r->cprev = r->cnext = NULL;
    r->closing = false;
}

static void closing_append(smt_model *m, smt_row *r)
{
    closing_unlink(m, r);
    r->cprev = m->closing_tail;
    r->cnext = NULL;
    if (m->closing_tail)
        m->closing_tail->cnext = r;
    else
        m->closing_head = r;
    m->closing_tail = r;
    r->closing = true;
}

static void count_state(smt_model *m, sm_remote_state s, int delta)
{
    if (s == SM_REMOTE_ACTIVE || s == SM_REMOTE_DISCONNECTED) {
        if (delta > 0)
            m->open_count++;
        else if (m->open_count > 0)
            m->open_count--;
    }
    if (s == SM_REMOTE_DISCONNECTED) {
        if (delta > 0)
            m->disconnected++;
        else if (m->disconnected > 0)
            m->disconnected--;
    }
}

static void set_state(smt_model *m, smt_row *r, sm_remote_state s, uint64_t now)
{
    if (s == SMT_STATE_NONE || s > SM_REMOTE_CLOSED || s == r->state)
        return;
    count_state(m, r->state, -1);
    count_state(m, s, +1);
    bool counted = counts_keys(r);
    r->state = s;
    if (counted != counts_keys(r))
        for (uint32_t i = 0; i < r->nprops; i++)
            keystat_add(m, r->props[i].key, counted ? -1 : +1);
    r->t_state = now;
    if (s == SM_REMOTE_CLOSED) {
        r->t_closed = now;
        closing_append(m, r);
    } else {
        closing_unlink(m, r);
    }
}

static void free_row(smt_model *m, smt_row *r)
{
    for (uint32_t i = 0; i < r->nprops; i++) {
        sm_intern_unref(m->pool, r->props[i].key);
        sm_intern_unref(m->pool, r->props[i].value);
    }
    free(r->props);
    if (r->hist) {
        for (unsigned i = 0; i < r->hist_len; i++) {
            smt_change *c = &r->hist[(r->hist_head + SMT_MODEL_HISTORY - 1 - i) % SMT_MODEL_HISTORY];
            sm_intern_unref(m->pool, c->key);
            sm_intern_unref(m->pool, c->old_value);
            sm_intern_unref(m->pool, c->new_value);
        }
        free(r->hist);
    }
    sm_intern_unref(m->pool, r->id);
    free(r);
}

void smt_model_free(smt_model *m)
{
    if (!m)
        return;
    /* dead rows live only on the dirty list; live ones also in the hash, freed after */
    for (smt_row *r = m->dirty_head; r;) {
        smt_row *next = r->dnext;
        if (r->dead)
            free_row(m, r);
        r = next;
    }
    for (size_t i = 0; i < m->nbuckets; i++) {
        smt_row *r = m->buckets[i];
        while (r) {
            smt_row *next = r->hnext;
            free_row(m, r);
            r = next;
        }
    }
    for (size_t k = 0; k < m->nkeys; k++)
        sm_intern_unref(m->pool, m->keys[k].key);
    for (size_t i = 0; i < SET_CACHE; i++) {
        sm_intern_unref(m->pool, m->set_keys[i]);
        sm_intern_unref(m->pool, m->set_values[i]);
    }
    free(m->keys);
    free(m->keyidx);
    free(m->buckets);
    sm_intern_free(m->pool);
    free(m);
}

static smt_row *find_hashed(const smt_model *m, const char *id, size_t len, uint32_t h)
{
    for (smt_row *r = m->buckets[h & (m->nbuckets - 1)]; r; r = r->hnext)
        if (r->idhash == h && sm_intern_len(r->id) == len && memcmp(r->id, id, len) == 0)
            return r;
    return NULL;
}

smt_row *smt_model_find(const smt_model *m, const char *id)
{
    if (!id)
        return NULL;
    size_t len = strlen(id);
    return find_hashed(m, id, len, sm_hash_bytes(id, len));
}

static void hash_grow(smt_model *m)
{
    size_t n = m->nbuckets * 2;
    smt_row **b = calloc(n, sizeof *b);
    if (!b)
        return;
    for (size_t i = 0; i < m->nbuckets; i++) {
        smt_row *r = m->buckets[i];
        while (r) {
            smt_row *next = r->hnext;
            size_t j = r->idhash & (n - 1);
            r->hnext = b[j];
            b[j] = r;
            r = next;
        }
    }
    free(m->buckets);
    m->buckets = b;
    m->nbuckets = n;
}

/* id: len bytes, hashed to idhash by the lookup that found no row. */
static smt_row *row_create(smt_model *m, const char *id, size_t len, uint32_t idhash)
{
    if (m->rows >= SMT_MODEL_MAX_ROWS)
        return NULL;
    smt_row *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->id = sm_intern_str(m->pool, id, len);
    if (!r->id) {
        free(r);
        return NULL;
    }
    r->idhash = idhash;
    r->state = SMT_STATE_NONE;
    size_t j = r->idhash & (m->nbuckets - 1);
    r->hnext = m->buckets[j];
    m->buckets[j] = r;
    m->rows++;
    if (m->rows > m->nbuckets)
        hash_grow(m);
    return r;
}

/* Takes the row out of the table now; its memory waits on the dirty list for the view. */
static void row_kill(smt_model *m, smt_row *r)
{
    if (r->dead)
        return;
    size_t j = r->idhash & (m->nbuckets - 1);
    for (smt_row **pp = &m->buckets[j]; *pp; pp = &(*pp)->hnext) {
        if (*pp == r) {
            *pp = r->hnext;
            break;
        }
    }
    r->hnext = NULL;
    m->rows--;
    count_state(m, r->state, -1);
    closing_unlink(m, r);
    for (uint32_t i = 0; i < r->nprops && counts_keys(r); i++)
        keystat_add(m, r->props[i].key, -1);
    r->dead = true;
    mark_dirty(m, r);
}

_Static_assert(offsetof(smt_rprop, key) == 0, "sm_sorted_search reads the key as the first member");

/* The property key of row r, or NULL; *pos (when given) is its index or the insertion point. */
static smt_rprop *prop_find(const smt_row *r, const char *key, uint32_t *pos)
{
    bool found;
    size_t at = sm_sorted_search(r->props, r->nprops, sizeof *r->props, key, &found);
    if (pos)
        *pos = (uint32_t)at;
    return found ? &r->props[at] : NULL;
}

static void history_add(smt_model *m, smt_row *r, const char *key, const char *old_value, const char *new_value,
                        uint64_t now)
{
    if (!r->hist) {
        r->hist = calloc(SMT_MODEL_HISTORY, sizeof *r->hist);
        if (!r->hist)
            return;
    }
    smt_change *c = &r->hist[r->hist_head];
    if (r->hist_len == SMT_MODEL_HISTORY) {
        sm_intern_unref(m->pool, c->key);
        sm_intern_unref(m->pool, c->old_value);
        sm_intern_unref(m->pool, c->new_value);
    } else {
        r->hist_len++;
    }
    c->key = sm_intern_ref(key);
    c->old_value = sm_intern_ref(old_value);
    c->new_value = sm_intern_ref(new_value);
    c->time = now;
    r->hist_head = (uint8_t)((r->hist_head + 1) % SMT_MODEL_HISTORY);
}

/* Sets (value != NULL) or deletes (value == NULL) one property. record: keep history/marks. */
static bool prop_set(smt_model *m, smt_row *r, const char *key, const char *value, bool record, uint64_t now)
{
    uint32_t pos;
    smt_rprop *p = prop_find(r, key, &pos);
    if (p) {
        if (value && sm_intern_len(p->value) == strlen(value) && strcmp(p->value, value) == 0)
            return false;
        const char *old = p->value;
        if (value) {
            const char *nv = sm_intern_cstr(m->pool, value);
            if (!nv)
                return false;
            p->value = nv;
            if (record)
                history_add(m, r, p->key, old, nv, now);
        } else {
            if (record)
                history_add(m, r, p->key, old, NULL, now);
            if (counts_keys(r))
                keystat_add(m, p->key, -1);
            sm_intern_unref(m->pool, p->key);
            memmove(&r->props[pos], &r->props[pos + 1], (r->nprops - pos - 1) * sizeof *r->props);
            r->nprops--;
        }
        sm_intern_unref(m->pool, old);
        return true;
    }
    if (!value)
        return false;
    if (r->nprops >= SMT_MODEL_MAX_PROPS)
        return false;
    if (r->nprops == r->capprops) {
        uint32_t cap = r->capprops ? r->capprops * 2 : 16;
        smt_rprop *np = realloc(r->props, cap * sizeof *np);
        if (!np)
            return false;
        r->props = np;
        r->capprops = cap;
    }
    const char *k = sm_intern_cstr(m->pool, key);
    const char *v = sm_intern_cstr(m->pool, value);
    if (!k || !v) {
        sm_intern_unref(m->pool, k);
        sm_intern_unref(m->pool, v);
        return false;
    }
    memmove(&r->props[pos + 1], &r->props[pos], (r->nprops - pos) * sizeof *r->props);
    r->props[pos].key = k;
    r->props[pos].value = v;
    r->nprops++;
    if (counts_keys(r))
        keystat_add(m, k, +1);
    if (record)
        history_add(m, r, k, NULL, v, now);
    return true;
}

static const sm_property *props_find(const sm_property *props, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (props[i].key && strcmp(props[i].key, key) == 0)
            return &props[i];
    return NULL;
}

/* Interns s, first trying what was interned at the same place last time: the server sends every
 * set in one order, so a key (and many a value, e.g. $Transport's) is the one before, and a
 * comparison spares hashing it and a walk in the pool's table. *hit: it was. */
static const char *cached_intern(smt_model *m, const char **slot, const char *s, bool *hit)
{
    *hit = *slot && strcmp(*slot, s) == 0;
    if (*hit)
        return sm_intern_ref(*slot);
    const char *in = sm_intern_cstr(m->pool, s);
    if (in) {
        sm_intern_unref(m->pool, *slot);
        *slot = sm_intern_ref(in);
    }
    return in;
}

/* Sorts props (n of them, interned) by key, remembering in order[] where each came from;
 * false when a key is there twice. Insertion sort: a set is small. */
static bool sort_props(smt_rprop *props, uint16_t *order, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        smt_rprop p = props[i];
        size_t at = i;
        while (at > 0 && strcmp(props[at - 1].key, p.key) > 0) {
            props[at] = props[at - 1];
            order[at] = order[at - 1];
            at--;
        }
        if (at > 0 && props[at - 1].key == p.key) /* interned: equal keys are one pointer */
            return false;
        props[at] = p;
        order[at] = (uint16_t)i;
    }
    return true;
}

/* A row without properties (every snapshot row) takes the event's set in one go: interned,
 * sorted once, one allocation, rather than a search, a move and maybe a reallocation per
 * property. A set with every key where the last one had it (the usual case: the server sends
 * every set in one order) takes that set's order without a comparison. Returns false, the row
 * untouched, when the set does not suit it (a key twice, a missing key or value, more than the
 * row may hold, no memory): prop_set one by one copes. */
static bool fill_props(smt_model *m, smt_row *r, const sm_property *props, size_t n)
{
    if (n == 0 || n > SMT_MODEL_MAX_PROPS || r->nprops != 0)
        return false;
    smt_rprop *np = malloc(n * sizeof *np);
    if (!np)
        return false;
    bool same_keys = n == m->set_n; /* every key a hit, in a set as long: set_order applies */
    size_t got = 0;
    for (; got < n; got++) {
        bool cached = got < SET_CACHE, hit = false;
        const char *k = !props[got].key ? NULL
                        : cached        ? cached_intern(m, &m->set_keys[got], props[got].key, &hit)
                                        : sm_intern_cstr(m->pool, props[got].key);
        if (!hit)
            m->set_n = 0; /* a slot may have changed: the remembered order is another set's */
        same_keys = same_keys && hit;
        bool vhit;
        const char *v = !k || !props[got].value ? NULL
                        : cached                ? cached_intern(m, &m->set_values[got], props[got].value, &vhit)
                                                : sm_intern_cstr(m->pool, props[got].value);
        if (!v) {
            sm_intern_unref(m->pool, k);
            break;
        }
        np[got].key = k;
        np[got].value = v;
    }
    bool ok = got == n;
    if (ok && same_keys) {
        smt_rprop arrived[SET_CACHE];
        memcpy(arrived, np, n * sizeof *np);
        for (size_t i = 0; i < n; i++)
            np[i] = arrived[m->set_order[i]];
    } else if (ok) {
        uint16_t order[SMT_MODEL_MAX_PROPS];
        ok = sort_props(np, order, n);
        if (ok && n <= SET_CACHE) {
            for (size_t i = 0; i < n; i++)
                m->set_order[i] = (uint8_t)order[i];
            m->set_n = n;
        }
    }
    if (!ok) {
        for (size_t i = 0; i < got; i++) {
            sm_intern_unref(m->pool, np[i].key);
            sm_intern_unref(m->pool, np[i].value);
        }
        free(np);
        return false;
    }
    free(r->props);
    r->props = np;
    r->nprops = r->capprops = (uint32_t)n;
    if (counts_keys(r))
        for (size_t i = 0; i < n; i++)
            keystat_add(m, np[i].key, +1);
    return true;
}

/* OPEN / FILTER_ENTER: the event carries the full property set. */
static bool replace_props(smt_model *m, smt_row *r, const sm_property *props, size_t n, bool record, uint64_t now)
{
    if (!record && fill_props(m, r, props, n))
        return true;
    bool changed = false;
    for (uint32_t i = r->nprops; i-- > 0;) {
        if (!props_find(props, n, r->props[i].key)) {
            const char *key = r->props[i].key;
            changed |= prop_set(m, r, key, NULL, record, now);
        }
    }
    for (size_t i = 0; i < n; i++)
        if (props[i].key && props[i].value)
            changed |= prop_set(m, r, props[i].key, props[i].value, record, now);
    return changed;
}

/* Updates: `properties` holds new values, `previous` the keys that changed (absent from
 * properties = deleted). */
static bool apply_changes(smt_model *m, smt_row *r, const sm_session_event *ev, uint64_t now)
{
    bool changed = false;
    for (size_t i = 0; i < ev->previous_count; i++) {
        const char *key = ev->previous[i].key;
        if (!key)
            continue;
        const sm_property *nv = props_find(ev->properties, ev->property_count, key);
        changed |= prop_set(m, r, key, nv ? nv->value : NULL, true, now);
    }
    for (size_t i = 0; i < ev->property_count; i++) {
        const sm_property *kv = &ev->properties[i];
        if (kv->key && kv->value && !props_find(ev->previous, ev->previous_count, kv->key))
            changed |= prop_set(m, r, kv->key, kv->value, true, now);
    }
    return changed;
}

/* Snapshot events are counted in the total but not in the rate: a (re)connect would otherwise
 * show the whole table arriving as a burst of live activity. */
static void count_event(smt_model *m, bool snapshot, uint64_t now)
{
    m->events_total++;
    if (snapshot)
        return;
    uint64_t sec = now / 1000;
    size_t b = (size_t)(sec % RATE_BUCKETS);
    if (m->rate_sec[b] != sec) {
        m->rate_sec[b] = sec;
        m->rate_count[b] = 0;
    }
    if (m->rate_count[b] < UINT32_MAX)
        m->rate_count[b]++;
}

int smt_model_apply(smt_model *m, const smt_event *event, uint64_t now, sm_error *err)
{
    const sm_session_event *ev = event ? &event->session : NULL;
    if (!m || !ev || !ev->session_id || !*ev->session_id)
        return sm_error_set(err, SM_ERR_INVALID, "event without a session ID");
    count_event(m, ev->snapshot, now);
    size_t idlen = strlen(ev->session_id);
    uint32_t idhash = sm_hash_bytes(ev->session_id, idlen);
    smt_row *r = find_hashed(m, ev->session_id, idlen, idhash);
    switch (event->kind) {
    case SMT_EVENT_OPEN:
    case SMT_EVENT_FILTER_ENTER: {
        bool existed = r != NULL;
        if (!r) {
            r = row_create(m, ev->session_id, idlen, idhash);
            if (!r)
                return sm_error_set(err, SM_ERR_LIMIT, "session table full (%u rows)", SMT_MODEL_MAX_ROWS);
            if (!ev->snapshot) {
                r->t_new = now;
                m->last_mark = now;
            }
        }
        r->stale = false;
        /* A row we already had (resync, re-entry) shows what changed while we were away. */
        if (replace_props(m, r, ev->properties, ev->property_count, existed, now) && existed) {
            r->t_changed = now;
            m->last_mark = now;
        }
        sm_remote_state s = ev->state == SMT_STATE_NONE ? SM_REMOTE_ACTIVE : ev->state;
        if (s == SM_REMOTE_CLOSED)
            s = SM_REMOTE_ACTIVE; /* an OPEN cannot describe a closed session */
        set_state(m, r, s, now);
        mark_dirty(m, r);
        return SM_OK;
    }
    case SMT_EVENT_PROPERTIES:
    case SMT_EVENT_DISCONNECTED:
    case SMT_EVENT_RECONNECTED:
    case SMT_EVENT_FAILED_OVER:
    case SMT_EVENT_CLOSED: {
        if (!r) {
            if (event->kind == SMT_EVENT_CLOSED)
                return SM_OK; /* never seen, nothing to show */
            /* We missed its OPEN: keep what we learn rather than drop the session. */
            r = row_create(m, ev->session_id, idlen, idhash);
            if (!r)
                return sm_error_set(err, SM_ERR_LIMIT, "session table full (%u rows)", SMT_MODEL_MAX_ROWS);
            set_state(m, r, SM_REMOTE_ACTIVE, now);
        }
        if (apply_changes(m, r, ev, now)) {
            r->t_changed = now;
            m->last_mark = now;
        }
        sm_remote_state s = ev->state;
        if (event->kind == SMT_EVENT_CLOSED)
            s = SM_REMOTE_CLOSED;
        else if (event->kind == SMT_EVENT_DISCONNECTED && s == SMT_STATE_NONE)
            s = SM_REMOTE_DISCONNECTED;
        else if ((event->kind == SMT_EVENT_RECONNECTED || event->kind == SMT_EVENT_FAILED_OVER) && s == SMT_STATE_NONE)
            s = SM_REMOTE_ACTIVE;
        if (event->kind == SMT_EVENT_CLOSED)
            r->reason = ev->reason;
        set_state(m, r, s, now);
        mark_dirty(m, r);
        return SM_OK;
    }
    case SMT_EVENT_FILTER_LEAVE:
        if (r)
            row_kill(m, r);
        return SM_OK;
    default:
        return sm_error_set(err, SM_ERR_INVALID, "unknown event type");
    }
}

void smt_model_foreach(smt_model *m, void (*fn)(smt_row *row, void *ctx), void *ctx)
{
    for (size_t i = 0; i < m->nbuckets; i++) {
        smt_row *r = m->buckets[i];
        while (r) {
            smt_row *next = r->hnext; /* fn may kill r */
            fn(r, ctx);
            r = next;
        }
    }
}

typedef struct resync_ctx {
    smt_model *m;
    size_t dropped;
} resync_ctx;

static void resync_mark(smt_row *r, void *ctx)
{
    resync_ctx *c = ctx;
    if (r->state == SM_REMOTE_CLOSED)
        row_kill(c->m, r);
    else
        r->stale = true;
}

static void resync_sweep(smt_row *r, void *ctx)
{
    resync_ctx *c = ctx;
    if (r->stale) {
        row_kill(c->m, r);
        c->dropped++;
    }
}

void smt_model_resync_begin(smt_model *m, uint64_t now)
{
    (void)now;
    resync_ctx c = {m, 0};
    smt_model_foreach(m, resync_mark, &c);
    m->resyncing = true;
}

size_t smt_model_resync_end(smt_model *m, uint64_t now)
{
    (void)now;
    if (!m->resyncing)
        return 0;
    resync_ctx c = {m, 0};
    smt_model_foreach(m, resync_sweep, &c);
    m->resyncing = false;
    return c.dropped;
}

bool smt_model_resyncing(const smt_model *m)
{
    return m->resyncing;
}

int64_t smt_model_tick(smt_model *m, uint64_t now)
{
    while (m->closing_head && m->closing_head->t_closed + SMT_MODEL_FADE_MS <= now)
        row_kill(m, m->closing_head);
    int64_t next = -1;
    if (m->closing_head) {
        /* wake up regularly while rows fade so the fade is visible */
        uint64_t due = m->closing_head->t_closed + SMT_MODEL_FADE_MS;
        next = (int64_t)(due - now);
        if (next > 250)
            next = 250;
    }
    if (m->last_mark && m->last_mark + SMT_MODEL_HIGHLIGHT_MS > now) {
        int64_t mark = (int64_t)(m->last_mark + SMT_MODEL_HIGHLIGHT_MS - now);
        if (mark > 250)
            mark = 250;
        if (next < 0 || mark < next)
            next = mark;
    }
    return next;
}

size_t smt_model_rows(const smt_model *m)
{
    return m->rows;
}

size_t smt_model_open_count(const smt_model *m)
{
    return m->open_count;
}

size_t smt_model_disconnected_count(const smt_model *m)
{
    return m->disconnected;
}

smt_row *smt_model_take_dirty(smt_model *m)
{
    smt_row *head = m->dirty_head;
    m->dirty_head = m->dirty_tail = NULL;
    m->dirty_count = 0;
    /* the caller walks dnext; clear flags now so rows touched again are queued afresh */
    for (smt_row *r = head; r; r = r->dnext)
        r->dirty = false;
    return head;
}

size_t smt_model_dirty_count(const smt_model *m)
{
    return m->dirty_count;
}

void smt_model_release(smt_model *m, smt_row *row)
{
    if (row && row->dead && !row->dirty)
        free_row(m, row);
}

double smt_model_event_rate(const smt_model *m, uint64_t now)
{
    uint64_t sec = now / 1000;
    uint64_t sum = 0;
    for (size_t i = 0; i < RATE_BUCKETS; i++)
        if (m->rate_sec[i] + RATE_WINDOW_S > sec && m->rate_sec[i] <= sec)
            sum += m->rate_count[i];
    double span = (double)(RATE_WINDOW_S - 1) + (double)(now % 1000) / 1000.0;
    return span > 0 ? (double)sum / span : 0.0;
}

uint64_t smt_model_event_total(const smt_model *m)
{
    return m->events_total;
}

const char *smt_row_get(const smt_row *row, const char *key)
{
    const smt_rprop *p = prop_find(row, key, NULL);
    if (p)
        return p->value;
    if (strcmp(key, SM_PROP_SESSION_ID) == 0)
        return row->id;
    return NULL;
}

bool smt_row_is_new(const smt_row *row, uint64_t now)
{
    return row->t_new && row->t_new + SMT_MODEL_HIGHLIGHT_MS > now;
}

bool smt_row_key_recent(const smt_row *row, const char *key, uint64_t now)
{
    if (!row->hist || row->t_changed + SMT_MODEL_HIGHLIGHT_MS <= now)
        return false;
    for (unsigned i = 0; i < row->hist_len; i++) {
        const smt_change *c = &row->hist[(row->hist_head + SMT_MODEL_HISTORY - 1 - i) % SMT_MODEL_HISTORY];
        if (c->time + SMT_MODEL_HIGHLIGHT_MS <= now)
            break; /* newest first: the rest are older */
        if (strcmp(c->key, key) == 0)
            return true;
    }
    return false;
}

size_t smt_row_history(const smt_row *row, smt_change *out, size_t max)
{
    size_t n = 0;
    for (unsigned i = 0; row->hist && i < row->hist_len && n < max; i++)
        out[n++] = row->hist[(row->hist_head + SMT_MODEL_HISTORY - 1 - i) % SMT_MODEL_HISTORY];
    return n;
}

double smt_row_fade(const smt_row *row, uint64_t now)
{
    if (row->state != SM_REMOTE_CLOSED || now <= row->t_closed)
        return 0.0;
    double f = (double)(now - row->t_closed) / (double)SMT_MODEL_FADE_MS;
    return f > 1.0 ? 1.0 : f;
}

const char *smt_row_state_name(const smt_row *row)
{
    switch (row->state) {
    case SM_REMOTE_ACTIVE: return "ACTIVE";
    case SM_REMOTE_DISCONNECTED: return "DISCONNECTED";
    case SM_REMOTE_CLOSED: return "CLOSED";
    default: return "?";
    }
}
