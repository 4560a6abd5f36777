/* Readiness and state notification to systemd (the sd_notify datagram protocol, no libsystemd). */
#ifndef SMD_SERVER_NOTIFY_H
#define SMD_SERVER_NOTIFY_H

/* Sends state (newline-separated VAR=value lines: "READY=1", "STOPPING=1", "RELOADING=1",
 * "STATUS=...") as one datagram to the Unix socket named by $NOTIFY_SOCKET: an absolute path, or
 * '@' + name for an abstract socket. Returns 1 when sent, 0 when NOTIFY_SOCKET is unset or empty
 * (not started by systemd: nothing to do), -1 when it is set but the message could not be sent
 * (bad address, no listener, state too long); errno then says why. Never blocks: the datagram
 * goes or fails at once. Safe to call again (each call opens and closes its own socket), so the
 * reload path may send "RELOADING=1" then "READY=1". */
int smd_notify(const char *state);

#endif
