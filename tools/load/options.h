/* sessmon-load's command line: options, their validation (loopback only) and the help text. */
#ifndef SM_LOAD_OPTIONS_H
#define SM_LOAD_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/error.h"

#define SM_LOAD_DEFAULT_URL "ws://127.0.0.1:9595"
#define SM_LOAD_MAX_PRINCIPALS 16
#define SM_LOAD_MAX_SOURCES 1024
#define SM_LOAD_MAX_SESSIONS 1000000u
#define SM_LOAD_DEFAULT_PER_PROCESS 15000u
#define SM_LOAD_IP_MAX 16 /* "127.255.255.255" + NUL */

typedef struct sm_load_principal {
    char *name;
    char *password; /* from the environment variable named by --password-env */
    unsigned weight;
} sm_load_principal;

typedef struct sm_load_options {
    char *url; /* validated: ws:// or wss:// to a 127.0.0.0/8 address */
    unsigned sessions;
    char (*sources)[SM_LOAD_IP_MAX]; /* source addresses, round-robin per session; none = no bind */
    size_t source_count;
    sm_load_principal principals[SM_LOAD_MAX_PRINCIPALS];
    size_t principal_count;
    unsigned anonymous_weight;
    char *admin; /* control session applying updates by ID (needs modify_session) */
    char *admin_password;
    double ramp;        /* opens per second, initial ramp and replacements */
    double close_rate;  /* graceful closes per second (each replaced) */
    double update_rate; /* property updates per second */
    double drop_rate;   /* abrupt connection drops per second */
    double duration;    /* seconds; 0 = until SIGINT/SIGTERM */
    char *from_path;
    uint64_t seed;
    bool quiet;
    bool json_progress;
    unsigned per_process; /* sessions per worker process at most */
    int stop_timeout_ms;  /* graceful close budget on SIGINT/SIGTERM; -1 = 5000 + 1 per session */
} sm_load_options;

void sm_load_options_init(sm_load_options *o);
void sm_load_options_free(sm_load_options *o);

/* Parses argv into o (which must be initialised). Returns SM_OK, 1 when --help was asked for
 * (nothing else is checked), or an error with err saying which option is wrong. Passwords are
 * read from the environment variables the options name. */
int sm_load_parse_args(sm_load_options *o, int argc, char **argv, sm_error *err);

void sm_load_print_help(FILE *f);

/* Parses an IPv4 literal inside 127.0.0.0/8 into host-order *out. SM_OK or SM_ERR_INVALID. */
int sm_load_parse_loopback(const char *text, uint32_t *out);
/* Formats a host-order IPv4 address. */
void sm_load_format_ip(uint32_t ip, char out[SM_LOAD_IP_MAX]);
/* Checks a server URL: ws:// or wss://, host 127.x.y.z or localhost (rewritten to 127.0.0.1),
 * optional port and path. *normalised is malloc'd. */
int sm_load_check_url(const char *url, char **normalised, sm_error *err);

#endif
