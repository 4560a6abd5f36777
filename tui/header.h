/* The monitor's two header lines: the connection, the counts, who and where; what the table shows. */
#ifndef SMT_HEADER_H
#define SMT_HEADER_H

#include <stdbool.h>
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
    uint64_t last_heard;       /* monotonic ms of the last event, reply or pong from the server (0 = never) */
    int64_t heartbeat_ms;      /* the server's heartbeat interval (0 = unknown): silence past it is STALE */
    char own_id[80];           /* the monitor's own session ID ("" = not open yet) */
} smt_link;

/* True when what the table shows may be out of date: the connection is not live, or the
 * server has been silent for longer than its heartbeat interval (whatever the cause: a frozen
 * server, a dead network the kernel has not noticed, a loop that did not read). */
bool smt_header_stale(const smt_app *app, const smt_link *link);

/* Draws lines 0 and 1 of the screen. */
void smt_header_draw(const smt_app *app, const smt_link *link);
/* While the header counts down to the next connection attempt: ms left (> 0), else 0. */
int64_t smt_header_countdown_ms(const smt_app *app, const smt_link *link);

#endif
