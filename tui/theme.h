/* Colour themes: semantic roles, the theme file format, search path and colour-depth fallback. */
#ifndef SM_TUI_THEME_H
#define SM_TUI_THEME_H

#include <stdbool.h>
#include <stddef.h>

#include "core/error.h"

/* Every painted element uses one role; docs/themes.md describes each. Keep in sync with the
 * names table in theme.c. */
typedef enum sm_role {
    SM_ROLE_DEFAULT = 0,
    SM_ROLE_HEADER,
    SM_ROLE_HEADER_VALUE,
    SM_ROLE_BADGE_LIVE,
    SM_ROLE_BADGE_PAUSED,
    SM_ROLE_BADGE_READONLY,
    SM_ROLE_CONN_OK,
    SM_ROLE_CONN_BAD,
    SM_ROLE_TABLE_HEADER,
    SM_ROLE_TABLE_SORTED,
    SM_ROLE_ROW,
    SM_ROLE_ROW_ALT,
    SM_ROLE_ROW_SELECTED,
    SM_ROLE_ROW_NEW,
    SM_ROLE_CELL_CHANGED,
    SM_ROLE_ROW_DISCONNECTED,
    SM_ROLE_ROW_CLOSING,
    SM_ROLE_FILTER_OK,
    SM_ROLE_FILTER_ERROR,
    SM_ROLE_PROMPT,
    SM_ROLE_STATUS,
    SM_ROLE_KEYBAR_KEY,
    SM_ROLE_KEYBAR_LABEL,
    SM_ROLE_KEYBAR_DISABLED,
    SM_ROLE_PANE_TITLE,
    SM_ROLE_PANE,
    SM_ROLE_INSPECT_KEY,
    SM_ROLE_INSPECT_FIXED_KEY,
    SM_ROLE_INSPECT_CHANGED,
    SM_ROLE_LOG_INFO,
    SM_ROLE_LOG_WARN,
    SM_ROLE_LOG_ERROR,
    SM_ROLE_HELP,
    SM_ROLE_HELP_KEY,
    SM_ROLE_HELP_DISABLED,
    SM_ROLE_DIALOG,
    SM_ROLE_DIALOG_TITLE,
    SM_ROLE_DANGER,
    SM_ROLE_TOO_SMALL,
    SM_ROLE_COUNT
} sm_role;

/* Attribute bits of a style. */
enum {
    SM_ATTR_BOLD = 1u << 0,
    SM_ATTR_DIM = 1u << 1,
    SM_ATTR_REVERSE = 1u << 2,
    SM_ATTR_UNDERLINE = 1u << 3,
    SM_ATTR_ITALIC = 1u << 4,
    SM_ATTR_STANDOUT = 1u << 5
};

#define SM_COLOR_DEFAULT (-1) /* the terminal's own colour */

typedef struct sm_style {
    short fg, bg;   /* 0..255 or SM_COLOR_DEFAULT */
    unsigned attrs; /* SM_ATTR_* */
} sm_style;

#define SM_THEME_NAME_MAX 64
#define SM_THEME_FILE_MAX 65536 /* a theme file larger than this is refused */

typedef struct sm_theme {
    char name[SM_THEME_NAME_MAX];
    char description[128];
    sm_style roles[SM_ROLE_COUNT];
} sm_theme;

/* Role name as written in theme files ("row.selected"); NULL when out of range. */
const char *sm_role_name(sm_role r);
/* One-line description of what the role paints (for docs and the test card). */
const char *sm_role_help(sm_role r);
/* SM_ROLE_COUNT when unknown. */
sm_role sm_role_from_name(const char *name);

/* The compiled-in themes, used when no theme file can be found: "default" and "mono". */
void sm_theme_builtin(const char *name, sm_theme *out);

/* Parses theme text. Roles the text leaves out take the built-in default's style (or, for a
 * theme that says `base = mono`, the mono style). Errors name the line: "line 7: unknown
 * role 'rowz'". */
int sm_theme_parse(const char *text, size_t len, const char *name, sm_theme *out, sm_error *err);
/* Loads a file (at most SM_THEME_FILE_MAX bytes); the error message starts with the path. */
int sm_theme_load_file(const char *path, sm_theme *out, sm_error *err);

/* Parses one colour: default, a name (black red green yellow blue magenta cyan white, bright-*,
 * grey), a number 0..255, or #rrggbb (mapped to the nearest xterm-256 colour). */
bool sm_theme_parse_color(const char *s, short *out);
/* Maps a 0..255 colour to the nearest one a terminal with `colors` colours has (8 or 16). */
short sm_theme_reduce_color(short c, int colors);
/* Nearest xterm-256 index of an RGB colour (cube or grey ramp). */
short sm_theme_rgb_to_256(int r, int g, int b);
/* The xterm-256 colour percent% of the way from colour from to colour to (both 0..255);
 * from itself when either is the terminal default. */
short sm_theme_blend(short from, short to, int percent);

/* Theme directories, most specific first: $XDG_CONFIG_HOME/sessmon/themes (or
 * ~/.config/sessmon/themes), then the directories next to the binary (../share/sessmon/themes,
 * the source tree's themes/ for a build tree), then the install prefix. Returns how many. */
size_t sm_theme_dirs(char dirs[][1024], size_t max);

/* Resolves --theme: a value containing '/' or ending in ".theme" is a path; otherwise a name looked
 * up as NAME.theme in sm_theme_dirs. "default" and "mono" fall back to the built-ins. */
int sm_theme_resolve(const char *name_or_path, sm_theme *out, char *path_out, size_t path_cap, sm_error *err);

/* Names of every theme found (deduplicated, sorted, built-ins included). Returns how many. */
size_t sm_theme_list(char names[][SM_THEME_NAME_MAX], size_t max);

#endif
