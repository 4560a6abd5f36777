/* Unit tests of tui/settings: the saved columns/sort/theme file, its parser and its atomic save. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tui/settings.h"

static int parse(const char *text, smt_settings *out, sm_error *err)
{
    sm_error_clear(err);
    return smt_settings_parse(text, strlen(text), out, err);
}

static void test_parse(void **state)
{
    (void)state;
    smt_settings s;
    sm_error err;
    assert_int_equal(parse("# comment\n\n theme = dark \nsort = Tier descending\n"
                           "columns = $SessionId, (state) ,Tier,Tier, Region\n",
                           &s, &err),
                     SM_OK);
    assert_string_equal(s.theme, "dark");
    assert_string_equal(s.sort_key, "Tier");
    assert_true(s.sort_descending);
    assert_int_equal(s.ncolumns, 4); /* the duplicate once */
    assert_string_equal(s.columns[0], "$SessionId");
    assert_string_equal(s.columns[1], "(state)");
    assert_string_equal(s.columns[3], "Region");
    /* empty file: nothing set */
    assert_int_equal(parse("", &s, &err), SM_OK);
    assert_int_equal(s.ncolumns, 0);
    assert_string_equal(s.theme, "");

    /* hostile or broken input: refused with the line, nothing half-applied */
    s.ncolumns = 7;
    assert_int_equal(parse("theme = dark\ncolour = red\n", &s, &err), SM_ERR_INVALID);
    assert_non_null(strstr(err.message, "line 2: unknown setting 'colour'"));
    assert_int_equal(s.ncolumns, 7);
    assert_int_equal(parse("columns = a b\n", &s, &err), SM_ERR_INVALID);
    assert_non_null(strstr(err.message, "line 1"));
    assert_int_equal(parse("columns = Tier\x1b[2J\n", &s, &err), SM_ERR_INVALID);
    assert_null(strchr(err.message, '\x1b')); /* file text in messages is escaped */
    assert_int_equal(parse("sort = Tier sideways\n", &s, &err), SM_ERR_INVALID);
    assert_int_equal(parse("sort = Tier\n", &s, &err), SM_ERR_INVALID);
    assert_int_equal(parse("theme = ../../x y\n", &s, &err), SM_ERR_INVALID);
    assert_int_equal(parse("just text\n", &s, &err), SM_ERR_INVALID);
    assert_int_equal(parse("columns = ,\n", &s, &err), SM_ERR_INVALID);
    assert_int_equal(smt_settings_parse("theme = a\0b\n", 12, &s, &err), SM_ERR_INVALID);
    assert_int_equal(parse("theme = \xff\n", &s, &err), SM_ERR_INVALID);
    char longline[2100];
    memset(longline, 'x', sizeof longline - 1);
    longline[sizeof longline - 1] = '\0';
    memcpy(longline, "theme=", 6);
    assert_int_equal(parse(longline, &s, &err), SM_ERR_LIMIT);
    char many[8192] = "columns = ";
    for (int i = 0; i < 60; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), "K%d,", i);
    assert_int_equal(parse(many, &s, &err), SM_ERR_LIMIT);
}

static void test_save_and_load(void **state)
{
    (void)state;
    char dir[] = "/tmp/sessmon-settings-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/a/b/monitor.conf", dir);
    smt_settings s, back;
    sm_error err;
    memset(&s, 0, sizeof s);
    snprintf(s.theme, sizeof s.theme, "solarized");
    snprintf(s.sort_key, sizeof s.sort_key, "$StartTime");
    snprintf(s.columns[s.ncolumns++], sizeof s.columns[0], "$SessionId");
    snprintf(s.columns[s.ncolumns++], sizeof s.columns[0], "(state)");
    snprintf(s.columns[s.ncolumns++], sizeof s.columns[0], "Tier");
    sm_error_clear(&err);
    assert_int_equal(smt_settings_load(path, &back, &err), SM_ERR_NOT_FOUND);
    assert_int_equal(smt_settings_save(path, &s, &err), SM_OK); /* creates a/ and a/b/ */
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(smt_settings_load(path, &back, &err), SM_OK);
    assert_string_equal(back.theme, "solarized");
    assert_string_equal(back.sort_key, "$StartTime");
    assert_false(back.sort_descending);
    assert_int_equal(back.ncolumns, 3);
    assert_string_equal(back.columns[1], "(state)");
    /* saving again replaces the file; no temporary file is left behind */
    s.sort_descending = true;
    assert_int_equal(smt_settings_save(path, &s, &err), SM_OK);
    assert_int_equal(smt_settings_load(path, &back, &err), SM_OK);
    assert_true(back.sort_descending);
    char tmp[300];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    assert_int_not_equal(access(tmp, F_OK), 0);
    /* the path helper follows XDG_CONFIG_HOME, else HOME */
    setenv("XDG_CONFIG_HOME", dir, 1);
    char p[300];
    assert_true(smt_settings_path(p, sizeof p));
    assert_true(strncmp(p, dir, strlen(dir)) == 0);
    assert_non_null(strstr(p, "/sessmon/monitor.conf"));
    unsetenv("XDG_CONFIG_HOME");
    setenv("HOME", "/home/someone", 1);
    assert_true(smt_settings_path(p, sizeof p));
    assert_string_equal(p, "/home/someone/.config/sessmon/monitor.conf");
    unlink(path);
    snprintf(tmp, sizeof tmp, "%s/a/b", dir);
    rmdir(tmp);
    snprintf(tmp, sizeof tmp, "%s/a", dir);
    rmdir(tmp);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_save_and_load),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
