/* Unit tests of tui/frame_stats: the opt-in per-frame timing file (SESSMON_STATS_FILE) the end-to-end benchmark reads. */
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

#include "tui/frame_stats.h"

static char dir[64];

static int setup(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/sm-frame-stats-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "%s/stats", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/link", dir);
    unlink(path);
    rmdir(dir);
    return 0;
}

static size_t read_all(const char *path, char *out, size_t cap)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(out, 1, cap - 1, f);
    out[n] = '\0';
    fclose(f);
    return n;
}

static void test_off_without_a_path(void **state)
{
    (void)state;
    smt_frame_stats s;
    sm_error err;
    sm_error_clear(&err);
    assert_int_equal(smt_frame_stats_open(&s, NULL, 1, &err), SM_OK);
    assert_null(s.file);
    assert_int_equal(smt_frame_stats_open(&s, "", 1, &err), SM_OK);
    assert_null(s.file);
    smt_frame_record r = {10, 2, 3, 4, 5, "live", 1};
    smt_frame_stats_frame(&s, &r); /* off: nothing happens, nothing crashes */
    smt_frame_stats_close(&s);
}

static void test_lines_are_appended_and_flushed(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "%s/stats", dir);
    smt_frame_stats s;
    sm_error err;
    sm_error_clear(&err);
    assert_int_equal(smt_frame_stats_open(&s, path, 1234567, &err), SM_OK);
    assert_non_null(s.file);
    smt_frame_record r1 = {2000000, 4321, 15000, 15000, 15012, "live", 4000};
    smt_frame_stats_frame(&s, &r1);
    char text[512];
    /* flushed per frame: a reader following the file sees it before the monitor exits */
    read_all(path, text, sizeof text);
    assert_string_equal(text, "start 1234567\nframe 2000000 4321 15000 15000 15012 live 4000\n");
    smt_frame_record r2 = {2100000, 10, 0, 0, 0, NULL, 0};
    smt_frame_stats_frame(&s, &r2);
    smt_frame_stats_close(&s);
    assert_null(s.file);
    /* a second run appends */
    assert_int_equal(smt_frame_stats_open(&s, path, 7, &err), SM_OK);
    smt_frame_stats_close(&s);
    read_all(path, text, sizeof text);
    assert_string_equal(text, "start 1234567\nframe 2000000 4321 15000 15000 15012 live 4000\n"
                              "frame 2100000 10 0 0 0 unknown 0\nstart 7\n");
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
}

static void test_marks_name_the_step(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "%s/marks", dir);
    smt_frame_stats s;
    sm_error err;
    sm_error_clear(&err);
    assert_int_equal(smt_frame_stats_open(&s, path, 5, &err), SM_OK);
    smt_frame_stats_mark(&s, "live", 3000000, 150000);
    smt_frame_stats_close(&s);
    char text[512];
    read_all(path, text, sizeof text);
    unsigned long long when = 0, cpu = 0, wait = 0;
    char what[16] = "";
    assert_int_equal(sscanf(text, "start 5\nmark %llu %15s %llu %llu\n", &when, what, &cpu, &wait), 4);
    assert_true(when == 3000000 && cpu == 150000);
    assert_string_equal(what, "live");
    smt_frame_stats off;
    assert_int_equal(smt_frame_stats_open(&off, NULL, 1, &err), SM_OK);
    smt_frame_stats_mark(&off, "live", 1, 2); /* off: nothing written, nothing crashes */
    assert_null(off.file);
}

static void test_bad_paths_are_errors(void **state)
{
    (void)state;
    smt_frame_stats s;
    sm_error err;
    sm_error_clear(&err);
    assert_int_not_equal(smt_frame_stats_open(&s, "/nonexistent-dir/x/stats", 1, &err), SM_OK);
    assert_null(s.file);
    assert_non_null(strstr(err.message, "SESSMON_STATS_FILE"));
    /* a symbolic link planted at the path is not followed */
    char target[128], link_path[128];
    snprintf(target, sizeof target, "%s/stats", dir);
    snprintf(link_path, sizeof link_path, "%s/link", dir);
    assert_int_equal(symlink(target, link_path), 0);
    sm_error_clear(&err);
    assert_int_not_equal(smt_frame_stats_open(&s, link_path, 1, &err), SM_OK);
    assert_null(s.file);
    assert_int_not_equal(access(target, F_OK), 0);
}

static void test_clock_moves_forward(void **state)
{
    (void)state;
    uint64_t a = smt_frame_stats_now_us();
    usleep(2000);
    uint64_t b = smt_frame_stats_now_us();
    assert_true(b >= a + 2000);
    /* thread CPU time moves with work, not with sleep */
    uint64_t c0 = smt_frame_stats_thread_cpu_us();
    volatile uint64_t x = 0;
    for (uint64_t i = 0; i < 20000000u && smt_frame_stats_thread_cpu_us() < c0 + 1000; i++)
        x += i;
    assert_true(smt_frame_stats_thread_cpu_us() >= c0 + 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_off_without_a_path, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lines_are_appended_and_flushed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_marks_name_the_step, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_paths_are_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_clock_moves_forward, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
