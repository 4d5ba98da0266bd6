/*  agent_spool_rule: see agent_spool_rule.h. */
#include "agent_spool_rule.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static bool
s_ends_with (const char *s, const char *suffix)
{
    size_t a = strlen (s), b = strlen (suffix);
    return a >= b && strcmp (s + a - b, suffix) == 0;
}

bool
agent_spool_skipped (const char *name)
{
    return name [0] == '.' || !strncmp (name, "~$", 2) ||
           s_ends_with (name, ".tmp") || s_ends_with (name, ".part") ||
           s_ends_with (name, "~");
}

int64_t
agent_spool_age_ms (int dirfd, const char *name, int64_t now)
{
    struct stat st;
    if (fstatat (dirfd, name, &st, 0) != 0 || !S_ISREG (st.st_mode))
        return -1;
    return now -
           ((int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000);
}

int
agent_spool_waiting (const char *folder, int64_t settle_ms, char *oldest,
                     size_t oldestlen, int64_t *oldest_age_ms)
{
    oldest [0] = 0;
    *oldest_age_ms = 0;
    DIR *dir = opendir (folder);
    if (!dir)
        return -1;
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    int count = 0;
    struct dirent *e;
    while ((e = readdir (dir))) {
        if (agent_spool_skipped (e->d_name))
            continue;
        int64_t age = agent_spool_age_ms (dirfd (dir), e->d_name, now);
        if (age < 0 || age < settle_ms)
            continue;
        count++;
        if (age > *oldest_age_ms) {
            *oldest_age_ms = age;
            snprintf (oldest, oldestlen, "%s", e->d_name);
        }
    }
    closedir (dir);
    return count;
}
