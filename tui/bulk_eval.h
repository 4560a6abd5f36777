/* A bulk update evaluated locally: which sessions its filter matches, what each entry of its
 * property map would change, and the first matches for the preview. The same filter code the
 * server runs, over the monitor's model. */
#ifndef SMT_BULK_EVAL_H
#define SMT_BULK_EVAL_H

#include <stdbool.h>
#include <stddef.h>

#include "core/filter.h"
#include "core/props.h"
#include "tui/model.h"
#include "tui/view.h"

#define SMT_BULK_MAX_ENTRIES 32
#define SMT_BULK_PREVIEW 200 /* sessions listed in the preview (the count covers all) */

/* One entry of the property map: set key to value, or delete it (value NULL). */
typedef struct smt_bulk_entry {
    char key[SM_KEY_MAX + 1];
    char *value;
} smt_bulk_entry;

typedef struct smt_bulk_count {
    size_t matches;
    size_t hidden;   /* matches the view filter or search hides from the table */
    size_t waiting;  /* matches not in the table yet because it is paused */
    size_t changing; /* matches that at least one entry would change */
    size_t changes[SMT_BULK_MAX_ENTRIES]; /* per entry: matches whose value it would change */
    char **preview;  /* IDs of the first matches in ID order (owned) */
    size_t npreview;
} smt_bulk_count;

/* Counts the open sessions of model that filter matches (filter NULL: none), against the view
 * (hidden, waiting) and the entries. out is cleared first. */
void smt_bulk_count_run(smt_bulk_count *out, smt_model *model, smt_view *view, const sm_filter *filter,
                        const smt_bulk_entry *entries, int nentries);
void smt_bulk_count_clear(smt_bulk_count *c);

/* Whether a session takes part in an update: open (not closed, not gone). */
bool smt_bulk_row_counts(const smt_row *r);
/* Whether entry e would change the row's current value. */
bool smt_bulk_entry_changes(const smt_bulk_entry *e, const smt_row *r);

#endif
