/*  gom_notify: see gom_notify.h. */
#include "gom_notify.h"
#include "gom_util.h"

#include <czmq.h>
#include <systemd/sd-daemon.h>

//  Process-wide, like the environment it is read from: one daemon loop per
//  process calls these.
static int64_t s_watchdog_ms = 0;   //  WatchdogSec/4, or 0: no watchdog
static int64_t s_last_ping_ms = 0;  //  monotonic time of the last ping

void
gom_notify_ready (void)
{
    uint64_t usec = 0;
    //  > 0 only if WATCHDOG_USEC is set and WATCHDOG_PID, if set, is us.
    if (sd_watchdog_enabled (0, &usec) > 0 && usec > 0) {
        s_watchdog_ms = (int64_t)(usec / 4000);
        if (s_watchdog_ms < 1)
            s_watchdog_ms = 1;
    }
    //  An empty STATUS= clears what gom-agent-quiet said (quiet_main.c).
    int rc = sd_notify (0, "READY=1\nSTATUS=");
    if (rc < 0)
        zsys_warning ("systemd: cannot send READY=1: %s", strerror (-rc));
    else if (rc > 0 && s_watchdog_ms)
        zsys_info ("systemd: ready; watchdog ping every %" PRId64 " ms",
                   s_watchdog_ms);
    if (s_watchdog_ms) {
        sd_notify (0, "WATCHDOG=1");
        s_last_ping_ms = gom_mono_ms ();
    }
}

void
gom_notify_watchdog (void)
{
    if (!s_watchdog_ms)
        return;
    int64_t now = gom_mono_ms ();
    if (now - s_last_ping_ms < s_watchdog_ms)
        return;
    s_last_ping_ms = now;
    sd_notify (0, "WATCHDOG=1");
}

void
gom_notify_stopping (void)
{
    sd_notify (0, "STOPPING=1");
}
