/* Entry points of the two faces of the sessmon binary: the interactive monitor and the subcommands. */
#ifndef SMT_TUI_APP_H
#define SMT_TUI_APP_H

#include <stdbool.h>

/* Exit codes shared by the monitor and the subcommands (documented in the README). */
enum {
    SMT_EXIT_OK = 0,
    SMT_EXIT_FAILURE = 1,        /* anything not covered below */
    SMT_EXIT_USAGE = 2,          /* bad command line */
    SMT_EXIT_CONNECTION = 3,     /* could not connect, or the connection was lost */
    SMT_EXIT_ACCESS_DENIED = 4,  /* authentication failed or a permission is missing */
    SMT_EXIT_INVALID_FILTER = 5, /* the filter does not parse */
    SMT_EXIT_NO_SUCH_SESSION = 6,
    SMT_EXIT_INVALID_PROPERTY = 7,
    SMT_EXIT_CLUSTER_UNAVAILABLE = 8 /* a cluster node cannot reach Redis or the session's node */
};

/* True when argv[1] names a subcommand (list, get, set, watch, close). */
bool smt_cli_is_subcommand(const char *name);
/* Runs a subcommand; returns the process exit code. */
int smt_cli_main(int argc, char **argv);
/* Runs the interactive monitor; returns the process exit code. */
int smt_tui_main(int argc, char **argv);

#endif
