/* The group-by pane: live counts of open sessions per value of one key, with share and the last
 * minute's opens and closes per value; Enter drills down into the table.
 *
 * Why incremental: at 100,000 rows a recount per frame costs more than the whole 5 ms paint
 * budget. The pane remembers which value it counted each session under (an ID -> value map) and
 * moves one count per event; a frame only sorts the values (a handful, usually) when they changed. */
#include "tui/pane_group.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tui/listnav.h"
#include "tui/pane.h"
#include "tui/screen.h"
#include "tui/text.h"

#define RESORT_LARGE_MS 1000 /* above this many values, re-sort at most once a second */
#define LARGE_GROUPS 2000

/* ---- a pointer -> value map (open addressing, linear probing, backward-shift deletion) ---- */

typedef struct pmap_slot {
    const void *key; /* NULL = empty */
    uintptr_t val;
} pmap_slot;

typedef struct pmap {
    pmap_slot *slots;
    size_t cap, len; /* cap: power of two */
} pmap;

static size_t pmap_hash(const void *k, size_t cap)
{
    uint64_t x = (uint64_t)(uintptr_t)k;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return (size_t)x & (cap - 1);
}

static pmap_slot *pmap_find(const pmap *m, const void *k)
{
    if (!m->cap)
        return NULL;
    for (size_t i = pmap_hash(k, m->cap);; i = (i + 1) & (m->cap - 1)) {
        if (!m->slots[i].key)
            return NULL;
        if (m->slots[i].key == k)
            return &m->slots[i];
    }
}

static bool pmap_grow(pmap *m)
{
    size_t ncap = m->cap ? m->cap * 2 : 64;
    pmap_slot *ns = calloc(ncap, sizeof *ns);
    if (!ns)
        return false;
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->slots[i].key)
            continue;
        size_t j = pmap_hash(m->slots[i].key, ncap);
        while (ns[j].key)
            j = (j + 1) & (ncap - 1);
        ns[j] = m->slots[i];
    }
    free(m->slots);
    m->slots = ns;
    m->cap = ncap;
    return true;
}

/* Inserts or overwrites; false on out of memory. */
static bool pmap_put(pmap *m, const void *k, uintptr_t v)
{
    pmap_slot *s = pmap_find(m, k);
    if (s) {
        s->val = v;
        return true;
    }
    if ((m->len + 1) * 4 > m->cap * 3 && !pmap_grow(m))
        return false;
    size_t i = pmap_hash(k, m->cap);
    while (m->slots[i].key)
        i = (i + 1) & (m->cap - 1);
    m->slots[i].key = k;
    m->slots[i].val = v;
    m->len++;
    return true;
}

static void pmap_del(pmap *m, pmap_slot *s)
{
    size_t i = (size_t)(s - m->slots);
    m->slots[i].key = NULL;
    m->len--;
    for (size_t j = (i + 1) & (m->cap - 1); m->slots[j].key; j = (j + 1) & (m->cap - 1)) {
        size_t home = pmap_hash(m->slots[j].key, m->cap);
        /* move j back into the hole when its home is not in (i, j] (cyclically) */
        bool between = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!between) {
            m->slots[i] = m->slots[j];
            m->slots[j].key = NULL;
            i = j;
        }
    }
}

static void pmap_clear(pmap *m)
{
    free(m->slots);
    memset(m, 0, sizeof *m);
}

/* ---- the pane ---- */

typedef struct group {
    const char *value; /* interned (a reference held), or one of the pane's sentinels */
    size_t count;
    int64_t last_slot; /* the newest slot the tallies hold */
    uint16_t opens[SMT_GROUP_WINDOW_SLOTS], closes[SMT_GROUP_WINDOW_SLOTS];
} group;

struct smt_group_pane {
    smt_app *app;
    char key[SM_KEY_MAX + 2]; /* SMT_COL_STATE for the state */
    bool is_state;
    const char *state_names[4]; /* interned names of the states, when grouping by state */

    pmap rows;   /* interned session ID (a reference held) -> the value it is counted under */
    pmap values; /* value -> index in groups */
    group *groups;
    size_t ngroups, capgroups;
    size_t total; /* open sessions counted */

    size_t *order; /* indices into groups, in display order */
    size_t norder, caporder;
    bool changed;          /* counts changed since the last sort */
    uint64_t sorted_at;
    bool by_value, reversed;

    smt_list nav;
    const char *cursor_value; /* the value under the cursor, kept across re-sorts (not a reference) */
    bool has_cursor_value;
    int rows_shown;
};

/* Sentinels: addresses that can never be interned strings. */
static const char none_value[] = "(none)";
static const char other_value[] = "(other values)";

static sm_intern *pool_of(const smt_group_pane *p)
{
    return smt_model_pool(p->app->model);
}

static bool is_sentinel(const char *v)
{
    return v == none_value || v == other_value;
}

static int64_t slot_now(const smt_group_pane *p)
{
    return (int64_t)(p->app->now / SMT_GROUP_SLOT_MS);
}

static void tally_roll(group *g, int64_t slot)
{
    if (slot <= g->last_slot)
        return;
    int64_t gap = slot - g->last_slot;
    for (int64_t i = 1; i <= gap && i <= (int64_t)SMT_GROUP_WINDOW_SLOTS; i++) {
        size_t k = (size_t)((g->last_slot + i) % SMT_GROUP_WINDOW_SLOTS);
        g->opens[k] = 0;
        g->closes[k] = 0;
    }
    g->last_slot = slot;
}

static void tally(group *g, int64_t slot, bool open)
{
    tally_roll(g, slot);
    uint16_t *c = open ? &g->opens[slot % SMT_GROUP_WINDOW_SLOTS] : &g->closes[slot % SMT_GROUP_WINDOW_SLOTS];
    if (*c < UINT16_MAX)
        (*c)++;
}

static void tally_sum(const group *g, int64_t slot, unsigned *opens, unsigned *closes)
{
    unsigned o = 0, c = 0;
    for (size_t k = 0; k < SMT_GROUP_WINDOW_SLOTS; k++) {
        /* the slot bucket k holds, counted back from the group's newest */
        int64_t s = g->last_slot - (int64_t)((g->last_slot - (int64_t)k) % SMT_GROUP_WINDOW_SLOTS);
        if (s > slot - (int64_t)SMT_GROUP_WINDOW_SLOTS && s <= slot) {
            o += g->opens[k];
            c += g->closes[k];
        }
    }
    if (opens)
        *opens = o;
    if (closes)
        *closes = c;
}

static group *group_for(smt_group_pane *p, const char *v)
{
    pmap_slot *s = pmap_find(&p->values, v);
    if (s)
        return &p->groups[s->val];
    if (p->ngroups >= SMT_GROUP_MAX_VALUES && v != other_value)
        return group_for(p, other_value);
    if (p->ngroups == p->capgroups) {
        size_t ncap = p->capgroups ? p->capgroups * 2 : 32;
        group *ng = realloc(p->groups, ncap * sizeof *ng);
        if (!ng)
            return NULL;
        p->groups = ng;
        p->capgroups = ncap;
    }
    if (!pmap_put(&p->values, v, p->ngroups))
        return NULL;
    group *g = &p->groups[p->ngroups++];
    memset(g, 0, sizeof *g);
    g->value = is_sentinel(v) ? v : sm_intern_ref(v);
    g->last_slot = slot_now(p);
    p->changed = true;
    return g;
}

/* The value a row is counted under, or NULL when it is not counted (closed, gone). */
static const char *row_value(const smt_group_pane *p, const smt_row *r)
{
    if (!r || r->dead || r->state == SM_REMOTE_CLOSED || !p->key[0])
        return NULL;
    if (p->is_state) {
        unsigned st = (unsigned)r->state;
        return st < 4 && p->state_names[st] ? p->state_names[st] : none_value;
    }
    const char *v = smt_row_get(r, p->key);
    return v ? v : none_value;
}

static void count_row(smt_group_pane *p, const char *id, const char *v, int64_t slot, smt_event_kind kind,
                      bool live)
{
    pmap_slot *s = pmap_find(&p->rows, id);
    const char *old = s ? (const char *)s->val : NULL;
    if (old) {
        group *g = group_for(p, old);
        if (old != v && g) {
            g->count--;
            p->total--;
            p->changed = true;
        }
        if (live && kind == SMT_EVENT_CLOSED && g)
            tally(g, slot, false);
    }
    if (v) {
        group *g = group_for(p, v);
        if (!g)
            return; /* out of memory: this row stays uncounted */
        if (old != v) {
            if (!pmap_put(&p->rows, old ? id : sm_intern_ref(id), (uintptr_t)v)) {
                sm_intern_unref(pool_of(p), id);
                return;
            }
            g->count++;
            p->total++;
            p->changed = true;
        }
        if (live && kind == SMT_EVENT_OPEN)
            tally(g, slot, true);
    } else if (s) {
        pmap_del(&p->rows, s);
        sm_intern_unref(pool_of(p), id);
    }
}

static void forget_all(smt_group_pane *p)
{
    sm_intern *pool = pool_of(p);
    for (size_t i = 0; i < p->rows.cap; i++)
        if (p->rows.slots[i].key)
            sm_intern_unref(pool, p->rows.slots[i].key);
    pmap_clear(&p->rows);
    pmap_clear(&p->values);
    for (size_t i = 0; i < p->ngroups; i++)
        if (!is_sentinel(p->groups[i].value))
            sm_intern_unref(pool, p->groups[i].value);
    p->ngroups = 0;
    p->total = 0;
    p->norder = 0;
    p->changed = true;
}

static void recount_row(smt_row *r, void *ctx)
{
    smt_group_pane *p = ctx;
    const char *v = row_value(p, r);
    if (v)
        count_row(p, r->id, v, 0, SMT_EVENT_PROPERTIES, false);
}

static void recount(smt_group_pane *p)
{
    forget_all(p);
    if (p->key[0])
        smt_model_foreach(p->app->model, recount_row, p);
}

static void group_event(void *state, const smt_event *ev)
{
    smt_group_pane *p = state;
    if (!p->key[0])
        return;
    if (!ev) {
        recount(p);
        return;
    }
    if (!ev->session.session_id)
        return;
    sm_intern *pool = pool_of(p);
    const char *id = sm_intern_cstr(pool, ev->session.session_id);
    if (!id)
        return;
    smt_row *r = smt_model_find(p->app->model, id);
    count_row(p, id, row_value(p, r), slot_now(p), ev->kind, !ev->session.snapshot);
    sm_intern_unref(pool, id);
}

/* Drops values nobody has any more and that saw nothing in the last minute. */
static void prune(smt_group_pane *p)
{
    int64_t slot = slot_now(p);
    for (size_t i = 0; i < p->ngroups;) {
        group *g = &p->groups[i];
        unsigned o = 0, c = 0;
        if (!g->count && g->last_slot > slot - (int64_t)SMT_GROUP_WINDOW_SLOTS)
            tally_sum(g, slot, &o, &c); /* only values nobody has may go, once their minute is quiet */
        if (g->count || o || c) {
            i++;
            continue;
        }
        pmap_slot *s = pmap_find(&p->values, g->value);
        if (s)
            pmap_del(&p->values, s);
        if (!is_sentinel(g->value))
            sm_intern_unref(pool_of(p), g->value);
        p->ngroups--;
        if (i != p->ngroups) {
            p->groups[i] = p->groups[p->ngroups];
            pmap_slot *m = pmap_find(&p->values, p->groups[i].value);
            if (m)
                m->val = i;
        }
        p->changed = true;
    }
}

static const smt_group_pane *sort_pane; /* qsort has no context argument; the monitor is single-threaded */

static int value_cmp(const char *a, const char *b)
{
    if (a == b)
        return 0;
    if (is_sentinel(a) != is_sentinel(b))
        return is_sentinel(a) ? 1 : -1; /* (none) and (other values) after the real values */
    return strcmp(a, b);
}

static int order_cmp(const void *x, const void *y)
{
    const group *a = &sort_pane->groups[*(const size_t *)x], *b = &sort_pane->groups[*(const size_t *)y];
    int c;
    if (sort_pane->by_value) {
        c = value_cmp(a->value, b->value);
    } else {
        c = a->count < b->count ? 1 : a->count > b->count ? -1 : 0;
        if (c == 0)
            c = value_cmp(a->value, b->value);
    }
    return sort_pane->reversed ? -c : c;
}

/* For many values: a compact sort key (count, the value's first 8 bytes) so that most comparisons
 * never touch the strings, which are scattered in memory. */
typedef struct okey {
    size_t count;
    uint64_t prefix; /* first 8 bytes, big-endian: compares like strcmp on them */
    uint32_t idx;
    uint8_t sentinel;
} okey;

static int okey_cmp(const void *x, const void *y)
{
    const okey *a = x, *b = y;
    int c = 0;
    if (!sort_pane->by_value && a->count != b->count)
        c = a->count < b->count ? 1 : -1;
    else if (a->sentinel != b->sentinel)
        c = a->sentinel ? 1 : -1;
    else if (a->prefix != b->prefix)
        c = a->prefix < b->prefix ? -1 : 1;
    else if (a->idx != b->idx)
        c = value_cmp(sort_pane->groups[a->idx].value, sort_pane->groups[b->idx].value);
    return sort_pane->reversed ? -c : c;
}

static void okey_swap(okey *a, size_t i, size_t j)
{
    okey t = a[i];
    a[i] = a[j];
    a[j] = t;
}

/* Rearranges a[0..n) so that a[k] is what a full sort would put there, with nothing after it
 * before it and nothing before it after it (quickselect, median of three): O(n). */
static void select_nth(okey *a, size_t n, size_t k)
{
    size_t lo = 0, hi = n; /* the part still holding position k: [lo, hi) */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2, last = hi - 1;
        if (okey_cmp(&a[mid], &a[lo]) < 0)
            okey_swap(a, mid, lo);
        if (okey_cmp(&a[last], &a[lo]) < 0)
            okey_swap(a, last, lo);
        if (okey_cmp(&a[last], &a[mid]) < 0)
            okey_swap(a, last, mid);
        okey_swap(a, mid, last); /* the median as the pivot, at the end */
        size_t store = lo;
        for (size_t i = lo; i < last; i++)
            if (okey_cmp(&a[i], &a[last]) < 0)
                okey_swap(a, i, store++);
        okey_swap(a, store, last);
        if (store == k)
            return;
        if (k < store)
            hi = store;
        else
            lo = store + 1;
    }
}

/* Orders the lines [from, to) of p->order among all values. */
static void order_window(smt_group_pane *p, size_t from, size_t to)
{
    okey *keys = malloc(p->ngroups * sizeof *keys);
    if (!keys) {
        qsort(p->order, p->norder, sizeof *p->order, order_cmp);
        return;
    }
    for (size_t i = 0; i < p->ngroups; i++) {
        const char *v = p->groups[i].value;
        uint64_t prefix = 0;
        for (int b = 0; b < 8; b++) {
            prefix = prefix << 8 | (unsigned char)*v;
            if (*v)
                v++;
        }
        keys[i] = (okey){p->groups[i].count, prefix, (uint32_t)i, (uint8_t)is_sentinel(p->groups[i].value)};
    }
    select_nth(keys, p->ngroups, from);
    if (to > from + 1) {
        select_nth(keys + from + 1, p->ngroups - from - 1, to - from - 2);
        qsort(keys + from + 1, to - from - 1, sizeof *keys, okey_cmp);
    }
    for (size_t i = 0; i < p->ngroups; i++)
        p->order[i] = keys[i].idx;
    free(keys);
}

/* The display order. Up to LARGE_GROUPS values: a full sort, and the cursor follows its value.
 * Above: only the lines on screen are put in order (two selections and a small sort, O(n)
 * instead of O(n log n)), so a key with a value per session still paints in a few ms. */
static void resort(smt_group_pane *p, bool force)
{
    uint64_t now = p->app->now;
    if (!force && !p->changed)
        return;
    bool large = p->ngroups > LARGE_GROUPS;
    if (!force && large && now - p->sorted_at < RESORT_LARGE_MS)
        return;
    prune(p);
    if (p->caporder < p->ngroups) {
        size_t *no = realloc(p->order, p->ngroups * sizeof *no);
        if (!no)
            return;
        p->order = no;
        p->caporder = p->ngroups;
    }
    for (size_t i = 0; i < p->ngroups; i++)
        p->order[i] = i;
    p->norder = p->ngroups;
    smt_list_resize(&p->nav, p->norder, p->rows_shown > 0 ? p->rows_shown : 1);
    sort_pane = p;
    if (p->norder > LARGE_GROUPS) {
        size_t from = p->nav.top, to = p->nav.top + (size_t)p->rows_shown;
        order_window(p, from, to > p->norder ? p->norder : to);
    } else if (p->norder > 1) {
        qsort(p->order, p->norder, sizeof *p->order, order_cmp);
    }
    sort_pane = NULL;
    p->changed = false;
    p->sorted_at = now;
    if (p->has_cursor_value && p->norder <= LARGE_GROUPS) /* the cursor follows its value, not its line */
        for (size_t i = 0; i < p->norder; i++)
            if (p->groups[p->order[i]].value == p->cursor_value) {
                smt_list_select(&p->nav, i);
                break;
            }
}

static const group *group_at_cursor(const smt_group_pane *p)
{
    return p->nav.cursor < p->norder && p->order[p->nav.cursor] < p->ngroups ? &p->groups[p->order[p->nav.cursor]]
                                                                              : NULL;
}

static void remember_cursor(smt_group_pane *p)
{
    const group *g = group_at_cursor(p);
    p->has_cursor_value = g != NULL;
    p->cursor_value = g ? g->value : NULL;
}

/* ---- API ---- */

bool smt_group_set_key(smt_group_pane *p, const char *key, char *err, size_t errcap)
{
    if (!key || !*key || strlen(key) > SM_KEY_MAX) {
        smt_text_printf(err, errcap, "group by what? give a key such as $Country or $State");
        return false;
    }
    for (const char *c = key; *c; c++)
        if ((unsigned char)*c <= ' ' || *c == '\'' || *c == '"') {
            smt_text_printf(err, errcap, "not a key: spaces and quotes cannot occur in keys");
            return false;
        }
    forget_all(p);
    sm_intern *pool = pool_of(p);
    for (int i = 0; i < 4; i++) {
        sm_intern_unref(pool, p->state_names[i]);
        p->state_names[i] = NULL;
    }
    p->is_state = strcmp(key, "$State") == 0 || strcmp(key, SMT_COL_STATE) == 0;
    smt_text_printf(p->key, sizeof p->key, "%s", p->is_state ? SMT_COL_STATE : key);
    if (p->is_state) {
        p->state_names[SM_REMOTE_ACTIVE] = sm_intern_cstr(pool, "ACTIVE");
        p->state_names[SM_REMOTE_DISCONNECTED] = sm_intern_cstr(pool, "DISCONNECTED");
    }
    p->has_cursor_value = false;
    smt_list_select(&p->nav, 0);
    recount(p);
    resort(p, true);
    smt_list_select(&p->nav, 0);
    p->app->dirty = true;
    return true;
}

const char *smt_group_key(const smt_group_pane *p)
{
    return p->is_state ? "$State" : p->key;
}

void smt_group_set_order(smt_group_pane *p, bool by_value, bool reversed)
{
    p->by_value = by_value;
    p->reversed = reversed;
    resort(p, true);
}

size_t smt_group_count_of(smt_group_pane *p, const char *value, unsigned *opens, unsigned *closes)
{
    if (opens)
        *opens = 0;
    if (closes)
        *closes = 0;
    for (size_t i = 0; i < p->ngroups; i++) {
        const group *g = &p->groups[i];
        if (value ? (!is_sentinel(g->value) && strcmp(g->value, value) == 0) : g->value == none_value) {
            tally_sum(g, slot_now(p), opens, closes);
            return g->count;
        }
    }
    return 0;
}

size_t smt_group_values(smt_group_pane *p)
{
    resort(p, true);
    return p->norder;
}

/* value quoted for the filter language: single quotes, backslash before ' and \ */
static void quote_value(const char *v, char *out, size_t cap)
{
    size_t n = 0;
    if (cap < 3)
        return;
    out[n++] = '\'';
    for (; *v && n + 3 < cap; v++) {
        if (*v == '\'' || *v == '\\')
            out[n++] = '\\';
        out[n++] = *v;
    }
    out[n++] = '\'';
    out[n] = '\0';
}

bool smt_group_drill_filter(smt_group_pane *p, char *out, size_t cap)
{
    resort(p, false);
    const group *g = group_at_cursor(p);
    if (!g || g->value == other_value)
        return false;
    const char *key = smt_group_key(p);
    if (g->value == none_value) {
        smt_text_printf(out, cap, "not has %s", key);
        return true;
    }
    char q[SM_FILTER_MAX];
    quote_value(g->value, q, sizeof q);
    return smt_text_printf(out, cap, "%s is %s", key, q) < cap;
}

/* ---- drawing and keys ---- */

static void draw_value(int y, int x, int w, const char *v, smt_role role)
{
    char esc[256];
    if (is_sentinel(v) || !*v) { /* an empty value is a value: shown as '' */
        smt_screen_str(y, x, w, *v ? v : "''", role);
        return;
    }
    smt_text_escape(v, strlen(v), esc, sizeof esc);
    smt_screen_str(y, x, w, esc, role);
}

static void group_draw(void *state, int y, int h)
{
    smt_group_pane *p = state;
    smt_app *app = p->app;
    int w = app->screen_cols;
    int rows = h - 2;
    p->rows_shown = rows > 0 ? rows : 1;
    smt_list_resize(&p->nav, p->norder, p->rows_shown);
    resort(p, false);
    char buf[320];
    smt_text_printf(buf, sizeof buf, " Group by %s: %zu value%s, %zu open session%s  (sorted by %s%s; Tab key, s sort, "
                                     "r reverse, Enter drill down, Esc close)",
                   smt_group_key(p), p->norder, p->norder == 1 ? "" : "s", p->total, p->total == 1 ? "" : "s",
                   p->by_value ? "value" : "count", p->reversed ? ", reversed" : "");
    smt_screen_str(y, 0, w, buf, SMT_ROLE_PANE_TITLE);
    if (h < 2)
        return;
    /* The bar takes what the other columns leave beyond a fair value column (about half of a
     * wide screen): at 20 cells a 12 % share was 2 cells next to 90 empty columns. */
    int num_w = 10, share_w = 8, oc_w = 11;
    int bar_w = w >= 100 ? (w - num_w - share_w - 2 * oc_w - 2) / 2 : 0;
    if (bar_w > 60)
        bar_w = 60;
    int val_w = w - num_w - share_w - bar_w - 2 * oc_w - 2;
    if (val_w < 12)
        val_w = 12;
    smt_screen_fill(y + 1, 0, w, SMT_ROLE_TABLE_HEADER);
    int x = 1;
    smt_screen_str(y + 1, x, val_w, "Value", SMT_ROLE_TABLE_HEADER);
    x += val_w;
    smt_screen_str(y + 1, x, num_w, "     Count", SMT_ROLE_TABLE_HEADER);
    x += num_w;
    smt_screen_str(y + 1, x, share_w, "   Share", SMT_ROLE_TABLE_HEADER);
    x += share_w + 1;
    x += bar_w;
    smt_screen_str(y + 1, x, oc_w, " Opened/1m", SMT_ROLE_TABLE_HEADER);
    x += oc_w;
    smt_screen_str(y + 1, x, oc_w, " Closed/1m", SMT_ROLE_TABLE_HEADER);
    int64_t slot = slot_now(p);
    bool utf8 = smt_screen_utf8();
    for (int i = 0; i < rows; i++) {
        int ly = y + 2 + i;
        size_t idx = p->nav.top + (size_t)i;
        if (idx >= p->norder) {
            smt_screen_fill(ly, 0, w, SMT_ROLE_PANE);
            continue;
        }
        const group *g = &p->groups[p->order[idx]];
        smt_role role = idx == p->nav.cursor ? SMT_ROLE_ROW_SELECTED : SMT_ROLE_PANE;
        smt_screen_fill(ly, 0, w, role);
        x = 1;
        draw_value(ly, x, val_w - 1, g->value, role);
        x += val_w;
        smt_text_printf(buf, sizeof buf, "%10zu", g->count);
        smt_screen_str(ly, x, num_w, buf, role);
        x += num_w;
        double share = p->total ? 100.0 * (double)g->count / (double)p->total : 0;
        smt_text_printf(buf, sizeof buf, "%7.1f%%", share);
        smt_screen_str(ly, x, share_w, buf, role);
        x += share_w + 1;
        if (bar_w) {
            int cells = (int)(share / 100.0 * (bar_w - 1) + 0.5);
            size_t n = 0;
            for (int c = 0; c < cells && n + 4 < sizeof buf; c++) {
                const char *b = utf8 ? "\u2588" : "#";
                memcpy(buf + n, b, strlen(b));
                n += strlen(b);
            }
            buf[n] = '\0';
            smt_screen_str(ly, x, bar_w, buf, role);
            x += bar_w;
        }
        unsigned o, c;
        tally_sum(g, slot, &o, &c);
        smt_text_printf(buf, sizeof buf, "%10u ", o);
        smt_screen_str(ly, x, oc_w, buf, role);
        x += oc_w;
        smt_text_printf(buf, sizeof buf, "%10u ", c);
        smt_screen_str(ly, x, oc_w, buf, role);
    }
}

/* The keys Tab walks through: the state, then every key seen, in first-seen order. */
static void cycle_key(smt_group_pane *p, int dir)
{
    size_t nkeys = smt_model_key_count(p->app->model);
    long total = (long)nkeys + 1, cur = -1;
    if (p->is_state)
        cur = 0;
    for (size_t i = 0; i < nkeys && cur < 0; i++)
        if (strcmp(smt_model_key_at(p->app->model, i)->key, p->key) == 0)
            cur = (long)i + 1;
    long next = cur < 0 ? 0 : ((cur + dir) % total + total) % total;
    const char *k = next == 0 ? "$State" : smt_model_key_at(p->app->model, (size_t)next - 1)->key;
    char err[128];
    if (!smt_group_set_key(p, k, err, sizeof err))
        smt_ui_message(p->app, SMT_LOGL_WARN, "%s", err);
}

static smt_handled group_action(void *state, smt_action a)
{
    smt_group_pane *p = state;
    smt_app *app = p->app;
    resort(p, false);
    smt_list_resize(&p->nav, p->norder, p->rows_shown);
    if (smt_list_action(&p->nav, a)) {
        if (p->norder > LARGE_GROUPS)
            resort(p, true); /* only the lines shown were in order */
        remember_cursor(p);
        return SMT_HANDLED;
    }
    switch (a) {
    case SMT_ACT_GROUP_KEY_NEXT: cycle_key(p, 1); return SMT_HANDLED;
    case SMT_ACT_GROUP_KEY_PREV: cycle_key(p, -1); return SMT_HANDLED;
    case SMT_ACT_GROUP_SORT:
        smt_group_set_order(p, !p->by_value, false);
        return SMT_HANDLED;
    case SMT_ACT_GROUP_REVERSE:
        smt_group_set_order(p, p->by_value, !p->reversed);
        return SMT_HANDLED;
    case SMT_ACT_GROUP_DRILL: {
        char f[SM_FILTER_MAX + 1];
        if (!smt_group_drill_filter(p, f, sizeof f)) {
            smt_ui_message(app, SMT_LOGL_WARN, "nothing to drill into here");
            return SMT_HANDLED;
        }
        sm_error err;
        sm_error_clear(&err);
        if (smt_view_set_filter(app->view, f, &err) != SM_OK) {
            smt_ui_message(app, SMT_LOGL_ERROR, "%s", err.message);
            return SMT_HANDLED;
        }
        smt_ui_message(app, SMT_LOGL_INFO, "filter: %s (f edits it; a goes back to the counts)", f);
        return SMT_CLOSE;
    }
    default: return SMT_UNHANDLED;
    }
}

static bool group_click(void *state, int row, int x)
{
    (void)x;
    smt_group_pane *p = state;
    size_t item;
    if (row < 2 || !smt_list_item_at_row(&p->nav, row - 2, &item))
        return false;
    smt_list_select(&p->nav, item);
    remember_cursor(p);
    return true;
}

static bool group_open(void *state)
{
    smt_group_pane *p = state;
    if (!p->key[0]) { /* first time: the country when the sessions have one, else the state */
        bool country = false;
        for (size_t i = 0; i < smt_model_key_count(p->app->model); i++)
            if (strcmp(smt_model_key_at(p->app->model, i)->key, SM_PROP_COUNTRY) == 0)
                country = true;
        char err[128];
        smt_group_set_key(p, country ? SM_PROP_COUNTRY : "$State", err, sizeof err);
    }
    resort(p, true);
    return true;
}

static int64_t group_tick(void *state, bool shown)
{
    smt_group_pane *p = state;
    if (!shown)
        return -1;
    /* the last minute's figures move with the clock even when no event arrives */
    uint64_t into = p->app->now % SMT_GROUP_SLOT_MS;
    if (into < 50)
        p->app->dirty = true;
    return (int64_t)(SMT_GROUP_SLOT_MS - into);
}

static void *group_create(smt_app *app)
{
    smt_group_pane *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->app = app;
    smt_list_init(&p->nav, false);
    p->rows_shown = 1;
    return p;
}

static void group_destroy(void *state)
{
    smt_group_pane *p = state;
    if (!p)
        return;
    forget_all(p);
    for (int i = 0; i < 4; i++)
        sm_intern_unref(pool_of(p), p->state_names[i]);
    free(p->groups);
    free(p->order);
    free(p);
}

const smt_pane_ops smt_pane_group = {
    .name = "group",
    .ctx = SMT_CTX_GROUP,
    .layout = SMT_LAYOUT_SPLIT,
    .open_action = SMT_ACT_GROUP,
    .toggles = true,
    .hint = " Up/Down value  Tab/Left/Right key  s count/value  r reverse  Enter drill down  Esc close",
    .create = group_create,
    .destroy = group_destroy,
    .open = group_open,
    .draw = group_draw,
    .action = group_action,
    .click = group_click,
    .tick = group_tick,
    .event = group_event,
};
