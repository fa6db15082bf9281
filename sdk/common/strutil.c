/*
 * String helpers; see strutil.h.
 */
#include <string.h>

#include "strutil.h"

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

void artemisi_trim_range(const char **s, const char **e)
{
    while (*s < *e && is_blank(**s))
        (*s)++;
    while (*e > *s && is_blank((*e)[-1]))
        (*e)--;
}

char *artemisi_trim(char *s)
{
    const char *b = s, *e = s + strlen(s);
    artemisi_trim_range(&b, &e);
    *(char *)e = '\0';
    return (char *)b;
}

int artemisi_port_parse(const char *s, size_t n)
{
    if (n == 0 || n > 5)
        return -1;
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v <= 65535 ? v : -1;
}

int artemisi_hostport_split(const char *s, const char **host, size_t *hostlen, int *port)
{
    const char *h, *hend, *p;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':')
            return -1;
        h = s + 1;
        hend = close;
        p = close + 2;
    } else {
        const char *colon = strchr(s, ':');
        if (!colon || strchr(colon + 1, ':'))
            return -1;
        h = s;
        hend = colon;
        p = colon + 1;
    }
    int v = artemisi_port_parse(p, strlen(p));
    if (hend == h || v < 0)
        return -1;
    *host = h;
    *hostlen = (size_t)(hend - h);
    *port = v;
    return 0;
}
