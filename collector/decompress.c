/*
 * decompress.c - turn received bytes into report bytes: gzip (RFC 1952,
 * one or several members), zip (PKWARE APPNOTE, report members only) or
 * plain, told apart by magic bytes alone (see decompress.h).  zlib and
 * libzip are used here and nowhere else.
 *
 * Layers: the raw input (memory, or an fd read in DEC_CHUNK pieces) feeds
 * gzip layer 0, whose output lands in a DEC_CHUNK pipe.  When that output
 * starts with the gzip magic again, layer 1 inflates it (DECOMP_NEST_MAX
 * levels; a deeper one is passed through).  The caller reads from the last
 * pipe.  A zip is opened with libzip over the memory, or over the fd with
 * pread() through a source callback, so a file is never held whole.
 *
 * SECURITY: every byte here comes from a peer (a mail attachment, an HTTP
 * body).  Memory is fixed per object (a few DEC_CHUNK buffers plus zlib
 * and libzip state) whatever the input.  Output over all parts is capped
 * by lim->decomp_out_max and, past lim->decomp_ratio_grace, by
 * lim->decomp_ratio_max times the compressed bytes consumed, checked every
 * DEC_CHUNK, so a bomb is refused after little work.  A zip is judged by
 * its central directory (entries, report members, declared sizes and
 * ratios, encryption, methods) before any member is handed out, and a
 * member may not grow past its declared size.  Member names are escaped
 * for display and never used as paths.  All errors go through
 * report_diag_fail() and stick: later calls return the same code.
 */
#include "decompress.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#define ZLIB_CONST
#include <zip.h>
#include <zlib.h>

#include "buf.h"
#include "limits.h"
#include "log.h"

#define DEC_CHUNK    (64u * 1024)  /* input and between-layer buffers */
#define DEC_NAME_MAX 256           /* escaped member name, with its NUL */
#define DEC_LAYERS   (DECOMP_NEST_MAX + 1)
/* largest piece handed to zlib or pread() */
#define DEC_IO_MAX   (1u << 30)

enum dec_format { DEC_F_PLAIN, DEC_F_GZIP, DEC_F_ZIP };
enum dec_state  { DEC_S_START, DEC_S_PART, DEC_S_END };

/* Bytes waiting to be consumed: borrowed memory or an owned chunk. */
struct dec_pipe {
    const unsigned char *p;       /* borrowed input, or == store */
    unsigned char       *store;   /* owned, DEC_CHUNK bytes; NULL: memory */
    size_t               pos;     /* next unread byte */
    size_t               len;     /* bytes valid in p */
    bool                 eof;     /* nothing will be added past len */
};

/* One gzip stream (all its members), inflated into mid[layer]. */
struct dec_gz {
    z_stream zs;
    bool     init;      /* inflateInit2() done: inflateEnd() is owed */
    bool     between;   /* a member ended: another, garbage or the end */
    uint64_t out;       /* bytes inflated by this layer */
};

/* A libzip source reading the caller's regular file with pread(). */
struct dec_zipfd {
    int         fd;     /* borrowed */
    off_t       start;  /* where the input begins in the file */
    uint64_t    size;
    uint64_t    off;
    zip_error_t err;
};

struct dec_zip {
    zip_t           *za;       /* owned */
    zip_file_t      *zf;       /* owned: the member being read */
    struct buf       copy;     /* whole input of a non-file fd */
    struct dec_zipfd fdsrc;
    zip_int64_t      n;        /* entries */
    zip_int64_t      next;     /* entry to look at next */
    uint64_t         comp;     /* compressed size of the current member */
    uint64_t         size;     /* its declared size */
    bool             size_ok;  /* size is known */
    uint64_t         out;      /* its bytes handed out so far */
};

struct decompress {
    const struct report_limits *lim;    /* borrowed */
    struct report_diag         *diag;   /* borrowed */
    int                         fd;     /* borrowed; -1 for memory */
    off_t                       fd_start; /* fd offset at creation, or -1 */
    enum dec_format             fmt;
    enum dec_state              state;
    enum ruad_rc                rc;     /* sticky once failed */
    uint64_t                    total;  /* bytes handed out, all parts */
    uint64_t                    raw_in; /* input bytes gzip layer 0 took */
    struct dec_pipe             src;
    struct dec_pipe             mid[DEC_LAYERS];
    struct dec_gz               gz[DEC_LAYERS];
    unsigned                    depth;  /* gzip layers in use */
    struct dec_zip              zip;
    char                        name[DEC_NAME_MAX];
};

static struct decompress *dec_new(const struct report_limits *,
    struct report_diag *);
static enum ruad_rc dec_fail(struct decompress *, enum ruad_rc,
    const char *, ...) __attribute__((format(printf, 3, 4)));
static void dec_warn(struct decompress *, const char *, ...)
    __attribute__((format(printf, 2, 3)));
static bool dec_ratio_exceeded(uint64_t, uint64_t, uint64_t);
static enum ruad_rc dec_fail_size(struct decompress *);
static enum ruad_rc dec_fail_ratio(struct decompress *);
static void dec_detect(struct decompress *);
static size_t dec_pipe_avail(const struct dec_pipe *);
static void dec_pipe_compact(struct dec_pipe *);
static enum ruad_rc dec_pipe_fill(struct decompress *, struct dec_pipe *);
static enum ruad_rc dec_pipe_peek(struct decompress *, struct dec_pipe *,
    size_t, size_t *);
static enum ruad_rc dec_pipe_read(struct decompress *, struct dec_pipe *,
    char *, size_t, size_t *);
static enum ruad_rc dec_src_fill(struct decompress *);
static bool dec_is_gzip(const unsigned char *, size_t);
static enum ruad_rc dec_gz_init(struct decompress *, unsigned);
static void dec_gz_end(struct dec_gz *);
static enum ruad_rc dec_gz_start(struct decompress *);
static enum ruad_rc dec_gz_produce(struct decompress *, unsigned);
static enum ruad_rc dec_gz_inflate(struct decompress *, unsigned);
static enum ruad_rc dec_gz_member_end(struct decompress *, unsigned);
static zip_int64_t dec_zipfd_cb(void *, void *, zip_uint64_t,
    zip_source_cmd_t);
static enum ruad_rc dec_zip_fail(struct decompress *, zip_error_t *,
    const char *);
static enum ruad_rc dec_zip_slurp(struct decompress *);
static enum ruad_rc dec_zip_open(struct decompress *);
static bool dec_zip_is_report(const char *);
static enum ruad_rc dec_zip_stat(struct decompress *, zip_int64_t,
    zip_stat_t *);
static enum ruad_rc dec_zip_scan(struct decompress *);
static enum ruad_rc dec_zip_next(struct decompress *, const char **);
static enum ruad_rc dec_zip_read(struct decompress *, char *, size_t,
    size_t *);

/* ---- errors and limits ---- */

/* dec_fail - record the first error in diag and make it stick */
static enum ruad_rc
dec_fail(struct decompress *d, enum ruad_rc rc, const char *fmt, ...)
{
    char    msg[400];
    va_list ap;

    if (d->rc != RUAD_OK)
        return d->rc;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    d->rc = d->diag != NULL ? report_diag_fail(d->diag, rc, "%s", msg) : rc;
    return d->rc;
}

/* dec_warn - a note for diag; decompression goes on */
static void
dec_warn(struct decompress *d, const char *fmt, ...)
{
    char    msg[400];
    va_list ap;

    if (d->diag == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    report_diag_warn(d->diag, "%s", msg);
}

/* dec_ratio_exceeded - out > max * in, without overflow */
static bool
dec_ratio_exceeded(uint64_t out, uint64_t in, uint64_t max)
{
    if (max != 0 && in > UINT64_MAX / max)
        return false;
    return out > in * max;
}

/* dec_fail_size - the output cap was passed */
static enum ruad_rc
dec_fail_size(struct decompress *d)
{
    return dec_fail(d, RUAD_LIMIT, "decompressed size exceeds %llu bytes",
        (unsigned long long)d->lim->decomp_out_max);
}

/* dec_fail_ratio - the ratio cap was passed */
static enum ruad_rc
dec_fail_ratio(struct decompress *d)
{
    return dec_fail(d, RUAD_LIMIT, "compression ratio exceeds %llu:1",
        (unsigned long long)d->lim->decomp_ratio_max);
}

/* ---- construction ---- */

/* dec_new - zeroed object with no input yet */
static struct decompress *
dec_new(const struct report_limits *lim, struct report_diag *diag)
{
    struct decompress *d = calloc(1, sizeof(*d));

    if (d == NULL)
        return NULL;
    d->lim = lim;
    d->diag = diag;
    d->fd = -1;
    d->fd_start = -1;
    d->fmt = DEC_F_PLAIN;
    d->state = DEC_S_START;
    buf_init(&d->zip.copy, 0);
    zip_error_init(&d->zip.fdsrc.err);
    return d;
}

/* dec_detect - pick the format from the first bytes (magic only) */
static void
dec_detect(struct decompress *d)
{
    const unsigned char *p;
    size_t               n;

    if (dec_pipe_peek(d, &d->src, 4, &n) != RUAD_OK)
        return;
    p = d->src.p + d->src.pos;
    if (dec_is_gzip(p, n))
        d->fmt = DEC_F_GZIP;
    else if (n >= 4 && (memcmp(p, "PK\003\004", 4) == 0 ||
        memcmp(p, "PK\005\006", 4) == 0))
        d->fmt = DEC_F_ZIP;
    else
        d->fmt = DEC_F_PLAIN;
}

/* decompress_new_mem - over borrowed memory; the format is known at once */
struct decompress *
decompress_new_mem(const void *data, size_t len,
    const struct report_limits *lim, struct report_diag *diag)
{
    struct decompress *d = dec_new(lim, diag);

    if (d == NULL)
        return NULL;
    d->src.p = data;
    d->src.len = data != NULL ? len : 0;
    d->src.eof = true;
    dec_detect(d);
    return d;
}

/* decompress_new_fd - over the caller's fd, which we read but never close */
struct decompress *
decompress_new_fd(int fd, const struct report_limits *lim,
    struct report_diag *diag)
{
    struct decompress *d = dec_new(lim, diag);

    if (d == NULL)
        return NULL;
    if ((d->src.store = malloc(DEC_CHUNK)) == NULL) {
        free(d);
        return NULL;
    }
    d->src.p = d->src.store;
    d->fd = fd;
    d->fd_start = lseek(fd, 0, SEEK_CUR);
    dec_detect(d);
    return d;
}

/* dec_gz_end - the one place inflateEnd() is called (curl's exit_zlib) */
static void
dec_gz_end(struct dec_gz *g)
{
    if (g->init) {
        inflateEnd(&g->zs);
        g->init = false;
    }
}

/* decompress_free - close libzip and zlib state (once each), free all */
void
decompress_free(struct decompress *d)
{
    unsigned k;

    if (d == NULL)
        return;
    if (d->zip.zf != NULL)
        zip_fclose(d->zip.zf);
    if (d->zip.za != NULL)
        zip_discard(d->zip.za);        /* frees the source too */
    zip_error_fini(&d->zip.fdsrc.err);
    buf_free(&d->zip.copy);
    for (k = 0; k < DEC_LAYERS; k++) {
        dec_gz_end(&d->gz[k]);
        free(d->mid[k].store);
    }
    free(d->src.store);
    free(d);
}

/* decompress_format - the sniffed format, as a constant string */
const char *
decompress_format(const struct decompress *d)
{
    switch (d->fmt) {
    case DEC_F_GZIP: return "gzip";
    case DEC_F_ZIP:  return "zip";
    case DEC_F_PLAIN: break;
    }
    return "plain";
}

/* ---- pipes ---- */

/* dec_pipe_avail - unread bytes */
static size_t
dec_pipe_avail(const struct dec_pipe *pp)
{
    return pp->len - pp->pos;
}

/* dec_pipe_compact - move unread bytes to the front of an owned chunk */
static void
dec_pipe_compact(struct dec_pipe *pp)
{
    if (pp->store == NULL || pp->pos == 0)
        return;
    memmove(pp->store, pp->store + pp->pos, pp->len - pp->pos);
    pp->len -= pp->pos;
    pp->pos = 0;
}

/*
 * dec_pipe_fill - add bytes to pp, or set pp->eof.  A pipe with unread
 * bytes may be filled too (peek), as long as its chunk is not full.
 */
static enum ruad_rc
dec_pipe_fill(struct decompress *d, struct dec_pipe *pp)
{
    if (pp == &d->src)
        return dec_src_fill(d);
    return dec_gz_produce(d, (unsigned)(pp - d->mid));
}

/* dec_pipe_peek - make at least want bytes readable, unless at the end */
static enum ruad_rc
dec_pipe_peek(struct decompress *d, struct dec_pipe *pp, size_t want,
    size_t *avail)
{
    enum ruad_rc rc;

    while (dec_pipe_avail(pp) < want && !pp->eof)
        if ((rc = dec_pipe_fill(d, pp)) != RUAD_OK)
            return rc;
    *avail = dec_pipe_avail(pp);
    return RUAD_OK;
}

/*
 * dec_pipe_read - hand up to cap bytes of pp to the caller; *got == 0 at
 * its end.  Counts against the output cap.
 */
static enum ruad_rc
dec_pipe_read(struct decompress *d, struct dec_pipe *pp, char *out,
    size_t cap, size_t *got)
{
    enum ruad_rc rc;
    size_t       n;

    while (dec_pipe_avail(pp) == 0) {
        if (pp->eof || cap == 0)
            return RUAD_OK;
        if ((rc = dec_pipe_fill(d, pp)) != RUAD_OK)
            return rc;
    }
    n = dec_pipe_avail(pp);
    if (n > cap)
        n = cap;
    if (n > d->lim->decomp_out_max - d->total)
        return dec_fail_size(d);
    memcpy(out, pp->p + pp->pos, n);
    pp->pos += n;
    d->total += n;
    *got = n;
    return RUAD_OK;
}

/* dec_src_fill - read() the next piece of the fd (EINTR-safe) */
static enum ruad_rc
dec_src_fill(struct decompress *d)
{
    struct dec_pipe *s = &d->src;
    ssize_t          r;
    char             eb[128];

    if (s->eof)
        return RUAD_OK;
    dec_pipe_compact(s);
    if (s->len == DEC_CHUNK)
        return RUAD_OK;
    for (;;) {
        r = read(d->fd, s->store + s->len, DEC_CHUNK - s->len);
        if (r > 0) {
            s->len += (size_t)r;
            return RUAD_OK;
        }
        if (r == 0) {
            s->eof = true;
            return RUAD_OK;
        }
        if (errno != EINTR)
            return dec_fail(d, RUAD_IO, "read: %s",
                strerror_r(errno, eb, sizeof(eb)));
    }
}

/* ---- gzip ---- */

/* dec_is_gzip - the gzip magic (RFC 1952 2.3.1) */
static bool
dec_is_gzip(const unsigned char *p, size_t n)
{
    return n >= 2 && p[0] == 0x1f && p[1] == 0x8b;
}

/* dec_gz_init - inflate state and output pipe for layer k */
static enum ruad_rc
dec_gz_init(struct decompress *d, unsigned k)
{
    struct dec_gz   *g = &d->gz[k];
    struct dec_pipe *out = &d->mid[k];
    int              ret;

    if ((out->store = malloc(DEC_CHUNK)) == NULL)
        return dec_fail(d, RUAD_NOMEM, "out of memory");
    out->p = out->store;
    memset(&g->zs, 0, sizeof(g->zs));
    ret = inflateInit2(&g->zs, 15 + 16);   /* 32K window, gzip only */
    if (ret == Z_MEM_ERROR)
        return dec_fail(d, RUAD_NOMEM, "out of memory");
    if (ret != Z_OK)
        return dec_fail(d, RUAD_INTERNAL, "inflateInit2: %d", ret);
    g->init = true;
    return RUAD_OK;
}

/*
 * dec_gz_start - set up layer 0, then one more layer while the output
 * starts with the gzip magic, up to DECOMP_NEST_MAX.
 */
static enum ruad_rc
dec_gz_start(struct decompress *d)
{
    enum ruad_rc rc;
    size_t       n;
    unsigned     k;

    if ((rc = dec_gz_init(d, 0)) != RUAD_OK)
        return rc;
    d->depth = 1;
    while ((k = d->depth - 1) < DECOMP_NEST_MAX) {
        if ((rc = dec_pipe_peek(d, &d->mid[k], 2, &n)) != RUAD_OK)
            return rc;
        if (!dec_is_gzip(d->mid[k].p + d->mid[k].pos, n))
            break;
        if ((rc = dec_gz_init(d, d->depth)) != RUAD_OK)
            return rc;
        d->depth++;
    }
    return RUAD_OK;
}

/*
 * dec_gz_produce - inflate layer k into its pipe until it holds at least
 * one more byte or the stream ended.
 */
static enum ruad_rc
dec_gz_produce(struct decompress *d, unsigned k)
{
    struct dec_gz   *g = &d->gz[k];
    struct dec_pipe *in = k == 0 ? &d->src : &d->mid[k - 1];
    struct dec_pipe *out = &d->mid[k];
    enum ruad_rc     rc;
    size_t           before;

    if (d->rc != RUAD_OK)
        return d->rc;
    dec_pipe_compact(out);
    before = out->len;
    while (out->len == before && !out->eof && out->len < DEC_CHUNK) {
        if (g->between)
            rc = dec_gz_member_end(d, k);
        else if (dec_pipe_avail(in) > 0)
            rc = dec_gz_inflate(d, k);
        else if (!in->eof)
            rc = dec_pipe_fill(d, in);
        else
            rc = dec_fail(d, RUAD_MALFORMED, "truncated gzip data");
        if (rc != RUAD_OK)
            return rc;
    }
    return RUAD_OK;
}

/* dec_gz_inflate - one inflate() call over what the input pipe holds */
static enum ruad_rc
dec_gz_inflate(struct decompress *d, unsigned k)
{
    struct dec_gz   *g = &d->gz[k];
    struct dec_pipe *in = k == 0 ? &d->src : &d->mid[k - 1];
    struct dec_pipe *out = &d->mid[k];
    size_t           avail = dec_pipe_avail(in);
    uInt             ain, aout;
    size_t           used, made;
    int              ret;

    ain = avail > DEC_IO_MAX ? DEC_IO_MAX : (uInt)avail;
    aout = (uInt)(DEC_CHUNK - out->len);
    g->zs.next_in = in->p + in->pos;
    g->zs.avail_in = ain;
    g->zs.next_out = out->store + out->len;
    g->zs.avail_out = aout;
    ret = inflate(&g->zs, Z_NO_FLUSH);
    used = ain - g->zs.avail_in;
    made = aout - g->zs.avail_out;
    in->pos += used;
    out->len += made;
    g->out += made;
    if (k == 0)
        d->raw_in += used;

    switch (ret) {
    case Z_STREAM_END:
        g->between = true;
        break;
    case Z_OK:
    case Z_BUF_ERROR:
        if (used == 0 && made == 0)    /* cannot happen; never spin */
            return dec_fail(d, RUAD_INTERNAL, "inflate made no progress");
        break;
    case Z_MEM_ERROR:
        return dec_fail(d, RUAD_NOMEM, "out of memory");
    case Z_DATA_ERROR:
        return dec_fail(d, RUAD_MALFORMED, "corrupt gzip data: %s",
            g->zs.msg != NULL ? g->zs.msg : "unknown error");
    case Z_NEED_DICT:
        return dec_fail(d, RUAD_MALFORMED,
            "corrupt gzip data: needs a dictionary");
    default:
        return dec_fail(d, RUAD_INTERNAL, "inflate: %d", ret);
    }
    /* every layer is held to the raw input, so nesting gains nothing */
    if (g->out > d->lim->decomp_out_max)
        return dec_fail_size(d);
    if (g->out > d->lim->decomp_ratio_grace &&
        dec_ratio_exceeded(g->out, d->raw_in, d->lim->decomp_ratio_max))
        return dec_fail_ratio(d);
    return RUAD_OK;
}

/*
 * dec_gz_member_end - after a member: another member follows (like
 * gunzip), or the end, or bytes that are not gzip, which are counted,
 * skipped and reported as a warning.
 */
static enum ruad_rc
dec_gz_member_end(struct decompress *d, unsigned k)
{
    struct dec_gz   *g = &d->gz[k];
    struct dec_pipe *in = k == 0 ? &d->src : &d->mid[k - 1];
    struct dec_pipe *out = &d->mid[k];
    enum ruad_rc     rc;
    uint64_t         junk = 0;
    size_t           n;

    if ((rc = dec_pipe_peek(d, in, 2, &n)) != RUAD_OK)
        return rc;
    g->between = false;
    if (dec_is_gzip(in->p + in->pos, n)) {
        if (inflateReset(&g->zs) != Z_OK)
            return dec_fail(d, RUAD_INTERNAL, "inflateReset failed");
        return RUAD_OK;
    }
    for (;;) {
        junk += dec_pipe_avail(in);
        in->pos = in->len;
        if (in->eof)
            break;
        if ((rc = dec_pipe_fill(d, in)) != RUAD_OK)
            return rc;
    }
    if (junk > 0)
        dec_warn(d, "trailing garbage ignored: %llu bytes after the gzip "
            "data", (unsigned long long)junk);
    out->eof = true;
    return RUAD_OK;
}

/* ---- zip ---- */

/* dec_zipfd_cb - libzip source over a regular file, read with pread() */
static zip_int64_t
dec_zipfd_cb(void *ud, void *data, zip_uint64_t len, zip_source_cmd_t cmd)
{
    struct dec_zipfd *z = ud;
    zip_stat_t       *st;
    zip_int64_t       off;
    ssize_t           r;

    switch (cmd) {
    case ZIP_SOURCE_OPEN:
        z->off = 0;
        return 0;
    case ZIP_SOURCE_READ:
        if (z->off >= z->size)
            return 0;
        if (len > z->size - z->off)
            len = z->size - z->off;
        if (len > DEC_IO_MAX)
            len = DEC_IO_MAX;
        do
            r = pread(z->fd, data, (size_t)len, z->start + (off_t)z->off);
        while (r < 0 && errno == EINTR);
        if (r < 0) {
            zip_error_set(&z->err, ZIP_ER_READ, errno);
            return -1;
        }
        z->off += (uint64_t)r;
        return r;
    case ZIP_SOURCE_CLOSE:
    case ZIP_SOURCE_FREE:              /* z belongs to struct decompress */
        return 0;
    case ZIP_SOURCE_STAT:
        st = ZIP_SOURCE_GET_ARGS(zip_stat_t, data, len, &z->err);
        if (st == NULL)
            return -1;
        zip_stat_init(st);
        st->size = z->size;
        st->valid |= ZIP_STAT_SIZE;
        return sizeof(*st);
    case ZIP_SOURCE_ERROR:
        return zip_error_to_data(&z->err, data, len);
    case ZIP_SOURCE_SEEK:
        off = zip_source_seek_compute_offset(z->off, z->size, data, len,
            &z->err);
        if (off < 0)
            return -1;
        z->off = (uint64_t)off;
        return 0;
    case ZIP_SOURCE_TELL:
        return (zip_int64_t)z->off;
    case ZIP_SOURCE_SUPPORTS:
        return zip_source_make_command_bitmap(ZIP_SOURCE_OPEN,
            ZIP_SOURCE_READ, ZIP_SOURCE_CLOSE, ZIP_SOURCE_STAT,
            ZIP_SOURCE_ERROR, ZIP_SOURCE_FREE, ZIP_SOURCE_SEEK,
            ZIP_SOURCE_TELL, ZIP_SOURCE_SUPPORTS, -1);
    default:
        zip_error_set(&z->err, ZIP_ER_OPNOTSUPP, 0);
        return -1;
    }
}

/* dec_zip_fail - a libzip error as a ruad code; what names the member */
static enum ruad_rc
dec_zip_fail(struct decompress *d, zip_error_t *ze, const char *what)
{
    enum ruad_rc rc;

    switch (zip_error_code_zip(ze)) {
    case ZIP_ER_MEMORY:
        rc = RUAD_NOMEM;
        break;
    case ZIP_ER_NOPASSWD:
    case ZIP_ER_WRONGPASSWD:
    case ZIP_ER_ENCRNOTSUPP:
    case ZIP_ER_COMPNOTSUPP:
        rc = RUAD_UNSUPPORTED;
        break;
    case ZIP_ER_READ:
    case ZIP_ER_SEEK:
    case ZIP_ER_TELL:
        rc = d->fd >= 0 ? RUAD_IO : RUAD_MALFORMED;
        break;
    default:
        rc = RUAD_MALFORMED;
        break;
    }
    if (what != NULL)
        return dec_fail(d, rc, "zip member %s: %s", what,
            zip_error_strerror(ze));
    return dec_fail(d, rc, "zip: %s", zip_error_strerror(ze));
}

/*
 * dec_zip_slurp - a zip on a pipe or socket cannot be seeked: read it
 * whole, capped at lim->decomp_out_max.
 */
static enum ruad_rc
dec_zip_slurp(struct decompress *d)
{
    struct buf  *b = &d->zip.copy;
    enum ruad_rc rc;
    uint64_t     max = d->lim->decomp_out_max;

    buf_init(b, max > SIZE_MAX - 1 ? SIZE_MAX - 1 : (size_t)max);
    for (;;) {
        rc = buf_append(b, d->src.p + d->src.pos, dec_pipe_avail(&d->src));
        if (rc == RUAD_LIMIT)
            return dec_fail(d, RUAD_LIMIT, "zip input exceeds %llu bytes",
                (unsigned long long)max);
        if (rc != RUAD_OK)
            return dec_fail(d, rc, "out of memory");
        d->src.pos = d->src.len;
        if (d->src.eof)
            return RUAD_OK;
        if ((rc = dec_src_fill(d)) != RUAD_OK)
            return rc;
    }
}

/* dec_zip_open - hand the input to libzip */
static enum ruad_rc
dec_zip_open(struct decompress *d)
{
    struct dec_zipfd *z = &d->zip.fdsrc;
    zip_source_t     *zs;
    zip_error_t       ze;
    struct stat       st;
    enum ruad_rc      rc;

    zip_error_init(&ze);
    if (d->fd < 0) {
        zs = zip_source_buffer_create(d->src.p, d->src.len, 0, &ze);
    } else if (d->fd_start >= 0 && fstat(d->fd, &st) == 0 &&
        S_ISREG(st.st_mode)) {
        z->fd = d->fd;
        z->start = d->fd_start;
        z->size = st.st_size > d->fd_start ?
            (uint64_t)(st.st_size - d->fd_start) : 0;
        zs = zip_source_function_create(dec_zipfd_cb, z, &ze);
    } else {
        if ((rc = dec_zip_slurp(d)) != RUAD_OK) {
            zip_error_fini(&ze);
            return rc;
        }
        zs = zip_source_buffer_create(buf_ptr(&d->zip.copy),
            buf_len(&d->zip.copy), 0, &ze);
    }
    if (zs != NULL) {
        d->zip.za = zip_open_from_source(zs, ZIP_RDONLY, &ze);
        if (d->zip.za == NULL)
            zip_source_free(zs);
    }
    rc = d->zip.za != NULL ? RUAD_OK : dec_zip_fail(d, &ze, NULL);
    zip_error_fini(&ze);
    return rc;
}

/* dec_zip_is_report - name ends in .xml or .json, any case */
static bool
dec_zip_is_report(const char *name)
{
    size_t n = strlen(name);

    return (n >= 4 && strcasecmp(name + n - 4, ".xml") == 0) ||
        (n >= 5 && strcasecmp(name + n - 5, ".json") == 0);
}

/* dec_zip_stat - central directory facts of entry i */
static enum ruad_rc
dec_zip_stat(struct decompress *d, zip_int64_t i, zip_stat_t *st)
{
    zip_stat_init(st);
    /* raw bytes: a CP437 guess would hide control bytes from the escape */
    if (zip_stat_index(d->zip.za, (zip_uint64_t)i, ZIP_FL_ENC_RAW, st) != 0)
        return dec_zip_fail(d, zip_get_error(d->zip.za), NULL);
    if ((st->valid & ZIP_STAT_NAME) == 0 || st->name == NULL)
        st->name = "";
    return RUAD_OK;
}

/*
 * dec_zip_scan - judge the whole archive from its central directory
 * before any member is handed out: entry and member counts, encryption,
 * compression methods, declared sizes and ratios.  Skipped entries are
 * named in warnings here, once.
 */
static enum ruad_rc
dec_zip_scan(struct decompress *d)
{
    const struct report_limits *lim = d->lim;
    zip_stat_t                  st;
    zip_int64_t                 i;
    enum ruad_rc                rc;
    unsigned                    members = 0;
    uint64_t                    declared = 0;
    size_t                      nlen;
    char                        esc[DEC_NAME_MAX];

    d->zip.n = zip_get_num_entries(d->zip.za, 0);
    if (d->zip.n < 0)
        return dec_fail(d, RUAD_INTERNAL, "zip: no entry count");
    if (d->zip.n > DECOMP_ZIP_ENTRIES_MAX)
        return dec_fail(d, RUAD_LIMIT, "zip has more than %d entries",
            DECOMP_ZIP_ENTRIES_MAX);
    for (i = 0; i < d->zip.n; i++) {
        if ((rc = dec_zip_stat(d, i, &st)) != RUAD_OK)
            return rc;
        nlen = strlen(st.name);
        log_escape(esc, sizeof(esc), st.name, nlen);
        if (!dec_zip_is_report(st.name)) {
            dec_warn(d, "zip %s %s skipped: not .xml or .json",
                nlen > 0 && st.name[nlen - 1] == '/' ? "directory" :
                "member", esc);
            continue;
        }
        if (++members > lim->zip_members_max)
            return dec_fail(d, RUAD_LIMIT,
                "zip holds more than %u .xml or .json members",
                lim->zip_members_max);
        if ((st.valid & ZIP_STAT_ENCRYPTION_METHOD) &&
            st.encryption_method != ZIP_EM_NONE)
            return dec_fail(d, RUAD_UNSUPPORTED,
                "zip member %s is encrypted", esc);
        if ((st.valid & ZIP_STAT_COMP_METHOD) &&
            st.comp_method != ZIP_CM_STORE &&
            st.comp_method != ZIP_CM_DEFLATE)
            return dec_fail(d, RUAD_UNSUPPORTED,
                "zip member %s: compression method %d not supported",
                esc, (int)st.comp_method);
        if ((st.valid & ZIP_STAT_SIZE) == 0)
            continue;
        if (st.size > lim->decomp_out_max - declared)
            return dec_fail_size(d);
        declared += st.size;
        if ((st.valid & ZIP_STAT_COMP_SIZE) &&
            st.size > lim->decomp_ratio_grace &&
            dec_ratio_exceeded(st.size, st.comp_size,
                lim->decomp_ratio_max))
            return dec_fail_ratio(d);
    }
    if (members == 0)
        return dec_fail(d, RUAD_MALFORMED,
            "zip holds no .xml or .json member");
    return RUAD_OK;
}

/* dec_zip_next - close the member being read, open the next report one */
static enum ruad_rc
dec_zip_next(struct decompress *d, const char **name)
{
    struct dec_zip *z = &d->zip;
    zip_stat_t      st;
    enum ruad_rc    rc;

    if (z->zf != NULL) {
        zip_fclose(z->zf);
        z->zf = NULL;
    }
    for (; z->next < z->n; z->next++) {
        if ((rc = dec_zip_stat(d, z->next, &st)) != RUAD_OK)
            return rc;
        if (!dec_zip_is_report(st.name))
            continue;
        log_escape(d->name, sizeof(d->name), st.name, strlen(st.name));
        z->zf = zip_fopen_index(z->za, (zip_uint64_t)z->next, 0);
        if (z->zf == NULL)
            return dec_zip_fail(d, zip_get_error(z->za), d->name);
        z->next++;
        z->comp = (st.valid & ZIP_STAT_COMP_SIZE) ? st.comp_size : 0;
        z->size_ok = (st.valid & ZIP_STAT_SIZE) != 0;
        z->size = z->size_ok ? st.size : 0;
        z->out = 0;
        *name = d->name;
        return RUAD_OK;
    }
    d->state = DEC_S_END;
    return RUAD_EOF;
}

/*
 * dec_zip_read - the next bytes of the current member.  Never asks libzip
 * for more than one byte past a cap, so a lie in the central directory is
 * caught after DEC_CHUNK bytes at most.
 */
static enum ruad_rc
dec_zip_read(struct decompress *d, char *out, size_t cap, size_t *got)
{
    const struct report_limits *lim = d->lim;
    struct dec_zip             *z = &d->zip;
    zip_int64_t                 n;
    uint64_t                    want = cap < DEC_CHUNK ? cap : DEC_CHUNK;

    if (z->zf == NULL || want == 0)
        return RUAD_OK;
    if (z->size_ok && want > z->size - z->out)
        want = z->size - z->out + 1;
    if (want > lim->decomp_out_max - d->total)
        want = lim->decomp_out_max - d->total + 1;
    n = zip_fread(z->zf, out, want);
    /* while a part is read, its name is the caller's message prefix
     * (parse.c), so it is not repeated here */
    if (n < 0)
        return dec_zip_fail(d, zip_file_get_error(z->zf), NULL);
    z->out += (uint64_t)n;
    if (z->size_ok && z->out > z->size)
        return dec_fail(d, RUAD_MALFORMED,
            "zip member larger than its declared size");
    if ((uint64_t)n > lim->decomp_out_max - d->total)
        return dec_fail_size(d);
    if (z->out > lim->decomp_ratio_grace &&
        dec_ratio_exceeded(z->out, z->comp, lim->decomp_ratio_max))
        return dec_fail_ratio(d);
    d->total += (uint64_t)n;
    *got = (size_t)n;
    return RUAD_OK;
}

/* ---- the API ---- */

/* decompress_next - open the next part (see decompress.h) */
enum ruad_rc
decompress_next(struct decompress *d, const char **name)
{
    enum ruad_rc rc;
    const char  *dummy;

    if (name == NULL)
        name = &dummy;
    *name = NULL;
    if (d->rc != RUAD_OK)
        return d->rc;
    switch (d->state) {
    case DEC_S_START:
        if (d->fmt == DEC_F_ZIP) {
            if ((rc = dec_zip_open(d)) != RUAD_OK ||
                (rc = dec_zip_scan(d)) != RUAD_OK)
                return rc;
            d->state = DEC_S_PART;
            return dec_zip_next(d, name);
        }
        if (dec_pipe_avail(&d->src) == 0 && d->src.eof)
            return dec_fail(d, RUAD_MALFORMED, "empty input");
        if (d->fmt == DEC_F_GZIP && (rc = dec_gz_start(d)) != RUAD_OK)
            return rc;
        d->state = DEC_S_PART;
        return RUAD_OK;
    case DEC_S_PART:
        if (d->fmt == DEC_F_ZIP)
            return dec_zip_next(d, name);
        d->state = DEC_S_END;
        return RUAD_EOF;
    case DEC_S_END:
        break;
    }
    return RUAD_EOF;
}

/* decompress_read - the next bytes of the current part */
enum ruad_rc
decompress_read(struct decompress *d, char *buf, size_t cap, size_t *got)
{
    *got = 0;
    if (d->rc != RUAD_OK)
        return d->rc;
    if (d->state != DEC_S_PART)
        return RUAD_OK;
    switch (d->fmt) {
    case DEC_F_GZIP:
        return dec_pipe_read(d, &d->mid[d->depth - 1], buf, cap, got);
    case DEC_F_ZIP:
        return dec_zip_read(d, buf, cap, got);
    case DEC_F_PLAIN:
        break;
    }
    return dec_pipe_read(d, &d->src, buf, cap, got);
}

/* decompress_read_cb - decompress_read() for a report_read_fn */
enum ruad_rc
decompress_read_cb(void *ctx, char *buf, size_t cap, size_t *got)
{
    return decompress_read(ctx, buf, cap, got);
}
