/* The monitor's connection: a libsessmon session and listener feeding the UI, and its requests. */
#ifndef SMT_TUI_CONN_H
#define SMT_TUI_CONN_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>

#include "tui/ui.h"

typedef struct smt_conn smt_conn;

typedef struct smt_conn_options {
    const char *url;
    const char *principal; /* "" = anonymous */
    const char *password;  /* NULL for anonymous */
    const char *ca_file;   /* wss: extra CA certificates, or NULL */
} smt_conn_options;

/* Creates the client, opens the session and registers the listener (asynchronously). Installs
 * the UI's backend. NULL with a message in err on a bad URL or out of memory. */
smt_conn *smt_conn_new(smt_ui *ui, const smt_conn_options *opt, char *err, size_t errcap);
void smt_conn_free(smt_conn *c);

/* Poll integration: fds to watch, ms until smt_conn_service must run (-1 = none). */
int smt_conn_pollfds(smt_conn *c, struct pollfd *fds, int max);
int smt_conn_timeout_ms(smt_conn *c, uint64_t now);
/* Services the library, and re-opens the session after the server closed it. */
void smt_conn_service(smt_conn *c, uint64_t now);

/* True when the first connection was refused (bad password, unknown principal): the monitor
 * should exit with the message. */
bool smt_conn_fatal(const smt_conn *c, int *exit_code, char *msg, size_t cap);

#endif
