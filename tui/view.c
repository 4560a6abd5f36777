/* A sorted, filtered index over the model (order-statistic treap) with rank and select. */
#include "tui/view.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tui/text.h"

enum { KIND_NUMBER = 0, KIND_TEXT = 1, KIND_ABSENT = 2 };

#define ID_PREFIX 24

typedef struct vnode {
    struct vnode *l, *r;
    smt_row *row;
    /* The first bytes of the row's ID, zero-padded: ties of the sort key (most rows when the key
     * has few values) are broken here without chasing row->id, a cache miss per tree level. */
    char id_prefix[ID_PREFIX];
    const char *skey; /* interned sort value (a held reference), NULL for numbers from state */
    double num;
    uint32_t prio;
    uint32_t size;
    uint8_t kind;
    bool closing; /* the row was CLOSED when the view last looked (counted in nclosing) */
} vnode;

struct smt_view {
    smt_model *m;
    vnode *root;
    char *sort_key;
    bool sort_state; /* sort_key is SMT_COL_STATE */
    bool sort_age;   /* sort_key is SMT_COL_AGE: $StartTime, the other way round */
    bool desc;
    sm_filter *filter;
    char *search;
    size_t search_len;
    char *search_keys[SMT_VIEW_SEARCH_COLUMNS]; /* the columns on screen (owned) */
    size_t nsearch_keys;
    smt_cell_text_fn cell;
    bool paused;
    bool need_rebuild;
    bool auto_resumed;
    uint32_t rng;
    size_t nclosing; /* nodes of closed sessions still fading out */
};

static uint32_t next_prio(smt_view *v)
{
    uint32_t x = v->rng; /* xorshift32: deterministic, so tests see the same trees */
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    v->rng = x;
    return x;
}

/* Plain decimal numbers only: hex, inf and nan stay text so "NaN" sorts as the word it is. */
static bool parse_number(const char *s, double *out)
{
    const char *p = s;
    if (*p == '-' || *p == '+')
        p++;
    bool digits = false;
    while (*p >= '0' && *p <= '9') {
        p++;
        digits = true;
    }
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9') {
            p++;
            digits = true;
        }
    }
    if (!digits)
        return false;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '-' || *p == '+')
            p++;
        if (!(*p >= '0' && *p <= '9'))
            return false;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if (*p != '\0')
        return false;
    double d = strtod(s, NULL);
    if (!isfinite(d))
        return false;
    *out = d;
    return true;
}

static int state_order(sm_remote_state s)
{
    switch (s) {
    case SM_REMOTE_ACTIVE: return 1;
    case SM_REMOTE_DISCONNECTED: return 2;
    case SM_REMOTE_CLOSED: return 3;
    default: return 4;
    }
}

/* Computes the sort fields for row into the out-parameters (no reference taken). */
static void sort_fields(const smt_view *v, const smt_row *row, uint8_t *kind, const char **skey, double *num)
{
    *skey = NULL;
    *num = 0;
    if (v->sort_state) {
        *kind = KIND_NUMBER;
        *num = state_order(row->state);
        return;
    }
    const char *val = smt_row_get(row, v->sort_age ? SM_PROP_START_TIME : v->sort_key);
    if (!val) {
        *kind = KIND_ABSENT;
        return;
    }
    *skey = val;
    *kind = parse_number(val, num) ? KIND_NUMBER : KIND_TEXT;
    if (v->sort_age && *kind == KIND_NUMBER)
        *num = -*num; /* a later start is a smaller age */
}

static int cmp(const smt_view *v, const vnode *a, const vnode *b)
{
    int c;
    if (a->kind != b->kind) {
        c = (int)a->kind - (int)b->kind;
    } else if (a->kind == KIND_NUMBER) {
        c = (a->num > b->num) - (a->num < b->num);
    } else if (a->kind == KIND_TEXT) {
        c = a->skey == b->skey ? 0 : strcmp(a->skey, b->skey);
    } else {
        c = 0;
    }
    if (v->desc && a->kind != KIND_ABSENT && b->kind != KIND_ABSENT)
        c = -c;
    if (c)
        return c;
    /* zero-padded prefixes order like strcmp (NUL sorts first); equal ones need the whole ID */
    c = memcmp(a->id_prefix, b->id_prefix, ID_PREFIX);
    if (c == 0 && a->row->id != b->row->id)
        c = strcmp(a->row->id, b->row->id);
    if (c)
        return c;
    /* a closing row and a new one may briefly share an ID */
    return (a->row > b->row) - (a->row < b->row);
}

static uint32_t sz(const vnode *t)
{
    return t ? t->size : 0;
}

static void upd(vnode *t)
{
    t->size = 1 + sz(t->l) + sz(t->r);
}

/* l gets the nodes ordered before k, r the others. */
static void split(const smt_view *v, vnode *t, const vnode *k, vnode **l, vnode **r)
{
    if (!t) {
        *l = *r = NULL;
        return;
    }
    if (cmp(v, t, k) < 0) {
        split(v, t->r, k, &t->r, r);
        *l = t;
    } else {
        split(v, t->l, k, l, &t->l);
        *r = t;
    }
    upd(t);
}

static vnode *merge(vnode *a, vnode *b)
{
    if (!a)
        return b;
    if (!b)
        return a;
    if (a->prio > b->prio) {
        a->r = merge(a->r, b);
        upd(a);
        return a;
    }
    b->l = merge(a, b->l);
    upd(b);
    return b;
}

static vnode *insert(const smt_view *v, vnode *t, vnode *n)
{
    if (!t)
        return n;
    if (n->prio > t->prio) {
        split(v, t, n, &n->l, &n->r);
        upd(n);
        return n;
    }
    if (cmp(v, n, t) < 0)
        t->l = insert(v, t->l, n);
    else
        t->r = insert(v, t->r, n);
    upd(t);
    return t;
}

static vnode *erase(const smt_view *v, vnode *t, const vnode *n)
{
    if (!t)
        return NULL;
    if (t == n)
        return merge(t->l, t->r);
    if (cmp(v, n, t) < 0)
        t->l = erase(v, t->l, n);
    else
        t->r = erase(v, t->r, n);
    upd(t);
    return t;
}

static bool row_closing(const smt_row *row)
{
    return row->dead || row->state == SM_REMOTE_CLOSED;
}

static void node_set_closing(smt_view *v, vnode *n, bool closing)
{
    if (n->closing == closing)
        return;
    n->closing = closing;
    if (closing)
        v->nclosing++;
    else if (v->nclosing > 0)
        v->nclosing--;
}

static void node_free(smt_view *v, vnode *n)
{
    node_set_closing(v, n, false);
    sm_intern_unref(smt_model_pool(v->m), n->skey);
    n->row->vnode = NULL;
    free(n);
}

static void tree_free(smt_view *v, vnode *t)
{
    while (t) {
        tree_free(v, t->l);
        vnode *r = t->r;
        node_free(v, t);
        t = r;
    }
}

static void node_set_key(smt_view *v, vnode *n)
{
    uint8_t kind;
    const char *skey;
    double num;
    sort_fields(v, n->row, &kind, &skey, &num);
    sm_intern_unref(smt_model_pool(v->m), n->skey);
    n->kind = kind;
    n->skey = sm_intern_ref(skey);
    n->num = num;
}

static vnode *node_new(smt_view *v, smt_row *row)
{
    vnode *n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    n->row = row;
    size_t idlen = strlen(row->id); /* calloc left the rest zero: the padding */
    memcpy(n->id_prefix, row->id, idlen < ID_PREFIX ? idlen : ID_PREFIX);
    n->size = 1;
    n->prio = next_prio(v);
    node_set_key(v, n);
    node_set_closing(v, n, row_closing(row));
    row->vnode = n;
    return n;
}

static const char *row_lookup(void *ctx, const char *key)
{
    if (key[0] == '$' && strcmp(key, SMT_PSEUDO_STATE) == 0) /* monitor-only, see model.h */
        return smt_row_state_name(ctx);
    return smt_row_get(ctx, key);
}

bool smt_row_matches_filter(const sm_filter *f, const smt_row *row)
{
    return !f || sm_filter_eval(f, row_lookup, (void *)row);
}

bool smt_row_matches_search(const smt_row *row, const char *text, size_t len)
{
    if (len == 0)
        return true;
    if (smt_text_contains_ci(row->id, sm_intern_len(row->id), text, len))
        return true;
    for (uint32_t i = 0; i < row->nprops; i++)
        if (smt_text_contains_ci(row->props[i].value, sm_intern_len(row->props[i].value), text, len))
            return true;
    return false;
}

/* The search over what the operator sees: the text each column on screen displays. */
static bool search_matches(const smt_view *v, const smt_row *row)
{
    if (v->search_len == 0)
        return true;
    if (v->nsearch_keys == 0 || !v->cell)
        return smt_row_matches_search(row, v->search, v->search_len);
    if (smt_text_contains_ci(row->id, sm_intern_len(row->id), v->search, v->search_len))
        return true;
    char buf[96];
    for (size_t i = 0; i < v->nsearch_keys; i++) {
        const char *key = v->search_keys[i];
        /* most cells show the value as it is: the interned value (and its length) will do; only
         * virtual columns and $StartTime are drawn differently */
        if (key[0] != '(' && strcmp(key, SM_PROP_START_TIME) != 0) {
            const char *raw = smt_row_get(row, key);
            if (raw && smt_text_contains_ci(raw, sm_intern_len(raw), v->search, v->search_len))
                return true;
            continue;
        }
        const char *t = v->cell(row, key, buf, sizeof buf);
        if (t && smt_text_contains_ci(t, strlen(t), v->search, v->search_len))
            return true;
    }
    return false;
}

static bool row_wanted(const smt_view *v, const smt_row *row)
{
    if (row->dead)
        return false;
    return smt_row_matches_filter(v->filter, row) && search_matches(v, row);
}

void smt_view_set_search_columns(smt_view *v, const char *const *keys, size_t n, smt_cell_text_fn cell)
{
    if (n > SMT_VIEW_SEARCH_COLUMNS)
        n = SMT_VIEW_SEARCH_COLUMNS;
    bool same = n == v->nsearch_keys && cell == v->cell;
    for (size_t i = 0; same && i < n; i++)
        same = strcmp(keys[i], v->search_keys[i]) == 0;
    if (same)
        return;
    for (size_t i = 0; i < v->nsearch_keys; i++)
        free(v->search_keys[i]);
    v->nsearch_keys = 0;
    v->cell = cell;
    for (size_t i = 0; i < n; i++) {
        char *k = strdup(keys[i]);
        if (!k)
            break; /* fewer columns searched; never a crash */
        v->search_keys[v->nsearch_keys++] = k;
    }
    if (v->search_len)
        v->need_rebuild = true;
}

smt_view *smt_view_new(smt_model *m)
{
    smt_view *v = calloc(1, sizeof *v);
    if (!v)
        return NULL;
    v->m = m;
    v->rng = 0x9E3779B9u;
    v->sort_key = strdup(SM_PROP_START_TIME);
    v->search = calloc(1, 1);
    if (!v->sort_key || !v->search) {
        free(v->sort_key);
        free(v->search);
        free(v);
        return NULL;
    }
    v->need_rebuild = true;
    return v;
}

void smt_view_free(smt_view *v)
{
    if (!v)
        return;
    tree_free(v, v->root);
    sm_filter_free(v->filter);
    free(v->sort_key);
    free(v->search);
    for (size_t i = 0; i < v->nsearch_keys; i++)
        free(v->search_keys[i]);
    free(v);
}

/* ---- rebuild: O(n log n) once, on a sort, filter or search change ---- */

typedef struct collect_ctx {
    smt_view *v;
    vnode **nodes;
    size_t n, cap;
    bool failed;
} collect_ctx;

static void collect(smt_row *row, void *ctx)
{
    collect_ctx *c = ctx;
    if (c->failed || !row_wanted(c->v, row))
        return;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 1024;
        vnode **nn = realloc(c->nodes, cap * sizeof *nn);
        if (!nn) {
            c->failed = true;
            return;
        }
        c->nodes = nn;
        c->cap = cap;
    }
    vnode *node = node_new(c->v, row);
    if (!node) {
        c->failed = true;
        return;
    }
    c->nodes[c->n++] = node;
}

static int qsort_cmp(const void *a, const void *b, void *view)
{
    return cmp(view, *(vnode *const *)a, *(vnode *const *)b);
}

static uint32_t fix_sizes(vnode *t)
{
    if (!t)
        return 0;
    t->size = 1 + fix_sizes(t->l) + fix_sizes(t->r);
    return t->size;
}

/* Cartesian-tree build: sorted nodes + random priorities -> the same treap random inserts
 * would give, in O(n). */
static vnode *build(vnode **nodes, size_t n)
{
    if (n == 0)
        return NULL;
    vnode **stack = malloc(n * sizeof *stack);
    if (!stack)
        return NULL;
    size_t top = 0;
    for (size_t i = 0; i < n; i++) {
        vnode *node = nodes[i];
        node->l = node->r = NULL;
        vnode *last = NULL;
        while (top > 0 && stack[top - 1]->prio < node->prio)
            last = stack[--top];
        node->l = last;
        if (top > 0)
            stack[top - 1]->r = node;
        stack[top++] = node;
    }
    vnode *root = stack[0];
    free(stack);
    fix_sizes(root);
    return root;
}

static void rebuild(smt_view *v)
{
    tree_free(v, v->root);
    v->root = NULL;
    /* Rows queued while paused are covered by the fresh build; dead ones can go now. */
    smt_row *r = smt_model_take_dirty(v->m);
    while (r) {
        smt_row *next = r->dnext;
        if (r->dead)
            smt_model_release(v->m, r);
        r = next;
    }
    collect_ctx c = {v, NULL, 0, 0, false};
    smt_model_foreach(v->m, collect, &c);
    if (c.n > 1)
        qsort_r(c.nodes, c.n, sizeof *c.nodes, qsort_cmp, v);
    v->root = build(c.nodes, c.n);
    if (!v->root && c.n > 0) { /* no memory for the build stack: insert one by one */
        for (size_t i = 0; i < c.n; i++) {
            c.nodes[i]->l = c.nodes[i]->r = NULL;
            c.nodes[i]->size = 1;
            v->root = insert(v, v->root, c.nodes[i]);
        }
    }
    free(c.nodes);
    v->need_rebuild = false;
}

static void ensure(smt_view *v)
{
    if (v->need_rebuild)
        rebuild(v);
}

/* ---- incremental updates ---- */

static void update_row(smt_view *v, smt_row *row)
{
    bool want = row_wanted(v, row);
    vnode *n = row->vnode;
    if (n && !want) {
        v->root = erase(v, v->root, n);
        node_free(v, n);
    } else if (!n && want) {
        n = node_new(v, row);
        if (n)
            v->root = insert(v, v->root, n);
    } else if (n && want) {
        node_set_closing(v, n, row_closing(row));
        uint8_t kind;
        const char *skey;
        double num;
        sort_fields(v, row, &kind, &skey, &num);
        if (kind == n->kind && skey == n->skey && (kind != KIND_NUMBER || num == n->num))
            return; /* same place in the order */
        v->root = erase(v, v->root, n);
        n->l = n->r = NULL;
        n->size = 1;
        node_set_key(v, n);
        v->root = insert(v, v->root, n);
    }
}

size_t smt_view_sync(smt_view *v)
{
    if (v->need_rebuild) {
        size_t pending = smt_model_dirty_count(v->m);
        rebuild(v);
        return pending + 1;
    }
    if (v->paused) {
        if (smt_model_dirty_count(v->m) <= SMT_VIEW_MAX_PENDING)
            return 0;
        v->paused = false;
        v->auto_resumed = true;
    }
    size_t count = 0;
    smt_row *r = smt_model_take_dirty(v->m);
    while (r) {
        smt_row *next = r->dnext;
        update_row(v, r);
        if (r->dead)
            smt_model_release(v->m, r);
        r = next;
        count++;
    }
    return count;
}

void smt_view_set_paused(smt_view *v, bool paused)
{
    v->paused = paused;
}

bool smt_view_paused(const smt_view *v)
{
    return v->paused;
}

size_t smt_view_pending(const smt_view *v)
{
    return v->paused ? smt_model_dirty_count(v->m) : 0;
}

bool smt_view_take_auto_resumed(smt_view *v)
{
    bool r = v->auto_resumed;
    v->auto_resumed = false;
    return r;
}

int smt_view_set_sort(smt_view *v, const char *key, bool descending)
{
    if (!key || !*key)
        return SM_ERR_INVALID;
    if (strcmp(key, v->sort_key) != 0) {
        char *k = strdup(key);
        if (!k)
            return SM_ERR_NOMEM;
        free(v->sort_key);
        v->sort_key = k;
        v->need_rebuild = true;
    }
    v->sort_state = strcmp(key, SMT_COL_STATE) == 0;
    bool age = strcmp(key, SMT_COL_AGE) == 0;
    if (age != v->sort_age)
        v->need_rebuild = true;
    v->sort_age = age;
    if (descending != v->desc) {
        v->desc = descending;
        v->need_rebuild = true;
    }
    return SM_OK;
}

const char *smt_view_sort_key(const smt_view *v)
{
    return v->sort_key;
}

bool smt_view_sort_descending(const smt_view *v)
{
    return v->desc;
}

static bool blank(const char *s)
{
    if (!s)
        return true;
    for (; *s; s++)
        if (*s != ' ' && *s != '\t')
            return false;
    return true;
}

int smt_view_set_filter(smt_view *v, const char *text, sm_error *err)
{
    if (blank(text)) {
        if (v->filter) {
            sm_filter_free(v->filter);
            v->filter = NULL;
            v->need_rebuild = true;
        }
        return SM_OK;
    }
    if (v->filter && strcmp(sm_filter_text(v->filter), text) == 0)
        return SM_OK;
    sm_filter *f = NULL;
    int rc = sm_filter_parse(text, strlen(text), &f, err);
    if (rc != SM_OK)
        return rc;
    sm_filter_free(v->filter);
    v->filter = f;
    v->need_rebuild = true;
    return SM_OK;
}

const char *smt_view_filter_text(const smt_view *v)
{
    return v->filter ? sm_filter_text(v->filter) : "";
}

void smt_view_set_search(smt_view *v, const char *text)
{
    if (!text)
        text = "";
    size_t len = strlen(text);
    if (len > SMT_VIEW_SEARCH_MAX)
        len = SMT_VIEW_SEARCH_MAX;
    if (len == v->search_len && memcmp(text, v->search, len) == 0)
        return;
    char *s = malloc(len + 1);
    if (!s)
        return;
    memcpy(s, text, len);
    s[len] = '\0';
    free(v->search);
    v->search = s;
    v->search_len = len;
    v->need_rebuild = true;
}

const char *smt_view_search(const smt_view *v)
{
    return v->search;
}

size_t smt_view_count(smt_view *v)
{
    ensure(v);
    return sz(v->root);
}

size_t smt_view_closing_count(smt_view *v)
{
    ensure(v);
    return v->nclosing;
}

bool smt_view_row_passes(const smt_view *v, const smt_row *row)
{
    return smt_row_matches_filter(v->filter, row) && search_matches(v, row);
}

smt_row *smt_view_at(smt_view *v, size_t rank)
{
    ensure(v);
    vnode *t = v->root;
    while (t) {
        size_t ls = sz(t->l);
        if (rank < ls) {
            t = t->l;
        } else if (rank == ls) {
            return t->row;
        } else {
            rank -= ls + 1;
            t = t->r;
        }
    }
    return NULL;
}

bool smt_view_rank(smt_view *v, const smt_row *row, size_t *rank)
{
    ensure(v);
    if (!row || !row->vnode)
        return false;
    const vnode *n = row->vnode;
    size_t r = 0;
    vnode *t = v->root;
    while (t) {
        if (t == n) {
            *rank = r + sz(t->l);
            return true;
        }
        if (cmp(v, n, t) < 0) {
            t = t->l;
        } else {
            r += sz(t->l) + 1;
            t = t->r;
        }
    }
    return false;
}

static bool check_node(const smt_view *v, const vnode *t, const vnode *lo, const vnode *hi)
{
    if (!t)
        return true;
    if (lo && cmp(v, lo, t) >= 0)
        return false;
    if (hi && cmp(v, t, hi) >= 0)
        return false;
    if (t->size != 1 + sz(t->l) + sz(t->r))
        return false;
    if ((t->l && t->l->prio > t->prio) || (t->r && t->r->prio > t->prio))
        return false;
    if (t->row->vnode != t)
        return false;
    return check_node(v, t->l, lo, t) && check_node(v, t->r, t, hi);
}

static size_t count_closing(const vnode *t)
{
    return t ? (size_t)t->closing + count_closing(t->l) + count_closing(t->r) : 0;
}

bool smt_view_check(smt_view *v)
{
    ensure(v);
    return check_node(v, v->root, NULL, NULL) && count_closing(v->root) == v->nclosing;
}
