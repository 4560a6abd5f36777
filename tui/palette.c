/* Applies a theme to curses: one colour pair per role, reduced to the terminal's colour depth. */
#include "tui/palette.h"

static attr_t role_attr[SMT_PALETTE_ROLES];
static short role_pair[SMT_PALETTE_ROLES];
static int depth; /* 256, 16, 8, or 0 (attributes only: no colours, or NO_COLOR) */

static attr_t to_curses(unsigned a)
{
    attr_t r = A_NORMAL;
    if (a & SMT_ATTR_BOLD)
        r |= A_BOLD;
    if (a & SMT_ATTR_DIM)
        r |= A_DIM;
    if (a & SMT_ATTR_REVERSE)
        r |= A_REVERSE;
    if (a & SMT_ATTR_UNDERLINE)
        r |= A_UNDERLINE;
    if (a & SMT_ATTR_STANDOUT)
        r |= A_STANDOUT;
#ifdef A_ITALIC
    if (a & SMT_ATTR_ITALIC)
        r |= A_ITALIC;
#endif
    return r;
}

/* Light backgrounds of the basic eight (for readable text when fg and bg collapse together). */
static bool light_basic(short c)
{
    return c == 2 || c == 3 || c == 6 || c == 7;
}

/* The fade steps of row.closing: its foreground moves toward the background (the role's, else
 * the default role's, else a middle grey that recedes on dark and light terminals alike). */
static void apply_fade(const smt_theme *t)
{
    const smt_style *st = &t->roles[SMT_ROLE_ROW_CLOSING];
    short target = st->bg >= 0 ? st->bg : t->roles[SMT_ROLE_DEFAULT].bg >= 0 ? t->roles[SMT_ROLE_DEFAULT].bg : 244;
    for (int step = 0; step < SMT_PALETTE_FADE_STEPS; step++) {
        int r = SMT_ROLE_COUNT + step;
        role_attr[r] = role_attr[SMT_ROLE_ROW_CLOSING] & ~(attr_t)A_BOLD;
        role_pair[r] = role_pair[SMT_ROLE_ROW_CLOSING];
        if (depth < 256 || st->fg < 0) { /* no colour to move: dim instead */
            role_attr[r] |= A_DIM;
            continue;
        }
        short fg = smt_theme_blend(st->fg, target, step == 0 ? 45 : 75);
        short pair = (short)(r + 1);
        if (init_pair(pair, fg, st->bg) == OK)
            role_pair[r] = pair;
        if (step > 0)
            role_attr[r] |= A_DIM;
    }
}

void smt_palette_apply(const smt_theme *t, bool allow_color)
{
    depth = 0;
    if (allow_color && has_colors()) {
        start_color();
        use_default_colors();
        depth = COLORS >= 256 ? 256 : COLORS >= 16 ? 16 : COLORS >= 8 ? 8 : 0;
        if (COLOR_PAIRS < SMT_PALETTE_ROLES + 1)
            depth = 0;
    }
    for (int r = 0; r < SMT_ROLE_COUNT; r++) {
        const smt_style *st = &t->roles[r];
        role_attr[r] = to_curses(st->attrs);
        role_pair[r] = 0;
        if (depth == 0)
            continue;
        short fg = smt_theme_reduce_color(st->fg, depth);
        short bg = smt_theme_reduce_color(st->bg, depth);
        if (depth < 256 && fg >= 0 && fg == bg) /* two shades that collapsed into one colour */
            fg = light_basic(bg & 7) ? COLOR_BLACK : COLOR_WHITE;
        short pair = (short)(r + 1);
        if (init_pair(pair, fg, bg) == OK)
            role_pair[r] = pair;
    }
    apply_fade(t);
}

attr_t smt_palette_attr(smt_role role)
{
    return (unsigned)role < SMT_PALETTE_ROLES ? role_attr[role] : A_NORMAL;
}

short smt_palette_pair(smt_role role)
{
    return (unsigned)role < SMT_PALETTE_ROLES ? role_pair[role] : 0;
}

void smt_palette_use(WINDOW *w, smt_role role)
{
    wattr_set(w, smt_palette_attr(role), smt_palette_pair(role), NULL);
}
