/* The session table pane's state (for tests; the dispatcher knows it only by its ops). */
#ifndef SMT_PANE_TABLE_H
#define SMT_PANE_TABLE_H

#include "tui/listnav.h"
#include "tui/pane.h"

typedef struct smt_table_pane {
    smt_app *app;
    smt_list nav;   /* cursor = rank of the selected session in the view */
    int sel_offset; /* cursor - top, kept while rows move */
    int y, h;       /* where the last frame drew it (h 0 = hidden by a full pane) */
    int col_x[SMT_UI_MAX_COLUMNS + 1]; /* x of each drawn column, -1 when not drawn */
    char drawn_sort[SM_KEY_MAX + 2];   /* the sort of the last frame: a new one puts the cursor on top */
    bool drawn_desc;
    char cleared_filter[SM_FILTER_MAX + 1]; /* what Esc cleared, for u to put back */
    char cleared_search[SMT_VIEW_SEARCH_MAX + 1];
} smt_table_pane;

#endif
