/* sessmon's main: dispatches to a script subcommand or the interactive monitor. */
#include <locale.h>

#include "tui/app.h"

int main(int argc, char **argv)
{
    setlocale(LC_ALL, "");
    if (argc > 1 && smt_cli_is_subcommand(argv[1]))
        return smt_cli_main(argc, argv);
    return smt_tui_main(argc, argv);
}
