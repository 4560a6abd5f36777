/* sessmon-load's command line: options, their validation (loopback only) and the help text. */
#include "tools/load/options.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

#include "core/utf8.h"

#define PASSWORD_MAX 1024
#define NAME_MAX_BYTES 128

void sm_load_options_init(sm_load_options *o)
{
    memset(o, 0, sizeof *o);
    o->sessions = 100;
    o->anonymous_weight = 1;
    o->ramp = 1000;
    o->per_process = SM_LOAD_DEFAULT_PER_PROCESS;
    o->stop_timeout_ms = -1;
    o->seed = 1;
}

static void free_secret(char *s)
{
    if (s) {
        volatile char *p = s;
        while (*p)
            *p++ = 0;
        free(s);
    }
}

void sm_load_options_free(sm_load_options *o)
{
    free(o->url);
    free(o->sources);
    for (size_t i = 0; i < o->principal_count; i++) {
        free(o->principals[i].name);
        free_secret(o->principals[i].password);
    }
    free(o->admin);
    free_secret(o->admin_password);
    free(o->from_path);
    memset(o, 0, sizeof *o);
}

void sm_load_print_help(FILE *f)
{
    fputs("usage: sessmon-load [options]\n"
          "Opens many real sessions on a sessmond over loopback, with realistic user properties and churn.\n"
          "\n"
          "  --url URL              server (default " SM_LOAD_DEFAULT_URL "); ws:// or wss:// to 127.0.0.0/8 or\n"
          "                         localhost only (wss://: a self-signed certificate is accepted)\n"
          "  --sessions N           sessions to keep open (default 100)\n"
          "  --sources A-B          source addresses, round-robin per session: 127.0.0.2-127.0.0.9 (the\n"
          "                         default), 127.0.0.2-9, a single address, or 'none' (no bind)\n"
          "  --source-count K       same as --sources 127.0.0.2-127.0.0.(1+K)\n"
          "  --principal NAME       open some sessions as NAME; repeatable. Follow it with\n"
          "    --password-env VAR   the environment variable holding NAME's password (required)\n"
          "    --weight W           NAME's share relative to the others (default 1)\n"
          "  --anonymous-weight W   share of anonymous sessions (default 1; 0 = none)\n"
          "  --admin NAME           control session that applies property updates by session ID\n"
          "    --admin-password-env VAR  its password (NAME needs modify_session)\n"
          "  --ramp R               open at most R sessions per second (default 1000)\n"
          "  --close-rate R         close R random sessions per second; each is replaced by a new one\n"
          "  --update-rate R        change one property (Status, Tier or AppVersion) of R sessions per second\n"
          "  --drop-rate R          cut R connections per second without a close frame; the library\n"
          "                         resumes them (listeners see DISCONNECTED, then RECONNECTED)\n"
          "  --duration SECS        stop after SECS seconds (default: run until SIGINT/SIGTERM)\n"
          "  --from FILE            open exactly the sessions FILE describes (NDJSON, one per line:\n"
          "                         principal, password, properties, clientType, environment, source)\n"
          "                         and hold them; --sessions and the rates are ignored\n"
          "  --seed S               random seed (default 1): same seed, same simulated users\n"
          "  --per-process N        sessions per worker process at most (default 15000); more sessions\n"
          "                         run in several processes (the open-file limit also caps it)\n"
          "  --stop-timeout MS      time allowed for closing sessions on SIGINT/SIGTERM (default 5000 plus\n"
          "                         1 ms per session of a worker process)\n"
          "  --quiet                no progress lines\n"
          "  --json-progress        progress as one JSON object per line\n"
          "  --help                 this text\n"
          "\n"
          "Progress goes to stdout once a second; errors to stderr. Exit status: 0 after a clean stop,\n"
          "1 on a fatal error, 2 on bad options or a bad --from file. See docs/load.md.\n",
          f);
}

/* ---- small parsers ---- */

static int parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
    if (!s || !*s || *s == '-' || *s == '+')
        return -1;
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

static int parse_rate(const char *s, double max, double *out)
{
    if (!s || !*s)
        return -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || !isfinite(v) || v < 0 || v > max)
        return -1;
    *out = v;
    return 0;
}

int sm_load_parse_loopback(const char *text, uint32_t *out)
{
    struct in_addr a;
    if (!text || strlen(text) >= SM_LOAD_IP_MAX || inet_pton(AF_INET, text, &a) != 1)
        return SM_ERR_INVALID;
    uint32_t ip = ntohl(a.s_addr);
    if ((ip >> 24) != 127)
        return SM_ERR_INVALID;
    *out = ip;
    return SM_OK;
}

void sm_load_format_ip(uint32_t ip, char out[SM_LOAD_IP_MAX])
{
    snprintf(out, SM_LOAD_IP_MAX, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255u, (ip >> 8) & 255u, ip & 255u);
}

int sm_load_check_url(const char *url, char **normalised, sm_error *err)
{
    *normalised = NULL;
    const char *rest;
    const char *scheme;
    if (strncmp(url, "ws://", 5) == 0) {
        scheme = "ws://";
        rest = url + 5;
    } else if (strncmp(url, "wss://", 6) == 0) {
        scheme = "wss://";
        rest = url + 6;
    } else {
        return sm_error_set(err, SM_ERR_INVALID, "--url: must start with ws:// or wss://");
    }
    size_t hostlen = strcspn(rest, ":/");
    char host[64];
    if (hostlen == 0 || hostlen >= sizeof host)
        return sm_error_set(err, SM_ERR_INVALID, "--url: missing or overlong host");
    memcpy(host, rest, hostlen);
    host[hostlen] = '\0';
    const char *tail = rest + hostlen;
    uint32_t ip;
    if (strcmp(host, "localhost") == 0) {
        snprintf(host, sizeof host, "127.0.0.1");
    } else if (sm_load_parse_loopback(host, &ip) != SM_OK) {
        return sm_error_set(err, SM_ERR_INVALID,
                            "--url: the host must be a 127.0.0.0/8 address or localhost (sessmon-load only "
                            "loads servers on this machine)");
    }
    if (*tail == ':') {
        size_t plen = strcspn(tail + 1, "/");
        char port[8];
        unsigned long p;
        if (plen == 0 || plen >= sizeof port)
            return sm_error_set(err, SM_ERR_INVALID, "--url: bad port");
        memcpy(port, tail + 1, plen);
        port[plen] = '\0';
        if (parse_uint(port, 1, 65535, &p) != 0)
            return sm_error_set(err, SM_ERR_INVALID, "--url: the port must be 1..65535");
    }
    if (strlen(url) > 1024 || !sm_utf8_valid(url, strlen(url)))
        return sm_error_set(err, SM_ERR_INVALID, "--url: too long or not UTF-8");
    for (const char *p = tail; *p; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7f)
            return sm_error_set(err, SM_ERR_INVALID, "--url: control characters or spaces in the path");
    if (asprintf(normalised, "%s%s%s", scheme, host, tail) < 0) {
        *normalised = NULL;
        return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
    }
    return SM_OK;
}

static int set_sources(sm_load_options *o, uint32_t first, uint32_t last, sm_error *err)
{
    if (last < first)
        return sm_error_set(err, SM_ERR_INVALID, "--sources: the range is empty (A must not be above B)");
    uint64_t n = (uint64_t)last - first + 1;
    if (n > SM_LOAD_MAX_SOURCES)
        return sm_error_set(err, SM_ERR_INVALID, "--sources: at most %d addresses", SM_LOAD_MAX_SOURCES);
    char(*v)[SM_LOAD_IP_MAX] = calloc((size_t)n, sizeof *v);
    if (!v)
        return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
    for (uint64_t i = 0; i < n; i++)
        sm_load_format_ip(first + (uint32_t)i, v[i]);
    free(o->sources);
    o->sources = v;
    o->source_count = (size_t)n;
    return SM_OK;
}

static int parse_sources(sm_load_options *o, const char *arg, sm_error *err)
{
    if (strcmp(arg, "none") == 0) {
        free(o->sources);
        o->sources = NULL;
        o->source_count = 0;
        return SM_OK;
    }
    char a[SM_LOAD_IP_MAX], b[SM_LOAD_IP_MAX];
    const char *dash = strchr(arg, '-');
    size_t alen = dash ? (size_t)(dash - arg) : strlen(arg);
    if (alen >= sizeof a)
        return sm_error_set(err, SM_ERR_INVALID, "--sources: expected A-B with 127.0.0.0/8 addresses");
    memcpy(a, arg, alen);
    a[alen] = '\0';
    uint32_t first, last;
    if (sm_load_parse_loopback(a, &first) != SM_OK)
        return sm_error_set(err, SM_ERR_INVALID,
                            "--sources: '%.20s' is not an address in 127.0.0.0/8 (only loopback sources are allowed)",
                            a);
    if (!dash)
        return set_sources(o, first, first, err);
    const char *bs = dash + 1;
    if (strlen(bs) >= sizeof b)
        return sm_error_set(err, SM_ERR_INVALID, "--sources: expected A-B with 127.0.0.0/8 addresses");
    snprintf(b, sizeof b, "%s", bs);
    unsigned long octet;
    if (!strchr(b, '.')) {
        /* 127.0.0.2-9: B is the last octet. */
        if (parse_uint(b, 0, 255, &octet) != 0)
            return sm_error_set(err, SM_ERR_INVALID, "--sources: '%.20s' is not an address or a last octet", b);
        last = (first & 0xFFFFFF00u) | (uint32_t)octet;
    } else if (sm_load_parse_loopback(b, &last) != SM_OK) {
        return sm_error_set(err, SM_ERR_INVALID,
                            "--sources: '%.20s' is not an address in 127.0.0.0/8 (only loopback sources are allowed)",
                            b);
    }
    return set_sources(o, first, last, err);
}

static int read_password_env(const char *var, const char *who, char **out, sm_error *err)
{
    const char *v = getenv(var);
    if (!v)
        return sm_error_set(err, SM_ERR_INVALID, "%s: environment variable '%.64s' is not set", who, var);
    size_t len = strlen(v);
    if (len > PASSWORD_MAX || !sm_utf8_valid(v, len))
        return sm_error_set(err, SM_ERR_INVALID, "%s: the password in '%.64s' is too long or not UTF-8", who, var);
    char *copy = strdup(v);
    if (!copy)
        return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
    free_secret(*out);
    *out = copy;
    return SM_OK;
}

static int check_name(const char *opt, const char *name, sm_error *err)
{
    size_t len = strlen(name);
    if (len == 0 || len > NAME_MAX_BYTES || !sm_utf8_valid(name, len))
        return sm_error_set(err, SM_ERR_INVALID, "%s: the name must be 1..128 bytes of UTF-8", opt);
    for (const char *p = name; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return sm_error_set(err, SM_ERR_INVALID, "%s: control characters in the name", opt);
    return SM_OK;
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

int sm_load_parse_args(sm_load_options *o, int argc, char **argv, sm_error *err)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return 1;
    int rc = parse_sources(o, "127.0.0.2-127.0.0.9", err);
    if (rc != SM_OK)
        return rc;
    const char *url = SM_LOAD_DEFAULT_URL;
    sm_load_principal *last_principal = NULL;
    bool admin_password_given = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        unsigned long n;
        bool takes_value = true;
        if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) {
            o->quiet = true;
            takes_value = false;
        } else if (strcmp(a, "--json-progress") == 0) {
            o->json_progress = true;
            takes_value = false;
        } else if (!v) {
            return sm_error_set(err, SM_ERR_INVALID, "unknown option or missing value: '%.64s'", a);
        } else if (strcmp(a, "--url") == 0) {
            url = v;
        } else if (strcmp(a, "--sessions") == 0) {
            if (parse_uint(v, 0, SM_LOAD_MAX_SESSIONS, &n) != 0)
                return sm_error_set(err, SM_ERR_INVALID, "--sessions: must be 0..%u", SM_LOAD_MAX_SESSIONS);
            o->sessions = (unsigned)n;
        } else if (strcmp(a, "--sources") == 0) {
            if ((rc = parse_sources(o, v, err)) != SM_OK)
                return rc;
        } else if (strcmp(a, "--source-count") == 0) {
            if (parse_uint(v, 1, 254, &n) != 0)
                return sm_error_set(err, SM_ERR_INVALID, "--source-count: must be 1..254");
            if ((rc = set_sources(o, 0x7F000002u, 0x7F000001u + (uint32_t)n, err)) != SM_OK)
                return rc;
        } else if (strcmp(a, "--principal") == 0) {
            if (o->principal_count >= SM_LOAD_MAX_PRINCIPALS)
                return sm_error_set(err, SM_ERR_INVALID, "--principal: at most %d principals",
                                    SM_LOAD_MAX_PRINCIPALS);
            if ((rc = check_name("--principal", v, err)) != SM_OK)
                return rc;
            last_principal = &o->principals[o->principal_count++];
            last_principal->weight = 1;
            if (!(last_principal->name = strdup(v)))
                return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
        } else if (strcmp(a, "--password-env") == 0) {
            if (!last_principal)
                return sm_error_set(err, SM_ERR_INVALID, "--password-env must follow a --principal");
            if ((rc = read_password_env(v, "--password-env", &last_principal->password, err)) != SM_OK)
                return rc;
        } else if (strcmp(a, "--weight") == 0) {
            if (!last_principal)
                return sm_error_set(err, SM_ERR_INVALID, "--weight must follow a --principal");
            if (parse_uint(v, 0, 1000000, &n) != 0)
                return sm_error_set(err, SM_ERR_INVALID, "--weight: must be 0..1000000");
            last_principal->weight = (unsigned)n;
        } else if (strcmp(a, "--anonymous-weight") == 0) {
            if (parse_uint(v, 0, 1000000, &n) != 0)
                return sm_error_set(err, SM_ERR_INVALID, "--anonymous-weight: must be 0..1000000");
            o->anonymous_weight = (unsigned)n;
        } else if (strcmp(a, "--admin") == 0) {
            if ((rc = check_name("--admin", v, err)) != SM_OK)
                return rc;
            free(o->admin);
            if (!(o->admin = strdup(v)))
                return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
        } else if (strcmp(a, "--admin-password-env") == 0) {
            if ((rc = read_password_env(v, "--admin-password-env", &o->admin_password, err)) != SM_OK)
                return rc;
            admin_password_given = true;
        } else if (strcmp(a, "--ramp") == 0) {
            if (parse_rate(v, 100000, &o->ramp) != 0 || o->ramp <= 0)
                return sm_error_set(err, SM_ERR_INVALID, "--ramp: must be a number above 0 and at most 100000");
        } else if (strcmp(a, "--close-rate") == 0) {
            if (parse_rate(v, 100000, &o->close_rate) != 0)
                return sm_error_set(err, SM_ERR_INVALID, "--close-rate: must be a number 0..100000");
        } else if (strcmp(a, "--update-rate") == 0) {
            if (parse_rate(v, 100000, &o->update_rate) != 0)
                return sm_error_set(err, SM_ERR_INVALID, "--update-rate: must be a number 0..100000");
        } else if (strcmp(a, "--drop-rate") == 0) {
            if (parse_rate(v, 100000, &o->drop_rate) != 0)
                return sm_error_set(err, SM_ERR_INVALID, "--drop-rate: must be a number 0..100000");
        } else if (strcmp(a, "--duration") == 0) {
            if (parse_rate(v, 31536000, &o->duration) != 0)
                return sm_error_set(err, SM_ERR_INVALID, "--duration: must be a number of seconds 0..31536000");
        } else if (strcmp(a, "--from") == 0) {
            free(o->from_path);
            if (!(o->from_path = dup_or_null(v)))
                return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
        } else if (strcmp(a, "--seed") == 0) {
            char *end;
            errno = 0;
            unsigned long long s = strtoull(v, &end, 10);
            if (errno || *end || !*v || *v == '-')
                return sm_error_set(err, SM_ERR_INVALID, "--seed: must be a non-negative integer");
            o->seed = s;
        } else if (strcmp(a, "--per-process") == 0) {
            if (parse_uint(v, 1, 1000000, &n) != 0)
                return sm_error_set(err, SM_ERR_INVALID, "--per-process: must be 1..1000000");
            o->per_process = (unsigned)n;
        } else if (strcmp(a, "--stop-timeout") == 0) {
            if (parse_uint(v, 0, 600000, &n) != 0)
                return sm_error_set(err, SM_ERR_INVALID, "--stop-timeout: must be 0..600000 ms");
            o->stop_timeout_ms = (int)n;
        } else {
            return sm_error_set(err, SM_ERR_INVALID, "unknown option '%.64s' (see --help)", a);
        }
        if (takes_value)
            i++;
    }
    for (size_t i = 0; i < o->principal_count; i++)
        if (!o->principals[i].password)
            return sm_error_set(err, SM_ERR_INVALID, "--principal %.64s: needs --password-env VAR after it",
                                o->principals[i].name);
    if (o->admin && !admin_password_given)
        return sm_error_set(err, SM_ERR_INVALID, "--admin: needs --admin-password-env VAR");
    if (!o->admin && admin_password_given)
        return sm_error_set(err, SM_ERR_INVALID, "--admin-password-env: needs --admin NAME");
    unsigned total = o->anonymous_weight;
    for (size_t i = 0; i < o->principal_count; i++)
        total += o->principals[i].weight;
    if (total == 0)
        return sm_error_set(err, SM_ERR_INVALID, "every weight is 0: no session could be opened");
    return sm_load_check_url(url, &o->url, err);
}
