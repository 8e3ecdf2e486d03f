/*
 * rate: how many mails each sender's address had stored in the current
 * window (sender_rate_window), on this node. A sender over sender_rate_max
 * is a mail loop or a flood: its mail is kept, but as automatic, so that
 * it starts no contact. The table is bounded (EM_SENDERS_MAX addresses).
 */
#include <glib.h>

#include "email.h"

struct em_rate {
	long long since;   /* monotonic ms: the window began */
	long long count;
};

#define EM_SENDERS_MAX 100000 /* addresses tracked; expired ones go first */

static gboolean em_rate_expired(gpointer key, gpointer value, gpointer data)
{
	(void)key;
	const long long *cut = data;
	return ((struct em_rate *)value)->since < *cut;
}

/* The count of a sender in the current window (created when count). */
static struct em_rate *em_rate_of(struct em_state *st, const char *addr, int create)
{
	long long now = g_get_monotonic_time() / 1000, window = st->cfg->sender_rate_window;
	if (g_hash_table_size(st->senders) >= EM_SENDERS_MAX) {
		long long cut = now - window;
		g_hash_table_foreach_remove(st->senders, em_rate_expired, &cut);
		if (g_hash_table_size(st->senders) >= EM_SENDERS_MAX)
			g_hash_table_remove_all(st->senders);
	}
	struct em_rate *r = g_hash_table_lookup(st->senders, addr);
	if (!r && create) {
		r = g_new0(struct em_rate, 1);
		g_hash_table_insert(st->senders, g_strdup(addr), r);
	}
	if (r && now - r->since >= window) {
		r->since = now;
		r->count = 0;
	}
	return r;
}

/* A mail loop or a flood: the mail is kept, but as an automatic one. */
int em_rate_exceeded(struct em_state *st, const char *addr)
{
	struct em_rate *r = st->cfg->sender_rate_max ? em_rate_of(st, addr, 0) : NULL;
	return r && r->count >= st->cfg->sender_rate_max;
}

void em_rate_count(struct em_state *st, const char *addr)
{
	if (st->cfg->sender_rate_max && addr)
		em_rate_of(st, addr, 1)->count++;
}

void em_rate_init(struct em_state *st)
{
	st->senders = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
}

void em_rate_deinit(struct em_state *st)
{
	if (st->senders)
		g_hash_table_destroy(st->senders);
	st->senders = NULL;
}
