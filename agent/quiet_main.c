/*  gom-agent-quiet: what `gom-agent run` becomes while it has nothing to
    send, when agent.cfg asks for it (quiet_after_ms; docs/cli.md). It is
    the same process (gom-agent execs it, and it execs gom-agent again), so
    systemd, `gom-agent status` and the watchdog see one daemon throughout.
    It links libc only: no ZeroMQ, czmq, sqlite or libsystemd, so an idle
    office PC holds about 1 MB for it instead of 9, and no connection is
    kept open: no heartbeats on a metered line.

    It waits, on the inotify descriptor gom-agent hands it (already watching
    before gom-agent's last look at its outbox and spool folder, so that
    nothing queued in between is missed), for:
    - a file in the spool folder (not one the spool never takes:
      agent_spool_rule.h), or a write to the outbox's WAL (a report queued
      by `gom-agent submit` or a transfer): gom-agent again at once; and it
      looks at the spool folder once a minute all the same, as gom-agent
      does, since a folder shared over the network may not tell;
    - the check-in time: gom-agent again, which says hello to the hub (its
      status for the operators, new forms) and, with nothing to send,
      comes back here;
    - SIGTERM or SIGINT: gom-agent again, with the signal left pending, so
      that it stops as it always does (its stop recorded for status);
      SIGHUP likewise.
    Meanwhile it pings systemd's watchdog if the service has one.

    Usage (by gom-agent only):
      gom-agent-quiet --fd N --spool DIR --spool-wd N --outbox-wd N
                      --wal NAME --check-in-ms MS -- PROGRAM ARG...  */
#include "agent_spool_rule.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

//  Counts the time the PC sleeps too, so that a check-in is not put off by
//  a night in suspend.
static int64_t
s_mono_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_BOOTTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

//  One line in gom's log format (czmq's: "I: YY-MM-DD HH:MM:SS text").
static void s_log (char level, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));
static void
s_log (char level, const char *fmt, ...)
{
    time_t now = time (NULL);
    struct tm tm;
    char when [32];
    localtime_r (&now, &tm);
    strftime (when, sizeof when, "%y-%m-%d %H:%M:%S", &tm);
    char text [512];
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (text, sizeof text, fmt, ap);
    va_end (ap);
    fprintf (stderr, "%c: %s %s\n", level, when, text);
}

//  sd_notify's protocol (one datagram to $NOTIFY_SOCKET, '@' for the
//  abstract namespace), so that this program needs no libsystemd.
static void
s_notify (const char *state)
{
    const char *path = getenv ("NOTIFY_SOCKET");
    if (!path || (path [0] != '/' && path [0] != '@'))
        return;
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    size_t len = strlen (path);
    if (len >= sizeof addr.sun_path)
        return;
    memcpy (addr.sun_path, path, len);
    if (path [0] == '@')
        addr.sun_path [0] = 0;
    int fd = socket (AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return;
    sendto (fd, state, strlen (state), MSG_NOSIGNAL, (struct sockaddr *)&addr,
            (socklen_t)(offsetof (struct sockaddr_un, sun_path) + len));
    close (fd);
}

//  The watchdog's ping interval (a quarter of WatchdogSec, as gom-agent
//  does), or 0 if there is none for this process.
static int64_t
s_watchdog_ms (void)
{
    const char *usec = getenv ("WATCHDOG_USEC");
    const char *pid = getenv ("WATCHDOG_PID");
    if (!usec || (pid && atoll (pid) != (long long)getpid ()))
        return 0;
    int64_t ms = atoll (usec) / 4000;
    return ms > 0 ? ms : (atoll (usec) > 0 ? 1 : 0);
}

//  Reads the watch's events: true if one should wake gom-agent.
static bool
s_woken (int fd, int spool_wd, int outbox_wd, const char *wal, char *what,
         size_t whatlen)
{
    char buf [4096]
        __attribute__ ((aligned (__alignof__(struct inotify_event))));
    ssize_t len;
    bool woken = false;
    while ((len = read (fd, buf, sizeof buf)) > 0)
        for (char *p = buf; p < buf + len;) {
            struct inotify_event *ev = (struct inotify_event *)p;
            const char *name = ev->len ? ev->name : "";
            //  The outbox's own files, when its folder is the spool's too,
            //  wake only by a write to the WAL.
            bool outbox_file = spool_wd == outbox_wd &&
                               strncmp (name, wal, strlen (wal) - 4) == 0;
            if (!woken && ev->wd == spool_wd && !outbox_file &&
                !agent_spool_skipped (name) &&
                (ev->mask & (IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE))) {
                snprintf (what, whatlen, "%s in the spool folder", name);
                woken = true;
            }
            else if (!woken && ev->wd == outbox_wd && (ev->mask & IN_MODIFY) &&
                     strcmp (name, wal) == 0) {
                snprintf (what, whatlen, "a write to the outbox (%s)", name);
                woken = true;
            }
            else if (!woken && (ev->mask & (IN_Q_OVERFLOW | IN_IGNORED))) {
                snprintf (what, whatlen, "%s",
                          ev->mask & IN_IGNORED ? "a folder watched gone"
                                                : "too many events to tell");
                woken = true;
            }
            p += sizeof *ev + ev->len;
        }
    return woken;
}

int
main (int argc, char **argv)
{
    int fd = -1, spool_wd = -1, outbox_wd = -1;
    int64_t check_in_ms = -1;
    const char *wal = NULL, *spool = NULL;
    static const struct option opts [] = {
        { "fd", required_argument, NULL, 'f' },
        { "spool", required_argument, NULL, 'd' },
        { "spool-wd", required_argument, NULL, 's' },
        { "outbox-wd", required_argument, NULL, 'o' },
        { "wal", required_argument, NULL, 'w' },
        { "check-in-ms", required_argument, NULL, 'c' },
        { NULL, 0, NULL, 0 },
    };
    int c;
    while ((c = getopt_long (argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
            case 'f': fd = atoi (optarg); break;
            case 'd': spool = optarg; break;
            case 's': spool_wd = atoi (optarg); break;
            case 'o': outbox_wd = atoi (optarg); break;
            case 'w': wal = optarg; break;
            case 'c': check_in_ms = atoll (optarg); break;
            default: return 2;
        }
    }
    if (fd < 0 || spool_wd < 0 || outbox_wd < 0 || !wal || !spool ||
        strlen (wal) <= 4 || check_in_ms < 0 || optind >= argc) {
        fprintf (stderr, "gom-agent-quiet: started by gom-agent run only "
                         "(see docs/cli.md, quiet_after_ms)\n");
        return 2;
    }
    char **program = argv + optind;
    //  gom-agent blocked these and reads them from a signalfd; the mask and
    //  any pending signal stay across both execs.
    sigset_t mask;
    sigemptyset (&mask);
    sigaddset (&mask, SIGINT);
    sigaddset (&mask, SIGTERM);
    sigaddset (&mask, SIGHUP);
    sigprocmask (SIG_BLOCK, &mask, NULL);
    int sigfd = signalfd (-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    int64_t watchdog_ms = s_watchdog_ms ();
    int64_t start = s_mono_ms (), check_in = start + check_in_ms;
    int64_t ping = start, look = start + 60000;
    char status [160];
    snprintf (status, sizeof status,
              "STATUS=quiet: nothing to send, no connection; next check-in "
              "in %" PRId64 " min",
              (check_in_ms + 59999) / 60000);
    s_notify (status);
    char what [300] = "";
    if (sigfd < 0)
        snprintf (what, sizeof what, "no signalfd (%s): not safe to wait",
                  strerror (errno));
    while (sigfd >= 0) {
        int64_t now = s_mono_ms ();
        if (watchdog_ms && now >= ping) {
            s_notify ("WATCHDOG=1");
            ping = now + watchdog_ms;
        }
        if (now >= check_in) {
            snprintf (what, sizeof what, "the check-in time");
            break;
        }
        if (now >= look) {
            //  gom-agent went quiet with none there (settled or not).
            char name [256];
            int64_t age;
            if (agent_spool_waiting (spool, 0, name, sizeof name, &age) > 0) {
                snprintf (what, sizeof what, "%s in the spool folder (looked)",
                          name);
                break;
            }
            look = now + 60000;
        }
        int64_t wait = check_in - now;
        if (look - now < wait)
            wait = look - now;
        if (watchdog_ms && ping - now < wait)
            wait = ping - now;
        struct pollfd pfd [2] = { { fd, POLLIN, 0 }, { sigfd, POLLIN, 0 } };
        int n = poll (pfd, 2, (int)(wait > 0 ? wait : 0));
        if (n < 0 && errno != EINTR) {
            snprintf (what, sizeof what, "poll failed (%s)", strerror (errno));
            break;
        }
        if (n > 0 && (pfd [0].revents & POLLIN) &&
            s_woken (fd, spool_wd, outbox_wd, wal, what, sizeof what))
            break;
        if (n > 0 && (pfd [0].revents & (POLLERR | POLLHUP | POLLNVAL))) {
            snprintf (what, sizeof what, "the watch failed");
            break;
        }
        //  Left pending (not read) for gom-agent to act on.
        if (n > 0 && (pfd [1].revents & POLLIN)) {
            snprintf (what, sizeof what, "a signal");
            break;
        }
    }
    s_log ('I', "quiet for %" PRId64 " s; woken by %s",
           (s_mono_ms () - start) / 1000, what);
    close (fd);
    if (sigfd >= 0)
        close (sigfd);
    execv (program [0], program);
    s_log ('E', "quiet: cannot start %s again: %s", program [0],
           strerror (errno));
    return 1;
}
