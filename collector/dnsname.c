/*
 * dnsname.c - domain names: what DNS can carry and how a host name is
 * written (dnsname.h).
 */
#include "dnsname.h"

#include <ctype.h>

const char *
dnsname_check(const char *name, size_t len)
{
    size_t l = 0, i;

    if (len > 253)
        return "a name over 253 octets";
    for (i = 0; i <= len; i++) {
        if (i < len && name[i] != '.') {
            l++;
            continue;
        }
        if (l == 0)
            return "an empty label";
        if (l > 63)
            return "a label over 63 octets";
        l = 0;
    }
    return NULL;
}

bool
dnsname_host(const char *s, size_t len, bool underscore)
{
    size_t i, lab = 0, labels = 1;

    if (len == 0 || len > 253)
        return false;
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c == '.') {
            if (lab == 0 || s[i - 1] == '-')
                return false;
            lab = 0;
            labels++;
            continue;
        }
        if (!(isalnum(c) || c == '-' || (underscore && c == '_')) ||
            lab == 63 || (lab == 0 && c == '-'))
            return false;
        lab++;
    }
    return lab > 0 && s[len - 1] != '-' && labels >= 2;
}
