/*  gom_util: see gom_util.h. */
#include "gom_util.h"

#include <stdarg.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <assert.h>
#include <string.h>
#include <inttypes.h>
#include <signal.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int64_t
gom_now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
gom_mono_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
gom_mono_us (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void
gom_iso_time (int64_t ms, char *buf, size_t size)
{
    //  Digits by hand: strftime and snprintf cost more than the rest of a
    //  dashboard answer that writes 20,000 of these.
    int64_t secs = ms / 1000, milli = ms % 1000;
    if (milli < 0) {
        milli += 1000;
        secs--;
    }
    time_t t = (time_t)secs;
    struct tm tm;
    gmtime_r (&t, &tm);
    int year = tm.tm_year + 1900;
    if (year < 0 || year > 9999 || size < 25) {
        snprintf (buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", year,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  (int)milli);
        return;
    }
    char *p = buf;
#define PUT2(v) (*p++ = (char)('0' + (v) / 10), *p++ = (char)('0' + (v) % 10))
    PUT2 (year / 100);
    PUT2 (year % 100);
    *p++ = '-';
    PUT2 (tm.tm_mon + 1);
    *p++ = '-';
    PUT2 (tm.tm_mday);
    *p++ = 'T';
    PUT2 (tm.tm_hour);
    *p++ = ':';
    PUT2 (tm.tm_min);
    *p++ = ':';
    PUT2 (tm.tm_sec);
#undef PUT2
    *p++ = '.';
    *p++ = (char)('0' + milli / 100);
    *p++ = (char)('0' + milli / 10 % 10);
    *p++ = (char)('0' + milli % 10);
    *p++ = 'Z';
    *p = 0;
}

json_t *
gom_time_json (int64_t ms)
{
    if (ms <= 0)
        return json_null ();
    char buf [32];
    gom_iso_time (ms, buf, sizeof buf);
    return json_string (buf);
}

bool
gom_pid_named (int64_t pid, const char *name)
{
    if (pid <= 0 || (kill ((pid_t)pid, 0) != 0 && errno != EPERM))
        return false;
    char path [64], comm [32] = "";
    snprintf (path, sizeof path, "/proc/%" PRId64 "/comm", pid);
    FILE *f = fopen (path, "r");
    if (f) {
        if (!fgets (comm, sizeof comm, f))
            comm [0] = 0;
        fclose (f);
    }
    return strncmp (comm, name, strlen (name)) == 0;
}

int
gom_read_file (const char *path, size_t max, char **data_p, size_t *len_p)
{
    FILE *f = fopen (path, "rb");
    if (!f)
        return -1;
    size_t cap = 65536, len = 0, got;
    char *data = malloc (cap + 1);
    assert (data);
    while ((got = fread (data + len, 1, cap - len, f)) > 0) {
        len += got;
        if (len == cap && cap <= max) {
            cap = 2 * cap > max ? max + 1 : 2 * cap;
            data = realloc (data, cap + 1);
            assert (data);
        }
    }
    int failed = ferror (f) ? errno : len > max ? EFBIG : 0;
    fclose (f);
    if (failed) {
        free (data);
        errno = failed;
        return -1;
    }
    data [len] = 0;
    *data_p = data;
    *len_p = len;
    return 0;
}

void
gom_hex (const uint8_t *data, size_t len, char *out)
{
    static const char digits [] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out [2 * i] = digits [data [i] >> 4];
        out [2 * i + 1] = digits [data [i] & 15];
    }
    out [2 * len] = 0;
}

int
gom_random (uint8_t *buf, size_t len)
{
    size_t done = 0;
    while (done < len) {
        ssize_t rc = getrandom (buf + done, len - done, 0);
        if (rc < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        done += (size_t)rc;
    }
    return 0;
}

void
gom_buf_add (gom_buf_t *self, const char *data, size_t n)
{
    if (self->len + n + 1 > self->cap) {
        self->cap = 2 * (self->len + n + 1);
        self->data = realloc (self->data, self->cap);
        assert (self->data);
    }
    memcpy (self->data + self->len, data, n);
    self->len += n;
    self->data [self->len] = 0;
}

char *
gom_buf_take (gom_buf_t *self)
{
    char *text = self->data ? self->data : strdup ("");
    self->data = NULL;
    self->len = self->cap = 0;
    return text;
}

size_t
gom_utf8_prefix (const char *text, size_t max)
{
    size_t len = strlen (text);
    if (len <= max)
        return len;
    len = max;
    while (len && ((unsigned char)text [len] & 0xC0) == 0x80)
        len--;
    return len;
}

void
gom_rtt_sample (gom_rtt_t *self, int64_t sample)
{
    if (sample < 1)
        sample = 1;
    if (!self->srtt) {
        self->srtt = sample;
        self->rttvar = sample / 2;
    }
    else {
        int64_t diff = self->srtt - sample;
        self->rttvar = (3 * self->rttvar + (diff < 0 ? -diff : diff)) / 4;
        self->srtt = (7 * self->srtt + sample) / 8;
    }
}

//  The jitter needs senders that differ, not a secret: a per-thread
//  xorshift64* seeded once from the kernel, instead of a getrandom system
//  call for every message sent (a fifth of the load generator's main
//  thread at 25,000 reports/s; docs/performance.md).
static uint32_t
s_jitter (void)
{
    static _Thread_local uint64_t state;
    if (!state) {
        if (gom_random ((uint8_t *)&state, sizeof state) != 0)
            state = (uint64_t)getpid () * 0x9E3779B97F4A7C15ULL ^
                    (uint64_t)gom_mono_us ();
        state |= 1;
    }
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return (uint32_t)((state * 0x2545F4914F6CDD1DULL) >> 32);
}

int64_t
gom_rtt_timeout (const gom_rtt_t *self, int attempts, int64_t min, int64_t max)
{
    int64_t rto = self->srtt ? self->srtt + 4 * self->rttvar : min;
    if (rto < min)
        rto = min;
    //  Karn: a timeout's doubling stays for new messages too until an
    //  unambiguous sample comes; otherwise, with the round trip above the
    //  floor and no sample yet, every message would be sent twice, for
    //  ever (each answer is to a resent one, so none gives a sample).
    int doublings = attempts - 1 > self->shift ? attempts - 1 : self->shift;
    for (int i = 0; i < doublings && rto < max; i++)
        rto *= 2;
    if (rto > max)
        rto = max;
    return rto + (int64_t)(s_jitter () % (uint32_t)(rto / 4 + 1));
}

void
gom_rtt_answered (int64_t answered_first_order, int64_t last_order, int64_t now,
                  int64_t rto, int64_t *due, bool *timer)
{
    if (answered_first_order && last_order &&
        last_order < answered_first_order) {
        *due = now;
        *timer = false;
    }
    else if (*due < now + rto)
        *due = now + rto;
}

void
gom_utf8_mend_end (char *text)
{
    size_t len = strlen (text), lead = len;
    while (lead && len - lead < 4 &&
           ((unsigned char)text [lead - 1] & 0xC0) == 0x80)
        lead--;
    if (!lead)
        return;
    unsigned char c = (unsigned char)text [--lead];
    size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    if (len - lead < need)
        text [lead] = 0;
}

bool
gom_utf8_valid (const char *data, size_t len)
{
    const unsigned char *s = (const unsigned char *)data;
    size_t i = 0;
    while (i < len) {
        unsigned char c = s [i];
        size_t need;
        uint32_t cp;
        if (c == 0)
            return false;
        if (c < 0x80) {
            i++;
            continue;
        }
        else if ((c & 0xE0) == 0xC0) {
            need = 1;
            cp = c & 0x1F;
        }
        else if ((c & 0xF0) == 0xE0) {
            need = 2;
            cp = c & 0x0F;
        }
        else if ((c & 0xF8) == 0xF0) {
            need = 3;
            cp = c & 0x07;
        }
        else
            return false;
        if (i + need >= len)
            return false;  //  truncated sequence
        for (size_t k = 1; k <= need; k++) {
            if ((s [i + k] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (s [i + k] & 0x3F);
        }
        //  Overlong forms, surrogates and values past U+10FFFF
        if ((need == 1 && cp < 0x80) || (need == 2 && cp < 0x800) ||
            (need == 3 && cp < 0x10000) || cp > 0x10FFFF ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += need + 1;
    }
    return true;
}

//  An ASCII letter or digit, whatever the locale.
static bool
s_alnum (char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9');
}

bool
gom_code_valid (const char *s)
{
    if (!s)
        return false;
    //  One pass, no strlen: it runs for every cell of every report the hub
    //  takes.
    size_t len = 0;
    for (char c; (c = s [len]); len++)
        if (len == GOM_CODE_MAX ||
            !(s_alnum (c) || c == '_' || c == '.' || c == ':' || c == '-'))
            return false;
    return len > 0;
}

bool
gom_key_valid (const char *s)
{
    //  Z85: letters, digits and these (the hub checks every message's
    //  key: letters and digits first, without a search).
    static const char marks [] = ".-:+=^!/*?&<>()[]{}@%$#";
    if (!s || strlen (s) != GOM_KEY_Z85)
        return false;
    for (size_t i = 0; i < GOM_KEY_Z85; i++)
        if (!s_alnum (s [i]) && !strchr (marks, s [i]))
            return false;
    return true;
}

void
gom_key_fingerprint (const char *key, char *buf, size_t size)
{
    //  FNV-1a over the key text: not a security measure (the key itself is
    //  what ZAP checks), only a short handle a person can compare aloud.
    uint64_t h = 14695981039346656037ULL;
    for (const char *p = key; p && *p; p++) {
        h ^= (unsigned char)*p;
        h *= 1099511628211ULL;
    }
    snprintf (buf, size, "%04x-%04x-%04x", (unsigned)(h >> 48) & 0xFFFF,
              (unsigned)(h >> 32) & 0xFFFF, (unsigned)(h >> 16) & 0xFFFF);
}

int
gom_mkdir_p (const char *path, mode_t mode)
{
    char *copy = strdup (path);
    if (!copy)
        return -1;
    for (char *p = copy + 1; *p; p++) {
        if (*p == '/') {
            *p = 0;
            if (mkdir (copy, mode) != 0 && errno != EEXIST) {
                free (copy);
                return -1;
            }
            *p = '/';
        }
    }
    int rc = mkdir (copy, mode);
    free (copy);
    if (rc != 0 && errno != EEXIST)
        return -1;
    return 0;
}

char *
gom_path_join (const char *dir, const char *name)
{
    if (name [0] == '/' || !dir || !*dir)
        return strdup (name);
    size_t len = strlen (dir) + strlen (name) + 2;
    char *path = malloc (len);
    if (path)
        snprintf (path, len, "%s/%s", dir, name);
    return path;
}

char *
gom_dirname (const char *path)
{
    const char *slash = strrchr (path, '/');
    if (!slash)
        return strdup (".");
    if (slash == path)
        return strdup ("/");
    return strndup (path, (size_t)(slash - path));
}

char *
gom_self_path (void)
{
    char self [4096];
    ssize_t n = readlink ("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return NULL;
    self [n] = 0;
    static const char deleted [] = " (deleted)";
    size_t len = (size_t)n, tail = sizeof deleted - 1;
    if (len > tail && strcmp (self + len - tail, deleted) == 0)
        self [len - tail] = 0;
    return strdup (self);
}

char *
gom_helper_path (const char *env, const char *name)
{
    const char *value = getenv (env);
    if (value && *value)
        return strdup (value);
    char *self = gom_self_path ();
    char *dir = self ? gom_dirname (self) : strdup ("/usr/bin");
    char *path = gom_path_join (dir, name);
    free (self);
    free (dir);
    return path;
}

int
gom_write_file (const char *path, const void *data, size_t len, mode_t mode,
                bool exclusive)
{
    if (exclusive && access (path, F_OK) == 0) {
        errno = EEXIST;
        return -1;
    }
    char *dir = gom_dirname (path);
    size_t tlen = strlen (path) + 32;
    char *tmp = malloc (tlen);
    if (!dir || !tmp) {
        free (dir);
        free (tmp);
        errno = ENOMEM;
        return -1;
    }
    //  The temporary name starts with a dot so that folder watchers (the
    //  spool, zcertstore) skip it.
    const char *base = strrchr (path, '/');
    base = base ? base + 1 : path;
    snprintf (tmp, tlen, "%s/.%s.%d.tmp", dir, base, (int)getpid ());
    int rc = -1;
    int fd = open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd >= 0) {
        const char *p = data;
        size_t left = len;
        while (left > 0) {
            ssize_t n = write (fd, p, left);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                break;
            p += n;
            left -= (size_t)n;
        }
        if (left == 0 && fchmod (fd, mode) == 0 && fsync (fd) == 0)
            rc = 0;
        int saved = errno;
        close (fd);
        errno = saved;
        if (rc == 0)
            rc = exclusive ? link (tmp, path) : rename (tmp, path);
        saved = errno;
        unlink (tmp);
        errno = saved;
        if (rc == 0) {
            int dfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (dfd >= 0) {
                fsync (dfd);
                close (dfd);
            }
        }
    }
    free (tmp);
    free (dir);
    return rc;
}

char **
gom_split_list (const char *list, size_t *count)
{
    size_t cap = 1;
    for (const char *p = list; *p; p++)
        if (*p == ',')
            cap++;
    char **strv = calloc (cap + 1, sizeof (char *));
    if (!strv)
        return NULL;
    size_t n = 0;
    const char *start = list;
    while (1) {
        const char *end = strchr (start, ',');
        if (!end)
            end = start + strlen (start);
        const char *a = start, *b = end;
        while (a < b && (*a == ' ' || *a == '\t'))
            a++;
        while (b > a && (b [-1] == ' ' || b [-1] == '\t'))
            b--;
        if (b > a)
            strv [n++] = strndup (a, (size_t)(b - a));
        if (!*end)
            break;
        start = end + 1;
    }
    if (count)
        *count = n;
    return strv;
}

void
gom_strv_free (char ***strv_p)
{
    if (!strv_p || !*strv_p)
        return;
    for (char **p = *strv_p; *p; p++)
        free (*p);
    free (*strv_p);
    *strv_p = NULL;
}

int
gom_fail (const char *program, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    fprintf (stderr, "%s: ", program);
    vfprintf (stderr, fmt, ap);
    fputc ('\n', stderr);
    va_end (ap);
    return 1;
}
