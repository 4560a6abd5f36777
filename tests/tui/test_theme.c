/* Unit tests of tui/theme: shipped themes, line-numbered errors, colours, search path, docs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tui/theme.h"

static void test_shipped_themes_load(void **state)
{
    (void)state;
    const char *dir = SESSMON_SOURCE_DIR "/themes";
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    int count = 0;
    bool mono = false, hc = false;
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        if (l <= 6 || strcmp(e->d_name + l - 6, ".theme") != 0)
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        smt_theme t;
        sm_error err;
        sm_error_clear(&err);
        if (smt_theme_load_file(path, &t, &err) != SM_OK)
            fail_msg("%s", err.message);
        assert_true(strlen(t.description) > 0);
        count++;
        mono |= strcmp(t.name, "mono") == 0;
        hc |= strcmp(t.name, "high-contrast") == 0;
        if (strcmp(t.name, "mono") == 0)
            for (int r = 0; r < SMT_ROLE_COUNT; r++) /* mono has no colours at all */
                assert_true(t.roles[r].fg == SMT_COLOR_DEFAULT && t.roles[r].bg == SMT_COLOR_DEFAULT);
    }
    closedir(d);
    assert_true(count >= 6);
    assert_true(mono && hc);
}

static void test_builtins_match_files(void **state)
{
    (void)state;
    const char *names[] = {"default", "mono"};
    for (int i = 0; i < 2; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/themes/%s.theme", SESSMON_SOURCE_DIR, names[i]);
        smt_theme file, built;
        assert_int_equal(smt_theme_load_file(path, &file, NULL), SM_OK);
        smt_theme_builtin(names[i], &built);
        for (int r = 0; r < SMT_ROLE_COUNT; r++) {
            if (memcmp(&file.roles[r], &built.roles[r], sizeof file.roles[r]) != 0)
                fail_msg("%s: role %s differs from the built-in", names[i], smt_role_name((smt_role)r));
        }
    }
}

static void test_roles_named_and_documented(void **state)
{
    (void)state;
    for (int r = 0; r < SMT_ROLE_COUNT; r++) {
        assert_non_null(smt_role_name((smt_role)r));
        assert_non_null(smt_role_help((smt_role)r));
        assert_int_equal(smt_role_from_name(smt_role_name((smt_role)r)), r);
    }
    assert_int_equal(smt_role_from_name("nope"), SMT_ROLE_COUNT);
    assert_null(smt_role_name(SMT_ROLE_COUNT));
}

static char *read_doc(const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/docs/%s", SESSMON_SOURCE_DIR, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char buf[1 << 17];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

static void test_roles_documented(void **state)
{
    (void)state;
    const char *doc = read_doc("themes.md");
    for (int r = 0; r < SMT_ROLE_COUNT; r++) {
        char want[64];
        snprintf(want, sizeof want, "| `%s` |", smt_role_name((smt_role)r));
        if (!strstr(doc, want))
            fail_msg("docs/themes.md does not describe role %s", smt_role_name((smt_role)r));
    }
}

static void expect_error(const char *text, const char *fragment)
{
    smt_theme t;
    sm_error err;
    sm_error_clear(&err);
    assert_int_not_equal(smt_theme_parse(text, strlen(text), "t", &t, &err), SM_OK);
    if (!strstr(err.message, fragment))
        fail_msg("message '%s' lacks '%s'", err.message, fragment);
}

static void test_parse_errors_name_the_line(void **state)
{
    (void)state;
    expect_error("# c\nrow = red blue\nrowz = red\n", "line 3: unknown role 'rowz'");
    expect_error("row = red blue green\n", "line 1: more than two colours");
    expect_error("\n\nrow = reddish\n", "line 3: 'reddish' is not a colour");
    expect_error("row red\n", "line 1: expected");
    expect_error("row = 256\n", "'256' is not a colour");
    expect_error("row = #12345\n", "is not a colour");
    expect_error("row =\n", "line 1: role 'row' has no colours");
    expect_error("base = fancy\n", "line 1: base must be");
    expect_error("row = \x1b[31m\n", "'?[31m' is not a colour");
    expect_error("row = \xff\n", "line 1: not valid UTF-8");
    char big[2000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    expect_error(big, "line 1: longer than");
}

static void test_parse_values(void **state)
{
    (void)state;
    const char *text = "description = test\nrow = bright-red #0000ff bold underline\nrow.alt = 7\n";
    smt_theme t;
    assert_int_equal(smt_theme_parse(text, strlen(text), "x", &t, NULL), SM_OK);
    assert_string_equal(t.name, "x");
    assert_string_equal(t.description, "test");
    assert_int_equal(t.roles[SMT_ROLE_ROW].fg, 9);
    assert_int_equal(t.roles[SMT_ROLE_ROW].bg, 21);
    assert_int_equal(t.roles[SMT_ROLE_ROW].attrs, SMT_ATTR_BOLD | SMT_ATTR_UNDERLINE);
    assert_int_equal(t.roles[SMT_ROLE_ROW_ALT].fg, 7);
    assert_int_equal(t.roles[SMT_ROLE_ROW_ALT].bg, SMT_COLOR_DEFAULT);
    /* roles left out come from the built-in default */
    smt_theme def;
    smt_theme_builtin("default", &def);
    assert_memory_equal(&t.roles[SMT_ROLE_HEADER], &def.roles[SMT_ROLE_HEADER], sizeof def.roles[0]);
}

static void test_colours(void **state)
{
    (void)state;
    short c;
    assert_true(smt_theme_parse_color("default", &c));
    assert_int_equal(c, SMT_COLOR_DEFAULT);
    assert_true(smt_theme_parse_color("cyan", &c));
    assert_int_equal(c, 6);
    assert_true(smt_theme_parse_color("grey", &c));
    assert_int_equal(c, 8);
    assert_true(smt_theme_parse_color("255", &c));
    assert_int_equal(c, 255);
    assert_false(smt_theme_parse_color("1000", &c));
    assert_false(smt_theme_parse_color("#gg0000", &c));
    assert_true(smt_theme_parse_color("#ff0000", &c));
    assert_int_equal(c, 196);
    assert_int_equal(smt_theme_rgb_to_256(0x80, 0x80, 0x80), 244);
    assert_int_equal(smt_theme_rgb_to_256(0, 0, 0), 16);
    /* 8-colour fallback */
    assert_int_equal(smt_theme_reduce_color(196, 8), 1);
    assert_int_equal(smt_theme_reduce_color(21, 8), 4);
    assert_int_equal(smt_theme_reduce_color(46, 8), 2);
    assert_int_equal(smt_theme_reduce_color(231, 8), 7);
    assert_int_equal(smt_theme_reduce_color(16, 8), 0);
    assert_int_equal(smt_theme_reduce_color(12, 8), 4);
    assert_int_equal(smt_theme_reduce_color(12, 16), 12);
    assert_int_equal(smt_theme_reduce_color(200, 256), 200);
    assert_int_equal(smt_theme_reduce_color(SMT_COLOR_DEFAULT, 8), SMT_COLOR_DEFAULT);
}

static void test_search_path(void **state)
{
    (void)state;
    char tmpl[] = "/tmp/sessmon-theme-XXXXXX";
    char *home = mkdtemp(tmpl);
    assert_non_null(home);
    char dir[512], path[600];
    snprintf(dir, sizeof dir, "%s/sessmon", home);
    mkdir(dir, 0700);
    snprintf(dir, sizeof dir, "%s/sessmon/themes", home);
    mkdir(dir, 0700);
    snprintf(path, sizeof path, "%s/mine.theme", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("description = a user theme\nrow = red default\n", f);
    fclose(f);
    char bad[600];
    snprintf(bad, sizeof bad, "%s/broken.theme", dir);
    f = fopen(bad, "w");
    fputs("row = red\nnot a line\n", f);
    fclose(f);
    setenv("XDG_CONFIG_HOME", home, 1);

    char dirs[8][1024];
    size_t nd = smt_theme_dirs(dirs, 8);
    assert_true(nd >= 2);
    assert_string_equal(dirs[0], dir);

    smt_theme t;
    char found[1024];
    sm_error err;
    assert_int_equal(smt_theme_resolve("mine", &t, found, sizeof found, &err), SM_OK);
    assert_string_equal(found, path);
    assert_string_equal(t.name, "mine");
    assert_int_equal(t.roles[SMT_ROLE_ROW].fg, 1);
    /* shipped themes come from the source tree */
    assert_int_equal(smt_theme_resolve("high-contrast", &t, found, sizeof found, &err), SM_OK);
    assert_non_null(strstr(found, "themes/high-contrast.theme"));
    /* by path */
    assert_int_equal(smt_theme_resolve(path, &t, found, sizeof found, &err), SM_OK);
    /* errors */
    assert_int_equal(smt_theme_resolve("broken", &t, found, sizeof found, &err), SM_ERR_INVALID);
    assert_non_null(strstr(err.message, "broken.theme: line 2:"));
    assert_int_equal(smt_theme_resolve("nosuch", &t, found, sizeof found, &err), SM_ERR_NOT_FOUND);
    assert_non_null(strstr(err.message, dir));
    assert_int_not_equal(smt_theme_resolve("../etc", &t, found, sizeof found, &err), SM_OK);
    assert_int_not_equal(smt_theme_resolve("/nonexistent/x.theme", &t, found, sizeof found, &err), SM_OK);

    char names[64][SMT_THEME_NAME_MAX];
    size_t n = smt_theme_list(names, 64);
    bool saw_mine = false, saw_mono = false;
    for (size_t i = 0; i < n; i++) {
        saw_mine |= strcmp(names[i], "mine") == 0;
        saw_mono |= strcmp(names[i], "mono") == 0;
        if (i > 0)
            assert_true(strcmp(names[i - 1], names[i]) < 0);
    }
    assert_true(saw_mine && saw_mono);
    assert_true(n >= 8);

    unlink(path);
    unlink(bad);
    rmdir(dir);
    snprintf(dir, sizeof dir, "%s/sessmon", home);
    rmdir(dir);
    rmdir(home);
    unsetenv("XDG_CONFIG_HOME");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shipped_themes_load),
        cmocka_unit_test(test_builtins_match_files),
        cmocka_unit_test(test_roles_named_and_documented),
        cmocka_unit_test(test_roles_documented),
        cmocka_unit_test(test_parse_errors_name_the_line),
        cmocka_unit_test(test_parse_values),
        cmocka_unit_test(test_colours),
        cmocka_unit_test(test_search_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
