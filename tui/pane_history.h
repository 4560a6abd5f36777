/* The history pane: sparklines of the last ten minutes (its state, for tests). */
#ifndef SMT_PANE_HISTORY_H
#define SMT_PANE_HISTORY_H

#include "tui/history.h"
#include "tui/services.h"

typedef struct smt_history_pane {
    smt_app *app;
    smt_history hist;
    int64_t shown_sec; /* the second last painted: the pane repaints once a second */
} smt_history_pane;

/* The header's compact history: events/s over the last 10 minutes as a short sparkline, drawn
 * right-aligned on line y in the columns [x, w) when at least 40 of them are free. */
void smt_history_header(const smt_app *app, int y, int x, int w);

#endif
