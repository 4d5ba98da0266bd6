/*  gom_signals: see gom_signals.h. */
#include "gom_signals.h"

#include <czmq.h>
#include <signal.h>
#include <sys/signalfd.h>

int
gom_signals_open (void)
{
    sigset_t mask;
    sigemptyset (&mask);
    sigaddset (&mask, SIGINT);
    sigaddset (&mask, SIGTERM);
    sigaddset (&mask, SIGHUP);
    pthread_sigmask (SIG_BLOCK, &mask, NULL);
    signal (SIGPIPE, SIG_IGN);
    zsys_handler_set (NULL);
    return signalfd (-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
}

bool
gom_signals_stop_pending (void)
{
    sigset_t pending;
    return sigpending (&pending) == 0 && (sigismember (&pending, SIGINT) == 1 ||
                                          sigismember (&pending, SIGTERM) == 1);
}

int
gom_signals_read (int fd)
{
    int came = 0;
    struct signalfd_siginfo si;
    while (read (fd, &si, sizeof si) == sizeof si) {
        if (si.ssi_signo == SIGHUP)
            came |= GOM_SIGNAL_RELOAD;
        else {
            zsys_info ("signal %d: stopping", (int)si.ssi_signo);
            came |= GOM_SIGNAL_STOP;
        }
    }
    return came;
}
