/* The options the monitor and every subcommand share (--url, --principal, --ca-file), their
 * defaults, and the one refusal of --password: one parser for both faces of sessmon. */
#include "tui/options.h"

#include <stdlib.h>

void smt_options_defaults(smt_common_options *o)
{
    const char *url = getenv("SESSMON_URL"), *principal = getenv("SESSMON_PRINCIPAL");
    o->url = url ? url : SMT_DEFAULT_URL;
    o->principal = principal ? principal : "";
    o->ca_file = NULL;
}

smt_option_result smt_options_common(smt_common_options *o, int opt, const char *arg, const char **message)
{
    switch (opt) {
    case SMT_OPT_URL: o->url = arg; return SMT_OPTION_TAKEN;
    case SMT_OPT_PRINCIPAL: o->principal = arg; return SMT_OPTION_TAKEN;
    case SMT_OPT_CA_FILE: o->ca_file = arg; return SMT_OPTION_TAKEN;
    case 'h':
    case SMT_OPT_HELP: return SMT_OPTION_HELP;
    case SMT_OPT_PASSWORD:
        if (message)
            *message = "passwords are never taken from the command line; set SESSMON_PASSWORD or type it at the "
                       "prompt";
        return SMT_OPTION_REFUSED;
    default: return SMT_OPTION_NOT_COMMON;
    }
}
