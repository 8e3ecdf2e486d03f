/*
 * email: the e-mail channel.
 *
 * In: an MTA delivers by LMTP (lmtp.c) to the listener this plugin opens;
 * each message is read with GMime (mime.c) and its attachments written to
 * the state directory on the daemon's worker pool, then threaded and
 * submitted on the loop; the MTA gets 250 for a recipient only once the
 * message is durable in Redis (451 when it could not be stored now or the
 * workers are all busy: the MTA tries again, and ingest recognises the
 * Message-ID; 552 over the size limit; 550 for what is no mail).
 *
 * Threading: a mail joins its conversation by In-Reply-To/References (our
 * own Message-IDs name the thread; a customer's are remembered in the
 * plugin's key-value store), else by the token [#t_...] in the subject,
 * else it starts a thread. A customer who writes again in a thread whose
 * conversation closed less than reopen_within ago reopens it (core).
 *
 * Noise: auto-replies and list mail (Auto-Submitted, X-Autoreply,
 * Precedence, List-Id, the null sender) are stored but not routed;
 * delivery status notifications for our mail mark it failed.
 *
 * Out: an agent's reply becomes a text/plain mail (optionally with HTML)
 * with Message-ID <omr.THREAD.MESSAGE@domain>, In-Reply-To and References
 * of the customer's last mail and the token in the subject, sent by SMTP
 * through libcurl (STARTTLS, auth), retried with backoff on transient
 * failures; the outcome is the message's status.
 *
 * This file is the plugin itself: its descriptor and life (init, start,
 * stop, free) and its metrics; email.h lists the files by job.
 *
 * Set-up (Postfix transport, DNS, TLS): docs/channels/email.md.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>
#include <omniroute/plugin.h>

#include "email.h"
#include "imap.h"
#include "mime.h"

static int em_init(const struct omr_host_api *api, omr_host *host, const void *config,
		   void **state_r, char **err_r)
{
	const struct em_config *cfg = config;
	if (em_check(config, err_r) != OMR_OK)
		return OMR_ERROR;
	em_mime_init();
	struct em_state *st = omr_plugin_calloc(1, sizeof(*st));
	st->api = api;
	st->host = host;
	st->cfg = cfg;
	snprintf(st->domain, sizeof(st->domain), "%s",
		 cfg->domain ? cfg->domain : strchr(cfg->address, '@') + 1);
	if (!api->state_path(host, "attachments/email", st->attach_dir, sizeof(st->attach_dir)) ||
	    g_mkdir_with_parents(st->attach_dir, 0750) < 0) {
		int e = errno;
		free(st);
		return omr_plugin_error(err_r, "cannot create the attachment directory: %s",
					strerror(e));
	}
	struct omr_channel_policy policy = { .reopen_ms = cfg->reopen_within };
	if (api->channel_policy(host, &policy, err_r) != OMR_OK) {
		free(st);
		return OMR_ERROR;
	}
	if (cfg->imap_url && em_imap_glue_new(st, err_r) != OMR_OK) {
		free(st);
		return OMR_ERROR;
	}
	em_rate_init(st);
	*state_r = st;
	return OMR_OK;
}

static int em_start(void *state, char **err_r)
{
	struct em_state *st = state;
	if (st->imap)
		em_imap_start(st->imap);
	return em_lmtpd_start(st, err_r);
}

static void em_stop(void *state)
{
	struct em_state *st = state;
	st->stopping = 1;
	if (st->imap)
		em_imap_stop(st->imap);
	em_lmtpd_stop(st);
}

static void em_metrics(void *state, omr_metrics *m)
{
	struct em_state *st = state;
	const struct omr_host_api *api = st->api;
	unsigned long long fetched = 0;
	int failing = 0;
	api->metric(m, "stored_total", "counter", "mails stored (LMTP and IMAP)", st->stored);
	api->metric(m, "refused_total", "counter",
		    "mails refused for good (too large, no message, no From)", st->refused);
	api->metric(m, "bounces_total", "counter", "bounces that marked a reply failed",
		    st->bounces);
	api->metric(m, "rate_limited_total", "counter",
		    "mails over sender_rate_max, stored as automatic", st->rate_limited);
	api->metric(m, "lmtp_connections", "gauge", "LMTP connections open", st->nconns);
	api->metric(m, "parse_jobs_total", "counter",
		    "mails read on the worker pool (MIME, hashes, attachments written)", st->parse_jobs);
	api->metric(m, "parse_jobs_in_flight", "gauge",
		    "mails handed to the worker pool and not back yet", st->working);
	api->metric(m, "busy_total", "counter",
		    "mails answered 451 because the worker pool's queue was full", st->busy);
	api->metric(m, "sent_total", "counter", "replies the smarthost accepted", st->sent);
	api->metric(m, "send_failed_total", "counter", "replies that failed for good",
		    st->send_failed);
	api->metric(m, "send_retries_total", "counter", "SMTP tries repeated after a transient failure",
		    st->send_retries);
	if (st->imap) {
		em_imap_stats(st->imap, &fetched, &failing);
		api->metric(m, "imap_fetched_total", "counter", "messages fetched by IMAP polling",
			    fetched);
		api->metric(m, "imap_failing", "gauge",
			    "1 while the IMAP server cannot be polled", (unsigned long long)failing);
	}
}

static void em_free(void *state)
{
	struct em_state *st = state;
	if (!st)
		return;
	em_lmtpd_free(st);
	/* mails still being stored (Redis did not answer in time): the host
	 * drops their callbacks once we are gone, so they end here */
	em_job_free_all(st);
	em_imap_free(st->imap);
	em_rate_deinit(st);
	em_smtp_free_all(st);
	free(st);
}

const struct omr_plugin_descriptor omr_plugin = {
	OMR_PLUGIN_DESCRIPTOR_INIT,
	.name = "email",
	.version = "1.0",
	.description = "e-mail: LMTP in (GMime), SMTP out, threading, loop protection",
	.kind = OMR_PLUGIN_CHANNEL,
	.flags = OMR_PLUGIN_FILES | OMR_PLUGIN_CC, /* files: MIME attachments; Cc */
	.config_keys = em_keys,
	.config_size = sizeof(struct em_config),
	.check = em_check,
	.init = em_init,
	.start = em_start,
	.stop = em_stop,
	.free = em_free,
	.send = em_smtp_send,
	.metrics = em_metrics,
};
