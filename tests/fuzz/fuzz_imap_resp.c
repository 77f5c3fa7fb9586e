/*
 * fuzz_imap_resp.c - libFuzzer target for the IMAP response readers
 * (imap_resp.c): STATUS, the streaming FETCH listing, and imap_quote().
 *
 * The first byte picks the batch size (1..16) and the chunking of the
 * listing (libcurl hands it over in pieces of any size); the rest is the
 * server's text.  After each input the listing's contract is checked:
 * at most max entries, sorted, no repeats, none below min_uid.
 * Seeds: tests/fuzz/corpus/imap_resp/ (hand-written server answers).
 *
 * SECURITY: this is the whole of what ruad reads from an IMAP server
 * outside libcurl; a crash, leak or undefined behaviour here is a remote
 * bug (a hostile or compromised mail server).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap_resp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* LLVMFuzzerTestOneInput - run every reader on one input, check, free */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct imap_list list;       /* 8 KiB line: not on the stack */
    struct imap_status      st;
    struct imap_msg         msgs[16];
    size_t                  max, chunk, off, i;
    char                   *s, q[128];

    if (size < 1)
        return 0;
    max = (size_t)(data[0] & 15) + 1;
    chunk = (size_t)(data[0] >> 4) * 7 + 1;
    data++;
    size--;

    (void)imap_resp_status((const char *)data, size, &st);

    imap_list_init(&list, msgs, max, 3);
    for (off = 0; off < size; off += chunk)
        imap_list_feed(&list, (const char *)data + off,
            size - off < chunk ? size - off : chunk);
    imap_list_finish(&list);
    if (list.n > max)
        abort();
    for (i = 0; i < list.n; i++)
        if (list.msgs[i].uid < 3 ||
            (i > 0 && list.msgs[i].uid <= list.msgs[i - 1].uid))
            abort();

    if ((s = malloc(size + 1)) == NULL)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    if (imap_quote(s, q, sizeof(q)) && (q[0] != '"' ||
        q[strlen(q) - 1] != '"' || strpbrk(q, "\r\n") != NULL))
        abort();
    free(s);
    return 0;
}
