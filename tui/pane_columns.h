/* The column chooser pane's state (for tests; the dispatcher knows it only by its ops). */
#ifndef SMT_PANE_COLUMNS_H
#define SMT_PANE_COLUMNS_H

#include "tui/listnav.h"
#include "tui/pane.h"

typedef struct smt_columns_pane {
    smt_app *app;
    smt_list nav; /* over the visible columns in order, then every other key by name */
} smt_columns_pane;

#endif
