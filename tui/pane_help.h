/* The help overlay's state (for tests; the dispatcher knows it only by its ops). */
#ifndef SMT_PANE_HELP_H
#define SMT_PANE_HELP_H

#include "tui/listnav.h"
#include "tui/pane.h"

typedef struct smt_help_pane {
    smt_app *app;
    smt_list nav; /* a viewport over the wrapped help lines */
} smt_help_pane;

/* Lines the help has at the current screen width. */
int smt_help_line_count(const smt_help_pane *p);

#endif
