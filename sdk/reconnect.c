/* Reconnect state of the SDK's WebSocket sessions; see reconnect.h. */
#include <stdio.h>

#include "reconnect.h"
#include "wsclient.h"

int64_t artemisi_backoff_next(int64_t prev_ms)
{
    int64_t ms = prev_ms ? prev_ms * 2 : ARTEMISI_BACKOFF_MIN_MS;
    return ms > ARTEMISI_BACKOFF_MAX_MS ? ARTEMISI_BACKOFF_MAX_MS : ms;
}

int artemisi_reconnect_due(const artemisi_reconnect_t *r, int64_t now)
{
    return now >= r->next_try_ms;
}

const char *artemisi_reconnect_begin(artemisi_reconnect_t *r, const char *base)
{
    snprintf(r->base, sizeof(r->base), "%s", base);
    return r->base;
}

void artemisi_reconnect_opened(artemisi_reconnect_t *r, int64_t now)
{
    r->backoff_ms = 0;
    r->last_alive_ms = now;
}

void artemisi_reconnect_alive(artemisi_reconnect_t *r, int64_t now)
{
    r->last_alive_ms = now;
}

int artemisi_reconnect_silent(const artemisi_reconnect_t *r, int64_t now, int64_t limit_ms)
{
    return now - r->last_alive_ms > limit_ms;
}

int artemisi_reconnect_closed(artemisi_reconnect_t *r, int code, int64_t now,
                              artemisi_jitter_fn jitter)
{
    r->backoff_ms = artemisi_backoff_next(r->backoff_ms);
    r->next_try_ms = now + (jitter ? jitter(r->backoff_ms) : r->backoff_ms);
    /* Connect, DNS and handshake failures and timeouts are reported as a broken connection
     * too (wsclient.h), so they move to the next server; a close frame came from a server that
     * works. */
    return code == ARTEMISI_WSC_ABNORMAL;
}
