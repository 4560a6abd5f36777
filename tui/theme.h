/* Colour themes: semantic roles, the theme file format, search path and colour-depth fallback. */
#ifndef SMT_TUI_THEME_H
#define SMT_TUI_THEME_H

#include <stdbool.h>
#include <stddef.h>

#include "core/error.h"

/* Every painted element uses one role; docs/themes.md describes each. Keep in sync with the
 * names table in theme.c. */
typedef enum smt_role {
    SMT_ROLE_DEFAULT = 0,
    SMT_ROLE_HEADER,
    SMT_ROLE_HEADER_VALUE,
    SMT_ROLE_BADGE_LIVE,
    SMT_ROLE_BADGE_PAUSED,
    SMT_ROLE_BADGE_READONLY,
    SMT_ROLE_CONN_OK,
    SMT_ROLE_CONN_BAD,
    SMT_ROLE_TABLE_HEADER,
    SMT_ROLE_TABLE_SORTED,
    SMT_ROLE_ROW,
    SMT_ROLE_ROW_ALT,
    SMT_ROLE_ROW_SELECTED,
    SMT_ROLE_ROW_NEW,
    SMT_ROLE_CELL_CHANGED,
    SMT_ROLE_ROW_DISCONNECTED,
    SMT_ROLE_ROW_CLOSING,
    SMT_ROLE_FILTER_OK,
    SMT_ROLE_FILTER_ERROR,
    SMT_ROLE_PROMPT,
    SMT_ROLE_STATUS,
    SMT_ROLE_KEYBAR_KEY,
    SMT_ROLE_KEYBAR_LABEL,
    SMT_ROLE_KEYBAR_DISABLED,
    SMT_ROLE_PANE_TITLE,
    SMT_ROLE_PANE,
    SMT_ROLE_INSPECT_KEY,
    SMT_ROLE_INSPECT_FIXED_KEY,
    SMT_ROLE_INSPECT_CHANGED,
    SMT_ROLE_LOG_INFO,
    SMT_ROLE_LOG_WARN,
    SMT_ROLE_LOG_ERROR,
    SMT_ROLE_HELP,
    SMT_ROLE_HELP_KEY,
    SMT_ROLE_HELP_DISABLED,
    SMT_ROLE_DIALOG,
    SMT_ROLE_DIALOG_TITLE,
    SMT_ROLE_DANGER,
    SMT_ROLE_TOO_SMALL,
    SMT_ROLE_COUNT
} smt_role;

/* Attribute bits of a style. */
enum {
    SMT_ATTR_BOLD = 1u << 0,
    SMT_ATTR_DIM = 1u << 1,
    SMT_ATTR_REVERSE = 1u << 2,
    SMT_ATTR_UNDERLINE = 1u << 3,
    SMT_ATTR_ITALIC = 1u << 4,
    SMT_ATTR_STANDOUT = 1u << 5
};

#define SMT_COLOR_DEFAULT (-1) /* the terminal's own colour */

typedef struct smt_style {
    short fg, bg;   /* 0..255 or SMT_COLOR_DEFAULT */
    unsigned attrs; /* SMT_ATTR_* */
} smt_style;

#define SMT_THEME_NAME_MAX 64
#define SMT_THEME_FILE_MAX 65536 /* a theme file larger than this is refused */

typedef struct smt_theme {
    char name[SMT_THEME_NAME_MAX];
    char description[128];
    smt_style roles[SMT_ROLE_COUNT];
} smt_theme;

/* Role name as written in theme files ("row.selected"); NULL when out of range. */
const char *smt_role_name(smt_role r);
/* One-line description of what the role paints (for docs and the test card). */
const char *smt_role_help(smt_role r);
/* SMT_ROLE_COUNT when unknown. */
smt_role smt_role_from_name(const char *name);

/* The compiled-in themes, used when no theme file can be found: "default" and "mono". */
void smt_theme_builtin(const char *name, smt_theme *out);

/* Parses theme text. Roles the text leaves out take the built-in default's style (or, for a
 * theme that says `base = mono`, the mono style). Errors name the line: "line 7: unknown
 * role 'rowz'". */
int smt_theme_parse(const char *text, size_t len, const char *name, smt_theme *out, sm_error *err);
/* Loads a file (at most SMT_THEME_FILE_MAX bytes); the error message starts with the path. */
int smt_theme_load_file(const char *path, smt_theme *out, sm_error *err);

/* Parses one colour: default, a name (black red green yellow blue magenta cyan white, bright-*,
 * grey), a number 0..255, or #rrggbb (mapped to the nearest xterm-256 colour). */
bool smt_theme_parse_color(const char *s, short *out);
/* Maps a 0..255 colour to the nearest one a terminal with `colors` colours has (8 or 16). */
short smt_theme_reduce_color(short c, int colors);
/* Nearest xterm-256 index of an RGB colour (cube or grey ramp). */
short smt_theme_rgb_to_256(int r, int g, int b);
/* The xterm-256 colour percent% of the way from colour from to colour to (both 0..255);
 * from itself when either is the terminal default. */
short smt_theme_blend(short from, short to, int percent);

/* Theme directories, most specific first: $XDG_CONFIG_HOME/sessmon/themes (or
 * ~/.config/sessmon/themes), then the directories next to the binary (../share/sessmon/themes,
 * the source tree's themes/ for a build tree), then the install prefix. Returns how many. */
size_t smt_theme_dirs(char dirs[][1024], size_t max);

/* Resolves --theme: a value containing '/' or ending in ".theme" is a path; otherwise a name looked
 * up as NAME.theme in smt_theme_dirs. "default" and "mono" fall back to the built-ins. */
int smt_theme_resolve(const char *name_or_path, smt_theme *out, char *path_out, size_t path_cap, sm_error *err);

/* Names of every theme found (deduplicated, sorted, built-ins included). Returns how many. */
size_t smt_theme_list(char names[][SMT_THEME_NAME_MAX], size_t max);

#endif
