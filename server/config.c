/* sessmond configuration: the JSON file of docs/config.md, validation, and the demo defaults. */
#include "server/config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "core/protocol.h"
#include "core/utf8.h"
#include "server/audit.h"
#include "server/auth.h"

#define CONFIG_FILE_MAX (16u * 1024u * 1024u)
#define DEMO_ITERATIONS 10000u

void smd_login_limits_default(smd_login_limits *l)
{
    l->address_free_failures = 5;
    l->network_free_failures = 50;
    l->principal_free_failures = 10;
    l->backoff_ms = 1000;
    l->max_backoff_ms = 60000;
    l->forget_ms = 600000;
    l->table_entries = 4096;
    l->check_budget_ms = 300;
    l->suspect_share_percent = 50;
    l->log_interval_ms = 10000;
}

void smd_config_init(smd_config *c)
{
    memset(c, 0, sizeof *c);
    c->port = SMD_DEFAULT_PORT;
    c->limits.max_message_bytes = 65536;
    c->limits.max_properties = 64;
    c->limits.max_listeners = 64;
    c->limits.max_queue_bytes = 8u * 1024u * 1024u;
    c->limits.reconnect_timeout_ms = 60000;
    c->limits.heartbeat_interval_ms = 15000;
    c->limits.heartbeat_timeout_ms = 15000;
    smd_login_limits_default(&c->logins);
    c->limits.max_total_queue_bytes = 1024u * 1024u * 1024u;
    c->limits.max_pending = 1024;
    c->limits.max_pending_per_address = 64;
    c->limits.max_pending_per_subnet = 256;
    c->limits.handshake_timeout_ms = 5000;
    c->cluster.heartbeat_ms = 1000;
    c->cluster.node_timeout_ms = 5000;
    c->cluster.request_timeout_ms = 1000;
    c->cluster.max_proxy_bytes = 4u * 1024u * 1024u;
    c->cluster.max_unanswered_bytes = 64u * 1024u * 1024u;
    c->cluster.max_pending_requests = 4096;
    c->admin.max_connections = 8;
    c->admin.timeout_ms = 5000;
    c->limits.max_listener_regex_cost = 192;
    c->limits.max_listener_regex_cost_per_session = 128;
    smd_geo_init(&c->geo);
    c->audit.buffer_bytes = SMD_AUDIT_DEFAULT_BUFFER;
}

static void free_strv(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void smd_config_free(smd_config *c)
{
    free(c->server_name);
    free(c->bind);
    free(c->connector);
    free(c->tls_cert);
    free(c->tls_key);
    free_strv(c->anonymous_roles, c->anonymous_role_count);
    for (size_t i = 0; i < c->role_count; i++)
        free(c->roles[i].name);
    free(c->roles);
    for (size_t i = 0; i < c->principal_count; i++) {
        free(c->principals[i].name);
        free(c->principals[i].password_hash);
        free_strv(c->principals[i].roles, c->principals[i].role_count);
    }
    free(c->principals);
    smd_geo_free(&c->geo);
    free(c->cluster.redis);
    free(c->cluster.node);
    free(c->cluster.user);
    free(c->cluster.password_file);
    free(c->audit.file);
    memset(c, 0, sizeof *c);
}

/* ---- typed field readers; every error names the field's path ---- */

static int bad(sm_error *err, const char *path, const char *what)
{
    return sm_error_set(err, SM_ERR_INVALID, "config: %s: %s", path, what);
}

static int check_fields(const cJSON *obj, const char *path, const char *const *allowed, sm_error *err)
{
    if (!cJSON_IsObject(obj))
        return bad(err, path, "must be an object");
    for (const cJSON *it = obj->child; it; it = it->next) {
        bool known = false;
        for (size_t i = 0; allowed[i]; i++)
            if (strcmp(it->string, allowed[i]) == 0)
                known = true;
        if (!known)
            return sm_error_set(err, SM_ERR_INVALID, "config: %s%sunknown field '%.64s'", path, path[0] ? ": " : "",
                                it->string);
        for (const cJSON *o = obj->child; o != it; o = o->next)
            if (strcmp(o->string, it->string) == 0)
                return sm_error_set(err, SM_ERR_INVALID, "config: %s%sfield '%.64s' appears twice", path,
                                    path[0] ? ": " : "", it->string);
    }
    return SM_OK;
}

static int want_string(const cJSON *v, const char *path, size_t maxlen, bool allow_empty, char **out, sm_error *err)
{
    if (!cJSON_IsString(v) || !v->valuestring)
        return bad(err, path, "must be a string");
    size_t len = strlen(v->valuestring);
    if (!allow_empty && len == 0)
        return bad(err, path, "must not be empty");
    if (len > maxlen)
        return sm_error_set(err, SM_ERR_INVALID, "config: %s: longer than %zu bytes", path, maxlen);
    if (!sm_utf8_valid(v->valuestring, len))
        return bad(err, path, "is not valid UTF-8");
    char *copy = strdup(v->valuestring);
    if (!copy)
        return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
    free(*out);
    *out = copy;
    return SM_OK;
}

static int want_int(const cJSON *v, const char *path, int64_t min, int64_t max, int64_t *out, sm_error *err)
{
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || v->valuedouble < (double)min ||
        v->valuedouble > (double)max)
        return sm_error_set(err, SM_ERR_INVALID, "config: %s: must be an integer between %lld and %lld", path,
                            (long long)min, (long long)max);
    *out = (int64_t)v->valuedouble;
    return SM_OK;
}

/* One integer field of a section: its range and where it goes (i64, or sz for a size). */
typedef struct int_field {
    const char *name;
    int64_t min, max;
    int64_t *i64;
    size_t *sz;
} int_field;

/* Reads every integer field of spec present in section o ("limits", ...), each in its range. */
static int want_int_fields(const cJSON *o, const char *section, const int_field *spec, size_t n, sm_error *err)
{
    for (size_t i = 0; i < n; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, spec[i].name);
        if (!v)
            continue;
        char path[64];
        snprintf(path, sizeof path, "%s.%s", section, spec[i].name);
        int64_t x = 0;
        int rc = want_int(v, path, spec[i].min, spec[i].max, &x, err);
        if (rc != SM_OK)
            return rc;
        if (spec[i].i64)
            *spec[i].i64 = x;
        else
            *spec[i].sz = (size_t)x;
    }
    return SM_OK;
}

static int want_bool(const cJSON *v, const char *path, bool *out, sm_error *err)
{
    if (!cJSON_IsBool(v))
        return bad(err, path, "must be true or false");
    *out = cJSON_IsTrue(v);
    return SM_OK;
}

/* An array of distinct non-empty names. */
static int want_names(const cJSON *v, const char *path, char ***out, size_t *count, sm_error *err)
{
    if (!cJSON_IsArray(v))
        return bad(err, path, "must be an array of strings");
    size_t n = (size_t)cJSON_GetArraySize(v);
    char **names = calloc(n ? n : 1, sizeof *names);
    if (!names)
        return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
    size_t k = 0;
    int rc = SM_OK;
    for (const cJSON *it = v->child; it; it = it->next) {
        char *s = NULL;
        char p[160];
        snprintf(p, sizeof p, "%s[%zu]", path, k);
        if ((rc = want_string(it, p, SMD_NAME_MAX, false, &s, err)) != SM_OK)
            break;
        bool dup = false;
        for (size_t i = 0; i < k; i++)
            if (strcmp(names[i], s) == 0)
                dup = true;
        if (dup) {
            free(s);
            rc = sm_error_set(err, SM_ERR_INVALID, "config: %s: '%.64s' is listed twice", path, it->valuestring);
            break;
        }
        names[k++] = s;
    }
    if (rc != SM_OK) {
        free_strv(names, k);
        return rc;
    }
    free_strv(*out, *count);
    *out = names;
    *count = k;
    return SM_OK;
}

/* ---- sections ---- */

static int parse_server(smd_config *c, const cJSON *o, sm_error *err)
{
    static const char *const fields[] = {"name", "bind", "port", "connector", NULL};
    int rc = check_fields(o, "server", fields, err);
    const cJSON *v;
    if (rc == SM_OK && (v = cJSON_GetObjectItemCaseSensitive(o, "name")))
        rc = want_string(v, "server.name", SMD_NAME_MAX, false, &c->server_name, err);
    if (rc == SM_OK && (v = cJSON_GetObjectItemCaseSensitive(o, "bind"))) {
        rc = want_string(v, "server.bind", 63, false, &c->bind, err);
        unsigned char tmp[16];
        if (rc == SM_OK && inet_pton(AF_INET, c->bind, tmp) != 1 && inet_pton(AF_INET6, c->bind, tmp) != 1)
            rc = bad(err, "server.bind", "must be a numeric IPv4 or IPv6 address");
    }
    if (rc == SM_OK && (v = cJSON_GetObjectItemCaseSensitive(o, "port"))) {
        int64_t p = 0;
        if ((rc = want_int(v, "server.port", 0, 65535, &p, err)) == SM_OK)
            c->port = (int)p;
    }
    if (rc == SM_OK && (v = cJSON_GetObjectItemCaseSensitive(o, "connector")))
        rc = want_string(v, "server.connector", SMD_NAME_MAX, false, &c->connector, err);
    return rc;
}

static int parse_tls(smd_config *c, const cJSON *o, sm_error *err)
{
    static const char *const fields[] = {"cert", "key", NULL};
    int rc = check_fields(o, "tls", fields, err);
    const cJSON *cert = cJSON_GetObjectItemCaseSensitive(o, "cert");
    const cJSON *key = cJSON_GetObjectItemCaseSensitive(o, "key");
    if (rc == SM_OK && (!cert || !key))
        return bad(err, "tls", "needs both 'cert' and 'key'");
    if (rc == SM_OK)
        rc = want_string(cert, "tls.cert", 4096, false, &c->tls_cert, err);
    if (rc == SM_OK)
        rc = want_string(key, "tls.key", 4096, false, &c->tls_key, err);
    return rc;
}

/* Never prompts: an encrypted key fails like a missing one (sessmond has no way to get its passphrase). */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

int smd_config_check_tls_files(const smd_config *c, sm_error *err)
{
    if (!c->tls_cert)
        return SM_OK;
    FILE *f = fopen(c->tls_cert, "r");
    if (!f)
        return sm_error_set(err, SM_ERR_INVALID, "config: tls.cert: cannot read %.200s: %s", c->tls_cert,
                            strerror(errno));
    X509 *cert = PEM_read_X509(f, NULL, no_passphrase, NULL);
    fclose(f);
    if (!cert) {
        ERR_clear_error();
        return sm_error_set(err, SM_ERR_INVALID, "config: tls.cert: %.200s holds no PEM certificate", c->tls_cert);
    }
    int rc = SM_OK;
    EVP_PKEY *key = NULL;
    if (!(f = fopen(c->tls_key, "r"))) {
        rc = sm_error_set(err, SM_ERR_INVALID, "config: tls.key: cannot read %.200s: %s", c->tls_key, strerror(errno));
    } else {
        key = PEM_read_PrivateKey(f, NULL, no_passphrase, NULL);
        fclose(f);
        if (!key)
            rc = sm_error_set(err, SM_ERR_INVALID,
                              "config: tls.key: %.200s holds no unencrypted PEM private key", c->tls_key);
        else if (X509_check_private_key(cert, key) != 1)
            rc = sm_error_set(err, SM_ERR_INVALID, "config: tls: the key in tls.key does not match the certificate "
                                                   "in tls.cert");
    }
    ERR_clear_error();
    EVP_PKEY_free(key);
    X509_free(cert);
    return rc;
}

static int parse_anonymous(smd_config *c, const cJSON *o, sm_error *err)
{
    static const char *const fields[] = {"allowed", "roles", NULL};
    int rc = check_fields(o, "anonymous", fields, err);
    const cJSON *v;
    if (rc == SM_OK && (v = cJSON_GetObjectItemCaseSensitive(o, "allowed")))
        rc = want_bool(v, "anonymous.allowed", &c->anonymous_allowed, err);
    if (rc == SM_OK && (v = cJSON_GetObjectItemCaseSensitive(o, "roles")))
        rc = want_names(v, "anonymous.roles", &c->anonymous_roles, &c->anonymous_role_count, err);
    return rc;
}

/* Roles and principals are both kept sorted by name, their first member, so one comparator
 * (and one lookup) serves both tables. */
_Static_assert(offsetof(smd_role_cfg, name) == 0, "role name first");
_Static_assert(offsetof(smd_principal_cfg, name) == 0, "principal name first");

static int compare_by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int compare_name_to_entry(const void *name, const void *entry)
{
    return strcmp(name, *(char *const *)entry);
}

static const void *find_by_name(const void *table, size_t count, size_t size, const char *name)
{
    return count ? bsearch(name, table, count, size, compare_name_to_entry) : NULL;
}

static int parse_roles(smd_config *c, const cJSON *o, sm_error *err)
{
    if (!cJSON_IsObject(o))
        return bad(err, "roles", "must be an object mapping role names to permission lists");
    size_t n = (size_t)cJSON_GetArraySize(o);
    smd_role_cfg *roles = calloc(n ? n : 1, sizeof *roles);
    if (!roles)
        return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
    size_t k = 0;
    int rc = SM_OK;
    for (const cJSON *it = o->child; it && rc == SM_OK; it = it->next) {
        char path[200];
        snprintf(path, sizeof path, "roles.%.128s", it->string);
        size_t nl = strlen(it->string);
        if (nl == 0 || nl > SMD_NAME_MAX || !sm_utf8_valid(it->string, nl)) {
            rc = bad(err, "roles", "role names must be 1..128 bytes of UTF-8");
            break;
        }
        if (!cJSON_IsArray(it)) {
            rc = bad(err, path, "must be an array of permission names");
            break;
        }
        unsigned perms = 0;
        for (const cJSON *p = it->child; p; p = p->next) {
            unsigned bit = cJSON_IsString(p) ? sm_permission_from_name(p->valuestring) : 0;
            if (!bit) {
                rc = sm_error_set(err, SM_ERR_INVALID,
                                  "config: %s: unknown permission '%.64s' (use view_session, modify_session, "
                                  "register_handler)",
                                  path, cJSON_IsString(p) ? p->valuestring : "(not a string)");
                break;
            }
            perms |= bit;
        }
        if (rc != SM_OK)
            break;
        roles[k].name = strdup(it->string);
        if (!roles[k].name) {
            rc = sm_error_set(err, SM_ERR_NOMEM, "out of memory");
            break;
        }
        roles[k++].permissions = perms;
    }
    if (rc == SM_OK) {
        qsort(roles, k, sizeof *roles, compare_by_name);
        for (size_t i = 1; i < k; i++)
            if (strcmp(roles[i - 1].name, roles[i].name) == 0)
                rc = sm_error_set(err, SM_ERR_INVALID, "config: roles: role '%.64s' appears twice", roles[i].name);
    }
    if (rc != SM_OK) {
        for (size_t i = 0; i < k; i++)
            free(roles[i].name);
        free(roles);
        return rc;
    }
    for (size_t i = 0; i < c->role_count; i++)
        free(c->roles[i].name);
    free(c->roles);
    c->roles = roles;
    c->role_count = k;
    return SM_OK;
}

static int parse_principals(smd_config *c, const cJSON *o, sm_error *err)
{
    if (!cJSON_IsObject(o))
        return bad(err, "principals", "must be an object mapping principal names to {password, roles}");
    size_t n = (size_t)cJSON_GetArraySize(o);
    smd_principal_cfg *ps = calloc(n ? n : 1, sizeof *ps);
    if (!ps)
        return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
    size_t k = 0;
    int rc = SM_OK;
    static const char *const fields[] = {"password", "roles", NULL};
    for (const cJSON *it = o->child; it && rc == SM_OK; it = it->next) {
        char path[200], sub[240];
        snprintf(path, sizeof path, "principals.%.128s", it->string);
        size_t nl = strlen(it->string);
        if (nl == 0 || nl > SMD_NAME_MAX || !sm_utf8_valid(it->string, nl)) {
            rc = bad(err, "principals", "principal names must be 1..128 bytes of UTF-8 (\"\" is anonymous)");
            break;
        }
        if ((rc = check_fields(it, path, fields, err)) != SM_OK)
            break;
        smd_principal_cfg *p = &ps[k++];
        if (!(p->name = strdup(it->string))) {
            rc = sm_error_set(err, SM_ERR_NOMEM, "out of memory");
            break;
        }
        const cJSON *pw = cJSON_GetObjectItemCaseSensitive(it, "password");
        snprintf(sub, sizeof sub, "%s.password", path);
        if (!pw) {
            rc = bad(err, sub, "is missing (make one with: sessmond --hash-password)");
            break;
        }
        if ((rc = want_string(pw, sub, 512, false, &p->password_hash, err)) != SM_OK)
            break;
        sm_error herr;
        sm_error_clear(&herr);
        if (smd_auth_check_hash(p->password_hash, &herr) != SM_OK) {
            rc = sm_error_set(err, SM_ERR_INVALID, "config: %s: %s (make one with: sessmond --hash-password)", sub,
                              herr.message);
            break;
        }
        const cJSON *roles = cJSON_GetObjectItemCaseSensitive(it, "roles");
        snprintf(sub, sizeof sub, "%s.roles", path);
        if (roles)
            rc = want_names(roles, sub, &p->roles, &p->role_count, err);
    }
    if (rc == SM_OK) {
        qsort(ps, k, sizeof *ps, compare_by_name);
        for (size_t i = 1; i < k; i++)
            if (strcmp(ps[i - 1].name, ps[i].name) == 0)
                rc = sm_error_set(err, SM_ERR_INVALID, "config: principals: '%.64s' appears twice", ps[i].name);
    }
    if (rc != SM_OK) {
        for (size_t i = 0; i < k; i++) {
            free(ps[i].name);
            free(ps[i].password_hash);
            free_strv(ps[i].roles, ps[i].role_count);
        }
        free(ps);
        return rc;
    }
    for (size_t i = 0; i < c->principal_count; i++) {
        free(c->principals[i].name);
        free(c->principals[i].password_hash);
        free_strv(c->principals[i].roles, c->principals[i].role_count);
    }
    free(c->principals);
    c->principals = ps;
    c->principal_count = k;
    return SM_OK;
}

static int parse_limits(smd_config *c, const cJSON *o, sm_error *err)
{
    static const char *const fields[] = {"maxMessageBytes",    "maxPropertiesPerSession", "maxListenersPerSession",
                                         "maxQueueBytes",      "reconnectTimeoutMs",      "heartbeatIntervalMs",
                                         "heartbeatTimeoutMs", "maxTotalQueueBytes",      "maxPending",
                                         "maxPendingPerAddress", "maxPendingPerSubnet",   "handshakeTimeoutMs",
                                         "maxListenerRegexCost", "maxListenerRegexCostPerSession", NULL};
    int rc = check_fields(o, "limits", fields, err);
    const int_field spec[] = {
        {"maxMessageBytes", 1024, 16 * 1024 * 1024, NULL, &c->limits.max_message_bytes},
        {"maxPropertiesPerSession", 0, 1024, NULL, &c->limits.max_properties},
        {"maxListenersPerSession", 0, 256, NULL, &c->limits.max_listeners},
        {"maxQueueBytes", 65536, 1024LL * 1024 * 1024, NULL, &c->limits.max_queue_bytes},
        {"reconnectTimeoutMs", 0, 86400000, &c->limits.reconnect_timeout_ms, NULL},
        {"heartbeatIntervalMs", 50, 3600000, &c->limits.heartbeat_interval_ms, NULL},
        {"heartbeatTimeoutMs", 50, 3600000, &c->limits.heartbeat_timeout_ms, NULL},
        {"maxTotalQueueBytes", 1024 * 1024, 1024LL * 1024 * 1024 * 1024, NULL, &c->limits.max_total_queue_bytes},
        {"maxPending", 1, 1000000, NULL, &c->limits.max_pending},
        {"maxPendingPerAddress", 1, 1000000, NULL, &c->limits.max_pending_per_address},
        {"maxPendingPerSubnet", 1, 1000000, NULL, &c->limits.max_pending_per_subnet},
        {"handshakeTimeoutMs", 100, 600000, &c->limits.handshake_timeout_ms, NULL},
        {"maxListenerRegexCost", 0, 1000000, NULL, &c->limits.max_listener_regex_cost},
        {"maxListenerRegexCostPerSession", 0, 1000000, NULL, &c->limits.max_listener_regex_cost_per_session},
    };
    if (rc == SM_OK)
        rc = want_int_fields(o, "limits", spec, sizeof spec / sizeof spec[0], err);
    const smd_limits *l = &c->limits;
    if (rc == SM_OK && l->max_total_queue_bytes < l->max_queue_bytes)
        rc = bad(err, "limits.maxTotalQueueBytes", "must be at least limits.maxQueueBytes");
    if (rc == SM_OK && l->max_pending_per_address > l->max_pending_per_subnet)
        rc = bad(err, "limits.maxPendingPerAddress", "must be at most limits.maxPendingPerSubnet");
    if (rc == SM_OK && l->max_pending_per_subnet > l->max_pending)
        rc = bad(err, "limits.maxPendingPerSubnet", "must be at most limits.maxPending");
    return rc;
}

/* ---- login throttling section ("logins") ---- */

static int parse_logins(smd_config *c, const cJSON *o, sm_error *err)
{
    static const char *const fields[] = {"addressFreeFailures", "networkFreeFailures", "principalFreeFailures",
                                         "backoffMs",           "maxBackoffMs",        "forgetMs",
                                         "tableEntries",        "checkBudgetMs",       "suspectSharePercent",
                                         "logIntervalMs",       NULL};
    int rc = check_fields(o, "logins", fields, err);
    smd_login_limits *l = &c->logins;
    int64_t address_free = l->address_free_failures, network_free = l->network_free_failures,
            principal_free = l->principal_free_failures, share = l->suspect_share_percent;
    const int_field spec[] = {
        {"addressFreeFailures", 1, 1000, &address_free, NULL},
        {"networkFreeFailures", 1, 100000, &network_free, NULL},
        {"principalFreeFailures", 1, 100000, &principal_free, NULL},
        {"backoffMs", 1, 3600000, &l->backoff_ms, NULL},
        {"maxBackoffMs", 1, 86400000, &l->max_backoff_ms, NULL},
        {"forgetMs", 1000, 604800000, &l->forget_ms, NULL},
        {"tableEntries", 64, 1048576, NULL, &l->table_entries},
        {"checkBudgetMs", 10, 1000, &l->check_budget_ms, NULL},
        {"suspectSharePercent", 1, 100, &share, NULL},
        {"logIntervalMs", 100, 3600000, &l->log_interval_ms, NULL},
    };
    if (rc == SM_OK)
        rc = want_int_fields(o, "logins", spec, sizeof spec / sizeof spec[0], err);
    if (rc == SM_OK && l->max_backoff_ms < l->backoff_ms)
        rc = bad(err, "logins.maxBackoffMs", "must not be less than logins.backoffMs");
    if (rc == SM_OK) {
        l->address_free_failures = (unsigned)address_free;
        l->network_free_failures = (unsigned)network_free;
        l->principal_free_failures = (unsigned)principal_free;
        l->suspect_share_percent = (unsigned)share;
    }
    return rc;
}

static void logins_to_json(const smd_login_limits *l, cJSON *root)
{
    cJSON *o = cJSON_AddObjectToObject(root, "logins");
    cJSON_AddNumberToObject(o, "addressFreeFailures", l->address_free_failures);
    cJSON_AddNumberToObject(o, "networkFreeFailures", l->network_free_failures);
    cJSON_AddNumberToObject(o, "principalFreeFailures", l->principal_free_failures);
    cJSON_AddNumberToObject(o, "backoffMs", (double)l->backoff_ms);
    cJSON_AddNumberToObject(o, "maxBackoffMs", (double)l->max_backoff_ms);
    cJSON_AddNumberToObject(o, "forgetMs", (double)l->forget_ms);
    cJSON_AddNumberToObject(o, "tableEntries", (double)l->table_entries);
    cJSON_AddNumberToObject(o, "checkBudgetMs", (double)l->check_budget_ms);
    cJSON_AddNumberToObject(o, "suspectSharePercent", l->suspect_share_percent);
    cJSON_AddNumberToObject(o, "logIntervalMs", (double)l->log_interval_ms);
}

/* ---- end of login throttling section ---- */

/* ---- cluster section (docs/cluster.md) ---- */

int smd_cluster_cfg_set_redis(smd_cluster_cfg *c, const char *url, sm_error *err)
{
    size_t len = strlen(url);
    if (len > 300)
        return bad(err, "cluster.redis", "longer than 300 bytes");
    if (strncmp(url, "unix:", 5) == 0) {
        if (url[5] != '/')
            return bad(err, "cluster.redis", "a Unix socket must be an absolute path: unix:/path/to/redis.sock");
    } else if (strncmp(url, "redis://", 8) == 0) {
        const char *host = url + 8, *colon = strrchr(host, ':');
        char *end = NULL;
        long port = colon ? strtol(colon + 1, &end, 10) : 0;
        if (!colon || colon == host || !end || *end || colon[1] == '\0' || port < 1 || port > 65535)
            return bad(err, "cluster.redis", "must be redis://HOST:PORT (a numeric address is best: no DNS lookups "
                                             "on the loop) or unix:/path");
        for (const char *p = host; p < colon; p++)
            if (!(isalnum((unsigned char)*p) || *p == '.' || *p == '-' || *p == ':' || *p == '[' || *p == ']'))
                return bad(err, "cluster.redis", "the host has characters that are not allowed");
    } else {
        return bad(err, "cluster.redis", "must be redis://HOST:PORT or unix:/path (hiredis 0.14 has no TLS: "
                                         "see docs/cluster.md § Security)");
    }
    char *copy = strdup(url);
    if (!copy)
        return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
    free(c->redis);
    c->redis = copy;
    c->enabled = true;
    return SM_OK;
}

int smd_cluster_cfg_set_node(smd_cluster_cfg *c, const char *name, sm_error *err)
{
    size_t len = strlen(name);
    if (len == 0 || len > SMD_NODE_NAME_MAX)
        return bad(err, "cluster.node", "must be 1..64 characters");
    for (size_t i = 0; i < len; i++)
        if (!(isalnum((unsigned char)name[i]) || name[i] == '.' || name[i] == '-' || name[i] == '_'))
            return bad(err, "cluster.node", "may only hold letters, digits, '.', '-' and '_'");
    char *copy = strdup(name);
    if (!copy)
        return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
    free(c->node);
    c->node = copy;
    c->enabled = true;
    return SM_OK;
}

int smd_cluster_cfg_check(const smd_cluster_cfg *c, sm_error *err)
{
    if (!c->enabled)
        return SM_OK;
    if (!c->redis)
        return bad(err, "cluster.redis", "is missing (or give --cluster-redis URL)");
    if (!c->node)
        return bad(err, "cluster.node", "is missing (or give --node NAME)");
    if (c->node_timeout_ms < 2 * c->heartbeat_ms)
        return bad(err, "cluster.nodeTimeoutMs", "must be at least twice cluster.heartbeatMs");
    if (c->password_file) {
        FILE *f = fopen(c->password_file, "r");
        if (!f)
            return sm_error_set(err, SM_ERR_IO, "config: cluster.passwordFile: cannot read %.200s: %s",
                                c->password_file, strerror(errno));
        fclose(f);
    }
    return SM_OK;
}

static int parse_cluster(smd_config *c, const cJSON *o, sm_error *err)
{
    static const char *const fields[] = {"redis",        "node",          "user",
                                         "passwordFile", "heartbeatMs",   "nodeTimeoutMs",
                                         "requestTimeoutMs", "maxProxyBytes", "maxUnansweredBytes",
                                         "maxPendingRequests", NULL};
    int rc = check_fields(o, "cluster", fields, err);
    smd_cluster_cfg *k = &c->cluster;
    const cJSON *v;
    k->enabled = true;
    if (rc == SM_OK && (v = cJSON_GetObjectItemCaseSensitive(o, "redis")))
        rc = cJSON_IsString(v) && v->valuestring ? smd_cluster_cfg_set_redis(k, v->valuestring, err)
                                                 : bad(err, "cluster.redis", "must be a string");
    if (rc == SM_OK && (v = cJSON_GetObjectItemCaseSensitive(o, "node")))
        rc = cJSON_IsString(v) && v->valuestring ? smd_cluster_cfg_set_node(k, v->valuestring, err)
                                                 : bad(err, "cluster.node", "must be a string");
    if (rc == SM_OK && (v = cJSON_GetObjectItemCaseSensitive(o, "user")))
        rc = want_string(v, "cluster.user", SMD_NAME_MAX, false, &k->user, err);
    if (rc == SM_OK && (v = cJSON_GetObjectItemCaseSensitive(o, "passwordFile")))
        rc = want_string(v, "cluster.passwordFile", 4096, false, &k->password_file, err);
    const int_field spec[] = {
        {"heartbeatMs", 50, 60000, &k->heartbeat_ms, NULL},
        {"nodeTimeoutMs", 100, 600000, &k->node_timeout_ms, NULL},
        {"requestTimeoutMs", 10, 600000, &k->request_timeout_ms, NULL},
        {"maxPendingRequests", 1, 1000000, &k->max_pending_requests, NULL},
        {"maxProxyBytes", 65536, 1024LL * 1024 * 1024, NULL, &k->max_proxy_bytes},
        {"maxUnansweredBytes", 1024LL * 1024, 4096LL * 1024 * 1024, NULL, &k->max_unanswered_bytes},
    };
    if (rc == SM_OK)
        rc = want_int_fields(o, "cluster", spec, sizeof spec / sizeof spec[0], err);
    return rc;
}

static int parse_audit(smd_config *c, const cJSON *o, sm_error *err)
{
    static const char *const fields[] = {"file", "bufferBytes", NULL};
    int rc = check_fields(o, "audit", fields, err);
    const cJSON *v;
    if (rc == SM_OK && (v = cJSON_GetObjectItemCaseSensitive(o, "file"))) {
        rc = want_string(v, "audit.file", 4096, false, &c->audit.file, err);
        if (rc == SM_OK && c->audit.file[0] != '/')
            rc = bad(err, "audit.file", "must be an absolute path");
    }
    if (rc == SM_OK && (v = cJSON_GetObjectItemCaseSensitive(o, "bufferBytes"))) {
        int64_t x = 0;
        if ((rc = want_int(v, "audit.bufferBytes", SMD_AUDIT_MIN_BUFFER, SMD_AUDIT_MAX_BUFFER, &x, err)) == SM_OK)
            c->audit.buffer_bytes = (size_t)x;
    }
    return rc;
}

/* ---- admin section (docs/config.md § admin) ---- */

/* "ADDR:PORT" or "[IPv6]:PORT", numeric only (no DNS at start-up). */
static int parse_admin_listen(smd_admin_cfg *a, const char *text, sm_error *err)
{
    const char *why = "must be \"ADDRESS:PORT\" with a numeric address, e.g. \"127.0.0.1:9464\" or \"[::1]:9464\"";
    char host[64];
    const char *colon = strrchr(text, ':');
    if (!colon || colon == text)
        return bad(err, "admin.listen", why);
    size_t hlen = (size_t)(colon - text);
    const char *h = text;
    if (text[0] == '[') {
        if (hlen < 3 || text[hlen - 1] != ']')
            return bad(err, "admin.listen", why);
        h++;
        hlen -= 2;
    }
    if (hlen >= sizeof host)
        return bad(err, "admin.listen", why);
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    unsigned char tmp[16];
    bool v6 = inet_pton(AF_INET6, host, tmp) == 1;
    if (!v6 && inet_pton(AF_INET, host, tmp) != 1)
        return bad(err, "admin.listen", why);
    if (v6 != (text[0] == '['))
        return bad(err, "admin.listen", "an IPv6 address goes in brackets: \"[::1]:9464\"");
    char *end;
    errno = 0;
    long port = strtol(colon + 1, &end, 10);
    if (!isdigit((unsigned char)colon[1]) || *end || errno || port < 0 || port > 65535)
        return bad(err, "admin.listen", "the port must be 0..65535");
    snprintf(a->host, sizeof a->host, "%s", host);
    a->port = (int)port;
    a->enabled = true;
    return SM_OK;
}

static int parse_admin(smd_config *c, const cJSON *o, sm_error *err)
{
    static const char *const fields[] = {"listen", "maxConnections", "timeoutMs", NULL};
    int rc = check_fields(o, "admin", fields, err);
    const cJSON *v;
    int64_t x = 0;
    if (rc == SM_OK && (v = cJSON_GetObjectItemCaseSensitive(o, "listen"))) {
        if (!cJSON_IsString(v) || !v->valuestring)
            rc = bad(err, "admin.listen", "must be a string");
        else if (v->valuestring[0] == '\0')
            c->admin.enabled = false; /* "" turns it off */
        else
            rc = parse_admin_listen(&c->admin, v->valuestring, err);
    }
    if (rc == SM_OK && (v = cJSON_GetObjectItemCaseSensitive(o, "maxConnections")) &&
        (rc = want_int(v, "admin.maxConnections", 1, 1024, &x, err)) == SM_OK)
        c->admin.max_connections = (size_t)x;
    if (rc == SM_OK && (v = cJSON_GetObjectItemCaseSensitive(o, "timeoutMs")) &&
        (rc = want_int(v, "admin.timeoutMs", 100, 600000, &x, err)) == SM_OK)
        c->admin.timeout_ms = x;
    return rc;
}

static int parse_geo(smd_config *c, const cJSON *a, sm_error *err)
{
    if (!cJSON_IsArray(a))
        return bad(err, "geo", "must be an array of {cidr, country, language, latitude, longitude}");
    static const char *const fields[] = {"cidr", "country", "language", "latitude", "longitude", NULL};
    smd_geo_free(&c->geo);
    size_t i = 0;
    for (const cJSON *it = a->child; it; it = it->next, i++) {
        char path[48], sub[64];
        snprintf(path, sizeof path, "geo[%zu]", i);
        int rc = check_fields(it, path, fields, err);
        if (rc != SM_OK)
            return rc;
        const cJSON *cidr = cJSON_GetObjectItemCaseSensitive(it, "cidr");
        const cJSON *country = cJSON_GetObjectItemCaseSensitive(it, "country");
        const cJSON *language = cJSON_GetObjectItemCaseSensitive(it, "language");
        const cJSON *lat = cJSON_GetObjectItemCaseSensitive(it, "latitude");
        const cJSON *lon = cJSON_GetObjectItemCaseSensitive(it, "longitude");
        snprintf(sub, sizeof sub, "%s.cidr", path);
        if (!cJSON_IsString(cidr))
            return bad(err, sub, "must be a string such as \"10.0.0.0/8\"");
        if (country && !cJSON_IsString(country)) {
            snprintf(sub, sizeof sub, "%s.country", path);
            return bad(err, sub, "must be a string");
        }
        if (language && !cJSON_IsString(language)) {
            snprintf(sub, sizeof sub, "%s.language", path);
            return bad(err, sub, "must be a string");
        }
        if (lat && !cJSON_IsNumber(lat)) {
            snprintf(sub, sizeof sub, "%s.latitude", path);
            return bad(err, sub, "must be a number");
        }
        if (lon && !cJSON_IsNumber(lon)) {
            snprintf(sub, sizeof sub, "%s.longitude", path);
            return bad(err, sub, "must be a number");
        }
        sm_error gerr;
        sm_error_clear(&gerr);
        if (smd_geo_add(&c->geo, cidr->valuestring, country ? country->valuestring : NULL,
                       language ? language->valuestring : NULL, lat != NULL, lat ? lat->valuedouble : 0, lon != NULL,
                       lon ? lon->valuedouble : 0, &gerr) != SM_OK)
            return sm_error_set(err, SM_ERR_INVALID, "config: %s: %s", path, gerr.message);
    }
    return smd_geo_finish(&c->geo, err);
}

static int check_role_refs(const smd_config *c, sm_error *err)
{
    for (size_t i = 0; i < c->anonymous_role_count; i++)
        if (!smd_config_find_role(c, c->anonymous_roles[i]))
            return sm_error_set(err, SM_ERR_INVALID, "config: anonymous.roles: role '%.64s' is not defined in 'roles'",
                                c->anonymous_roles[i]);
    for (size_t p = 0; p < c->principal_count; p++)
        for (size_t i = 0; i < c->principals[p].role_count; i++)
            if (!smd_config_find_role(c, c->principals[p].roles[i]))
                return sm_error_set(err, SM_ERR_INVALID,
                                    "config: principals.%.64s.roles: role '%.64s' is not defined in 'roles'",
                                    c->principals[p].name, c->principals[p].roles[i]);
    return SM_OK;
}

int smd_config_parse(smd_config *c, const char *text, size_t len, sm_error *err)
{
    if (!sm_utf8_valid(text, len))
        return sm_error_set(err, SM_ERR_INVALID, "config: not valid UTF-8 text");
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!root) {
        size_t at = end && end >= text ? (size_t)(end - text) : 0;
        size_t line = 1, col = 1;
        for (size_t i = 0; i < at && i < len; i++) {
            if (text[i] == '\n') {
                line++;
                col = 1;
            } else {
                col++;
            }
        }
        return sm_error_set(err, SM_ERR_INVALID, "config: invalid JSON near line %zu, column %zu", line, col);
    }
    static const char *const fields[] = {"server",     "tls",    "anonymous", "roles", "principals",
                                         "limits",     "logins", "geo",       "cluster", "audit",
                                         "admin",      NULL};
    int rc = check_fields(root, "", fields, err);
    const cJSON *v;
    if (rc == SM_OK && (v = cJSON_GetObjectItemCaseSensitive(root, "server")))
        rc = parse_server(c, v, err);
    if (rc == SM_OK && (v = cJSON_GetObjectItemCaseSensitive(root, "tls")))
        rc = parse_tls(c, v, err);
    if (rc == SM_OK && (v = cJSON_GetObjectItemCaseSensitive(root, "anonymous")))
        rc = parse_anonymous(c, v, err);
    if (rc == SM_OK && (v = cJSON_GetObjectItemCaseSensitive(root, "roles")))
        rc = parse_roles(c, v, err);
    if (rc == SM_OK && (v = cJSON_GetObjectItemCaseSensitive(root, "principals")))
        rc = parse_principals(c, v, err);
    if (rc == SM_OK && (v = cJSON_GetObjectItemCaseSensitive(root, "limits")))
        rc = parse_limits(c, v, err);
    if (rc == SM_OK && (v = cJSON_GetObjectItemCaseSensitive(root, "logins")))
        rc = parse_logins(c, v, err);
    if (rc == SM_OK && (v = cJSON_GetObjectItemCaseSensitive(root, "geo")))
        rc = parse_geo(c, v, err);
    if (rc == SM_OK && (v = cJSON_GetObjectItemCaseSensitive(root, "cluster")))
        rc = parse_cluster(c, v, err);
    if (rc == SM_OK && (v = cJSON_GetObjectItemCaseSensitive(root, "audit")))
        rc = parse_audit(c, v, err);
    if (rc == SM_OK && (v = cJSON_GetObjectItemCaseSensitive(root, "admin")))
        rc = parse_admin(c, v, err);
    cJSON_Delete(root);
    if (rc == SM_OK)
        rc = check_role_refs(c, err);
    return rc;
}

int smd_config_load_file(smd_config *c, const char *path, sm_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return sm_error_set(err, SM_ERR_IO, "config: cannot open %.200s: %s", path, strerror(errno));
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int rc = SM_OK;
    for (;;) {
        if (len + 65536 > cap) {
            cap = cap ? cap * 2 : 65536;
            char *n = realloc(buf, cap);
            if (!n) {
                rc = sm_error_set(err, SM_ERR_NOMEM, "out of memory");
                break;
            }
            buf = n;
        }
        size_t r = fread(buf + len, 1, cap - len, f);
        len += r;
        if (len > CONFIG_FILE_MAX) {
            rc = sm_error_set(err, SM_ERR_LIMIT, "config: %.200s is larger than %u bytes", path, CONFIG_FILE_MAX);
            break;
        }
        if (r == 0) {
            if (ferror(f))
                rc = sm_error_set(err, SM_ERR_IO, "config: cannot read %.200s", path);
            break;
        }
    }
    fclose(f);
    if (rc == SM_OK)
        rc = smd_config_parse(c, buf ? buf : "", len, err);
    free(buf);
    return rc;
}

int smd_config_demo(smd_config *c, sm_error *err)
{
    static const char *const names[] = {"admin", "operator", "viewer", "client"};
    char *hashes[4] = {NULL, NULL, NULL, NULL};
    int rc = SM_OK;
    for (int i = 0; i < 4 && rc == SM_OK; i++)
        rc = smd_auth_hash_password(names[i], strlen(names[i]), DEMO_ITERATIONS, &hashes[i], err);
    char *text = NULL;
    if (rc == SM_OK &&
        asprintf(&text,
                 "{\"server\":{\"name\":\"sessmond\",\"bind\":\"127.0.0.1\",\"port\":%d},"
                 "\"anonymous\":{\"allowed\":true,\"roles\":[\"CLIENT\"]},"
                 "\"roles\":{\"ADMINISTRATOR\":[\"view_session\",\"modify_session\",\"register_handler\"],"
                 "\"OPERATOR\":[\"view_session\",\"modify_session\",\"register_handler\"],"
                 "\"VIEWER\":[\"view_session\",\"register_handler\"],\"CLIENT\":[]},"
                 "\"principals\":{\"admin\":{\"password\":\"%s\",\"roles\":[\"ADMINISTRATOR\"]},"
                 "\"operator\":{\"password\":\"%s\",\"roles\":[\"OPERATOR\"]},"
                 "\"viewer\":{\"password\":\"%s\",\"roles\":[\"VIEWER\"]},"
                 "\"client\":{\"password\":\"%s\",\"roles\":[\"CLIENT\"]}}}",
                 SMD_DEFAULT_PORT, hashes[0], hashes[1], hashes[2], hashes[3]) < 0) {
        text = NULL;
        rc = sm_error_set(err, SM_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; i < 4; i++)
        free(hashes[i]);
    if (rc == SM_OK)
        rc = smd_config_parse(c, text, strlen(text), err);
    free(text);
    if (rc == SM_OK)
        c->is_demo = true;
    return rc;
}

static cJSON *names_array(char *const *names, size_t n)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; a && i < n; i++)
        cJSON_AddItemToArray(a, cJSON_CreateString(names[i]));
    return a;
}

char *smd_config_to_json(const smd_config *c)
{
    cJSON *root = cJSON_CreateObject();
    if (!root)
        return NULL;
    cJSON *server = cJSON_AddObjectToObject(root, "server");
    cJSON_AddStringToObject(server, "name", c->server_name ? c->server_name : "sessmond");
    cJSON_AddStringToObject(server, "bind", c->bind ? c->bind : "127.0.0.1");
    cJSON_AddNumberToObject(server, "port", c->port);
    /* Only when set: the default depends on tls, which a later edit of the printed file may add. */
    if (c->connector)
        cJSON_AddStringToObject(server, "connector", c->connector);
    if (c->tls_cert) {
        cJSON *tls = cJSON_AddObjectToObject(root, "tls");
        cJSON_AddStringToObject(tls, "cert", c->tls_cert);
        cJSON_AddStringToObject(tls, "key", c->tls_key);
    }
    if (c->cluster.enabled) {
        const smd_cluster_cfg *k = &c->cluster;
        cJSON *cl = cJSON_AddObjectToObject(root, "cluster");
        if (k->redis)
            cJSON_AddStringToObject(cl, "redis", k->redis);
        if (k->node)
            cJSON_AddStringToObject(cl, "node", k->node);
        if (k->user)
            cJSON_AddStringToObject(cl, "user", k->user);
        if (k->password_file)
            cJSON_AddStringToObject(cl, "passwordFile", k->password_file);
        cJSON_AddNumberToObject(cl, "heartbeatMs", (double)k->heartbeat_ms);
        cJSON_AddNumberToObject(cl, "nodeTimeoutMs", (double)k->node_timeout_ms);
        cJSON_AddNumberToObject(cl, "requestTimeoutMs", (double)k->request_timeout_ms);
        cJSON_AddNumberToObject(cl, "maxProxyBytes", (double)k->max_proxy_bytes);
        cJSON_AddNumberToObject(cl, "maxUnansweredBytes", (double)k->max_unanswered_bytes);
        cJSON_AddNumberToObject(cl, "maxPendingRequests", (double)k->max_pending_requests);
    }
    if (c->admin.enabled) {
        char listen[80];
        bool v6 = strchr(c->admin.host, ':') != NULL;
        snprintf(listen, sizeof listen, "%s%s%s:%d", v6 ? "[" : "", c->admin.host, v6 ? "]" : "", c->admin.port);
        cJSON *admin = cJSON_AddObjectToObject(root, "admin");
        cJSON_AddStringToObject(admin, "listen", listen);
        cJSON_AddNumberToObject(admin, "maxConnections", (double)c->admin.max_connections);
        cJSON_AddNumberToObject(admin, "timeoutMs", (double)c->admin.timeout_ms);
    }
    cJSON *anon = cJSON_AddObjectToObject(root, "anonymous");
    cJSON_AddBoolToObject(anon, "allowed", c->anonymous_allowed);
    cJSON_AddItemToObject(anon, "roles", names_array(c->anonymous_roles, c->anonymous_role_count));
    cJSON *roles = cJSON_AddObjectToObject(root, "roles");
    for (size_t i = 0; i < c->role_count; i++) {
        cJSON *perms = cJSON_CreateArray();
        for (unsigned bit = 1; bit & SM_PERM_ALL; bit <<= 1)
            if (c->roles[i].permissions & bit)
                cJSON_AddItemToArray(perms, cJSON_CreateString(sm_permission_name(bit)));
        cJSON_AddItemToObject(roles, c->roles[i].name, perms);
    }
    cJSON *principals = cJSON_AddObjectToObject(root, "principals");
    for (size_t i = 0; i < c->principal_count; i++) {
        cJSON *p = cJSON_AddObjectToObject(principals, c->principals[i].name);
        cJSON_AddStringToObject(p, "password", c->principals[i].password_hash);
        cJSON_AddItemToObject(p, "roles", names_array(c->principals[i].roles, c->principals[i].role_count));
    }
    cJSON *limits = cJSON_AddObjectToObject(root, "limits");
    cJSON_AddNumberToObject(limits, "maxMessageBytes", (double)c->limits.max_message_bytes);
    cJSON_AddNumberToObject(limits, "maxPropertiesPerSession", (double)c->limits.max_properties);
    cJSON_AddNumberToObject(limits, "maxListenersPerSession", (double)c->limits.max_listeners);
    cJSON_AddNumberToObject(limits, "maxQueueBytes", (double)c->limits.max_queue_bytes);
    cJSON_AddNumberToObject(limits, "reconnectTimeoutMs", (double)c->limits.reconnect_timeout_ms);
    cJSON_AddNumberToObject(limits, "heartbeatIntervalMs", (double)c->limits.heartbeat_interval_ms);
    cJSON_AddNumberToObject(limits, "heartbeatTimeoutMs", (double)c->limits.heartbeat_timeout_ms);
    logins_to_json(&c->logins, root);
    cJSON_AddNumberToObject(limits, "maxTotalQueueBytes", (double)c->limits.max_total_queue_bytes);
    cJSON_AddNumberToObject(limits, "maxPending", (double)c->limits.max_pending);
    cJSON_AddNumberToObject(limits, "maxPendingPerAddress", (double)c->limits.max_pending_per_address);
    cJSON_AddNumberToObject(limits, "maxPendingPerSubnet", (double)c->limits.max_pending_per_subnet);
    cJSON_AddNumberToObject(limits, "handshakeTimeoutMs", (double)c->limits.handshake_timeout_ms);
    cJSON_AddNumberToObject(limits, "maxListenerRegexCost", (double)c->limits.max_listener_regex_cost);
    cJSON_AddNumberToObject(limits, "maxListenerRegexCostPerSession",
                            (double)c->limits.max_listener_regex_cost_per_session);
    if (c->audit.file) {
        cJSON *audit = cJSON_AddObjectToObject(root, "audit");
        cJSON_AddStringToObject(audit, "file", c->audit.file);
        cJSON_AddNumberToObject(audit, "bufferBytes", (double)c->audit.buffer_bytes);
    }
    cJSON *geo = cJSON_AddArrayToObject(root, "geo");
    for (size_t i = 0; i < c->geo.count; i++) {
        const smd_geo_entry *e = &c->geo.items[i];
        cJSON *row = cJSON_CreateObject();
        char addr[INET6_ADDRSTRLEN + 8], text[INET6_ADDRSTRLEN];
        static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (e->prefix >= 96 && memcmp(e->addr, mapped, 12) == 0) {
            inet_ntop(AF_INET, e->addr + 12, text, sizeof text);
            snprintf(addr, sizeof addr, "%s/%u", text, e->prefix - 96);
        } else {
            inet_ntop(AF_INET6, e->addr, text, sizeof text);
            snprintf(addr, sizeof addr, "%s/%u", text, e->prefix);
        }
        cJSON_AddStringToObject(row, "cidr", addr);
        if (e->country[0])
            cJSON_AddStringToObject(row, "country", e->country);
        if (e->language[0])
            cJSON_AddStringToObject(row, "language", e->language);
        if (strcmp(e->latitude, "NaN") != 0)
            cJSON_AddNumberToObject(row, "latitude", strtod(e->latitude, NULL));
        if (strcmp(e->longitude, "NaN") != 0)
            cJSON_AddNumberToObject(row, "longitude", strtod(e->longitude, NULL));
        cJSON_AddItemToArray(geo, row);
    }
    char *out = cJSON_Print(root);
    cJSON_Delete(root);
    return out;
}

const smd_principal_cfg *smd_config_find_principal(const smd_config *c, const char *name)
{
    return find_by_name(c->principals, c->principal_count, sizeof *c->principals, name);
}

const smd_role_cfg *smd_config_find_role(const smd_config *c, const char *name)
{
    return find_by_name(c->roles, c->role_count, sizeof *c->roles, name);
}

unsigned smd_config_permissions(const smd_config *c, char *const *roles, size_t count)
{
    unsigned perms = 0;
    for (size_t i = 0; i < count; i++) {
        const smd_role_cfg *r = smd_config_find_role(c, roles[i]);
        if (r)
            perms |= r->permissions;
    }
    return perms;
}
