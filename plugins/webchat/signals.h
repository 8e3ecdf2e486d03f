/*
 * webchat signals (signals.c): typing and seen, both ways.
 */
#ifndef WC_SIGNALS_H
#define WC_SIGNALS_H

#include <stddef.h>

#include <jansson.h>
#include <omniroute/plugin.h>

/* A visitor's "typing" or "seen" frame (type), passed on to the host;
 * typing_at: when this visitor's last typing passed (monotonic ms, 0:
 * never). NULL, or what is wrong with the frame (bad_request). */
const char *wc_signal_in(const struct omr_host_api *api, omr_host *host, const char *visitor,
			 long long *typing_at, const char *type, const json_t *msg);
/* The frame to the visitor for an outbound "typing" or "seen" (new
 * reference), or NULL for another kind. */
json_t *wc_signal_out(const struct omr_outbound *out);

#endif
