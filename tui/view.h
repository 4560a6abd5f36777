/* A sorted, filtered index over the model (order-statistic treap) with rank and select. */
#ifndef SM_TUI_VIEW_H
#define SM_TUI_VIEW_H

#include <stdbool.h>
#include <stddef.h>

#include "core/error.h"
#include "core/filter.h"
#include "tui/model.h"

/* While paused, changes wait on the model's dirty list; past this many rows the pause ends by
 * itself so memory stays bounded. */
#define SM_VIEW_MAX_PENDING 200000u
/* Longest incremental search text. */
#define SM_VIEW_SEARCH_MAX 256u

typedef struct sm_view sm_view;

/* The view takes the model's dirty list: only one view per model. Free the view before the model. */
sm_view *sm_view_new(sm_model *m);
void sm_view_free(sm_view *v);

/* Sort by a property key (or SM_COL_STATE), ascending or descending. Values that are both
 * decimal numbers compare numerically and come first, then text in byte (= code point) order,
 * then sessions without the key (last in both directions); ties go by session ID. */
int sm_view_set_sort(sm_view *v, const char *key, bool descending);
const char *sm_view_sort_key(const sm_view *v);
bool sm_view_sort_descending(const sm_view *v);

/* Sets the view filter from FILTERS.md text; NULL or blank means none. On a parse error the old
 * filter stays and err names the column. */
int sm_view_set_filter(sm_view *v, const char *text, sm_error *err);
const char *sm_view_filter_text(const sm_view *v); /* "" when none */

/* Incremental search: rows whose ID or any property value contains text (ASCII case-insensitive). */
void sm_view_set_search(sm_view *v, const char *text);
const char *sm_view_search(const sm_view *v);

/* Applies pending model changes (coalesced: each changed row once) unless paused, and any
 * pending rebuild. Returns the number of rows processed. */
size_t sm_view_sync(sm_view *v);

void sm_view_set_paused(sm_view *v, bool paused);
bool sm_view_paused(const sm_view *v);
/* Rows with changes waiting while paused. */
size_t sm_view_pending(const sm_view *v);
/* True once after the pause ended by itself (too many pending changes). */
bool sm_view_take_auto_resumed(sm_view *v);

/* Rows shown; the row at a rank (0-based); the rank of a row (false when not shown). */
size_t sm_view_count(sm_view *v);
sm_row *sm_view_at(sm_view *v, size_t rank);
bool sm_view_rank(sm_view *v, const sm_row *row, size_t *rank);
/* How many of the rows shown are closed sessions still fading out (included in sm_view_count). */
size_t sm_view_closing_count(sm_view *v);
/* Whether a row passes the view filter and the search (what the table would show, paused or
 * not, whatever its state). */
bool sm_view_row_passes(const sm_view *v, const sm_row *row);

/* Whether one row passes a filter (NULL = every row): the code the bulk-update preview shares. */
bool sm_row_matches_filter(const sm_filter *f, const sm_row *row);
/* Whether one row passes the search text. */
bool sm_row_matches_search(const sm_row *row, const char *text, size_t len);

/* Debug aid for tests: checks the tree's order and sizes; returns false when broken. */
bool sm_view_check(sm_view *v);

#endif
