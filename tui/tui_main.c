/* sessmon's interactive monitor: command line, terminal set-up and the single poll loop. */
#include <curses.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/filter.h"
#include "tui/app.h"
#include "tui/password.h"
#include "tui/conn.h"
#include "tui/frame_stats.h"
#include "tui/input.h"
#include "tui/options.h"
#include "tui/settings.h"
#include "tui/text.h"
#include "tui/theme.h"
#include "tui/ui.h"

#define FRAME_MS 33 /* about 30 frames per second at most */
/* While the snapshot streams in, frames only show its progress: a few a second will do, and the
 * CPU goes to taking the sessions in (a frame of a 15,000-row table costs 1-2 ms). */
#define SYNC_FRAME_MS 100
#define MAX_FDS 64
#define INPUT_READ_MAX 4096 /* bytes of terminal input decoded per loop pass */

static int signal_pipe[2] = {-1, -1};

static void on_signal(int sig)
{
    int saved = errno;
    unsigned char b = (unsigned char)sig;
    if (signal_pipe[1] >= 0) {
        ssize_t r = write(signal_pipe[1], &b, 1);
        (void)r; /* a full pipe already holds a wake-up */
    }
    errno = saved;
}

static void usage(FILE *f)
{
    fputs("usage: sessmon [--url URL] [--principal P] [--read-only] [--theme NAME|PATH] [--filter F]\n"
          "               [--no-mouse] [--no-settings] [--ca-file PEM] [--list-themes] [--version]\n"
          "       sessmon list|get|set|watch|close ...   (script subcommands; sessmon help list)\n"
          "\n"
          "The interactive session monitor (keys: press ? inside; docs/tui.md).\n"
          SMT_COMMON_OPTIONS_HELP
          "  --read-only      refuse every change (also automatic without modify_session)\n"
          "  --theme T        a theme name or a .theme file (default 'default'; 'mono' when NO_COLOR is set)\n"
          "  --filter F       start with this view filter (the session filter language)\n"
          "  --no-mouse       leave the mouse to the terminal\n"
          "  --no-settings    ignore the saved columns, sort and theme (w in the column chooser saves them)\n"
          "  --list-themes    print the themes found, where sessmon looks for them, and the settings file\n"
          "  --version        print sessmon's version and exit\n",
          f);
}

static int list_themes(void)
{
    char dirs[8][1024];
    size_t nd = smt_theme_dirs(dirs, 8);
    printf("Theme directories (first match wins):\n");
    for (size_t i = 0; i < nd; i++)
        printf("  %s\n", dirs[i]);
    char names[SMT_UI_MAX_THEMES][SMT_THEME_NAME_MAX];
    size_t n = smt_theme_list(names, SMT_UI_MAX_THEMES);
    printf("Themes:\n");
    for (size_t i = 0; i < n; i++) {
        smt_theme t;
        sm_error err;
        sm_error_clear(&err);
        char path[1024] = "";
        char line[400];
        if (smt_theme_resolve(names[i], &t, path, sizeof path, &err) == SM_OK)
            smt_text_printf(line, sizeof line, "  %-16s %s  [%s]", names[i], t.description, path);
        else
            smt_text_printf(line, sizeof line, "  %-16s ERROR: %s", names[i], err.message);
        char esc[600];
        smt_text_escape(line, strlen(line), esc, sizeof esc);
        printf("%s\n", esc);
    }
    char path[1024];
    if (smt_settings_path(path, sizeof path)) {
        char esc[3200];
        smt_text_escape(path, strlen(path), esc, sizeof esc);
        printf("Settings file (columns, sort, theme; written only by w in the column chooser):\n  %s%s\n", esc,
               access(path, F_OK) == 0 ? "" : "  (not there yet)");
    }
    return SMT_EXIT_OK;
}

typedef struct options {
    smt_common_options common; /* --url, --principal, --ca-file */
    const char *theme, *filter;
    bool read_only, no_mouse, no_settings;
} options;

static int parse_options(int argc, char **argv, options *o)
{
    enum { OPT_READ_ONLY = SMT_OPT_OWN, OPT_THEME, OPT_FILTER, OPT_NO_MOUSE, OPT_LIST, OPT_NO_SETTINGS, OPT_VERSION };
    static const struct option longopts[] = {
        SMT_COMMON_LONGOPTS,
        {"read-only", no_argument, NULL, OPT_READ_ONLY},
        {"theme", required_argument, NULL, OPT_THEME},
        {"filter", required_argument, NULL, OPT_FILTER},
        {"no-mouse", no_argument, NULL, OPT_NO_MOUSE},
        {"no-settings", no_argument, NULL, OPT_NO_SETTINGS},
        {"list-themes", no_argument, NULL, OPT_LIST},
        {"version", no_argument, NULL, OPT_VERSION},
        {NULL, 0, NULL, 0},
    };
    smt_options_defaults(&o->common);
    opterr = 0;
    optind = 1;
    int ch;
    while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        const char *why = NULL;
        switch (smt_options_common(&o->common, ch, optarg, &why)) {
        case SMT_OPTION_TAKEN: continue;
        case SMT_OPTION_HELP: usage(stdout); return -1;
        case SMT_OPTION_REFUSED: fprintf(stderr, "sessmon: %s\n", why); return SMT_EXIT_USAGE;
        case SMT_OPTION_NOT_COMMON: break;
        }
        switch (ch) {
        case OPT_READ_ONLY: o->read_only = true; break;
        case OPT_THEME: o->theme = optarg; break;
        case OPT_FILTER: o->filter = optarg; break;
        case OPT_NO_MOUSE: o->no_mouse = true; break;
        case OPT_NO_SETTINGS: o->no_settings = true; break;
        case OPT_LIST: return -2;
        case OPT_VERSION: printf("sessmon %s\n", SESSMON_VERSION); return -1;
        default: {
            char esc[128];
            const char *bad = argv[optind - 1] ? argv[optind - 1] : "?";
            smt_text_escape(bad, strlen(bad), esc, sizeof esc);
            fprintf(stderr, "sessmon: unknown or incomplete option '%s'\n", esc);
            usage(stderr);
            return SMT_EXIT_USAGE;
        }
        }
    }
    if (optind < argc) {
        char esc[128];
        smt_text_escape(argv[optind], strlen(argv[optind]), esc, sizeof esc);
        fprintf(stderr, "sessmon: unexpected argument '%s' (subcommands: list, get, set, watch, close)\n", esc);
        return SMT_EXIT_USAGE;
    }
    return 0;
}

/* While curses owns the terminal, anything written to stderr lands in a temp file, shown after. */
static int stderr_saved = -1;
static FILE *stderr_capture;

static void capture_stderr(void)
{
    fflush(stderr);
    stderr_capture = tmpfile();
    if (!stderr_capture)
        return;
    stderr_saved = dup(STDERR_FILENO);
    if (stderr_saved < 0 || dup2(fileno(stderr_capture), STDERR_FILENO) < 0) {
        fclose(stderr_capture);
        stderr_capture = NULL;
    }
}

static void release_stderr(void)
{
    if (!stderr_capture)
        return;
    fflush(stderr);
    dup2(stderr_saved, STDERR_FILENO);
    close(stderr_saved);
    stderr_saved = -1;
    rewind(stderr_capture);
    char buf[4096];
    char esc[4096 * 3 + 1];
    size_t n, total = 0;
    while ((n = fread(buf, 1, sizeof buf, stderr_capture)) > 0 && total < 65536) {
        total += n;
        /* keep newlines, escape everything else that could steer the terminal */
        size_t start = 0;
        for (size_t i = 0; i <= n; i++) {
            if (i == n || buf[i] == '\n') {
                smt_text_escape(buf + start, i - start, esc, sizeof esc);
                fputs(esc, stderr);
                if (i < n)
                    fputc('\n', stderr);
                start = i + 1;
            }
        }
    }
    fclose(stderr_capture);
    stderr_capture = NULL;
}

static void install_signals(void)
{
    if (pipe2(signal_pipe, O_NONBLOCK | O_CLOEXEC) != 0)
        signal_pipe[0] = signal_pipe[1] = -1;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGWINCH, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

static void apply_window_size(smt_ui *ui)
{
    struct winsize ws;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0)
        resizeterm(ws.ws_row, ws.ws_col);
    smt_ui_resized(ui);
}

static const char *conn_word(smt_conn_state st)
{
    switch (st) {
    case SMT_CONN_CONNECTING: return "connecting";
    case SMT_CONN_SYNCING: return "syncing";
    case SMT_CONN_LIVE: return "live";
    case SMT_CONN_RECONNECTING: return "reconnecting";
    case SMT_CONN_CLOSED: return "closed";
    }
    return "unknown";
}

/* What the monitor starts with, all of it checked before curses takes the screen. */
typedef struct startup {
    smt_theme theme;
    bool allow_color;
    char settings_path[1024];
    char settings_note[400]; /* a broken settings file is reported in the monitor, not fatal */
    smt_settings settings;
    bool have_settings;
    char password[SMT_PASSWORD_MAX];
} startup;

/* Saved settings (read, never written here), then the theme: --theme, then NO_COLOR, then the
 * saved theme (if it still loads), then the default. */
static int choose_theme(const options *o, startup *st)
{
    sm_error err;
    sm_error_clear(&err);
    if (!o->no_settings && smt_settings_path(st->settings_path, sizeof st->settings_path)) {
        int src = smt_settings_load(st->settings_path, &st->settings, &err);
        if (src == SM_OK)
            st->have_settings = true;
        else if (src != SM_ERR_NOT_FOUND)
            smt_text_printf(st->settings_note, sizeof st->settings_note, "settings ignored: %s: %s",
                            st->settings_path, err.message);
        sm_error_clear(&err);
    }
    const char *no_color = getenv("NO_COLOR");
    st->allow_color = !(no_color && *no_color) || o->theme;
    const char *theme_name = "default";
    if (o->theme) {
        theme_name = o->theme;
    } else if (!st->allow_color) {
        theme_name = "mono";
    } else if (st->have_settings && st->settings.theme[0]) {
        if (smt_theme_resolve(st->settings.theme, &st->theme, NULL, 0, &err) == SM_OK)
            theme_name = st->settings.theme;
        else
            smt_text_printf(st->settings_note, sizeof st->settings_note, "saved theme not used: %s", err.message);
        sm_error_clear(&err);
    }
    if (smt_theme_resolve(theme_name, &st->theme, NULL, 0, &err) != SM_OK) {
        char esc[400];
        smt_text_escape(err.message, strlen(err.message), esc, sizeof esc);
        fprintf(stderr, "sessmon: %s\n", esc);
        return SMT_EXIT_USAGE;
    }
    return SMT_EXIT_OK;
}

/* Everything that can fail before the screen is taken: theme, filter, terminal, password. */
static int prepare(const options *o, startup *st)
{
    int rc = choose_theme(o, st);
    if (rc != SMT_EXIT_OK)
        return rc;
    if (o->filter && *o->filter) {
        sm_error err;
        sm_error_clear(&err);
        sm_filter *f = NULL;
        if (sm_filter_parse(o->filter, strlen(o->filter), &f, &err) != SM_OK) {
            char esc[400];
            smt_text_escape(err.message, strlen(err.message), esc, sizeof esc);
            fprintf(stderr, "sessmon: --filter: %s\n", esc);
            return SMT_EXIT_INVALID_FILTER;
        }
        sm_filter_free(f);
    }
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
        fprintf(stderr, "sessmon: the monitor needs a terminal; scripts can use 'sessmon list' or 'sessmon watch'\n");
        return SMT_EXIT_USAGE;
    }
    switch (smt_password_resolve(o->common.principal, st->password, sizeof st->password)) {
    case SMT_PASSWORD_OK: return SMT_EXIT_OK;
    case SMT_PASSWORD_TOO_LONG: fprintf(stderr, "sessmon: SESSMON_PASSWORD is too long\n"); break;
    case SMT_PASSWORD_NO_TERMINAL:
        fprintf(stderr, "sessmon: no terminal to ask for the password: set SESSMON_PASSWORD\n");
        break;
    }
    return SMT_EXIT_USAGE;
}

static void write_terminal(const char *seq)
{
    fflush(stdout);
    size_t n = strlen(seq), off = 0;
    while (off < n) {
        ssize_t w = write(STDOUT_FILENO, seq + off, n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return; /* a terminal that takes no output: nothing more to do */
        off += (size_t)w;
    }
}

/* curses on the terminal; NULL when it cannot be used. */
static SCREEN *start_curses(bool mouse)
{
    install_signals(); /* before newterm, so ncurses leaves SIGWINCH to us */
    capture_stderr();
    if (!getenv("ESCDELAY"))
        set_escdelay(25);
    SCREEN *screen = newterm(NULL, stdout, stdin);
    if (!screen) {
        release_stderr();
        fprintf(stderr, "sessmon: cannot use this terminal (TERM=%s)\n", getenv("TERM") ? getenv("TERM") : "");
        return NULL;
    }
    /* ncurses 6.4 flushes its output after every cursor movement while the screen is still in its
     * initial state, which only endwin() leaves: a frame went out as dozens of small writes (each
     * one a wake-up of the terminal) instead of one. endwin + refresh before anything is drawn
     * puts it in the running state; the screen is the same. */
    endwin();
    refresh();
    cbreak();
    noecho();
    nonl();
    /* curses only paints: the terminal's bytes are read and decoded by input.c, which never
     * waits for the rest of a sequence (curses' decoder does, and a mouse click froze the loop).
     * Without keypad mode the terminal sends normal-mode keys; input.c knows both modes. */
    nodelay(stdscr, TRUE);
    typeahead(-1); /* paint whole frames even while input is waiting */
    curs_set(0);
    /* curses switches the terminal's mouse reporting on (in the encoding its terminfo names)
     * and off again at exit and around a suspend (^Z); the reports themselves are read by
     * input.c, which decodes every encoding curses may choose. */
    if (mouse) {
        mousemask(BUTTON1_PRESSED | BUTTON1_CLICKED | BUTTON4_PRESSED
#ifdef BUTTON5_PRESSED
                      | BUTTON5_PRESSED
#endif
                  ,
                  NULL);
        mouseinterval(0);
    }
    return screen;
}

/* The running monitor: the UI, its connection, the frame timings and the loop's own state. */
typedef struct monitor {
    smt_ui *ui;
    smt_conn *conn;
    smt_frame_stats frame_stats;
    smt_conn_state marked_conn; /* the last connection state written as a mark */
    smt_conn_state painted_conn; /* the connection state the last frame showed */
    bool marked_first_event;
    uint64_t last_paint;
    bool stop;
    smt_input input; /* the terminal's bytes being decoded */
    int exit_code;
    char fatal[400];
} monitor;

/* When the next frame may be painted: at once when the connection state changed since the last
 * frame (the complete table at the end of the snapshot is not held back), else one frame
 * interval after the last. */
static uint64_t next_paint_at(const monitor *m)
{
    const smt_ui *ui = m->ui;
    if (ui->link.conn != m->painted_conn)
        return 0;
    return m->last_paint + (ui->link.conn == SMT_CONN_SYNCING ? SYNC_FRAME_MS : FRAME_MS);
}

/* How long poll may sleep: until the next timer, the next allowed frame, or a second at most. */
static int loop_timeout(monitor *m, uint64_t now)
{
    int64_t timeout = smt_ui_tick(m->ui);
    int ct = smt_conn_timeout_ms(m->conn, now);
    if (ct >= 0 && (timeout < 0 || ct < timeout))
        timeout = ct;
    if (m->ui->app.dirty) {
        int64_t wait = (int64_t)next_paint_at(m) - (int64_t)now;
        if (wait < 0)
            wait = 0;
        if (timeout < 0 || wait < timeout)
            timeout = wait;
    }
    int64_t it = smt_input_timeout(&m->input, now); /* a lone Esc, a sequence cut short */
    if (it >= 0 && (timeout < 0 || it < timeout))
        timeout = it;
    if (timeout > 1000 || timeout < 0)
        timeout = 1000; /* the header clock and rates stay fresh */
    return (int)timeout;
}

static void read_signals(monitor *m)
{
    unsigned char sigs[64];
    ssize_t n;
    while ((n = read(signal_pipe[0], sigs, sizeof sigs)) > 0) {
        for (ssize_t i = 0; i < n; i++) {
            if (sigs[i] == SIGWINCH)
                apply_window_size(m->ui);
            else
                m->stop = true;
        }
    }
}

static void on_input(void *ctx, const smt_input_event *ev)
{
    monitor *m = ctx;
    if (m->ui->app.quit)
        return;
    smt_ui_set_time(m->ui, sm_mono_ms(), sm_wall_ms());
    if (ev->is_mouse)
        smt_ui_mouse(m->ui, &ev->mouse);
    else
        smt_ui_key(m->ui, ev->key);
}

/* One read of what poll said is there (so it cannot block), decoded at once; a sequence cut in
 * the middle waits in the decoder for its end or its timer, never in a read. End of file or an
 * error: the terminal is gone. */
static void read_input(monitor *m)
{
    unsigned char buf[INPUT_READ_MAX];
    ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
        return;
    if (n <= 0) {
        m->stop = true;
        return;
    }
    smt_input_feed(&m->input, buf, (size_t)n, sm_mono_ms(), on_input, m);
}

static void paint_frame(monitor *m, uint64_t now)
{
    smt_ui *ui = m->ui;
    if (ui->app.clipboard_osc[0]) { /* between frames, so it never splits one of curses' sequences */
        write_terminal(ui->app.clipboard_osc);
        ui->app.clipboard_osc[0] = '\0';
    }
    uint64_t cpu0 = m->frame_stats.file ? smt_frame_stats_thread_cpu_us() : 0;
    smt_ui_paint(ui);
    m->last_paint = now;
    m->painted_conn = ui->link.conn;
    if (m->frame_stats.file) {
        smt_frame_record fr = {smt_frame_stats_now_us(), (uint64_t)(ui->last_paint_ms * 1000.0),
                               smt_view_count(ui->app.view), smt_model_open_count(ui->app.model),
                               smt_model_event_total(ui->app.model), conn_word(ui->link.conn),
                               smt_frame_stats_thread_cpu_us() - cpu0};
        smt_frame_stats_frame(&m->frame_stats, &fr);
    }
}

/* Start-up steps for the stats file: the connection states entered and the first event. */
static void mark_progress(monitor *m)
{
    if (!m->frame_stats.file)
        return;
    smt_ui *ui = m->ui;
    if (ui->link.conn != m->marked_conn) {
        m->marked_conn = ui->link.conn;
        smt_frame_stats_mark(&m->frame_stats, conn_word(ui->link.conn), smt_frame_stats_now_us(),
                             smt_frame_stats_thread_cpu_us());
    }
    if (!m->marked_first_event && smt_model_event_total(ui->app.model) > 0) {
        m->marked_first_event = true;
        smt_frame_stats_mark(&m->frame_stats, "first-event", smt_frame_stats_now_us(),
                             smt_frame_stats_thread_cpu_us());
    }
}

/* The single poll loop: terminal, signal pipe, client sockets, timers. */
static void run(monitor *m)
{
    smt_ui *ui = m->ui;
    while (!ui->app.quit && !m->stop) {
        uint64_t now = sm_mono_ms();
        smt_ui_set_time(ui, now, sm_wall_ms());
        int timeout = loop_timeout(m, now);
        struct pollfd fds[MAX_FDS];
        fds[0] = (struct pollfd){STDIN_FILENO, POLLIN, 0};
        fds[1] = (struct pollfd){signal_pipe[0], POLLIN, 0};
        int nfds = 2 + smt_conn_pollfds(m->conn, fds + 2, MAX_FDS - 2);
        int pr = poll(fds, (nfds_t)nfds, timeout);
        if (pr < 0 && errno != EINTR)
            break;
        if (pr > 0 && (fds[1].revents & POLLIN))
            read_signals(m);
        /* The terminal went away (window closed, tmux killed). A hung-up tty also reports POLLIN
         * with reads returning end-of-file, so POLLIN must not keep the loop alive: it would spin. */
        if (pr > 0 && (fds[0].revents & (POLLHUP | POLLERR | POLLNVAL)))
            m->stop = true;
        if (pr > 0 && (fds[0].revents & POLLIN) && !m->stop)
            read_input(m);
        smt_input_expire(&m->input, sm_mono_ms(), on_input, m);
        now = sm_mono_ms();
        smt_ui_set_time(ui, now, sm_wall_ms());
        smt_conn_service(m->conn, now);
        if (smt_conn_fatal(m->conn, &m->exit_code, m->fatal, sizeof m->fatal))
            break;
        mark_progress(m);
        if (ui->app.dirty && now >= next_paint_at(m))
            paint_frame(m, now);
    }
}

int smt_tui_main(int argc, char **argv)
{
    uint64_t start_us = smt_frame_stats_now_us();
    options o = {0};
    int rc = parse_options(argc, argv, &o);
    if (rc == -1)
        return SMT_EXIT_OK;
    if (rc == -2)
        return list_themes();
    if (rc != 0)
        return rc;
    static startup st; /* large (settings, password): not on the stack */
    memset(&st, 0, sizeof st);
    rc = prepare(&o, &st);
    if (rc != SMT_EXIT_OK) {
        memset(st.password, 0, sizeof st.password);
        return rc;
    }

    monitor m = {0};
    m.marked_conn = m.painted_conn = SMT_CONN_CONNECTING; /* where the UI starts */
    smt_ui_options uo = {o.common.url, o.common.principal, o.read_only, o.filter, &st.theme, st.allow_color,
                         !o.no_mouse};
    m.ui = smt_ui_new(&uo, NULL);
    if (!m.ui) {
        memset(st.password, 0, sizeof st.password);
        fprintf(stderr, "sessmon: out of memory\n");
        return SMT_EXIT_FAILURE;
    }
    smt_ui_use_settings(m.ui, st.have_settings ? &st.settings : NULL, o.no_settings ? NULL : st.settings_path);
    smt_ui_set_time(m.ui, sm_mono_ms(), sm_wall_ms());
    if (st.settings_note[0])
        smt_ui_message(&m.ui->app, SMT_LOGL_WARN, "%s", st.settings_note);
    sm_error err;
    sm_error_clear(&err);
    if (smt_frame_stats_open(&m.frame_stats, getenv(SMT_FRAME_STATS_ENV), start_us, &err) != SM_OK)
        smt_ui_message(&m.ui->app, SMT_LOGL_WARN, "frame timings off: %s", err.message);
    char cerr[300] = "";
    smt_conn_options co = {o.common.url, o.common.principal, st.password, o.common.ca_file};
    m.conn = smt_conn_new(m.ui, &co, cerr, sizeof cerr);
    memset(st.password, 0, sizeof st.password);
    SCREEN *screen = NULL;
    if (!m.conn) {
        char esc[400];
        smt_text_escape(cerr, strlen(cerr), esc, sizeof esc);
        fprintf(stderr, "sessmon: %s\n", esc);
        m.exit_code = SMT_EXIT_USAGE;
    } else if (!(screen = start_curses(!o.no_mouse))) {
        m.exit_code = SMT_EXIT_FAILURE;
    } else {
        smt_ui_apply_theme(m.ui);
        const char *escdelay = getenv("ESCDELAY");
        smt_input_init(&m.input, escdelay ? atoi(escdelay) : SMT_INPUT_ESC_MS);
        run(&m);
        endwin();
        delscreen(screen);
        release_stderr();
    }
    smt_frame_stats_close(&m.frame_stats);
    smt_conn_free(m.conn);
    smt_ui_free(m.ui);
    if (m.fatal[0]) {
        char esc[600];
        smt_text_escape(m.fatal, strlen(m.fatal), esc, sizeof esc);
        fprintf(stderr, "sessmon: %s\n", esc);
    }
    if (signal_pipe[0] >= 0) {
        close(signal_pipe[0]);
        close(signal_pipe[1]);
        signal_pipe[0] = signal_pipe[1] = -1;
    }
    return m.exit_code;
}
