/* The monitor's connection: a libsessmon session and listener feeding the UI, and its requests. */
#ifndef SM_TUI_CONN_H
#define SM_TUI_CONN_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>

#include "tui/ui.h"

typedef struct sm_conn sm_conn;

typedef struct sm_conn_options {
    const char *url;
    const char *principal; /* "" = anonymous */
    const char *password;  /* NULL for anonymous */
    const char *ca_file;   /* wss: extra CA certificates, or NULL */
} sm_conn_options;

/* Creates the client, opens the session and registers the listener (asynchronously). Installs
 * the UI's backend. NULL with a message in err on a bad URL or out of memory. */
sm_conn *sm_conn_new(sm_ui *ui, const sm_conn_options *opt, char *err, size_t errcap);
void sm_conn_free(sm_conn *c);

/* Poll integration: fds to watch, ms until sm_conn_service must run (-1 = none). */
int sm_conn_pollfds(sm_conn *c, struct pollfd *fds, int max);
int sm_conn_timeout_ms(sm_conn *c, uint64_t now);
/* Services the library, and re-opens the session after the server closed it. */
void sm_conn_service(sm_conn *c, uint64_t now);

/* True when the first connection was refused (bad password, unknown principal): the monitor
 * should exit with the message. */
bool sm_conn_fatal(const sm_conn *c, int *exit_code, char *msg, size_t cap);

#endif
