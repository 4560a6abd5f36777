/* Where sessmon's password comes from: $SESSMON_PASSWORD or a no-echo prompt, never argv. */
#include "tui/password.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "tui/text.h"

static struct termios saved_termios;
static volatile sig_atomic_t tty_fd_for_restore = -1;

/* Ctrl-C or SIGTERM while echo is off must not leave the user's terminal silent. */
static void restore_tty_and_exit(int sig)
{
    if (tty_fd_for_restore >= 0)
        tcsetattr(tty_fd_for_restore, TCSANOW, &saved_termios);
    _exit(128 + sig);
}

static int prompt_on_tty(const char *principal, char *out, size_t cap)
{
    int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    if (tcgetattr(fd, &saved_termios) != 0) {
        close(fd);
        return -1;
    }
    char safe[256];
    smt_text_escape(principal, strlen(principal), safe, sizeof safe);
    dprintf(fd, "Password for %s: ", safe);
    struct termios quiet = saved_termios;
    quiet.c_lflag &= (tcflag_t) ~(ECHO | ECHONL);
    tty_fd_for_restore = fd;
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = restore_tty_and_exit;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    tcsetattr(fd, TCSAFLUSH, &quiet);
    size_t n = 0;
    for (;;) {
        char ch;
        ssize_t r = read(fd, &ch, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0 || ch == '\n' || ch == '\r')
            break;
        if (n + 1 < cap)
            out[n++] = ch;
    }
    out[n] = '\0';
    tcsetattr(fd, TCSAFLUSH, &saved_termios);
    tty_fd_for_restore = -1;
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    dprintf(fd, "\n");
    close(fd);
    return 0;
}

smt_password_status smt_password_resolve(const char *principal, char *out, size_t cap)
{
    out[0] = '\0';
    if (!principal || !principal[0])
        return SMT_PASSWORD_OK;
    const char *env = getenv("SESSMON_PASSWORD");
    if (env) {
        size_t len = strlen(env);
        if (len >= cap)
            return SMT_PASSWORD_TOO_LONG;
        memcpy(out, env, len + 1);
        return SMT_PASSWORD_OK;
    }
    return prompt_on_tty(principal, out, cap) == 0 ? SMT_PASSWORD_OK : SMT_PASSWORD_NO_TERMINAL;
}
