/* The in-process monitor benches' terminal (a virtual xterm, curses drawing into /dev/null, and a monitor UI on it) and their events. */
#include "bench/tui/vscreen.h"

#include <locale.h>
#include <string.h>

bool bench_vscreen_open(bench_vscreen *v, const char *bench, int rows, int cols)
{
    memset(v, 0, sizeof *v);
    setlocale(LC_ALL, "C.UTF-8");
    v->out = fopen("/dev/null", "w");
    v->in = fopen("/dev/null", "r");
    v->screen = v->out && v->in ? newterm("xterm-256color", v->out, v->in) : NULL;
    if (v->screen) {
        resizeterm(rows, cols);
        smt_theme theme;
        smt_theme_builtin("default", &theme);
        smt_ui_options opt = {"ws://bench", "admin", false, NULL, &theme, true, false};
        v->ui = smt_ui_new(&opt, NULL);
    }
    if (!v->ui) {
        fprintf(stderr, "%s: cannot create the virtual screen\n", bench);
        bench_vscreen_close(v);
        return false;
    }
    smt_ui_apply_theme(v->ui);
    return true;
}

void bench_vscreen_close(bench_vscreen *v)
{
    smt_ui_free(v->ui);
    if (v->screen) {
        endwin();
        delscreen(v->screen);
    }
    if (v->out)
        fclose(v->out);
    if (v->in)
        fclose(v->in);
    memset(v, 0, sizeof *v);
}

void bench_ui_open(smt_ui *ui, const char *id, const sm_property *props, size_t n, bool snapshot)
{
    smt_event ev = {0};
    ev.kind = SMT_EVENT_OPEN;
    ev.session.session_id = id;
    ev.session.state = SM_REMOTE_ACTIVE;
    ev.session.properties = props;
    ev.session.property_count = n;
    ev.session.snapshot = snapshot;
    smt_ui_event(ui, &ev);
}

void bench_ui_update(smt_ui *ui, const char *id, const sm_property *now, const sm_property *before, size_t n)
{
    smt_event ev = {0};
    ev.kind = SMT_EVENT_PROPERTIES;
    ev.session.session_id = id;
    ev.session.state = SM_REMOTE_ACTIVE;
    ev.session.properties = now;
    ev.session.property_count = n;
    ev.session.previous = before;
    ev.session.previous_count = n;
    smt_ui_event(ui, &ev);
}
