/*
 * omr_panel: the customer panel's summary (docs/agent-protocol.md#customer-panel),
 * worked out by the daemon from what a view (view.lib) read: the balance as
 * a trend and a word, never the number; the last contact reasons of the
 * earlier conversations; their open promises.
 *
 * It was view.lib's own work until its decoding of every earlier
 * conversation's wrap-up, on Redis' one thread, was a third of a view's time
 * there (docs/architecture.md, "Where the time goes").
 */
#ifndef OMR_PANEL_H
#define OMR_PANEL_H

#include <hiredis/hiredis.h>
#include <jansson.h>

/*
 * balance: the customer's hash field (text, NULL: none);
 * changes: the balance's last changes (JSON texts, newest first: LRANGE of
 *   cust:{c}:engagement 0 4);
 * earlier: the earlier conversations as the view lists them (JSON texts,
 *   newest first, each with its wrap-up as its last member);
 * low: engagement.low, below which the customer is 'at risk'.
 * Returns a new object {trend, standing, reasons, promises}; the caller owns
 * it. On JSON texts it gives what view.lib gave; an entry that is not what
 * it should be is passed over as view.lib passed it over. Text that is no
 * JSON may count where view.lib's decoding refused it (a member beside a
 * wanted one spelled `tru`): the scripts write these texts with cjson.
 */
json_t *omr_panel_new(const char *balance, const redisReply *changes,
		      const redisReply *earlier, long long low);

/* The same, every JSON text decoded whole by jansson: what omr_panel_new
 * must agree with (fuzz_panel, test_model); slower. */
json_t *omr_panel_reference(const char *balance, const redisReply *changes,
			    const redisReply *earlier, long long low);

#endif
