/*
 * imap_glue: the mailbox polled over IMAP (imap.c), set up from the
 * plugin's configuration; every message the poller fetches becomes an
 * inbound job, whose answer tells the poller whether to move past it.
 */
#include <omniroute/plugin.h>

#include "email.h"
#include "imap.h"

static void em_imap_message(void *arg, char *data, size_t len, int too_big,
			    em_imap_done done, void *darg)
{
	struct em_state *st = arg;
	/* no envelope: the Return-Path the delivering MTA wrote stands for it;
	 * the job answers the poller directly (the same kind of callback) */
	em_job_run(em_job_new(st, NULL, st->cfg->address, done, darg), data, len, too_big);
}

int em_imap_glue_new(struct em_state *st, char **err_r)
{
	const struct em_config *cfg = st->cfg;
	struct em_imap_config ic = {
		.url = cfg->imap_url,
		.user = cfg->imap_user,
		.password = cfg->imap_password,
		.starttls = cfg->imap_starttls,
		.interval_ms = cfg->imap_interval,
		.batch = cfg->imap_batch,
		.max_size = cfg->max_size,
		.timeout_ms = cfg->send_timeout,
		.from_start = cfg->imap_from_start,
	};
	st->imap = em_imap_new(st->api, st->host, &ic, em_imap_message, st, err_r);
	return st->imap ? OMR_OK : OMR_ERROR;
}
