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

#endif
