/*
 * fuzz_mime.c - libFuzzer target for mime_walk().
 *
 * Feeds each input to mime_walk() as an email with the default limits.
 * The callback reads every byte of every part it is handed (so ASan sees
 * any part that points outside its buffer) and the contract of mime.h is
 * checked: an error always says why, RUAD_OK means at least one part was
 * handed on, a failure/ARF report hands nothing on, content types are
 * lower case "type/subtype", and file names and info strings are valid
 * UTF-8 (info strings also without CR or LF).
 * Seeds: tests/fuzz/corpus/mime/ (hand-written messages, no real mail).
 *
 * SECURITY: this is the peer-facing surface of the mail path (the whole
 * SMTP DATA reaches mime_walk); any crash, leak, timeout or undefined
 * behaviour found here is a remote bug.  GLib reads G_SLICE before main(),
 * so LLVMFuzzerInitialize re-executes the fuzzer once with
 * G_SLICE=always-malloc; otherwise GObjects come from slice magazines and
 * LeakSanitizer would not see them leak.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mime.h"
#include "report.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* what the callback saw */
struct fz_seen {
    unsigned calls;
    uint8_t  sum;
};

/* fz_utf8_ok - strict UTF-8 (no overlongs, surrogates or > U+10FFFF) */
static bool
fz_utf8_ok(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    uint32_t             cp;
    int                  n, i;

    while (*p != '\0') {
        if (*p < 0x80) {
            p++;
            continue;
        }
        if (*p >= 0xc2 && *p <= 0xdf)
            n = 1, cp = *p & 0x1f;
        else if (*p >= 0xe0 && *p <= 0xef)
            n = 2, cp = *p & 0x0f;
        else if (*p >= 0xf0 && *p <= 0xf4)
            n = 3, cp = *p & 0x07;
        else
            return false;
        for (i = 1; i <= n; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i] & 0x3f);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
            (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
            return false;
        p += n + 1;
    }
    return true;
}

/* fz_info_str_ok - NULL, or non-empty valid UTF-8 on one line */
static bool
fz_info_str_ok(const char *s)
{
    return s == NULL || (s[0] != '\0' && fz_utf8_ok(s) &&
        strchr(s, '\r') == NULL && strchr(s, '\n') == NULL);
}

/* fz_part - the mime_part_fn: touch every byte, check the arguments */
static enum ruad_rc
fz_part(void *ctx, const char *data, size_t len, const char *content_type,
    const char *filename)
{
    struct fz_seen *seen = ctx;
    const char     *p;
    size_t          i;

    seen->calls++;
    if (data == NULL || len == 0 || content_type == NULL ||
        strchr(content_type, '/') == NULL)
        __builtin_trap();
    for (p = content_type; *p != '\0'; p++)
        if (*p >= 'A' && *p <= 'Z')
            __builtin_trap();
    if (filename != NULL && !fz_utf8_ok(filename))
        __builtin_trap();
    for (i = 0; i < len; i++)
        seen->sum ^= (uint8_t)data[i];
    return RUAD_OK;
}

/* LLVMFuzzerInitialize - make sure GLib starts with G_SLICE set */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    if (getenv("G_SLICE") == NULL) {
        setenv("G_SLICE", "always-malloc", 1);
        execv("/proc/self/exe", *argv);
        /* exec failed: fuzz anyway, GObject leaks may go unseen */
    }
    return 0;
}

/* LLVMFuzzerTestOneInput - walk one message, check the contract, free */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct report_limits lim;
    struct report_diag   diag;
    struct mime_info     info;
    struct fz_seen       seen = { 0, 0 };
    enum ruad_rc         rc;

    report_limits_default(&lim);
    report_diag_init(&diag);
    rc = mime_walk((const char *)data, size, &lim, fz_part, &seen, &diag,
        &info);
    if (rc != RUAD_OK && diag.error[0] == '\0')
        __builtin_trap();
    if (rc == RUAD_OK && (seen.calls == 0 || diag.error[0] != '\0'))
        __builtin_trap();
    if (info.n_reports != seen.calls || info.n_parts > lim.mime_parts_max)
        __builtin_trap();
    if (info.is_feedback && (rc != RUAD_UNSUPPORTED || seen.calls != 0))
        __builtin_trap();
    if (!fz_info_str_ok(info.from) || !fz_info_str_ok(info.subject) ||
        !fz_info_str_ok(info.message_id) ||
        !fz_info_str_ok(info.report_domain) ||
        !fz_info_str_ok(info.report_submitter))
        __builtin_trap();
    mime_info_clear(&info);
    report_diag_free(&diag);
    return 0;
}
