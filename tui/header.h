/* The monitor's two header lines: the connection, the counts, who and where; what the table shows. */
#ifndef SMT_HEADER_H
#define SMT_HEADER_H

#include <stdint.h>

#include "tui/services.h"

typedef enum smt_conn_state {
    SMT_CONN_CONNECTING = 0,
    SMT_CONN_SYNCING,      /* connected, snapshot arriving */
    SMT_CONN_LIVE,
    SMT_CONN_RECONNECTING, /* dropped; the library retries */
    SMT_CONN_CLOSED        /* final */
} smt_conn_state;

/* What the header says about the connection (the dispatcher keeps it up to date). */
typedef struct smt_link {
    char url[256];
    char server_name[128];
    char principal[128];
    smt_conn_state conn;
    char conn_detail[160];
    int64_t stale_since;       /* wall ms when the connection stopped being live (0 = live) */
    uint64_t conn_since;       /* monotonic ms of the last connection state change */
    char conn_failure[160];    /* why the last connection attempt failed ("" = none since the last state change) */
    unsigned conn_attempt;     /* its number since the session was last open */
    uint64_t conn_retry_at;    /* monotonic ms of the next attempt, 0 = none will be made */
} smt_link;

/* Draws lines 0 and 1 of the screen. */
void smt_header_draw(const smt_app *app, const smt_link *link);
/* While the header counts down to the next connection attempt: ms left (> 0), else 0. */
int64_t smt_header_countdown_ms(const smt_app *app, const smt_link *link);

#endif
