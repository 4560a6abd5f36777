/* sessmond configuration: the JSON file of docs/config.md, validation, and the demo defaults. */
#ifndef SMD_SERVER_CONFIG_H
#define SMD_SERVER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "server/geo.h"

#define SMD_DEFAULT_PORT 9595
#define SMD_NAME_MAX 128 /* bytes in a principal, role, server or connector name */

typedef struct smd_limits {
    size_t max_message_bytes;
    size_t max_properties;   /* user properties per session */
    size_t max_listeners;    /* listeners per session */
    size_t max_queue_bytes;  /* outbound bytes queued per session */
    int64_t reconnect_timeout_ms;
    int64_t heartbeat_interval_ms;
    int64_t heartbeat_timeout_ms;
    /* transport defences (docs/security.md) */
    size_t max_total_queue_bytes;   /* outbound bytes queued for all connections together */
    size_t max_pending;             /* connections not yet logged in, in total */
    size_t max_pending_per_address; /* ... from one client address */
    size_t max_pending_per_subnet;  /* ... from one IPv4 /24 or IPv6 /64 */
    int64_t handshake_timeout_ms;   /* accept to open/resume */
    /* Regular-expression cost (sm_filter_regex_cost) of listeners' filters: every session event
     * may evaluate each of them, so the sum bounds one event's listener work. */
    size_t max_listener_regex_cost;             /* all listeners of the server together */
    size_t max_listener_regex_cost_per_session; /* one session's listeners together */
} smd_limits;

/* ---- login throttling (docs/config.md § logins) ---- */
typedef struct smd_login_limits {
    unsigned address_free_failures;   /* wrong passwords from one address before it is backed off */
    unsigned network_free_failures;   /* ... from one /24 (IPv4) or /64 (IPv6) network */
    unsigned principal_free_failures; /* ... for one principal, from addresses that failed before */
    int64_t backoff_ms;               /* first back-off; it doubles with each further failure */
    int64_t max_backoff_ms;
    int64_t forget_ms;                /* a record with no failure for this long starts afresh */
    size_t table_entries;             /* addresses (and networks, principals) remembered; oldest evicted */
    int64_t check_budget_ms;          /* password-check CPU per second, for all logins together */
    unsigned suspect_share_percent;   /* of that budget, what addresses with failures may use */
    int64_t log_interval_ms;          /* one failed-login line per address per interval */
} smd_login_limits;
/* The defaults of docs/config.md § logins. */
void smd_login_limits_default(smd_login_limits *l);
/* ---- end of login throttling ---- */

typedef struct smd_role_cfg {
    char *name;
    unsigned permissions; /* SM_PERM_* bits */
} smd_role_cfg;

typedef struct smd_principal_cfg {
    char *name;
    char *password_hash;
    char **roles;
    size_t role_count;
} smd_principal_cfg;

/* ---- cluster mode (docs/cluster.md) ---- */
#define SMD_NODE_NAME_MAX 64
typedef struct smd_cluster_cfg {
    bool enabled;
    char *redis;         /* "redis://HOST:PORT" or "unix:/path" */
    char *node;          /* this node's name ($ServerName) */
    char *user;          /* Redis ACL user (NULL: SESSMON_REDIS_USER, else the default user) */
    char *password_file; /* NULL: SESSMON_REDIS_PASSWORD, else no AUTH */
    int64_t heartbeat_ms;
    int64_t node_timeout_ms;
    int64_t request_timeout_ms;
    size_t max_proxy_bytes;
    size_t max_unanswered_bytes; /* bytes handed to Redis not yet answered before the link is reset */
    int64_t max_pending_requests; /* cluster requests in flight from, and served for, other nodes */
} smd_cluster_cfg;
/* Parses and checks `redis` and `node` given on the command line (they override the file). */
int smd_cluster_cfg_set_redis(smd_cluster_cfg *c, const char *url, sm_error *err);
int smd_cluster_cfg_set_node(smd_cluster_cfg *c, const char *name, sm_error *err);
/* Whole-section checks once every source is applied: both redis and node present, the password
 * file readable. */
int smd_cluster_cfg_check(const smd_cluster_cfg *c, sm_error *err);

/* ---- audit log (docs/config.md § audit) ---- */
typedef struct smd_audit_cfg {
    char *file;          /* NULL: no audit log */
    size_t buffer_bytes; /* records waiting for the file, at most */
} smd_audit_cfg;

/* ---- admin listener: /metrics and /healthz (docs/metrics.md) ---- */
#define SMD_ADMIN_DEFAULT_PORT 9464
typedef struct smd_admin_cfg {
    bool enabled;           /* off unless admin.listen is given */
    char host[64];          /* numeric address */
    int port;               /* 0 = any free port */
    size_t max_connections; /* admin connections at once; the oldest unfinished request makes room */
    int64_t timeout_ms;     /* a whole exchange (request read, response written) within this */
} smd_admin_cfg;

typedef struct smd_config {
    char *server_name;
    char *bind;       /* numeric address */
    int port;         /* 0 = any free port */
    char *connector;  /* $Connector value */
    char *tls_cert;   /* NULL = plain ws */
    char *tls_key;
    bool anonymous_allowed;
    char **anonymous_roles;
    size_t anonymous_role_count;
    smd_role_cfg *roles; /* sorted by name */
    size_t role_count;
    smd_principal_cfg *principals; /* sorted by name */
    size_t principal_count;
    smd_limits limits;
    smd_login_limits logins;
    smd_geo geo;
    smd_cluster_cfg cluster;
    smd_audit_cfg audit;
    smd_admin_cfg admin; /* restart-only: a reload keeps the listener it started with */
    bool is_demo;
} smd_config;

/* Defaults of every field (no principals, anonymous not allowed). */
void smd_config_init(smd_config *c);
void smd_config_free(smd_config *c);
/* Parses config JSON text over the defaults. Unknown fields and bad values are errors whose
 * message names the field, e.g. "limits.maxQueueBytes: must be an integer between ...". */
int smd_config_parse(smd_config *c, const char *text, size_t len, sm_error *err);
int smd_config_load_file(smd_config *c, const char *path, sm_error *err);
/* The demo configuration (docs/config.md § Demo defaults): bound to 127.0.0.1, principals
 * admin/operator/viewer/client with passwords equal to their names, anonymous allowed. */
int smd_config_demo(smd_config *c, sm_error *err);
/* Loads tls.cert and tls.key (when configured) the way the server will, so a missing file, a
 * file that is not PEM, an encrypted key or a key of another certificate is named before start-up
 * (--check-config, and sessmond itself) instead of failing later inside libwebsockets. */
int smd_config_check_tls_files(const smd_config *c, sm_error *err);
/* Writes the configuration as config-file JSON (malloc'd), e.g. for --print-config. */
char *smd_config_to_json(const smd_config *c);

const smd_principal_cfg *smd_config_find_principal(const smd_config *c, const char *name);
const smd_role_cfg *smd_config_find_role(const smd_config *c, const char *name);
/* Union of the permissions of the named roles. */
unsigned smd_config_permissions(const smd_config *c, char *const *roles, size_t count);

#endif
