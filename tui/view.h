/* A sorted, filtered index over the model (order-statistic treap) with rank and select. */
#ifndef SMT_TUI_VIEW_H
#define SMT_TUI_VIEW_H

#include <stdbool.h>
#include <stddef.h>

#include "core/error.h"
#include "core/filter.h"
#include "tui/model.h"

/* While paused, changes wait on the model's dirty list; past this many rows the pause ends by
 * itself so memory stays bounded. */
#define SMT_VIEW_MAX_PENDING 200000u
/* Longest incremental search text. */
#define SMT_VIEW_SEARCH_MAX 256u
/* Columns whose displayed text the search looks at, at most. */
#define SMT_VIEW_SEARCH_COLUMNS 48

typedef struct smt_view smt_view;

/* The view takes the model's dirty list: only one view per model. Free the view before the model. */
smt_view *smt_view_new(smt_model *m);
void smt_view_free(smt_view *v);

/* Sort by a property key (or SMT_COL_STATE), ascending or descending. Values that are both
 * decimal numbers compare numerically and come first, then text in byte (= code point) order,
 * then sessions without the key (last in both directions); ties go by session ID. */
int smt_view_set_sort(smt_view *v, const char *key, bool descending);
const char *smt_view_sort_key(const smt_view *v);
bool smt_view_sort_descending(const smt_view *v);

/* Sets the view filter from FILTERS.md text; NULL or blank means none. On a parse error the old
 * filter stays and err names the column. */
int smt_view_set_filter(smt_view *v, const char *text, sm_error *err);
const char *smt_view_filter_text(const smt_view *v); /* "" when none */

/* What the table shows of a row's cell (for a search over the displayed text). */
typedef const char *(*smt_cell_text_fn)(const smt_row *row, const char *key, char *buf, size_t cap);
/* The columns on screen: from now on the search matches the text these columns display (the
 * formatted $StartTime, the state) and the session ID, instead of the raw values. n = 0 goes
 * back to the raw values. */
void smt_view_set_search_columns(smt_view *v, const char *const *keys, size_t n, smt_cell_text_fn cell);

/* Incremental search: rows whose ID or any property value contains text (ASCII case-insensitive). */
void smt_view_set_search(smt_view *v, const char *text);
const char *smt_view_search(const smt_view *v);

/* Applies pending model changes (coalesced: each changed row once) unless paused, and any
 * pending rebuild. Returns the number of rows processed. */
size_t smt_view_sync(smt_view *v);

void smt_view_set_paused(smt_view *v, bool paused);
bool smt_view_paused(const smt_view *v);
/* Rows with changes waiting while paused. */
size_t smt_view_pending(const smt_view *v);
/* True once after the pause ended by itself (too many pending changes). */
bool smt_view_take_auto_resumed(smt_view *v);

/* Rows shown; the row at a rank (0-based); the rank of a row (false when not shown). */
size_t smt_view_count(smt_view *v);
smt_row *smt_view_at(smt_view *v, size_t rank);
bool smt_view_rank(smt_view *v, const smt_row *row, size_t *rank);
/* How many of the rows shown are closed sessions still fading out (included in smt_view_count). */
size_t smt_view_closing_count(smt_view *v);
/* Whether a row passes the view filter and the search (what the table would show, paused or
 * not, whatever its state). */
bool smt_view_row_passes(const smt_view *v, const smt_row *row);

/* Whether one row passes a filter (NULL = every row): the code the bulk-update preview shares. */
bool smt_row_matches_filter(const sm_filter *f, const smt_row *row);
/* Whether one row passes the search text. */
bool smt_row_matches_search(const smt_row *row, const char *text, size_t len);

/* Debug aid for tests: checks the tree's order and sizes; returns false when broken. */
bool smt_view_check(smt_view *v);

#endif
