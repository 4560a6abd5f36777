/* Request handlers: open, resume, get, set, set_by_filter, close, listeners, ping; permission checks first. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "core/props.h"
#include "server/audit.h"
#include "server/cluster.h"
#include "server/geo.h"
#include "server/log.h"
#include "server/metrics.h"
#include "server/server.h"

/* ---- helpers ---- */

/* Copies at most cap-1 bytes of s without cutting a UTF-8 sequence, adding "..." when shortened. */
static const char *clip(const char *s, char *buf, size_t cap)
{
    size_t len = strlen(s);
    if (len < cap) {
        memcpy(buf, s, len + 1);
        return buf;
    }
    size_t n = cap - 4;
    while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
        n--;
    memcpy(buf, s, n);
    memcpy(buf + n, "...", 4);
    return buf;
}

static void reply_init(sm_msg *r, const sm_msg *req)
{
    memset(r, 0, sizeof *r);
    r->type = SM_MSG_REPLY;
    r->id = req->id;
    r->op = req->type;
}

static void send_plain_reply(smd_conn *c, const sm_msg *req)
{
    sm_msg r;
    reply_init(&r, req);
    smd_conn_send(c, &r);
}

static bool permitted(smd_conn *c, const sm_msg *m, unsigned needed)
{
    unsigned have = c->session->permissions;
    if ((have & needed) == needed)
        return true;
    char names[96] = "";
    for (unsigned bit = 1; bit & SM_PERM_ALL; bit <<= 1)
        if (needed & bit) {
            if (names[0])
                strcat(names, " and ");
            strcat(names, sm_permission_name(bit));
        }
    smd_conn_send_error(c, m->id, SM_CODE_ACCESS_DENIED, "%s needs the %s permission%s", sm_msg_type_name(m->type),
                       names, strchr(names, ' ') ? "s" : "");
    return false;
}

static bool reserve(void **arr, size_t *cap, size_t want, size_t elem)
{
    if (want <= *cap)
        return true;
    size_t ncap = *cap ? *cap : 64;
    while (ncap < want)
        ncap *= 2;
    void *n = realloc(*arr, ncap * elem);
    if (!n)
        return false;
    *arr = n;
    *cap = ncap;
    return true;
}

bool smd_server_reserve_kv(smd_server *srv, size_t n)
{
    size_t cap = srv->kv_cap;
    if (!reserve((void **)&srv->kv_a, &cap, n, sizeof *srv->kv_a))
        return false;
    size_t cap_b = srv->kv_cap;
    if (!reserve((void **)&srv->kv_b, &cap_b, n, sizeof *srv->kv_b))
        return false;
    srv->kv_cap = cap < cap_b ? cap : cap_b;
    return true;
}

static bool reserve_changes(smd_server *srv, size_t n)
{
    return reserve((void **)&srv->changes, &srv->changes_cap, n, sizeof *srv->changes);
}

static void release_changes(smd_server *srv, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        /* User keys are interned references; fixed keys are the static names. */
        if (srv->changes[i].key[0] != '$')
            sm_intern_unref(srv->strings, srv->changes[i].key);
        sm_intern_unref(srv->strings, srv->changes[i].old_value);
    }
}

static void dispatch_request(smd_conn *c, const sm_msg *m);

/* ---- open / resume ---- */

static const char *client_type_of(const char *given)
{
    static const char *const known[] = {"ANDROID", "C",      "DOTNET", "IOS",  "JAVA", "JAVASCRIPT_BROWSER",
                                        "MQTT",    "PYTHON", "REST",   "OTHER"};
    if (given)
        for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
            if (strcmp(given, known[i]) == 0)
                return known[i];
    return "OTHER";
}

static void send_opened(smd_conn *c, smd_session *s, bool resumed)
{
    const smd_config *cfg = c->srv->cfg;
    char token[2 * SMD_TOKEN_BYTES + 1];
    smd_token_hex(s->token, token);
    sm_msg r;
    memset(&r, 0, sizeof r);
    r.type = SM_MSG_OPENED;
    r.session_id = s->id;
    r.token = token;
    r.principal = s->fixed[SMD_FIX_PRINCIPAL];
    r.roles = s->fixed[SMD_FIX_ROLES];
    r.permissions = s->permissions;
    r.server_name = smd_session_fixed_value(&c->srv->reg, s, SM_PROP_SERVER_NAME); /* the node name in a cluster */
    r.resumed = resumed;
    r.reconnect_timeout = cfg->limits.reconnect_timeout_ms;
    r.heartbeat_interval = cfg->limits.heartbeat_interval_ms;
    r.max_message_bytes = (int64_t)cfg->limits.max_message_bytes;
    r.audited = smd_audit_on(c->srv->audit);
    smd_conn_send(c, &r);
}

const smd_identity *smd_server_authenticate(smd_server *srv, const char *ip, const char *principal, const char *password,
                                          smd_login_result *out)
{
    const smd_principal_cfg *p = smd_config_find_principal(srv->cfg, principal);
    /* An unknown principal goes through the same PBKDF2 check (against a hash nothing matches),
     * so the time of a refusal does not tell an attacker which principals exist; it also counts
     * against the same budget and back-offs as a wrong password. */
    const char *hash = p ? p->password_hash : srv->dummy_hash;
    smd_auth_login(srv->auth, ip, principal, password, password ? strlen(password) : 0, hash, out);
    if (out->status != SMD_LOGIN_OK || !p)
        return NULL;
    return &srv->identities[p - srv->cfg->principals];
}

/* Sends the refusal of a login that did not succeed (the failure is logged by server/auth.c,
 * aggregated per address). */
static void refuse_login(smd_conn *c, const smd_login_result *lr)
{
    if (lr->status == SMD_LOGIN_THROTTLED || lr->status == SMD_LOGIN_BUSY) {
        long long secs = (long long)((lr->retry_ms + 999) / 1000);
        char text[160];
        snprintf(text, sizeof text, "%s; retry in %lld s", lr->why, secs < 1 ? 1 : secs);
        smd_conn_refuse(c, SM_CODE_LIMIT_EXCEEDED, text);
        return;
    }
    smd_conn_refuse(c, SM_CODE_AUTHENTICATION_FAILED, "bad principal or password");
}

/* Refuses the open (and returns false) when its proposed properties are too many or invalid. */
static bool proposals_acceptable(smd_conn *c, const sm_msg *m)
{
    const smd_config *cfg = c->srv->cfg;
    char clipbuf[80];
    if (m->properties.count > cfg->limits.max_properties) {
        char text[128];
        snprintf(text, sizeof text, "%zu proposed properties; the limit is %zu", m->properties.count,
                 cfg->limits.max_properties);
        smd_conn_refuse(c, SM_CODE_LIMIT_EXCEEDED, text);
        return false;
    }
    for (size_t i = 0; i < m->properties.count; i++) {
        const sm_kv *kv = &m->properties.items[i];
        char text[SM_ERROR_MESSAGE_MAX + 100];
        sm_error err;
        sm_error_clear(&err);
        if (sm_key_is_fixed(kv->key)) {
            snprintf(text, sizeof text, "proposed property '%s': fixed ($) properties cannot be proposed",
                     clip(kv->key, clipbuf, sizeof clipbuf));
            smd_conn_refuse(c, SM_CODE_INVALID_PROPERTY, text);
            return false;
        }
        if (sm_validate_user_key(kv->key, strlen(kv->key), &err) != SM_OK ||
            (kv->value && sm_validate_value(kv->value, strlen(kv->value), &err) != SM_OK) || !kv->value) {
            snprintf(text, sizeof text, "proposed property '%s': %s", clip(kv->key, clipbuf, sizeof clipbuf),
                     kv->value ? err.message : "a value is required");
            smd_conn_refuse(c, SM_CODE_INVALID_PROPERTY, text);
            return false;
        }
    }
    return true;
}

/* A new, not yet registered session with the fixed properties of this open (identity, client,
 * address, geolocation) and its proposed user properties; NULL when out of memory. */
static smd_session *session_for_open(smd_conn *c, const sm_msg *m, const smd_identity *id)
{
    smd_server *srv = c->srv;
    smd_registry *reg = &srv->reg;
    smd_session *s = smd_session_new(reg);
    if (!s)
        return NULL;
    const char *env = m->environment ? m->environment : "UNKNOWN"; /* length checked by the decoder */
    const smd_geo_entry *geo = smd_geo_lookup(&srv->cfg->geo, c->ip);
    const char *ctype = client_type_of(m->client_type);
    const char *country = geo ? geo->country : "", *language = geo ? geo->language : "";
    const char *lat = geo ? geo->latitude : "NaN", *lon = geo ? geo->longitude : "NaN";
    const struct {
        smd_fixed_slot slot;
        const char *value;
    } fixed[] = {
        {SMD_FIX_PRINCIPAL, m->principal}, {SMD_FIX_ROLES, id->roles},       {SMD_FIX_CLIENT_TYPE, ctype},
        {SMD_FIX_ENVIRONMENT, env},        {SMD_FIX_CLIENT_IP, c->ip},       {SMD_FIX_COUNTRY, country},
        {SMD_FIX_LANGUAGE, language},      {SMD_FIX_LATITUDE, lat},          {SMD_FIX_LONGITUDE, lon},
    };
    int rc = SM_OK;
    for (size_t i = 0; rc == SM_OK && i < sizeof fixed / sizeof fixed[0]; i++)
        rc = smd_session_set_fixed(reg, s, fixed[i].slot, fixed[i].value, strlen(fixed[i].value));
    for (size_t i = 0; rc == SM_OK && i < m->properties.count; i++) {
        bool changed;
        const char *k, *old;
        rc = smd_session_set_user(reg, s, m->properties.items[i].key, m->properties.items[i].value, &changed, &k, &old);
        sm_intern_unref(srv->strings, k);
        sm_intern_unref(srv->strings, old);
    }
    if (rc != SM_OK) {
        smd_session_free(reg, s);
        return NULL;
    }
    s->permissions = (uint8_t)id->permissions;
    return s;
}

/* The rest of an open once its principal is known to be id. */
static void open_as(smd_conn *c, const sm_msg *m, const smd_identity *id)
{
    smd_server *srv = c->srv;
    char clipbuf[80];
    if (!proposals_acceptable(c, m))
        return;
    smd_session *s = session_for_open(c, m, id);
    if (!s) {
        smd_conn_refuse(c, SM_CODE_INTERNAL_ERROR, "out of memory");
        return;
    }
    smd_registry_add(&srv->reg, s);
    smd_conn_attach(c, s);
    srv->sessions_opened++;
    smd_metrics_session_opened(srv, s);
    smd_log(SMD_LOG_DEBUG, "session %s opened by '%s' from %s", s->id, clip(m->principal, clipbuf, sizeof clipbuf),
           c->ip);
    send_opened(c, s, false);
    smd_listeners_session_opened(srv, s);
}

/* An open waiting for its password check. It keeps the message's text (with the password: wiped
 * when freed) rather than a deep copy of the decoded message, and decodes it again at the end. */
typedef struct smd_login {
    struct smd_login *prev, *next;
    smd_conn *conn;
    smd_auth_check *check;
    const smd_principal_cfg *principal; /* NULL: unknown, checked against the dummy hash */
    size_t len;
    char text[];
} smd_login;

static void login_unlink_free(smd_server *srv, smd_login *l)
{
    if (l->prev)
        l->prev->next = l->next;
    else
        srv->logins = l->next;
    if (l->next)
        l->next->prev = l->prev;
    srv->login_count--;
    if (l->conn)
        l->conn->login = NULL;
    OPENSSL_cleanse(l->text, l->len);
    free(l);
}

void smd_login_abandon(smd_server *srv, smd_conn *c)
{
    smd_login *l = c->login;
    if (!l)
        return;
    smd_auth_check_abandon(srv->auth, l->check);
    login_unlink_free(srv, l);
}

void smd_logins_abandon_all(smd_server *srv)
{
    while (srv->logins) {
        smd_login *l = srv->logins;
        smd_auth_check_abandon(srv->auth, l->check);
        login_unlink_free(srv, l);
    }
}

/* The check of l is done: answer its open. */
static void login_finish(smd_server *srv, smd_login *l)
{
    smd_conn *c = l->conn;
    smd_login_result lr;
    smd_auth_check_finish(srv->auth, l->check, &lr);
    l->check = NULL;
    sm_msg m;
    int rc = sm_msg_decode(l->text, l->len, srv->cfg->limits.max_message_bytes, &m, NULL);
    const smd_principal_cfg *p = l->principal;
    login_unlink_free(srv, l);
    if (srv->tr.pause_rx)
        srv->tr.pause_rx(srv->tr.ctx, c, false);
    if (c->closing) {
        /* cannot happen (smd_conn_close drops the check); nothing to answer */
    } else if (rc != SM_OK) { /* it decoded before; only memory can fail now */
        smd_conn_refuse(c, SM_CODE_INTERNAL_ERROR, "out of memory");
    } else if (lr.status != SMD_LOGIN_OK || !p) {
        refuse_login(c, &lr);
    } else {
        open_as(c, &m, &srv->identities[p - srv->cfg->principals]);
    }
    sm_msg_free(&m);
    smd_server_reap(srv);
}

void smd_logins_rebind(smd_server *srv, const smd_config *next)
{
    for (smd_login *l = srv->logins; l; l = l->next) {
        if (!l->principal)
            continue; /* checked against the dummy hash: refused whatever the new config says */
        const smd_principal_cfg *p = smd_config_find_principal(next, l->principal->name);
        /* Its check runs against the old hash: it may only succeed if that is still the password. */
        l->principal = p && strcmp(p->password_hash, l->principal->password_hash) == 0 ? p : NULL;
    }
}

void smd_logins_step(smd_server *srv)
{
    smd_login *l = srv->logins;
    if (!l)
        return;
    /* Round robin: the one in front gets this slice, then goes to the back. */
    if (!smd_auth_check_run(srv->auth, l->check, SMD_LOGIN_SLICE_US)) {
        if (l->next) {
            srv->logins = l->next;
            srv->logins->prev = NULL;
            smd_login *tail = srv->logins;
            while (tail->next)
                tail = tail->next;
            tail->next = l;
            l->prev = tail;
            l->next = NULL;
        }
        return;
    }
    login_finish(srv, l);
}

/* Starts the password check of an open; false when it was decided at once (*lr says how). */
static bool login_start(smd_conn *c, const sm_msg *m, const char *text, size_t len, smd_login_result *lr,
                        const smd_principal_cfg **p)
{
    smd_server *srv = c->srv;
    *p = smd_config_find_principal(srv->cfg, m->principal);
    /* An unknown principal goes through the same PBKDF2 check (against a hash nothing matches),
     * so the time of a refusal does not tell an attacker which principals exist; it also counts
     * against the same budget and back-offs as a wrong password. */
    const char *hash = *p ? (*p)->password_hash : srv->dummy_hash;
    smd_auth_check *check = NULL;
    const char *pw = m->password;
    if (smd_auth_login_start(srv->auth, c->ip, m->principal, pw, pw ? strlen(pw) : 0, hash, lr, &check))
        return false;
    smd_login *l = malloc(sizeof *l + len);
    if (!l) {
        smd_auth_check_abandon(srv->auth, check);
        memset(lr, 0, sizeof *lr);
        lr->status = SMD_LOGIN_BUSY;
        lr->retry_ms = 1000;
        lr->why = "out of memory";
        return false;
    }
    memset(l, 0, sizeof *l);
    l->conn = c;
    l->check = check;
    l->principal = *p;
    l->len = len;
    memcpy(l->text, text, len);
    /* At the back: the round robin gives every waiting open its turn. */
    smd_login **at = &srv->logins;
    smd_login *prev = NULL;
    while (*at) {
        prev = *at;
        at = &(*at)->next;
    }
    l->prev = prev;
    *at = l;
    srv->login_count++;
    c->login = l;
    if (srv->tr.pause_rx)
        srv->tr.pause_rx(srv->tr.ctx, c, true);
    if (srv->tr.want_slice)
        srv->tr.want_slice(srv->tr.ctx);
    return true;
}

void smd_server_handle_open(smd_conn *c, const sm_msg *m, const char *text, size_t len)
{
    smd_server *srv = c->srv;
    if (!m->principal) {
        smd_conn_refuse(c, SM_CODE_INVALID_REQUEST, "open needs a principal (\"\" for anonymous)");
        return;
    }
    if (m->principal[0] == '\0') {
        if (!srv->cfg->anonymous_allowed) {
            smd_conn_refuse(c, SM_CODE_AUTHENTICATION_FAILED, "anonymous sessions are not allowed");
            return;
        }
        open_as(c, m, &srv->anonymous);
        return;
    }
    smd_login_result lr;
    const smd_principal_cfg *p = NULL;
    if (login_start(c, m, text, len, &lr, &p))
        return; /* answered when the check is done (smd_logins_step) */
    if (lr.status != SMD_LOGIN_OK || !p) {
        refuse_login(c, &lr);
        return;
    }
    open_as(c, m, &srv->identities[p - srv->cfg->principals]);
}

void smd_server_handle_resume(smd_conn *c, const sm_msg *m)
{
    smd_server *srv = c->srv;
    smd_session *s = smd_registry_find(&srv->reg, m->session_id);
    if (!s || s->state != SM_STATE_DISCONNECTED || s->doomed || !smd_token_matches(s, m->token)) {
        smd_conn_refuse(c, SM_CODE_NO_SUCH_SESSION, "no such session, or it cannot be resumed with that token");
        return;
    }
    smd_conn_attach(c, s);
    s->state = SM_STATE_ACTIVE;
    smd_metrics_session_resumed(srv);
    size_t n = 0;
    if (strcmp(s->fixed[SMD_FIX_CLIENT_IP], c->ip) != 0 && reserve_changes(srv, 1)) {
        const char *old = sm_intern_ref(s->fixed[SMD_FIX_CLIENT_IP]);
        if (smd_session_set_fixed(&srv->reg, s, SMD_FIX_CLIENT_IP, c->ip, strlen(c->ip)) == SM_OK) {
            srv->changes[0].key = SM_PROP_CLIENT_IP;
            srv->changes[0].old_value = old;
            srv->changes[0].new_value = s->fixed[SMD_FIX_CLIENT_IP];
            n = 1;
        } else {
            sm_intern_unref(srv->strings, old);
        }
    }
    smd_log(SMD_LOG_DEBUG, "session %s resumed from %s", s->id, c->ip);
    send_opened(c, s, true);
    smd_listeners_session_event(srv, s, SM_EVENT_RECONNECTED, srv->changes, n);
    release_changes(srv, n);
}

/* ---- property maps for set / set_by_filter ---- */

typedef struct set_entry {
    const char *key;   /* a fixed key's static name, or owned_key */
    const char *value; /* NULL deletes */
    int slot;          /* fixed slot, or -1 for a user property */
    char *owned;       /* copy of the value (normalised for a fixed key) */
    char *owned_key;   /* copy of a user key */
} set_entry;

/* Copies of everything it needs: a set_by_filter job outlives its request message. */
typedef struct smd_set_plan {
    set_entry *e;
    size_t n;
    bool adds_user; /* some entry may add a user property */
} set_plan;

static void plan_free(set_plan *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->e[i].owned);
        free(p->e[i].owned_key);
    }
    free(p->e);
    p->e = NULL;
    p->n = 0;
}

static char *copy_text(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

/* Validates the whole map before anything changes; sends the error and returns false when invalid. */
static bool plan_build(smd_conn *c, const sm_msg *m, set_plan *p)
{
    char clipbuf[80];
    memset(p, 0, sizeof *p);
    const sm_kvs *kvs = &m->properties;
    if (kvs->count > SMD_SET_ENTRIES_MAX) {
        smd_conn_send_error(c, m->id, SM_CODE_LIMIT_EXCEEDED, "%zu properties in one request; the limit is %d",
                           kvs->count, SMD_SET_ENTRIES_MAX);
        return false;
    }
    p->e = calloc(kvs->count ? kvs->count : 1, sizeof *p->e);
    if (!p->e) {
        smd_conn_send_error(c, m->id, SM_CODE_INTERNAL_ERROR, "out of memory");
        return false;
    }
    for (size_t i = 0; i < kvs->count; i++) {
        const char *key = kvs->items[i].key, *value = kvs->items[i].value;
        sm_error err;
        sm_error_clear(&err);
        if (sm_key_is_fixed(key)) {
            /* The reference server drops these silently; sessmon refuses them, like the monitor
             * does, so a typo ($country) cannot pass for success (docs/compatibility.md). */
            if (!sm_key_is_settable_fixed(key) || !value) {
                smd_conn_send_error(c, m->id, SM_CODE_INVALID_PROPERTY, "property '%s': %s",
                                   clip(key, clipbuf, sizeof clipbuf),
                                   !value ? "fixed properties cannot be deleted"
                                          : "not a settable fixed property; of the fixed properties only "
                                            "$Country, $Language, $Latitude and $Longitude can be set");
                plan_free(p);
                return false;
            }
            size_t vl = strlen(value);
            if (sm_validate_value(value, vl, &err) != SM_OK) {
                smd_conn_send_error(c, m->id, SM_CODE_INVALID_PROPERTY, "property '%s': %s", key, err.message);
                plan_free(p);
                return false;
            }
            char *norm = malloc(vl + 4);
            if (!norm || sm_normalise_fixed_value(key, value, norm, vl + 4) != SM_OK) {
                free(norm);
                smd_conn_send_error(c, m->id, SM_CODE_INTERNAL_ERROR, "out of memory");
                plan_free(p);
                return false;
            }
            const char *name = NULL;
            for (size_t k = 0; k < sm_fixed_property_count; k++)
                if (strcmp(sm_fixed_property_names[k], key) == 0)
                    name = sm_fixed_property_names[k];
            p->e[p->n++] = (set_entry){.key = name, .value = norm, .slot = smd_fixed_slot_of(key), .owned = norm};
            continue;
        }
        if (sm_validate_user_key(key, strlen(key), &err) != SM_OK ||
            (value && sm_validate_value(value, strlen(value), &err) != SM_OK)) {
            smd_conn_send_error(c, m->id, SM_CODE_INVALID_PROPERTY, "property '%s': %s",
                               clip(key, clipbuf, sizeof clipbuf), err.message);
            plan_free(p);
            return false;
        }
        char *kc = copy_text(key), *vc = value ? copy_text(value) : NULL;
        if (!kc || (value && !vc)) {
            free(kc);
            free(vc);
            smd_conn_send_error(c, m->id, SM_CODE_INTERNAL_ERROR, "out of memory");
            plan_free(p);
            return false;
        }
        p->e[p->n++] = (set_entry){.key = kc, .value = vc, .slot = -1, .owned = vc, .owned_key = kc};
        if (value)
            p->adds_user = true;
    }
    /* No key appears twice: the decoder refuses a map that repeats one. */
    return true;
}

/* Would s stay within the user property limit after the plan (or at least not grow past it)? */
static bool plan_fits(const smd_server *srv, const smd_session *s, const set_plan *p)
{
    long count = s->ucount;
    for (size_t i = 0; i < p->n; i++) {
        if (p->e[i].slot >= 0)
            continue;
        bool exists = smd_session_user_value(s, p->e[i].key) != NULL;
        if (p->e[i].value && !exists)
            count++;
        else if (!p->e[i].value && exists)
            count--;
    }
    /* A session over a limit lowered by a reload keeps what it has: it may change and delete, not add. */
    return count <= (long)srv->cfg->limits.max_properties || count <= (long)s->ucount;
}

/* Applies the plan to s, recording real changes in srv->changes. Returns the count, or -1 when
 * memory ran out part way. */
static long plan_apply(smd_server *srv, smd_session *s, const set_plan *p)
{
    if (!reserve_changes(srv, p->n))
        return -1;
    size_t n = 0;
    for (size_t i = 0; i < p->n; i++) {
        const set_entry *e = &p->e[i];
        if (e->slot >= 0) {
            const char *cur = s->fixed[e->slot];
            if (strcmp(cur, e->value) == 0)
                continue;
            const char *old = sm_intern_ref(cur);
            if (smd_session_set_fixed(&srv->reg, s, (smd_fixed_slot)e->slot, e->value, strlen(e->value)) != SM_OK) {
                sm_intern_unref(srv->strings, old);
                release_changes(srv, n);
                return -1;
            }
            /* e->key is the static spelling: fixed keys in change records are never interned. */
            srv->changes[n++] = (smd_prop_change){.key = e->key, .old_value = old, .new_value = s->fixed[e->slot]};
            continue;
        }
        bool changed;
        const char *k, *old;
        if (smd_session_set_user(&srv->reg, s, e->key, e->value, &changed, &k, &old) != SM_OK) {
            release_changes(srv, n);
            return -1;
        }
        if (changed)
            srv->changes[n++] = (smd_prop_change){
                .key = k, .old_value = old, .new_value = e->value ? smd_session_user_value(s, k) : NULL};
    }
    return (long)n;
}

static sm_filter *parse_filter(smd_conn *c, const sm_msg *m)
{
    sm_filter *f = NULL;
    sm_error err;
    sm_error_clear(&err);
    if (!m->filter) {
        smd_conn_send_error(c, m->id, SM_CODE_INVALID_REQUEST, "%s needs a filter", sm_msg_type_name(m->type));
        return NULL;
    }
    if (sm_filter_parse(m->filter, strlen(m->filter), &f, &err) != SM_OK) {
        smd_conn_send_error(c, m->id, SM_CODE_INVALID_FILTER, "%s", err.message[0] ? err.message : "invalid filter");
        return NULL;
    }
    return f;
}

/* ---- requests ---- */

static void handle_get(smd_conn *c, const sm_msg *m)
{
    smd_server *srv = c->srv;
    if (!permitted(c, m, SM_PERM_VIEW_SESSION))
        return;
    smd_session *t = smd_registry_find(&srv->reg, m->session_id);
    if (!t) {
        if (!smd_cluster_route(c, m)) /* cluster: another node's session */
            smd_conn_send_error(c, m->id, SM_CODE_NO_SUCH_SESSION, "no session with that ID");
        return;
    }
    bool all_fixed = true, all_user = true;
    const char **keys = NULL;
    size_t nkeys = 0;
    if (m->has_keys && !smd_parse_keys(srv, c, m->id, &m->keys, &all_fixed, &all_user, &keys, &nkeys))
        return;
    if (!smd_server_reserve_kv(srv, sm_fixed_property_count + t->ucount + nkeys)) {
        smd_release_keys(srv, keys, nkeys);
        smd_conn_send_error(c, m->id, SM_CODE_INTERNAL_ERROR, "out of memory");
        return;
    }
    sm_msg r;
    reply_init(&r, m);
    r.properties.items = srv->kv_a;
    r.properties.count = smd_collect_properties(srv, t, all_fixed, all_user, keys, nkeys, srv->kv_a);
    smd_conn_send(c, &r);
    smd_release_keys(srv, keys, nkeys);
}

static void handle_set(smd_conn *c, const sm_msg *m)
{
    smd_server *srv = c->srv;
    if (!permitted(c, m, SM_PERM_VIEW_SESSION | SM_PERM_MODIFY_SESSION))
        return;
    smd_session *t = smd_registry_find(&srv->reg, m->session_id);
    if (!t) {
        if (!smd_cluster_route(c, m)) /* cluster: another node's session */
            smd_conn_send_error(c, m->id, SM_CODE_NO_SUCH_SESSION, "no session with that ID");
        smd_audit_note_routed(srv); /* (an error sent above is the result instead) */
        return;
    }
    set_plan p;
    if (!plan_build(c, m, &p))
        return;
    if (!plan_fits(srv, t, &p)) {
        smd_conn_send_error(c, m->id, SM_CODE_LIMIT_EXCEEDED, "the session would have more than %zu user properties",
                           srv->cfg->limits.max_properties);
        plan_free(&p);
        return;
    }
    long n = plan_apply(srv, t, &p);
    plan_free(&p);
    if (n < 0 || !smd_server_reserve_kv(srv, (size_t)n)) {
        if (n > 0)
            release_changes(srv, (size_t)n);
        smd_conn_send_error(c, m->id, SM_CODE_INTERNAL_ERROR, "out of memory");
        return;
    }
    sm_msg r;
    reply_init(&r, m);
    for (long i = 0; i < n; i++)
        srv->kv_b[i] = (sm_kv){.key = srv->changes[i].key, .value = srv->changes[i].old_value};
    r.changed.items = srv->kv_b;
    r.changed.count = (size_t)n;
    smd_conn_send(c, &r);
    smd_audit_note_changes(srv, srv->changes, (size_t)n);
    if (n > 0)
        smd_listeners_session_event(srv, t, SM_EVENT_PROPERTIES, srv->changes, (size_t)n);
    release_changes(srv, (size_t)n);
}

/* Queues a by-filter job for c's session; false (error sent) when it has too many running, or
 * (cluster mode) when the cluster cannot be reached. */
static bool queue_by_filter(smd_conn *c, const sm_msg *m, smd_job_kind kind, sm_filter *f, set_plan *plan)
{
    smd_server *srv = c->srv;
    if (smd_cluster_unavailable(c, m))
        return false;
    if (c->session->pending_ops >= SMD_PENDING_OPS_MAX) {
        smd_conn_send_error(c, m->id, SM_CODE_LIMIT_EXCEEDED,
                           "%d set/close by filter operations of this session are still running", SMD_PENDING_OPS_MAX);
        return false;
    }
    smd_job *job = calloc(1, sizeof *job);
    if (!job) {
        smd_conn_send_error(c, m->id, SM_CODE_INTERNAL_ERROR, "out of memory");
        return false;
    }
    job->kind = kind;
    job->requester = c->session;
    job->request_id = m->id;
    job->filter = f;
    job->plan = plan;
    /* No check pass when no session can pass the limit: the map adds no user property, or adding
     * all it may add to the most any session ever had still fits. */
    size_t adds = 0;
    for (size_t i = 0; plan && i < plan->n; i++)
        adds += plan->e[i].slot < 0 && plan->e[i].value;
    job->phase = plan && plan->adds_user && srv->reg.ucount_high + adds > srv->cfg->limits.max_properties ? 0 : 1;
    /* Cluster: every other node runs it too, from now; the reply is the total (docs/cluster.md). */
    job->cluster_rid = smd_cluster_fan_out(c, m);
    smd_audit_hand_to_job(srv, job);
    /* Its latency ends with its reply (job_finished), whenever the slices get there; another
     * node's request (cluster) is timed on that node. */
    job->started_us = c->cluster_remote ? 0 : srv->request_started_us;
    srv->request_deferred = true;
    smd_server_queue_job(srv, job);
    return true;
}

static void handle_set_by_filter(smd_conn *c, const sm_msg *m)
{
    if (!permitted(c, m, SM_PERM_VIEW_SESSION | SM_PERM_MODIFY_SESSION))
        return;
    sm_filter *f = parse_filter(c, m);
    if (!f)
        return;
    set_plan *p = malloc(sizeof *p);
    if (!p) {
        sm_filter_free(f);
        smd_conn_send_error(c, m->id, SM_CODE_INTERNAL_ERROR, "out of memory");
        return;
    }
    if (!plan_build(c, m, p)) {
        free(p);
        sm_filter_free(f);
        return;
    }
    if (!queue_by_filter(c, m, SMD_JOB_SET_BY_FILTER, f, p)) {
        plan_free(p);
        free(p);
        sm_filter_free(f);
    }
}

static void handle_close_by_filter(smd_conn *c, const sm_msg *m)
{
    if (!permitted(c, m, SM_PERM_VIEW_SESSION | SM_PERM_MODIFY_SESSION))
        return;
    sm_filter *f = parse_filter(c, m);
    if (!f)
        return;
    if (!queue_by_filter(c, m, SMD_JOB_CLOSE_BY_FILTER, f, NULL))
        sm_filter_free(f);
}

/* ---- sliced set / close by filter (docs/protocol.md § Set and close by filter) ---- */

void smd_requests_job_free(smd_server *srv, smd_job *job)
{
    smd_audit_job_done(srv, job, job->count, SM_CODE_NONE, NULL, true); /* only when it never ended */
    sm_filter_free(job->filter);
    if (job->plan) {
        plan_free(job->plan);
        free(job->plan);
    }
    free(job);
}

/* The requester's connection, or NULL when the reply has nowhere to go. */
static smd_conn *requester_conn(const smd_job *job)
{
    return job->requester && job->requester->state == SM_STATE_ACTIVE ? job->requester->conn : NULL;
}

static void job_finished(const smd_job *job)
{
    if (!job->started_us)
        return;
    smd_metrics_observe(job->kind == SMD_JOB_SET_BY_FILTER ? SM_MSG_SET_BY_FILTER : SM_MSG_CLOSE_BY_FILTER,
                        smd_metrics_now_us() - job->started_us);
}

/* An error ends the job: to the requester, or (cluster) into the answer of every node. */
static void job_error(smd_server *srv, smd_job *job, sm_errcode code, const char *text)
{
    smd_audit_job_done(srv, job, job->count, code, text, false);
    job_finished(job);
    if (job->cluster_rid) {
        smd_cluster_local_done(srv, job->cluster_rid, job->count, code, text);
        return;
    }
    smd_conn *c = requester_conn(job);
    if (c)
        smd_conn_send_error(c, job->request_id, code, "%s", text);
}

static void job_reply(smd_server *srv, smd_job *job, sm_msg_type op)
{
    smd_audit_job_done(srv, job, job->count, SM_CODE_NONE, NULL, false);
    job_finished(job);
    if (job->cluster_rid) {
        smd_cluster_local_done(srv, job->cluster_rid, job->count, SM_CODE_NONE, NULL);
        return;
    }
    smd_conn *c = requester_conn(job);
    if (!c)
        return;
    sm_msg r;
    memset(&r, 0, sizeof r);
    r.type = SM_MSG_REPLY;
    r.id = job->request_id;
    r.op = op;
    r.count = job->count;
    smd_conn_send(c, &r);
}

/* The next session the job should consider, moving the cursor past it; NULL at the end (sessions
 * opened after the request are never reached). */
static smd_session *job_next(smd_job *job)
{
    smd_session *s = job->cursor.at;
    if (!s || s->seq > job->last_seq)
        return NULL;
    job->cursor.at = s->next;
    return s;
}

static bool job_matches(smd_server *srv, const smd_job *job, const smd_session *s)
{
    smd_lookup lk = {.r = &srv->reg, .s = s};
    return sm_filter_eval(job->filter, smd_session_lookup, &lk);
}

static bool set_step(smd_server *srv, smd_job *job, smd_budget *b)
{
    const set_plan *p = job->plan;
    /* Phase 0: all or nothing for the property limit, checked before anything changes. */
    while (job->phase == 0) {
        if (smd_budget_spent(b))
            return false;
        smd_session *s = job_next(job);
        if (!s) {
            job->phase = 1;
            job->cursor.at = srv->reg.head;
            break;
        }
        if (s->doomed || !job_matches(srv, job, s) || plan_fits(srv, s, p))
            continue;
        char text[160];
        snprintf(text, sizeof text, "session %s would have more than %zu user properties; nothing was changed", s->id,
                 srv->cfg->limits.max_properties);
        job_error(srv, job, SM_CODE_LIMIT_EXCEEDED, text);
        return true;
    }
    for (;;) {
        if (smd_budget_spent(b))
            return false;
        smd_session *s = job_next(job);
        if (!s)
            break;
        if (s->doomed || !job_matches(srv, job, s))
            continue;
        /* It gained properties since the check pass: left alone, not counted. (Without a check
         * pass no session can pass the limit, but a session is never left over it either.) */
        if (p->adds_user && !plan_fits(srv, s, p))
            continue;
        long k = plan_apply(srv, s, p);
        if (k < 0) {
            job_error(srv, job, SM_CODE_INTERNAL_ERROR, "out of memory part way through");
            return true;
        }
        job->count++;
        if (k > 0)
            smd_listeners_session_event(srv, s, SM_EVENT_PROPERTIES, srv->changes, (size_t)k);
        release_changes(srv, (size_t)k);
    }
    job_reply(srv, job, SM_MSG_SET_BY_FILTER);
    return true;
}

static bool close_step(smd_server *srv, smd_job *job, smd_budget *b)
{
    for (;;) {
        if (smd_budget_spent(b))
            return false;
        smd_session *s = job_next(job);
        if (!s)
            break;
        /* The caller is never closed by its own filter (docs/protocol.md). */
        if (s == job->requester || s->doomed || !job_matches(srv, job, s))
            continue;
        job->count++;
        smd_metrics.closed_by_filter++;
        smd_server_close_session(srv, s, SM_CLOSE_CLOSED_BY_CONTROLLER, false);
        smd_budget_charge(b, SMD_SLICE_CLOSE_COST - 1);
    }
    job_reply(srv, job, SM_MSG_CLOSE_BY_FILTER);
    return true;
}

bool smd_requests_job_step(smd_server *srv, smd_job *job, smd_budget *b)
{
    return job->kind == SMD_JOB_SET_BY_FILTER ? set_step(srv, job, b) : close_step(srv, job, b);
}

static void handle_close_session(smd_conn *c, const sm_msg *m)
{
    smd_server *srv = c->srv;
    if (!permitted(c, m, SM_PERM_VIEW_SESSION | SM_PERM_MODIFY_SESSION))
        return;
    smd_session *t = smd_registry_find(&srv->reg, m->session_id);
    if (!t && smd_cluster_route(c, m)) { /* cluster: another node's session */
        smd_audit_note_routed(srv);
        return;
    }
    if (!t || t->doomed) {
        smd_conn_send_error(c, m->id, SM_CODE_NO_SUCH_SESSION, "no session with that ID");
        return;
    }
    send_plain_reply(c, m);
    smd_metrics.closed_by_id++;
    smd_server_close_session(srv, t, SM_CLOSE_CLOSED_BY_CONTROLLER, t == c->session);
}

static void handle_add_listener(smd_conn *c, const sm_msg *m)
{
    if (!permitted(c, m, SM_PERM_VIEW_SESSION | SM_PERM_REGISTER_HANDLER))
        return;
    smd_listener_add(c->srv, c, m);
}

static void handle_remove_listener(smd_conn *c, const sm_msg *m)
{
    if (!smd_listener_remove(c->srv, c->session, m->listener)) {
        smd_conn_send_error(c, m->id, SM_CODE_NO_SUCH_LISTENER, "this session has no listener %lld",
                           (long long)m->listener);
        return;
    }
    send_plain_reply(c, m);
}

void smd_server_handle_request(smd_conn *c, const sm_msg *m)
{
    smd_audit_request_begin(c->srv, c, m); /* mutating requests only */
    dispatch_request(c, m);
    smd_audit_request_end(c->srv);
}

static void dispatch_request(smd_conn *c, const sm_msg *m)
{
    switch (m->type) {
    case SM_MSG_GET:
        handle_get(c, m);
        break;
    case SM_MSG_SET:
        handle_set(c, m);
        break;
    case SM_MSG_SET_BY_FILTER:
        handle_set_by_filter(c, m);
        break;
    case SM_MSG_CLOSE_SESSION:
        handle_close_session(c, m);
        break;
    case SM_MSG_CLOSE_BY_FILTER:
        handle_close_by_filter(c, m);
        break;
    case SM_MSG_ADD_LISTENER:
        handle_add_listener(c, m);
        break;
    case SM_MSG_REMOVE_LISTENER:
        handle_remove_listener(c, m);
        break;
    case SM_MSG_PING: {
        sm_msg r;
        reply_init(&r, m);
        r.time = sm_wall_ms();
        smd_conn_send(c, &r);
        break;
    }
    case SM_MSG_CLOSE_SELF:
        send_plain_reply(c, m);
        smd_server_close_session(c->srv, c->session, SM_CLOSE_CLOSED_BY_CLIENT, true);
        break;
    case SM_MSG_HEARTBEAT_ACK:
        break;
    case SM_MSG_OPEN:
    case SM_MSG_RESUME:
        smd_conn_send_error(c, m->id, SM_CODE_INVALID_REQUEST, "this connection already has a session");
        break;
    default:
        smd_conn_send_error(c, m->id, SM_CODE_INVALID_REQUEST, "'%s' is not a request a client can send",
                           sm_msg_type_name(m->type) ? sm_msg_type_name(m->type) : "?");
        break;
    }
}
