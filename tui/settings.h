/* The monitor's saved settings (columns, sort, theme): a small file written only when asked. */
#ifndef SMT_TUI_SETTINGS_H
#define SMT_TUI_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/error.h"
#include "core/props.h"
#include "tui/theme.h"

#define SMT_SETTINGS_MAX_COLUMNS 48
#define SMT_SETTINGS_FILE_MAX 65536 /* a larger file is refused */
#define SMT_SETTINGS_KEY_MAX (SM_KEY_MAX + 2)

/* Nothing here is written behind the user's back: the monitor saves only when the user asks (w
 * in the column chooser, after a yes/no question naming the file) and reads the file at start
 * unless --no-settings is given. Every field may be absent. */
typedef struct smt_settings {
    char theme[SMT_THEME_NAME_MAX]; /* "" = not set */
    char columns[SMT_SETTINGS_MAX_COLUMNS][SMT_SETTINGS_KEY_MAX];
    int ncolumns;                  /* 0 = not set */
    char sort_key[SMT_SETTINGS_KEY_MAX]; /* "" = not set */
    bool sort_descending;
} smt_settings;

/* The file: $XDG_CONFIG_HOME/sessmon/monitor.conf, else ~/.config/sessmon/monitor.conf. False
 * when neither variable gives an absolute directory. */
bool smt_settings_path(char *out, size_t cap);

/* Parses the file's text. Errors name the line; nothing is half-applied (out is only filled on
 * success). */
int smt_settings_parse(const char *text, size_t len, smt_settings *out, sm_error *err);
/* Reads and parses path; SM_ERR_NOT_FOUND (with no message) when the file does not exist. */
int smt_settings_load(const char *path, smt_settings *out, sm_error *err);
/* The file's text for s (NUL-terminated); returns the length, or -1 when cap is too small. */
int smt_settings_format(const smt_settings *s, char *out, size_t cap);
/* Writes s to path: creates the directory (0700) if needed, writes a temporary file (0600) and
 * renames it over the old one, so a crash never leaves half a file. */
int smt_settings_save(const char *path, const smt_settings *s, sm_error *err);

#endif
