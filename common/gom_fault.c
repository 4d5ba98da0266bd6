/*  gom_fault: see gom_fault.h.

    The line is written with write(2), not stdio or zsys: the process dies
    an instant later, and a buffered line would die with it. */
#include "gom_fault.h"

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool s_parsed;      //  GOM_FAULT read
static char s_name [128];  //  the point it names, "" for none
static long s_nth = 1;     //  fire on this call of the point
static long s_calls;       //  calls of that point so far

static void
s_parse (void)
{
    s_parsed = true;
    const char *spec = getenv ("GOM_FAULT");
    if (!spec || !*spec)
        return;
    snprintf (s_name, sizeof s_name, "%s", spec);
    char *colon = strrchr (s_name, ':');
    if (colon) {
        *colon = 0;
        char *end = NULL;
        s_nth = strtol (colon + 1, &end, 10);
        if (*end || s_nth < 1) {
            fprintf (stderr, "GOM_FAULT=%s: want NAME or NAME:N, N >= 1\n",
                     spec);
            s_name [0] = 0;  //  a bad spec arms nothing
        }
    }
}

bool
gom_fault_hit (const char *name)
{
    if (!s_parsed)
        s_parse ();
    return s_name [0] && strcmp (name, s_name) == 0 && ++s_calls == s_nth;
}

void
gom_fault_die (const char *what)
{
    char line [200];
    int len = snprintf (line, sizeof line,
                        "GOM_FAULT: crash point %s: SIGKILL\n", what);
    if (len > 0 && write (STDERR_FILENO, line, (size_t)len) < 0)
        len = 0;  //  nothing to do: we die either way
    raise (SIGKILL);
    _exit (137);  //  not reached
}

void
gom_fault_point (const char *name)
{
    if (!gom_fault_hit (name))
        return;
    char what [160];
    snprintf (what, sizeof what, "%s (call %ld)", name, s_calls);
    gom_fault_die (what);
}
