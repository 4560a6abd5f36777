/* Placeholder for the script subcommands until libsessmon lands (replaced by the real cli.c). */
#include <stdio.h>
#include <string.h>

#include "tui/app.h"

bool sm_cli_is_subcommand(const char *name)
{
    static const char *const names[] = {"list", "get", "set", "watch", "close"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (strcmp(name, names[i]) == 0)
            return true;
    return false;
}

int sm_cli_main(int argc, char **argv)
{
    (void)argc;
    fprintf(stderr, "sessmon %s: not implemented yet\n", argv[1]);
    return SM_EXIT_FAILURE;
}
