/* The monitor's saved settings (columns, sort, theme): a small file written only when asked. */
#include "tui/settings.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/utf8.h"
#include "tui/model.h"
#include "tui/text.h"

#define LINE_MAX_BYTES 1023

bool smt_settings_path(char *out, size_t cap)
{
    const char *xdg = getenv("XDG_CONFIG_HOME");
    const char *home = getenv("HOME");
    int n;
    if (xdg && xdg[0] == '/')
        n = snprintf(out, cap, "%s/sessmon/monitor.conf", xdg);
    else if (home && home[0] == '/')
        n = snprintf(out, cap, "%s/.config/sessmon/monitor.conf", home);
    else
        return false;
    return n > 0 && (size_t)n < cap;
}

static bool plain_key_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* A column or sort key: the state column, a $ key of plain characters, or a valid user key. */
static bool valid_column_key(const char *k)
{
    size_t n = strlen(k);
    if (strcmp(k, SMT_COL_STATE) == 0 || strcmp(k, SMT_COL_AGE) == 0)
        return true;
    if (n == 0 || n > SM_KEY_MAX)
        return false;
    if (k[0] == '$') {
        for (size_t i = 1; i < n; i++)
            if (!plain_key_char(k[i]))
                return false;
        return n > 1;
    }
    return sm_validate_user_key(k, n, NULL) == SM_OK;
}

static bool valid_theme(const char *t)
{
    size_t n = strlen(t);
    if (n == 0 || n >= SMT_THEME_NAME_MAX)
        return false;
    for (const char *p = t; *p; p++)
        if (!plain_key_char(*p) && *p != '-' && *p != '.' && *p != '/' && *p != '~')
            return false;
    return true;
}

/* Text from the file in an error message: escaped and short. */
static const char *shown(const char *s, char *buf, size_t cap)
{
    smt_text_escape(s, strlen(s), buf, cap);
    return buf;
}

static int parse_line(char *line, int lineno, smt_settings *s, sm_error *err)
{
    char esc[80];
    char *eq = strchr(line, '=');
    if (!eq)
        return sm_error_set(err, SM_ERR_INVALID, "line %d: expected 'name = value'", lineno);
    *eq = '\0';
    char *name = smt_text_trim(line), *value = smt_text_trim(eq + 1);
    if (strcmp(name, "theme") == 0) {
        if (!valid_theme(value))
            return sm_error_set(err, SM_ERR_INVALID, "line %d: '%s' is not a theme name or file", lineno,
                                shown(value, esc, sizeof esc));
        smt_text_printf(s->theme, sizeof s->theme, "%s", value);
        return SM_OK;
    }
    if (strcmp(name, "sort") == 0) {
        char *space = strrchr(value, ' ');
        if (!space)
            return sm_error_set(err, SM_ERR_INVALID, "line %d: expected 'sort = KEY ascending|descending'", lineno);
        *space = '\0';
        char *key = smt_text_trim(value), *dir = space + 1;
        bool desc = strcmp(dir, "descending") == 0;
        if (!desc && strcmp(dir, "ascending") != 0)
            return sm_error_set(err, SM_ERR_INVALID, "line %d: the sort direction is ascending or descending", lineno);
        if (!valid_column_key(key))
            return sm_error_set(err, SM_ERR_INVALID, "line %d: '%s' is not a property key", lineno,
                                shown(key, esc, sizeof esc));
        smt_text_printf(s->sort_key, sizeof s->sort_key, "%s", key);
        s->sort_descending = desc;
        return SM_OK;
    }
    if (strcmp(name, "columns") == 0) {
        s->ncolumns = 0;
        char *save = NULL;
        for (char *tok = strtok_r(value, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            char *key = smt_text_trim(tok);
            if (!valid_column_key(key))
                return sm_error_set(err, SM_ERR_INVALID, "line %d: '%s' is not a property key", lineno,
                                    shown(key, esc, sizeof esc));
            if (s->ncolumns >= SMT_SETTINGS_MAX_COLUMNS)
                return sm_error_set(err, SM_ERR_LIMIT, "line %d: more than %d columns", lineno,
                                    SMT_SETTINGS_MAX_COLUMNS);
            bool dup = false;
            for (int i = 0; i < s->ncolumns; i++)
                dup = dup || strcmp(s->columns[i], key) == 0;
            if (!dup)
                smt_text_printf(s->columns[s->ncolumns++], sizeof s->columns[0], "%s", key);
        }
        if (s->ncolumns == 0)
            return sm_error_set(err, SM_ERR_INVALID, "line %d: no columns", lineno);
        return SM_OK;
    }
    return sm_error_set(err, SM_ERR_INVALID, "line %d: unknown setting '%s' (theme, sort, columns)", lineno,
                        shown(name, esc, sizeof esc));
}

int smt_settings_parse(const char *text, size_t len, smt_settings *out, sm_error *err)
{
    if (len > SMT_SETTINGS_FILE_MAX)
        return sm_error_set(err, SM_ERR_LIMIT, "larger than %d bytes", SMT_SETTINGS_FILE_MAX);
    if (!sm_utf8_valid(text, len) || memchr(text, '\0', len))
        return sm_error_set(err, SM_ERR_INVALID, "not UTF-8 text");
    smt_settings s;
    memset(&s, 0, sizeof s);
    char line[LINE_MAX_BYTES + 1];
    size_t pos = 0;
    for (int lineno = 1; pos < len; lineno++) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len;
        if (end - pos > LINE_MAX_BYTES)
            return sm_error_set(err, SM_ERR_LIMIT, "line %d: longer than %d bytes", lineno, LINE_MAX_BYTES);
        memcpy(line, text + pos, end - pos);
        line[end - pos] = '\0';
        pos = end + 1;
        for (const char *p = line; *p; p++)
            if ((unsigned char)*p < 0x20 && *p != '\t' && *p != '\r')
                return sm_error_set(err, SM_ERR_INVALID, "line %d: control character", lineno);
        char *t = smt_text_trim(line);
        if (*t == '\0' || *t == '#')
            continue;
        int rc = parse_line(t, lineno, &s, err);
        if (rc != SM_OK)
            return rc;
    }
    *out = s;
    return SM_OK;
}

int smt_settings_load(const char *path, smt_settings *out, sm_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        if (errno == ENOENT)
            return SM_ERR_NOT_FOUND;
        return sm_error_set(err, SM_ERR_IO, "%s", strerror(errno));
    }
    char *buf = malloc(SMT_SETTINGS_FILE_MAX + 1);
    if (!buf) {
        close(fd);
        return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
    }
    size_t n = 0;
    for (;;) {
        ssize_t r = read(fd, buf + n, SMT_SETTINGS_FILE_MAX + 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
        if (n > SMT_SETTINGS_FILE_MAX)
            break;
    }
    close(fd);
    int rc = smt_settings_parse(buf, n, out, err);
    free(buf);
    return rc;
}

int smt_settings_format(const smt_settings *s, char *out, size_t cap)
{
    size_t off = 0;
    int n = snprintf(out, cap,
                     "# sessmon monitor settings: written when you press w in the column chooser.\n"
                     "# Read when the monitor starts (not with --no-settings). See docs/tui.md.\n");
    if (n < 0 || (size_t)n >= cap)
        return -1;
    off = (size_t)n;
    if (s->theme[0]) {
        n = snprintf(out + off, cap - off, "theme = %s\n", s->theme);
        if (n < 0 || (size_t)n >= cap - off)
            return -1;
        off += (size_t)n;
    }
    if (s->sort_key[0]) {
        n = snprintf(out + off, cap - off, "sort = %s %s\n", s->sort_key,
                     s->sort_descending ? "descending" : "ascending");
        if (n < 0 || (size_t)n >= cap - off)
            return -1;
        off += (size_t)n;
    }
    if (s->ncolumns > 0) {
        n = snprintf(out + off, cap - off, "columns =");
        if (n < 0 || (size_t)n >= cap - off)
            return -1;
        off += (size_t)n;
        for (int i = 0; i < s->ncolumns; i++) {
            n = snprintf(out + off, cap - off, "%s %s", i ? "," : "", s->columns[i]);
            if (n < 0 || (size_t)n >= cap - off)
                return -1;
            off += (size_t)n;
        }
        if (off + 2 > cap)
            return -1;
        out[off++] = '\n';
        out[off] = '\0';
    }
    return (int)off;
}

/* mkdir -p for the directory part of path (0700 for what it creates). */
static int make_parent(const char *path, sm_error *err)
{
    char dir[1024];
    if (snprintf(dir, sizeof dir, "%s", path) >= (int)sizeof dir)
        return sm_error_set(err, SM_ERR_LIMIT, "path too long");
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return SM_OK;
    *slash = '\0';
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(dir, 0700) != 0 && errno != EEXIST)
            return sm_error_set(err, SM_ERR_IO, "cannot create %s: %s", dir, strerror(errno));
        *p = '/';
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return sm_error_set(err, SM_ERR_IO, "cannot create %s: %s", dir, strerror(errno));
    return SM_OK;
}

int smt_settings_save(const char *path, const smt_settings *s, sm_error *err)
{
    char text[SMT_SETTINGS_MAX_COLUMNS * (SMT_SETTINGS_KEY_MAX + 2) + 1024];
    int len = smt_settings_format(s, text, sizeof text);
    if (len < 0)
        return sm_error_set(err, SM_ERR_LIMIT, "settings too long");
    int rc = make_parent(path, err);
    if (rc != SM_OK)
        return rc;
    char tmp[1100];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp)
        return sm_error_set(err, SM_ERR_LIMIT, "path too long");
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return sm_error_set(err, SM_ERR_IO, "cannot write %s: %s", tmp, strerror(errno));
    size_t done = 0;
    while (done < (size_t)len) {
        ssize_t w = write(fd, text + done, (size_t)len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int e = errno;
            close(fd);
            unlink(tmp);
            return sm_error_set(err, SM_ERR_IO, "cannot write %s: %s", tmp, strerror(e));
        }
        done += (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        int e = errno;
        unlink(tmp);
        return sm_error_set(err, SM_ERR_IO, "cannot write %s: %s", tmp, strerror(e));
    }
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return sm_error_set(err, SM_ERR_IO, "cannot replace %s: %s", path, strerror(e));
    }
    return SM_OK;
}
