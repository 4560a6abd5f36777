/* The WebSocket transport of sessmond: libwebsockets on a libev (epoll) loop, signals and the sweep timer. */
#ifndef SMD_SERVER_NET_H
#define SMD_SERVER_NET_H

#include <stdbool.h>

#include "core/error.h"
#include "server/config.h"

typedef struct smd_net_opts {
    const char *port_file; /* written (atomically) with the bound port once listening; NULL = none */
    bool verbose;          /* lws notices and sessmond debug lines */
    /* SIGHUP: loads the configuration again (the file and the command line's overrides, as at
     * start) into out, which is initialised. NULL: nothing to reload (the demo configuration). */
    int (*load_config)(void *ctx, smd_config *out, sm_error *err);
    void *load_ctx;
    const char *config_path; /* named in the reload's log lines */
} smd_net_opts;

/* A non-blocking listening socket on a numeric address (v4, or v6 with IPv4 too for "::"); "0.0.0.0"
 * and "::" are any address. *bound_port: the port bound (port 0 = any free one). The fd, or -1 (errno). */
int smd_net_open_listener(const char *addr, int port, int *bound_port);

/* Runs the server until SIGTERM/SIGINT; SIGHUP reloads the configuration (cfg is replaced in
 * place, server/reload.c) and reopens the audit log. Returns the process exit status: 0 after a
 * clean shutdown, 1 when the server could not start (the reason is logged). */
int smd_net_run(smd_config *cfg, const smd_net_opts *opts);

#endif
