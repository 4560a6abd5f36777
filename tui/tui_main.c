/* Placeholder for the interactive monitor until the TUI lands (replaced by the real tui_main.c). */
#include <stdio.h>

#include "tui/app.h"

int sm_tui_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "sessmon: the interactive monitor is not implemented yet\n");
    return SM_EXIT_FAILURE;
}
