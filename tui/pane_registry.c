/* The monitor's panes, in one list: a new pane is one file and one line here. */
#include "tui/pane.h"

/* The order is the order of asking: replies, timers, what quitting would interrupt. The table
 * (the base) comes first. */
#define SMT_PANE_LIST(X) \
    X(table)             \
    X(inspect)           \
    X(bulk)              \
    X(edit)              \
    X(log)               \
    X(columns)           \
    X(group)             \
    X(history)           \
    X(cmdline)           \
    X(close)             \
    X(help)

#define SMT_PANE_DECLARE(name) extern const smt_pane_ops smt_pane_##name;
#define SMT_PANE_ADDRESS(name) &smt_pane_##name,

SMT_PANE_LIST(SMT_PANE_DECLARE)

const smt_pane_ops *const smt_panes[] = {SMT_PANE_LIST(SMT_PANE_ADDRESS)};
const size_t smt_npanes = sizeof smt_panes / sizeof *smt_panes;
