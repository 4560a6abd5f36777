/* The admin listener: a small HTTP/1.1 server (GET and HEAD of /metrics and /healthz) on sessmond's libev loop. */
#ifndef SMD_SERVER_ADMIN_H
#define SMD_SERVER_ADMIN_H

#include "core/buf.h"
#include "core/error.h"
#include "server/config.h"

struct ev_loop;

#define SMD_ADMIN_REQUEST_MAX 8192            /* bytes of request line and headers */
#define SMD_ADMIN_RESPONSE_MAX (8u << 20)     /* a page larger than this is answered 500 */

/* The pages. Each appends its body to out and returns the HTTP status (200, 503, 500). */
typedef struct smd_admin_hooks {
    void *ctx;
    int (*metrics)(void *ctx, sm_buf *out);
    int (*health)(void *ctx, sm_buf *out);
} smd_admin_hooks;

typedef struct smd_admin smd_admin;

/* Listens on cfg->host:cfg->port and serves on loop. *bound_port: the port in use (cfg->port 0 =
 * any free one). NULL (err set) when the socket cannot be bound. */
smd_admin *smd_admin_start(struct ev_loop *loop, const smd_admin_cfg *cfg, const smd_admin_hooks *hooks,
                           int *bound_port, sm_error *err);
/* Closes the listener and every admin connection. NULL is fine. */
void smd_admin_stop(smd_admin *a);

#endif
