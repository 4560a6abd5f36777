/* sessmond: command line, configuration loading, the --hash-password helper, then the server loop. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "server/auth.h"
#include "server/config.h"
#include "server/log.h"
#include "server/net.h"

#define EXIT_USAGE 2

static void usage(FILE *f)
{
    fprintf(f,
            "usage: sessmond [--config FILE] [--port N] [--bind ADDR] [--port-file FILE] [--verbose]\n"
            "                [--cluster-redis URL --node NAME]\n"
            "       sessmond --check-config [--config FILE]\n"
            "       sessmond --print-config [--config FILE]\n"
            "       sessmond --hash-password [--iterations N]   (reads the password from stdin)\n"
            "       sessmond --version\n"
            "\n"
            "  --config FILE     JSON configuration (docs/config.md); without it a demo configuration\n"
            "                    bound to 127.0.0.1 is used\n"
            "  --port N          listen port (0 = any free port), overrides server.port\n"
            "  --bind ADDR       numeric listen address, overrides server.bind\n"
            "  --port-file FILE  write the bound port to FILE once listening\n"
            "  --verbose         debug logging (also libwebsockets notices)\n"
            "  --cluster-redis URL  join a cluster through Redis (redis://HOST:PORT or unix:/path),\n"
            "                    overrides cluster.redis (docs/cluster.md); the Redis password comes from\n"
            "                    cluster.passwordFile or SESSMON_REDIS_PASSWORD, never from the command line\n"
            "  --node NAME       this node's name in the cluster ($ServerName), overrides cluster.node\n"
            "  --check-config    validate the configuration and exit (0 = valid, 2 = invalid)\n"
            "  --print-config    print the effective configuration as JSON and exit\n"
            "  --hash-password   print a password hash for the configuration's principals\n"
            "  --iterations N    PBKDF2 iterations for --hash-password (default %u)\n"
            "\n"
            "SIGHUP reloads --config for new requests without dropping sessions and reopens the audit log;\n"
            "SIGUSR1 only reopens the audit log (logrotate); SIGTERM/SIGINT close every session and stop\n"
            "(docs/config.md).\n",
            SMD_AUTH_DEFAULT_ITERATIONS);
}

static int parse_long(const char *s, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

/* Reads one line from stdin, without echo when stdin is a terminal. */
static char *read_password(void)
{
    bool tty = isatty(STDIN_FILENO);
    struct termios old, quiet;
    if (tty) {
        fprintf(stderr, "Password: ");
        fflush(stderr);
        if (tcgetattr(STDIN_FILENO, &old) == 0) {
            quiet = old;
            quiet.c_lflag &= (tcflag_t)~ECHO;
            tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
        } else {
            tty = false;
        }
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, stdin);
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
        fputc('\n', stderr);
    }
    if (n < 0) {
        free(line);
        return NULL;
    }
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    return line;
}

static int hash_password(unsigned iterations)
{
    char *pw = read_password();
    if (!pw) {
        fprintf(stderr, "sessmond: no password on stdin\n");
        return EXIT_USAGE;
    }
    if (!*pw) {
        fprintf(stderr, "sessmond: the password is empty\n");
        free(pw);
        return EXIT_USAGE;
    }
    char *hash = NULL;
    sm_error err;
    sm_error_clear(&err);
    int rc = smd_auth_hash_password(pw, strlen(pw), iterations, &hash, &err);
    OPENSSL_cleanse(pw, strlen(pw));
    free(pw);
    if (rc != SM_OK) {
        fprintf(stderr, "sessmond: %s\n", err.message);
        return EXIT_USAGE;
    }
    printf("%s\n", hash);
    free(hash);
    return 0;
}

/* Error text can quote the config file (field names): never pass its control characters to a terminal. */
static void print_error(const char *msg)
{
    fputs("sessmond: ", stderr);
    for (const unsigned char *p = (const unsigned char *)msg; *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            fprintf(stderr, "\\x%02x", *p);
        else
            fputc(*p, stderr);
    }
    fputc('\n', stderr);
}

static void warn_demo(const smd_config *cfg)
{
    smd_log(SMD_LOG_WARN, "no --config given: running the DEMO configuration, bound to %s only",
           cfg->bind ? cfg->bind : "127.0.0.1");
    smd_log(SMD_LOG_WARN, "demo principals (password = name): admin (ADMINISTRATOR), operator (OPERATOR), "
                        "viewer (VIEWER), client (CLIENT); anonymous sessions allowed (CLIENT)");
    smd_log(SMD_LOG_WARN, "never expose the demo configuration; see docs/config.md to write a real one");
}

/* Where the configuration comes from: the file (or the demo) and the command line's overrides. */
typedef struct config_source {
    const char *path, *bind, *cluster_redis, *node;
    long port;
} config_source;

/* Loads the whole configuration into cfg (initialised), at start and again on SIGHUP. */
static int load_config(void *ctx, smd_config *cfg, sm_error *err)
{
    const config_source *src = ctx;
    int rc = src->path ? smd_config_load_file(cfg, src->path, err) : smd_config_demo(cfg, err);
    if (rc == SM_OK && src->bind) {
        smd_config override;
        smd_config_init(&override);
        char *text = NULL;
        if (asprintf(&text, "{\"server\":{\"bind\":\"%s\"}}", src->bind) < 0 || strpbrk(src->bind, "\"\\")) {
            rc = sm_error_set(err, SM_ERR_INVALID, "--bind: must be a numeric IPv4 or IPv6 address");
        } else if ((rc = smd_config_parse(&override, text, strlen(text), err)) == SM_OK) {
            free(cfg->bind);
            cfg->bind = override.bind;
            override.bind = NULL;
        } else {
            rc = sm_error_set(err, SM_ERR_INVALID, "--bind: must be a numeric IPv4 or IPv6 address");
        }
        free(text);
        smd_config_free(&override);
    }
    if (rc == SM_OK && src->cluster_redis)
        rc = smd_cluster_cfg_set_redis(&cfg->cluster, src->cluster_redis, err);
    if (rc == SM_OK && src->node)
        rc = smd_cluster_cfg_set_node(&cfg->cluster, src->node, err);
    if (rc == SM_OK)
        rc = smd_cluster_cfg_check(&cfg->cluster, err);
    if (rc == SM_OK && src->port >= 0)
        cfg->port = (int)src->port;
    return rc;
}

int main(int argc, char **argv)
{
    const char *config_path = NULL, *bind = NULL, *port_file = NULL, *cluster_redis = NULL, *node = NULL;
    long port = -1, iterations = SMD_AUTH_DEFAULT_ITERATIONS;
    bool verbose = false, check = false, print = false, hash = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has_next = i + 1 < argc;
        if (strcmp(a, "--config") == 0 && has_next) {
            config_path = argv[++i];
        } else if (strcmp(a, "--port") == 0 && has_next) {
            if (parse_long(argv[++i], 0, 65535, &port) != 0) {
                fprintf(stderr, "sessmond: --port must be 0..65535\n");
                return EXIT_USAGE;
            }
        } else if (strcmp(a, "--bind") == 0 && has_next) {
            bind = argv[++i];
        } else if (strcmp(a, "--cluster-redis") == 0 && has_next) {
            cluster_redis = argv[++i];
        } else if (strcmp(a, "--node") == 0 && has_next) {
            node = argv[++i];
        } else if (strcmp(a, "--port-file") == 0 && has_next) {
            port_file = argv[++i];
        } else if (strcmp(a, "--iterations") == 0 && has_next) {
            if (parse_long(argv[++i], SMD_AUTH_MIN_ITERATIONS, SMD_AUTH_MAX_ITERATIONS, &iterations) != 0) {
                fprintf(stderr, "sessmond: --iterations must be %u..%u\n", SMD_AUTH_MIN_ITERATIONS,
                        SMD_AUTH_MAX_ITERATIONS);
                return EXIT_USAGE;
            }
        } else if (strcmp(a, "--verbose") == 0 || strcmp(a, "-v") == 0) {
            verbose = true;
        } else if (strcmp(a, "--check-config") == 0) {
            check = true;
        } else if (strcmp(a, "--print-config") == 0) {
            print = true;
        } else if (strcmp(a, "--hash-password") == 0) {
            hash = true;
        } else if (strcmp(a, "--version") == 0) {
            printf("sessmond %s\n", SESSMON_VERSION);
            return 0;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "sessmond: unknown or incomplete option '%s'\n", a);
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (hash)
        return hash_password((unsigned)iterations);

    smd_config cfg;
    smd_config_init(&cfg);
    sm_error err;
    sm_error_clear(&err);
    config_source src = {.path = config_path, .bind = bind, .cluster_redis = cluster_redis, .node = node, .port = port};
    if (load_config(&src, &cfg, &err) != SM_OK) {
        print_error(err.message);
        smd_config_free(&cfg);
        return EXIT_USAGE;
    }
    /* Not for --print-config: a file printed here may be meant for another machine. */
    if ((check || !print) && smd_config_check_tls_files(&cfg, &err) != SM_OK) {
        print_error(err.message);
        smd_config_free(&cfg);
        return EXIT_USAGE;
    }
    if (check) {
        printf("sessmond: configuration is valid\n");
        smd_config_free(&cfg);
        return 0;
    }
    if (print) {
        char *json = smd_config_to_json(&cfg);
        if (json)
            printf("%s\n", json);
        free(json);
        smd_config_free(&cfg);
        return json ? 0 : 1;
    }
    if (cfg.is_demo)
        warn_demo(&cfg);
    smd_net_opts opts = {.port_file = port_file, .verbose = verbose, .config_path = config_path,
                         .load_config = config_path ? load_config : NULL, .load_ctx = &src};
    int status = smd_net_run(&cfg, &opts);
    smd_config_free(&cfg);
    return status;
}
