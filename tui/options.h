/* The options the monitor and every subcommand share (--url, --principal, --ca-file), their
 * defaults, and the one refusal of --password: one parser for both faces of sessmon. */
#ifndef SMT_OPTIONS_H
#define SMT_OPTIONS_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>

/* The one definition of the default server (also when $SESSMON_URL is unset). */
#define SMT_DEFAULT_URL "ws://127.0.0.1:9595"
#define SMT_DEFAULT_TIMEOUT_MS 10000

/* getopt_long codes: the common ones, then each parser's own from SMT_OPT_OWN on. */
enum {
    SMT_OPT_URL = 256,
    SMT_OPT_PRINCIPAL,
    SMT_OPT_CA_FILE,
    SMT_OPT_PASSWORD,
    SMT_OPT_HELP,
    SMT_OPT_OWN
};

#define SMT_COMMON_LONGOPTS                                       \
    {"url", required_argument, NULL, SMT_OPT_URL},                \
    {"principal", required_argument, NULL, SMT_OPT_PRINCIPAL},    \
    {"ca-file", required_argument, NULL, SMT_OPT_CA_FILE},        \
    {"password", required_argument, NULL, SMT_OPT_PASSWORD},      \
    {"help", no_argument, NULL, SMT_OPT_HELP}

/* How the common options read in a usage text. */
#define SMT_COMMON_OPTIONS_HELP                                                                              \
    "  --url URL        server (default $SESSMON_URL or " SMT_DEFAULT_URL ")\n"                             \
    "  --principal P    log in as P (default $SESSMON_PRINCIPAL, else anonymous); the password\n"          \
    "                   comes from $SESSMON_PASSWORD or a prompt, never the command line\n"                \
    "  --ca-file PEM    wss://: trust the CA certificates in this PEM file too\n"

typedef struct smt_common_options {
    const char *url;
    const char *principal; /* "" = anonymous */
    const char *ca_file;   /* NULL = the system's */
} smt_common_options;

typedef enum smt_option_result {
    SMT_OPTION_NOT_COMMON = 0, /* not one of the shared options: the caller's own */
    SMT_OPTION_TAKEN,
    SMT_OPTION_HELP,           /* --help or -h */
    SMT_OPTION_REFUSED         /* --password: the message says why */
} smt_option_result;

/* The defaults: $SESSMON_URL / $SESSMON_PRINCIPAL, else the built-in ones. */
void smt_options_defaults(smt_common_options *o);
/* Applies option opt (a getopt_long code) with its argument. */
smt_option_result smt_options_common(smt_common_options *o, int opt, const char *arg, const char **message);

#endif
