/* The WebSocket transport of sessmond: libwebsockets on a libev (epoll) loop, signals and the sweep timer. */
#ifndef SMD_SERVER_NET_H
#define SMD_SERVER_NET_H

#include <stdbool.h>

#include "server/config.h"

typedef struct smd_net_opts {
    const char *port_file; /* written (atomically) with the bound port once listening; NULL = none */
    bool verbose;          /* lws notices and sessmond debug lines */
} smd_net_opts;

/* A non-blocking listening socket on a numeric address (v4, or v6 with IPv4 too for "::"); "0.0.0.0"
 * and "::" are any address. *bound_port: the port bound (port 0 = any free one). The fd, or -1 (errno). */
int smd_net_open_listener(const char *addr, int port, int *bound_port);

/* Runs the server until SIGTERM/SIGINT. Returns the process exit status: 0 after a clean shutdown,
 * 1 when the server could not start (the reason is logged). */
int smd_net_run(const smd_config *cfg, const smd_net_opts *opts);

#endif
