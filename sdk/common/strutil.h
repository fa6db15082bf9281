/*
 * Small string helpers every component needs, written once: trimming and the host:port
 * form of addresses. Pure: no I/O, no allocation.
 * Thread-safety: none needed (no state).
 */
#ifndef ARTEMIS_SDK_STRUTIL_H
#define ARTEMIS_SDK_STRUTIL_H

#include <stddef.h>

/* Narrow [*s, *e) past blanks (space, tab, CR, LF) at both ends. */
void artemisi_trim_range(const char **s, const char **e);
/* Trim a NUL-terminated string in place: returns its first non-blank character and cuts the
 * trailing blanks. */
char *artemisi_trim(char *s);

/* A decimal TCP port s[0..n): 1..5 digits, 0..65535. Returns it, or -1. */
int artemisi_port_parse(const char *s, size_t n);

/* Split "host:port" or "[v6-literal]:port" (the port required). On success returns 0 with
 * *host / *hostlen naming the host inside s (without the brackets) and *port set; the
 * caller decides what a host may be (address literal, name). Returns -1 when the form is
 * wrong: no port, an empty host, an unbracketed host with a ':' in it. */
int artemisi_hostport_split(const char *s, const char **host, size_t *hostlen, int *port);

#endif
