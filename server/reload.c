/* SIGHUP: a new configuration takes over for new requests while every session stays connected (docs/config.md § Reload). */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/log.h"
#include "server/server.h"

#define SWAP(a, b)                                                                                                     \
    do {                                                                                                               \
        __typeof__(a) swap_tmp_ = (a);                                                                                 \
        (a) = (b);                                                                                                     \
        (b) = swap_tmp_;                                                                                               \
    } while (0)

static bool same_text(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* A setting that needs a restart: reported when the file changed it, and kept as it is. */
static void needs_restart(const char *path, const char *what, size_t *count)
{
    smd_log(SMD_LOG_WARN, "reload of %s: %s changed: needs a restart, ignored (the running value stays)", path, what);
    (*count)++;
}

/* Limits that stay as they are until a restart: clients were told them when they opened
 * (maxMessageBytes, heartbeatIntervalMs), lowering them could drop sessions that are within the
 * old ones (queues), or the transport sized itself by them at start (pending connections,
 * handshake timeout: libwebsockets' header pool and timeouts). */
static const struct {
    const char *name;
    size_t offset, size;
} restart_limits[] = {
#define LIMIT(field, name) {name, offsetof(smd_limits, field), sizeof(((smd_limits *)0)->field)}
    LIMIT(max_message_bytes, "limits.maxMessageBytes"),
    LIMIT(heartbeat_interval_ms, "limits.heartbeatIntervalMs"),
    LIMIT(heartbeat_timeout_ms, "limits.heartbeatTimeoutMs"),
    LIMIT(max_queue_bytes, "limits.maxQueueBytes"),
    LIMIT(max_total_queue_bytes, "limits.maxTotalQueueBytes"),
    LIMIT(max_pending, "limits.maxPending"),
    LIMIT(max_pending_per_address, "limits.maxPendingPerAddress"),
    LIMIT(max_pending_per_subnet, "limits.maxPendingPerSubnet"),
    LIMIT(handshake_timeout_ms, "limits.handshakeTimeoutMs"),
#undef LIMIT
};

/* Moves the running values of restart-only settings into next (the file's go into the old config,
 * to be freed), reporting each one the file changed. Returns how many. */
static size_t keep_restart_only(const char *path, smd_config *cur, smd_config *next)
{
    size_t n = 0;
    if (!same_text(cur->server_name, next->server_name))
        needs_restart(path, "server.name", &n);
    SWAP(cur->server_name, next->server_name);
    if (!same_text(cur->bind, next->bind))
        needs_restart(path, "server.bind", &n);
    SWAP(cur->bind, next->bind);
    if (cur->port != next->port)
        needs_restart(path, "server.port", &n);
    next->port = cur->port;
    if (!same_text(cur->connector, next->connector))
        needs_restart(path, "server.connector", &n);
    SWAP(cur->connector, next->connector);
    if (!same_text(cur->tls_cert, next->tls_cert) || !same_text(cur->tls_key, next->tls_key))
        needs_restart(path, "tls", &n);
    SWAP(cur->tls_cert, next->tls_cert);
    SWAP(cur->tls_key, next->tls_key);
    const smd_cluster_cfg *a = &cur->cluster, *b = &next->cluster;
    if (a->enabled != b->enabled || !same_text(a->redis, b->redis) || !same_text(a->node, b->node) ||
        !same_text(a->user, b->user) || !same_text(a->password_file, b->password_file) ||
        a->heartbeat_ms != b->heartbeat_ms || a->node_timeout_ms != b->node_timeout_ms ||
        a->request_timeout_ms != b->request_timeout_ms || a->max_proxy_bytes != b->max_proxy_bytes)
        needs_restart(path, "cluster", &n);
    SWAP(cur->cluster, next->cluster);
    const smd_admin_cfg *x = &cur->admin, *y = &next->admin;
    if (x->enabled != y->enabled || strcmp(x->host, y->host) != 0 || x->port != y->port ||
        x->max_connections != y->max_connections || x->timeout_ms != y->timeout_ms)
        needs_restart(path, "admin", &n);
    next->admin = cur->admin; /* (plain values: the admin listener keeps its own copy anyway) */
    if (memcmp(&cur->logins, &next->logins, sizeof cur->logins) != 0)
        needs_restart(path, "logins", &n);
    next->logins = cur->logins;
    for (size_t i = 0; i < sizeof restart_limits / sizeof restart_limits[0]; i++) {
        char *was = (char *)&cur->limits + restart_limits[i].offset, *now = (char *)&next->limits + restart_limits[i].offset;
        if (memcmp(was, now, restart_limits[i].size) != 0)
            needs_restart(path, restart_limits[i].name, &n);
        memcpy(now, was, restart_limits[i].size);
    }
    next->is_demo = cur->is_demo;
    return n;
}

static bool same_strv(char *const *a, size_t na, char *const *b, size_t nb)
{
    if (na != nb)
        return false;
    for (size_t i = 0; i < na; i++)
        if (strcmp(a[i], b[i]) != 0)
            return false;
    return true;
}

typedef struct change_counts {
    size_t added, removed, changed;
} change_counts;

static bool same_principal(const void *x, const void *y)
{
    const smd_principal_cfg *p = x, *q = y;
    return strcmp(p->password_hash, q->password_hash) == 0 && same_strv(p->roles, p->role_count, q->roles, q->role_count);
}

static bool same_role(const void *x, const void *y)
{
    return ((const smd_role_cfg *)x)->permissions == ((const smd_role_cfg *)y)->permissions;
}

/* Tables of entries whose first member is their name, sorted by name (config.c): one merge pass. */
static change_counts count_changes(const void *old, size_t nold, const void *now, size_t nnow, size_t size,
                                   bool (*same)(const void *, const void *))
{
    change_counts c = {0, 0, 0};
    const char *a = old, *b = now;
    size_t i = 0, j = 0;
    while (i < nold || j < nnow) {
        const void *x = a + i * size, *y = b + j * size;
        int cmp = i == nold ? 1 : j == nnow ? -1 : strcmp(*(char *const *)x, *(char *const *)y);
        if (cmp < 0) {
            c.removed++;
            i++;
        } else if (cmp > 0) {
            c.added++;
            j++;
        } else {
            c.changed += !same(x, y);
            i++;
            j++;
        }
    }
    return c;
}

static size_t count_limits(const smd_limits *a, const smd_limits *b)
{
    return (a->max_properties != b->max_properties) + (a->max_listeners != b->max_listeners) +
           (a->reconnect_timeout_ms != b->reconnect_timeout_ms) +
           (a->max_listener_regex_cost != b->max_listener_regex_cost) +
           (a->max_listener_regex_cost_per_session != b->max_listener_regex_cost_per_session);
}

static bool same_geo(const smd_geo *a, const smd_geo *b)
{
    if (a->count != b->count)
        return false;
    for (size_t i = 0; i < a->count; i++) {
        const smd_geo_entry *x = &a->items[i], *y = &b->items[i];
        if (x->prefix != y->prefix || memcmp(x->addr, y->addr, sizeof x->addr) != 0 ||
            strcmp(x->country, y->country) != 0 || strcmp(x->language, y->language) != 0 ||
            strcmp(x->latitude, y->latitude) != 0 || strcmp(x->longitude, y->longitude) != 0)
            return false;
    }
    return true;
}

int smd_server_reload(smd_server *srv, smd_config *cur, smd_config *next, const char *path)
{
    smd_identity *ids = NULL, anonymous;
    char *dummy = NULL;
    if (smd_server_build_identities(srv, next, &ids, &anonymous, &dummy) != SM_OK) {
        smd_log(SMD_LOG_ERROR, "reload of %s refused: out of memory; the configuration in force is unchanged", path);
        smd_config_free(next);
        return SM_ERR_NOMEM;
    }
    /* Nothing can fail from here on: the swap happens between two requests, all at once. */
    size_t ignored = keep_restart_only(path, cur, next);
    change_counts p = count_changes(cur->principals, cur->principal_count, next->principals, next->principal_count,
                                    sizeof *cur->principals, same_principal);
    change_counts r = count_changes(cur->roles, cur->role_count, next->roles, next->role_count, sizeof *cur->roles,
                                    same_role);
    size_t limits = count_limits(&cur->limits, &next->limits);
    bool geo_changed = !same_geo(&cur->geo, &next->geo);
    bool anon_changed = cur->anonymous_allowed != next->anonymous_allowed ||
                        !same_strv(cur->anonymous_roles, cur->anonymous_role_count, next->anonymous_roles,
                                   next->anonymous_role_count);
    bool audit_changed = !same_text(cur->audit.file, next->audit.file) ||
                         cur->audit.buffer_bytes != next->audit.buffer_bytes;
    size_t old_geo = cur->geo.count;
    smd_logins_rebind(srv, next);
    smd_server_free_identities(srv, cur->principal_count, srv->identities, &srv->anonymous, srv->dummy_hash);
    srv->identities = ids;
    srv->anonymous = anonymous;
    srv->dummy_hash = dummy;
    SWAP(*cur, *next);
    smd_config_free(next); /* the old one */
    smd_log(SMD_LOG_INFO,
            "reloaded %s: principals %zu (+%zu -%zu, %zu changed), roles %zu (+%zu -%zu, %zu changed), "
            "anonymous %s, limits %zu changed, geo rows %zu -> %zu%s, audit %s, %zu setting%s needing a restart "
            "ignored; %zu sessions kept with the identity they opened with",
            path, cur->principal_count, p.added, p.removed, p.changed, cur->role_count, r.added, r.removed,
            r.changed, anon_changed ? "changed" : "unchanged", limits, old_geo, cur->geo.count,
            geo_changed ? " (changed)" : "", audit_changed ? "changed" : "unchanged", ignored, ignored == 1 ? "" : "s",
            srv->reg.count);
    return SM_OK;
}
