/* Applies a theme to curses: one colour pair per role, reduced to the terminal's colour depth. */
#ifndef SMT_TUI_PALETTE_H
#define SMT_TUI_PALETTE_H

#include <curses.h>
#include <stdbool.h>

#include "tui/theme.h"

/* Drawing-only roles after the theme's: the later steps of a closed row fading out, derived
 * from row.closing (toward the background in 256 colours, dim elsewhere). Not in theme files. */
#define SMT_PALETTE_FADE_STEPS 2
#define SMT_PALETTE_FADE(step) ((smt_role)(SMT_ROLE_COUNT + (step)))
#define SMT_PALETTE_ROLES (SMT_ROLE_COUNT + SMT_PALETTE_FADE_STEPS)

/* Applies theme t. Call after initscr/newterm. allow_color false (NO_COLOR) keeps only the
 * attributes. Safe to call again to switch themes at run time. */
void smt_palette_apply(const smt_theme *t, bool allow_color);

/* Attributes and colour pair for a role, for wattr_set / setcchar. */
attr_t smt_palette_attr(smt_role role);
short smt_palette_pair(smt_role role);

/* Sets window w's current drawing attributes to the role. */
void smt_palette_use(WINDOW *w, smt_role role);

#endif
