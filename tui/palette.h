/* Applies a theme to curses: one colour pair per role, reduced to the terminal's colour depth. */
#ifndef SM_TUI_PALETTE_H
#define SM_TUI_PALETTE_H

#include <curses.h>
#include <stdbool.h>

#include "tui/theme.h"

/* Drawing-only roles after the theme's: the later steps of a closed row fading out, derived
 * from row.closing (toward the background in 256 colours, dim elsewhere). Not in theme files. */
#define SM_PALETTE_FADE_STEPS 2
#define SM_PALETTE_FADE(step) ((sm_role)(SM_ROLE_COUNT + (step)))
#define SM_PALETTE_ROLES (SM_ROLE_COUNT + SM_PALETTE_FADE_STEPS)

/* Applies theme t. Call after initscr/newterm. allow_color false (NO_COLOR) keeps only the
 * attributes. Safe to call again to switch themes at run time. */
void sm_palette_apply(const sm_theme *t, bool allow_color);

/* Attributes and colour pair for a role, for wattr_set / setcchar. */
attr_t sm_palette_attr(sm_role role);
short sm_palette_pair(sm_role role);

/* Sets window w's current drawing attributes to the role. */
void sm_palette_use(WINDOW *w, sm_role role);

#endif
