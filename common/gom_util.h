/*  gom_util: small helpers both programs use: clocks, hex, random ids,
    text checks, paths and files. Nothing here allocates unless it says so;
    nothing here logs. */
#ifndef GOM_UTIL_H
#define GOM_UTIL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define GOM_ID_BYTES 16  //  report_id length
#define GOM_CODE_MAX 64  //  longest unit/form/period/cell code
#define GOM_KEY_Z85  40  //  Z85 length of a CURVE public key

//  Wall clock, Unix milliseconds.
int64_t gom_now_ms (void);

//  Monotonic clock, milliseconds; for timeouts only.
int64_t gom_mono_ms (void);
//  The same in microseconds.
int64_t gom_mono_us (void);

//  Writes "YYYY-MM-DDTHH:MM:SS.mmmZ" (UTC) into buf (at least 32 bytes).
void gom_iso_time (int64_t ms, char *buf, size_t size);
//  The same as a JSON string; JSON null when ms <= 0 (no such time).
json_t *gom_time_json (int64_t ms);

//  True if pid is a live process (another user's too) whose name
//  (/proc/PID/comm) begins with name.
bool gom_pid_named (int64_t pid, const char *name);

//  The whole file at path, NUL-terminated (*data, caller frees; *len
//  without the NUL): 0, or -1 with errno (EFBIG past max bytes).
int gom_read_file (const char *path, size_t max, char **data, size_t *len);

//  Lower-case hex of len bytes into out (at least 2*len+1 bytes).
void gom_hex (const uint8_t *data, size_t len, char *out);

//  Fills buf with len bytes from the kernel's random source; 0 or -1.
int gom_random (uint8_t *buf, size_t len);

//  True if data[0..len) is well-formed UTF-8 with no NUL byte.
bool gom_utf8_valid (const char *data, size_t len);
//  A growing text buffer, kept NUL-terminated: start it as { 0 } (or with
//  a malloc'd data of cap bytes, len 0).
typedef struct {
    char *data;
    size_t len, cap;
} gom_buf_t;
//  Appends n bytes of data.
void gom_buf_add (gom_buf_t *self, const char *data, size_t n);
//  The text (never NULL; the caller frees it); self is left empty.
char *gom_buf_take (gom_buf_t *self);

//  A round-trip estimator and resend timeout, as TCP's (RFC 6298), in
//  whatever unit the caller's samples are (ms for gom-agent, us for the
//  load generator). Start it as { 0 }.
typedef struct {
    int64_t srtt, rttvar;  //  smoothed round trip and deviation; 0: none yet
    int shift;             //  Karn: doublings kept since the last clean sample
} gom_rtt_t;
//  Takes a round-trip sample (Jacobson's smoothing).
void gom_rtt_sample (gom_rtt_t *self, int64_t sample);
//  The timeout for a message sent `attempts` times: srtt + 4 rttvar (min
//  before any sample), at least min, doubled per attempt beyond the first
//  or by shift if more, at most max, plus up to a quarter of jitter so that
//  many senders do not resend in step.
int64_t gom_rtt_timeout (const gom_rtt_t *self, int attempts, int64_t min,
                         int64_t max);
//  What the hub's answer to another report means for one still waiting
//  on its timeout (DESIGN.md rule 6; the same units as gom_rtt's): the hub
//  answers a connection's messages in order, so one last sent before the
//  answered one was first sent (orders on this connection; 0: none) was
//  lost, and is due now, its timeout ended (*timer false); any other's
//  timeout starts again from now (the line and the hub are alive).
void gom_rtt_answered (int64_t answered_first_order, int64_t last_order,
                       int64_t now, int64_t rto, int64_t *due, bool *timer);

//  The length of text's longest prefix of at most max bytes that does not
//  end inside a UTF-8 sequence.
size_t gom_utf8_prefix (const char *text, size_t max);
//  Cuts an incomplete UTF-8 sequence off text's end (what snprintf leaves
//  when it cuts a message inside a character); text is otherwise kept.
void gom_utf8_mend_end (char *text);

//  True if s is a code gom accepts for units, forms, periods and cells:
//  1..GOM_CODE_MAX characters from [A-Za-z0-9_.:-].
bool gom_code_valid (const char *s);

//  True if s is 40 characters of the Z85 alphabet.
bool gom_key_valid (const char *s);

//  Short fingerprint of a Z85 key a person can read out: "ab12-cd34-ef56".
//  buf at least 16 bytes.
void gom_key_fingerprint (const char *key, char *buf, size_t size);

//  mkdir -p with the given mode for the folders it makes; 0 or -1 (errno).
int gom_mkdir_p (const char *path, mode_t mode);

//  Returns dir/name, or a copy of name when it is absolute; caller frees.
char *gom_path_join (const char *dir, const char *name);

//  Writes "program: message" and a newline on standard error; returns 1,
//  the exit status of a command that failed.
int gom_fail (const char *program, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

//  Returns the folder part of path ("." when none); caller frees.
char *gom_dirname (const char *path);

//  The running program's path (/proc/self/exe; after an upgrade replaced
//  it while it ran, the new program at the same path), or NULL. Caller
//  frees.
char *gom_self_path (void);

//  A program that comes with this one: $env if set, else name in the folder
//  of the running program, else /usr/bin/name. Caller frees.
char *gom_helper_path (const char *env, const char *name);

//  Writes data to path atomically: a temporary file in the same folder,
//  fsync, rename, fsync of the folder. mode applies to the new file.
//  With exclusive, fails (EEXIST) if path exists. 0 or -1 (errno).
int gom_write_file (const char *path, const void *data, size_t len, mode_t mode,
                    bool exclusive);

//  Splits "A,B,C" into a NULL-terminated array of trimmed, non-empty
//  strings; *count gets their number. Caller frees with gom_strv_free.
char **gom_split_list (const char *list, size_t *count);
void gom_strv_free (char ***strv_p);

#endif
