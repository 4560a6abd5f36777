/* A bulk update evaluated locally: which sessions its filter matches, what each entry of its
 * property map would change, and the first matches for the preview. */
#include "tui/bulk_eval.h"

#include <stdlib.h>
#include <string.h>

typedef struct count_ctx {
    smt_bulk_count *out;
    const sm_filter *filter;
    const smt_bulk_entry *entries;
    int nentries;
    smt_view *view;
    bool paused;
    size_t matches, hidden, waiting;
    char **ids; /* sorted, at most SMT_BULK_PREVIEW */
    size_t nids;
} count_ctx;

bool smt_bulk_row_counts(const smt_row *r)
{
    return !r->dead && r->state != SM_REMOTE_CLOSED;
}

bool smt_bulk_entry_changes(const smt_bulk_entry *e, const smt_row *r)
{
    const char *cur = smt_row_get(r, e->key);
    if (!e->value)
        return cur != NULL;
    return !cur || strcmp(cur, e->value) != 0;
}

static void count_row(smt_row *r, void *vctx)
{
    count_ctx *c = vctx;
    if (!smt_bulk_row_counts(r) || !smt_row_matches_filter(c->filter, r))
        return;
    c->matches++;
    bool any = false;
    for (int e = 0; e < c->nentries; e++)
        if (smt_bulk_entry_changes(&c->entries[e], r)) {
            c->out->changes[e]++;
            any = true;
        }
    if (any)
        c->out->changing++;
    /* Ask the view's filter and search directly: whether the row already has a place in the
     * table also depends on when the view last synced (a session opened a moment ago has none). */
    if (!smt_view_row_passes(c->view, r))
        c->hidden++;
    else if (c->paused && !r->vnode)
        c->waiting++;
    if (!c->ids)
        return;
    /* keep the SMT_BULK_PREVIEW smallest IDs, sorted */
    size_t lo = 0, hi = c->nids;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (strcmp(c->ids[mid], r->id) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo >= SMT_BULK_PREVIEW)
        return;
    char *copy = strdup(r->id);
    if (!copy)
        return;
    if (c->nids == SMT_BULK_PREVIEW) {
        free(c->ids[SMT_BULK_PREVIEW - 1]);
        c->nids--;
    }
    memmove(&c->ids[lo + 1], &c->ids[lo], (c->nids - lo) * sizeof *c->ids);
    c->ids[lo] = copy;
    c->nids++;
}

void smt_bulk_count_clear(smt_bulk_count *c)
{
    for (size_t i = 0; i < c->npreview; i++)
        free(c->preview[i]);
    free(c->preview);
    memset(c, 0, sizeof *c);
}

void smt_bulk_count_run(smt_bulk_count *out, smt_model *model, smt_view *view, const sm_filter *filter,
                        const smt_bulk_entry *entries, int nentries)
{
    smt_bulk_count_clear(out);
    if (!filter)
        return;
    smt_view_count(view); /* runs a pending rebuild, so which rows have a place is current */
    count_ctx c = {out, filter, entries, nentries, view, smt_view_paused(view), 0, 0, 0,
                   calloc(SMT_BULK_PREVIEW, sizeof(char *)), 0};
    smt_model_foreach(model, count_row, &c);
    out->matches = c.matches;
    out->hidden = c.hidden;
    out->waiting = c.waiting;
    out->preview = c.ids;
    out->npreview = c.nids;
}
