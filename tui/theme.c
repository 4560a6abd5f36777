/* Colour themes: semantic roles, the theme file format, search path and colour-depth fallback. */
#include "tui/theme.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/utf8.h"
#include "tui/text.h"

#ifndef SESSMON_SOURCE_THEMES_DIR
#define SESSMON_SOURCE_THEMES_DIR ""
#endif
#ifndef SESSMON_INSTALL_THEMES_DIR
#define SESSMON_INSTALL_THEMES_DIR "/usr/local/share/sessmon/themes"
#endif

static const struct {
    const char *name;
    const char *help;
} role_info[SMT_ROLE_COUNT] = {
    [SMT_ROLE_DEFAULT] = {"default", "anything without a role of its own; the screen background"},
    [SMT_ROLE_HEADER] = {"header", "the header line: server, principal, counts"},
    [SMT_ROLE_HEADER_VALUE] = {"header.value", "values inside the header (server URL, counts)"},
    [SMT_ROLE_BADGE_LIVE] = {"badge.live", "the LIVE mode badge"},
    [SMT_ROLE_BADGE_PAUSED] = {"badge.paused", "the PAUSED mode badge"},
    [SMT_ROLE_BADGE_READONLY] = {"badge.readonly", "the READ-ONLY badge and its reason"},
    [SMT_ROLE_CONN_OK] = {"conn.ok", "connection state when connected"},
    [SMT_ROLE_CONN_BAD] = {"conn.bad", "connection state when connecting, resyncing or down"},
    [SMT_ROLE_TABLE_HEADER] = {"table.header", "column titles of the session table"},
    [SMT_ROLE_TABLE_SORTED] = {"table.sorted", "the title of the column the table is sorted by"},
    [SMT_ROLE_ROW] = {"row", "a session row"},
    [SMT_ROLE_ROW_ALT] = {"row.alt", "every other session row (zebra stripes)"},
    [SMT_ROLE_ROW_SELECTED] = {"row.selected", "the row under the cursor"},
    [SMT_ROLE_ROW_NEW] = {"row.new", "a session that opened in the last 2 seconds"},
    [SMT_ROLE_CELL_CHANGED] = {"cell.changed", "a value that changed in the last 2 seconds"},
    [SMT_ROLE_ROW_DISCONNECTED] = {"row.disconnected", "a DISCONNECTED session"},
    [SMT_ROLE_ROW_CLOSING] = {"row.closing", "a closed session fading out"},
    [SMT_ROLE_FILTER_OK] = {"filter.ok", "a filter that parses; the active filter line"},
    [SMT_ROLE_FILTER_ERROR] = {"filter.error", "a filter error and the column it points at"},
    [SMT_ROLE_PROMPT] = {"prompt", "input prompts and the text being typed"},
    [SMT_ROLE_STATUS] = {"status", "the message line above the key bar"},
    [SMT_ROLE_KEYBAR_KEY] = {"keybar.key", "key names in the bottom key bar"},
    [SMT_ROLE_KEYBAR_LABEL] = {"keybar.label", "labels in the bottom key bar"},
    [SMT_ROLE_KEYBAR_DISABLED] = {"keybar.disabled", "key bar entries disabled in read-only mode"},
    [SMT_ROLE_PANE_TITLE] = {"pane.title", "title line of a pane (inspect, edit, bulk, log, columns)"},
    [SMT_ROLE_PANE] = {"pane", "the body of a pane"},
    [SMT_ROLE_INSPECT_KEY] = {"inspect.key", "user property names in the inspect and edit panes"},
    [SMT_ROLE_INSPECT_FIXED_KEY] = {"inspect.fixed", "fixed ($) property names"},
    [SMT_ROLE_INSPECT_CHANGED] = {"inspect.changed", "recently changed values and the change history"},
    [SMT_ROLE_LOG_INFO] = {"log.info", "event log: information"},
    [SMT_ROLE_LOG_WARN] = {"log.warn", "event log: warnings"},
    [SMT_ROLE_LOG_ERROR] = {"log.error", "event log: errors"},
    [SMT_ROLE_HELP] = {"help", "the help overlay"},
    [SMT_ROLE_HELP_KEY] = {"help.key", "key names in the help overlay"},
    [SMT_ROLE_HELP_DISABLED] = {"help.disabled", "help entries disabled in read-only mode"},
    [SMT_ROLE_DIALOG] = {"dialog", "dialogs and forms"},
    [SMT_ROLE_DIALOG_TITLE] = {"dialog.title", "dialog titles"},
    [SMT_ROLE_DANGER] = {"danger", "confirmation of a change to many sessions"},
    [SMT_ROLE_TOO_SMALL] = {"too.small", "the 'terminal too small' message"},
};

const char *smt_role_name(smt_role r)
{
    return (unsigned)r < SMT_ROLE_COUNT ? role_info[r].name : NULL;
}

const char *smt_role_help(smt_role r)
{
    return (unsigned)r < SMT_ROLE_COUNT ? role_info[r].help : NULL;
}

smt_role smt_role_from_name(const char *name)
{
    for (int i = 0; i < SMT_ROLE_COUNT; i++)
        if (strcmp(role_info[i].name, name) == 0)
            return (smt_role)i;
    return SMT_ROLE_COUNT;
}

/* Built-ins in the file format itself, so they go through the same parser as the files. */
static const char builtin_default[] =
    "description = terminal background with blue and cyan accents\n"
    "default = default default\n"
    "header = 255 24\n"
    "header.value = 229 24 bold\n"
    "badge.live = black 35 bold\n"
    "badge.paused = black 214 bold\n"
    "badge.readonly = 255 124 bold\n"
    "conn.ok = 120 24 bold\n"
    "conn.bad = 255 160 bold\n"
    "table.header = black 250 bold\n"
    "table.sorted = black 117 bold underline\n"
    "row = default default\n"
    "row.alt = default 235\n"
    "row.selected = black 39 bold\n"
    "row.new = 120 default bold\n"
    "cell.changed = black 220\n"
    "row.disconnected = 245 default italic\n"
    "row.closing = 167 default dim\n"
    "filter.ok = 120 default\n"
    "filter.error = 255 160 bold\n"
    "prompt = 229 default bold\n"
    "status = 252 236\n"
    "keybar.key = 255 default bold\n"
    "keybar.label = black 31\n"
    "keybar.disabled = 240 236\n"
    "pane.title = 255 25 bold\n"
    "pane = default default\n"
    "inspect.key = 117 default\n"
    "inspect.fixed = 180 default\n"
    "inspect.changed = black 220\n"
    "log.info = default default\n"
    "log.warn = 214 default bold\n"
    "log.error = 203 default bold\n"
    "help = 252 236\n"
    "help.key = 229 236 bold\n"
    "help.disabled = 242 236\n"
    "dialog = 255 238\n"
    "dialog.title = 255 25 bold\n"
    "danger = 255 124 bold\n"
    "too.small = 255 124 bold\n";

static const char builtin_mono[] =
    "description = no colours: bold, dim, reverse and underline only\n"
    "base = none\n"
    "default = default default\n"
    "header = default default reverse\n"
    "header.value = default default reverse bold\n"
    "badge.live = default default bold\n"
    "badge.paused = default default bold reverse\n"
    "badge.readonly = default default bold underline\n"
    "conn.ok = default default reverse\n"
    "conn.bad = default default bold underline\n"
    "table.header = default default bold underline\n"
    "table.sorted = default default bold reverse\n"
    "row = default default\n"
    "row.alt = default default\n"
    "row.selected = default default reverse\n"
    "row.new = default default bold\n"
    "cell.changed = default default underline bold\n"
    "row.disconnected = default default dim\n"
    "row.closing = default default dim\n"
    "filter.ok = default default\n"
    "filter.error = default default bold reverse\n"
    "prompt = default default bold\n"
    "status = default default\n"
    "keybar.key = default default bold\n"
    "keybar.label = default default reverse\n"
    "keybar.disabled = default default dim\n"
    "pane.title = default default reverse bold\n"
    "pane = default default\n"
    "inspect.key = default default bold\n"
    "inspect.fixed = default default\n"
    "inspect.changed = default default underline\n"
    "log.info = default default\n"
    "log.warn = default default bold\n"
    "log.error = default default bold reverse\n"
    "help = default default\n"
    "help.key = default default bold\n"
    "help.disabled = default default dim\n"
    "dialog = default default\n"
    "dialog.title = default default reverse bold\n"
    "danger = default default reverse bold\n"
    "too.small = default default reverse bold\n";

static int parse_into(const char *text, size_t len, smt_theme *out, bool *base_mono, sm_error *err);

void smt_theme_builtin(const char *name, smt_theme *out)
{
    bool mono = name && strcmp(name, "mono") == 0;
    memset(out, 0, sizeof *out);
    for (int i = 0; i < SMT_ROLE_COUNT; i++)
        out->roles[i] = (smt_style){SMT_COLOR_DEFAULT, SMT_COLOR_DEFAULT, 0};
    const char *text = mono ? builtin_mono : builtin_default;
    bool dummy;
    parse_into(text, strlen(text), out, &dummy, NULL); /* cannot fail: covered by the unit tests */
    snprintf(out->name, sizeof out->name, "%s", mono ? "mono" : "default");
}

/* ---- colours ---- */

static const unsigned char ansi16[16][3] = {
    {0, 0, 0},       {205, 0, 0},   {0, 205, 0},   {205, 205, 0},   {0, 0, 238},     {205, 0, 205},
    {0, 205, 205},   {229, 229, 229}, {127, 127, 127}, {255, 0, 0},   {0, 255, 0},     {255, 255, 0},
    {92, 92, 255},   {255, 0, 255}, {0, 255, 255}, {255, 255, 255},
};

static void rgb_of(short c, int rgb[3])
{
    if (c < 16) {
        for (int i = 0; i < 3; i++)
            rgb[i] = ansi16[c][i];
    } else if (c < 232) {
        static const int level[6] = {0, 95, 135, 175, 215, 255};
        int n = c - 16;
        rgb[0] = level[n / 36];
        rgb[1] = level[(n / 6) % 6];
        rgb[2] = level[n % 6];
    } else {
        int g = 8 + 10 * (c - 232);
        rgb[0] = rgb[1] = rgb[2] = g;
    }
}

static int dist2(const int a[3], const int b[3])
{
    int d = 0;
    for (int i = 0; i < 3; i++)
        d += (a[i] - b[i]) * (a[i] - b[i]);
    return d;
}

short smt_theme_blend(short from, short to, int percent)
{
    if (from < 0 || to < 0)
        return from;
    int a[3], b[3];
    rgb_of(from > 255 ? 255 : from, a);
    rgb_of(to > 255 ? 255 : to, b);
    int c[3];
    for (int i = 0; i < 3; i++)
        c[i] = a[i] + (b[i] - a[i]) * percent / 100;
    return smt_theme_rgb_to_256(c[0], c[1], c[2]);
}

short smt_theme_rgb_to_256(int r, int g, int b)
{
    static const int level[6] = {0, 95, 135, 175, 215, 255};
    int want[3] = {r, g, b};
    int idx[3];
    for (int i = 0; i < 3; i++) {
        int best = 0;
        for (int l = 1; l < 6; l++)
            if (abs(level[l] - want[i]) < abs(level[best] - want[i]))
                best = l;
        idx[i] = best;
    }
    short cube = (short)(16 + 36 * idx[0] + 6 * idx[1] + idx[2]);
    int avg = (r + g + b) / 3;
    int gi = avg < 8 ? 0 : (avg - 8 + 5) / 10;
    if (gi > 23)
        gi = 23;
    short grey = (short)(232 + gi);
    int crgb[3], grgb[3];
    rgb_of(cube, crgb);
    rgb_of(grey, grgb);
    return dist2(grgb, want) < dist2(crgb, want) ? grey : cube;
}

short smt_theme_reduce_color(short c, int colors)
{
    if (c < 0 || colors >= 256)
        return c;
    if (colors >= 16) {
        if (c < 16)
            return c;
    } else if (c < 16) {
        return (short)(c & 7); /* bright variants become their base colour */
    }
    int want[3];
    rgb_of(c, want);
    int n = colors >= 16 ? 16 : 8;
    short best = 0;
    int bestd = -1;
    for (short i = 0; i < n; i++) {
        int cand[3];
        rgb_of(i, cand);
        int d = dist2(cand, want);
        if (bestd < 0 || d < bestd) {
            bestd = d;
            best = i;
        }
    }
    return best;
}

bool smt_theme_parse_color(const char *s, short *out)
{
    static const char *const names[8] = {"black", "red", "green", "yellow", "blue", "magenta", "cyan", "white"};
    if (strcmp(s, "default") == 0 || strcmp(s, "-") == 0) {
        *out = SMT_COLOR_DEFAULT;
        return true;
    }
    if (strcmp(s, "grey") == 0 || strcmp(s, "gray") == 0) {
        *out = 8;
        return true;
    }
    for (short i = 0; i < 8; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = i;
            return true;
        }
        if (strncmp(s, "bright-", 7) == 0 && strcmp(s + 7, names[i]) == 0) {
            *out = (short)(i + 8);
            return true;
        }
    }
    if (s[0] == '#') {
        if (strlen(s) != 7)
            return false;
        int rgb[3];
        for (int i = 0; i < 3; i++) {
            int v = 0;
            for (int j = 0; j < 2; j++) {
                char c = s[1 + 2 * i + j];
                int d = (c >= '0' && c <= '9')   ? c - '0'
                        : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                        : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                                 : -1;
                if (d < 0)
                    return false;
                v = v * 16 + d;
            }
            rgb[i] = v;
        }
        *out = smt_theme_rgb_to_256(rgb[0], rgb[1], rgb[2]);
        return true;
    }
    if (s[0] >= '0' && s[0] <= '9' && strlen(s) <= 3) {
        int v = 0;
        for (const char *p = s; *p; p++) {
            if (*p < '0' || *p > '9')
                return false;
            v = v * 10 + (*p - '0');
        }
        if (v > 255)
            return false;
        *out = (short)v;
        return true;
    }
    return false;
}

static bool parse_attr(const char *s, unsigned *attrs)
{
    static const struct {
        const char *name;
        unsigned bit;
    } table[] = {{"bold", SMT_ATTR_BOLD},           {"dim", SMT_ATTR_DIM},       {"reverse", SMT_ATTR_REVERSE},
                 {"underline", SMT_ATTR_UNDERLINE}, {"italic", SMT_ATTR_ITALIC}, {"standout", SMT_ATTR_STANDOUT},
                 {"normal", 0},                    {"none", 0}};
    for (size_t i = 0; i < sizeof table / sizeof *table; i++) {
        if (strcmp(s, table[i].name) == 0) {
            *attrs |= table[i].bit;
            return true;
        }
    }
    return false;
}

/* ---- the file format ---- */

/* Text from the file in an error message: cut to cap and every byte outside printable ASCII
 * shown as '?'. */
static const char *ascii_shown(const char *s, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s", s);
    for (char *p = buf; *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7F)
            *p = '?';
    return buf;
}

#define LINE_MAX_BYTES 1024

static int parse_into(const char *text, size_t len, smt_theme *out, bool *base_mono, sm_error *err)
{
    size_t pos = 0;
    int lineno = 0;
    *base_mono = false;
    while (pos < len) {
        lineno++;
        size_t end = pos;
        while (end < len && text[end] != '\n')
            end++;
        size_t n = end - pos;
        if (n >= LINE_MAX_BYTES)
            return sm_error_set(err, SM_ERR_INVALID, "line %d: longer than %d bytes", lineno, LINE_MAX_BYTES - 1);
        char buf[LINE_MAX_BYTES];
        memcpy(buf, text + pos, n);
        buf[n] = '\0';
        pos = end < len ? end + 1 : end;
        if (!sm_utf8_valid(buf, n))
            return sm_error_set(err, SM_ERR_INVALID, "line %d: not valid UTF-8", lineno);
        char *line = smt_text_trim(buf);
        if (*line == '\0' || *line == '#')
            continue;
        char *eq = strchr(line, '=');
        if (!eq)
            return sm_error_set(err, SM_ERR_INVALID, "line %d: expected 'role = foreground background attributes'",
                                lineno);
        *eq = '\0';
        char *key = smt_text_trim(line);
        char *val = smt_text_trim(eq + 1);
        if (strcmp(key, "description") == 0) {
            snprintf(out->description, sizeof out->description, "%s", val);
            continue;
        }
        if (strcmp(key, "base") == 0) {
            if (strcmp(val, "none") == 0 || strcmp(val, "mono") == 0)
                *base_mono = true;
            else if (strcmp(val, "default") != 0)
                return sm_error_set(err, SM_ERR_INVALID, "line %d: base must be 'default' or 'mono'", lineno);
            continue;
        }
        smt_role role = smt_role_from_name(key);
        if (role == SMT_ROLE_COUNT) {
            char shown[64];
            return sm_error_set(err, SM_ERR_INVALID, "line %d: unknown role '%s' (see docs/themes.md)", lineno,
                                ascii_shown(key, shown, sizeof shown));
        }
        smt_style st = {SMT_COLOR_DEFAULT, SMT_COLOR_DEFAULT, 0};
        int colours = 0;
        char *save = NULL;
        for (char *tok = strtok_r(val, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
            short c;
            if (parse_attr(tok, &st.attrs))
                continue;
            if (!smt_theme_parse_color(tok, &c)) {
                char shown[40];
                return sm_error_set(err, SM_ERR_INVALID,
                                    "line %d: '%s' is not a colour (name, 0-255, #rrggbb, default) or an attribute",
                                    lineno, ascii_shown(tok, shown, sizeof shown));
            }
            if (colours == 0)
                st.fg = c;
            else if (colours == 1)
                st.bg = c;
            else
                return sm_error_set(err, SM_ERR_INVALID, "line %d: more than two colours (foreground, background)",
                                    lineno);
            colours++;
        }
        if (colours == 0 && st.attrs == 0)
            return sm_error_set(err, SM_ERR_INVALID, "line %d: role '%s' has no colours or attributes", lineno, key);
        out->roles[role] = st;
    }
    return SM_OK;
}

int smt_theme_parse(const char *text, size_t len, const char *name, smt_theme *out, sm_error *err)
{
    if (!text || !out)
        return sm_error_set(err, SM_ERR_INVALID, "no theme text");
    if (len > SMT_THEME_FILE_MAX)
        return sm_error_set(err, SM_ERR_LIMIT, "theme is %zu bytes; the limit is %d", len, SMT_THEME_FILE_MAX);
    /* Parse once to learn the base, then lay the text over that base. */
    smt_theme tmp;
    memset(&tmp, 0, sizeof tmp);
    bool mono = false;
    int rc = parse_into(text, len, &tmp, &mono, err);
    if (rc != SM_OK)
        return rc;
    smt_theme_builtin(mono ? "mono" : "default", out);
    out->description[0] = '\0';
    parse_into(text, len, out, &mono, NULL);
    snprintf(out->name, sizeof out->name, "%s", name ? name : "custom");
    return SM_OK;
}

int smt_theme_load_file(const char *path, smt_theme *out, sm_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return sm_error_set(err, SM_ERR_IO, "%s: %s", path, strerror(errno));
    char *buf = malloc(SMT_THEME_FILE_MAX + 1);
    if (!buf) {
        fclose(f);
        return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
    }
    size_t n = fread(buf, 1, SMT_THEME_FILE_MAX + 1, f);
    bool read_error = ferror(f);
    fclose(f);
    if (read_error) {
        free(buf);
        return sm_error_set(err, SM_ERR_IO, "%s: read error", path);
    }
    if (n > SMT_THEME_FILE_MAX) {
        free(buf);
        return sm_error_set(err, SM_ERR_LIMIT, "%s: larger than %d bytes", path, SMT_THEME_FILE_MAX);
    }
    /* the theme's name is its file name without .theme */
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    char name[SMT_THEME_NAME_MAX];
    snprintf(name, sizeof name, "%s", base);
    size_t nl = strlen(name);
    if (nl > 6 && strcmp(name + nl - 6, ".theme") == 0)
        name[nl - 6] = '\0';
    sm_error perr;
    sm_error_clear(&perr);
    int rc = smt_theme_parse(buf, n, name, out, &perr);
    free(buf);
    if (rc != SM_OK)
        return sm_error_set(err, rc, "%s: %s", path, perr.message);
    return SM_OK;
}

/* ---- search path ---- */

static bool dir_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static void add_dir(char dirs[][1024], size_t *n, size_t max, const char *path)
{
    if (!path || !*path || *n >= max || strlen(path) >= 1024)
        return;
    for (size_t i = 0; i < *n; i++)
        if (strcmp(dirs[i], path) == 0)
            return;
    snprintf(dirs[*n], 1024, "%s", path);
    (*n)++;
}

size_t smt_theme_dirs(char dirs[][1024], size_t max)
{
    size_t n = 0;
    char buf[1024];
    const char *xdg = getenv("XDG_CONFIG_HOME");
    const char *home = getenv("HOME");
    if (xdg && xdg[0] == '/') {
        if (snprintf(buf, sizeof buf, "%s/sessmon/themes", xdg) < (int)sizeof buf)
            add_dir(dirs, &n, max, buf);
    } else if (home && home[0] == '/') {
        if (snprintf(buf, sizeof buf, "%s/.config/sessmon/themes", home) < (int)sizeof buf)
            add_dir(dirs, &n, max, buf);
    }
    char exe[900];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len > 0) {
        exe[len] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            if (snprintf(buf, sizeof buf, "%s/../share/sessmon/themes", exe) < (int)sizeof buf && dir_exists(buf))
                add_dir(dirs, &n, max, buf);
        }
    }
    if (dir_exists(SESSMON_SOURCE_THEMES_DIR))
        add_dir(dirs, &n, max, SESSMON_SOURCE_THEMES_DIR);
    add_dir(dirs, &n, max, SESSMON_INSTALL_THEMES_DIR);
    return n;
}

static bool valid_name(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n >= SMT_THEME_NAME_MAX - 6 || name[0] == '.')
        return false;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' ||
              *p == '_' || *p == '.'))
            return false;
    return true;
}

int smt_theme_resolve(const char *name_or_path, smt_theme *out, char *path_out, size_t path_cap, sm_error *err)
{
    if (path_out && path_cap)
        path_out[0] = '\0';
    if (!name_or_path || !*name_or_path)
        return sm_error_set(err, SM_ERR_INVALID, "empty theme name");
    size_t len = strlen(name_or_path);
    if (strchr(name_or_path, '/') || (len > 6 && strcmp(name_or_path + len - 6, ".theme") == 0)) {
        int rc = smt_theme_load_file(name_or_path, out, err);
        if (rc == SM_OK && path_out)
            snprintf(path_out, path_cap, "%s", name_or_path);
        return rc;
    }
    if (!valid_name(name_or_path))
        return sm_error_set(err, SM_ERR_INVALID,
                            "theme names use letters, digits, '-', '_' and '.'; give a path to load a file");
    char dirs[8][1024];
    size_t nd = smt_theme_dirs(dirs, 8);
    char looked[512] = "";
    for (size_t i = 0; i < nd; i++) {
        char path[1100];
        snprintf(path, sizeof path, "%s/%s.theme", dirs[i], name_or_path);
        if (access(path, F_OK) == 0) {
            int rc = smt_theme_load_file(path, out, err);
            if (rc == SM_OK && path_out)
                snprintf(path_out, path_cap, "%s", path);
            return rc;
        }
        size_t l = strlen(looked);
        snprintf(looked + l, sizeof looked - l, "%s%s", l ? ", " : "", dirs[i]);
    }
    if (strcmp(name_or_path, "default") == 0 || strcmp(name_or_path, "mono") == 0) {
        smt_theme_builtin(name_or_path, out);
        if (path_out)
            snprintf(path_out, path_cap, "(built-in)");
        return SM_OK;
    }
    return sm_error_set(err, SM_ERR_NOT_FOUND, "theme '%s' not found in %s", name_or_path, looked);
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

static void add_name(char names[][SMT_THEME_NAME_MAX], size_t *n, size_t max, const char *name)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp(names[i], name) == 0)
            return;
    if (*n < max) {
        snprintf(names[*n], SMT_THEME_NAME_MAX, "%s", name);
        (*n)++;
    }
}

size_t smt_theme_list(char names[][SMT_THEME_NAME_MAX], size_t max)
{
    size_t n = 0;
    add_name(names, &n, max, "default");
    add_name(names, &n, max, "mono");
    char dirs[8][1024];
    size_t nd = smt_theme_dirs(dirs, 8);
    for (size_t i = 0; i < nd; i++) {
        DIR *d = opendir(dirs[i]);
        if (!d)
            continue;
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            size_t l = strlen(e->d_name);
            if (l <= 6 || strcmp(e->d_name + l - 6, ".theme") != 0)
                continue;
            char name[SMT_THEME_NAME_MAX];
            if (l - 6 >= sizeof name)
                continue;
            memcpy(name, e->d_name, l - 6);
            name[l - 6] = '\0';
            if (valid_name(name))
                add_name(names, &n, max, name);
        }
        closedir(d);
    }
    qsort(names, n, SMT_THEME_NAME_MAX, cmp_names);
    return n;
}
