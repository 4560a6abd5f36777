/* The WebSocket transport of sessmond: libwebsockets on a libev (epoll) loop, signals and the sweep timer. */
#ifndef SM_SERVER_NET_H
#define SM_SERVER_NET_H

#include <stdbool.h>

#include "server/config.h"

typedef struct sm_net_opts {
    const char *port_file; /* written (atomically) with the bound port once listening; NULL = none */
    bool verbose;          /* lws notices and sessmond debug lines */
} sm_net_opts;

/* Runs the server until SIGTERM/SIGINT. Returns the process exit status: 0 after a clean shutdown,
 * 1 when the server could not start (the reason is logged). */
int sm_net_run(const sm_config *cfg, const sm_net_opts *opts);

#endif
