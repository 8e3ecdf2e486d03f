/*
 * thread: the index that files a customer's mail in its conversation's
 * thread. Our own Message-IDs name their thread (<omr.THREAD.MESSAGE@domain>);
 * a customer's Message-ID is remembered in the plugin's key-value store
 * (by its SHA-256, for EM_MID_TTL_MS) once the mail is stored, so that an
 * answer to it (In-Reply-To, References) finds the thread on any node; a
 * subject's token [#t_...] is the last resort before a new thread. A
 * conversation we started names its thread by its id (c_...,
 * omr_outreach.c): those are threads too.
 */
#include <stdio.h>
#include <string.h>

#include <glib.h>

#include "email.h"

#define EM_MID_TTL_MS (180LL * 86400 * 1000)   /* how long a Message-ID finds its thread */
#define EM_LOOKUPS_MAX 10                      /* Message-IDs looked up per mail */

void em_sha256_hex(const void *data, size_t len, char out[65])
{
	gchar *s = g_compute_checksum_for_data(G_CHECKSUM_SHA256, data, len);
	snprintf(out, 65, "%s", s);
	g_free(s);
}

/* A thread's name: ours (t_...) or a conversation's id (c_...). */
int em_thread_named(const char *p)
{
	return strncmp(p, EM_THREAD_PREFIX, 2) == 0 || strncmp(p, "c_", 2) == 0;
}

/* Where a subject's token "[#t_...]" or "[#c_...]" begins, or NULL. */
const char *em_token_at(const char *subject)
{
	const char *t = subject ? strstr(subject, "[#" EM_THREAD_PREFIX) : NULL;
	const char *c = subject ? strstr(subject, "[#c_") : NULL;
	return !t ? c : !c ? t : t < c ? t : c;
}

int em_ours(const char *id, char *thread, size_t tlen, char *msg, size_t mlen)
{
	const char *p, *dot, *at;
	if (!id || strncmp(id, "<omr.", 5) != 0)
		return 0;
	p = id + 5;
	dot = strchr(p, '.');
	at = dot ? strchr(dot, '@') : NULL;
	if (!dot || !at || (size_t)(dot - p) >= tlen || (size_t)(at - dot - 1) >= mlen ||
	    !em_thread_named(p))
		return 0;
	memcpy(thread, p, (size_t)(dot - p));
	thread[dot - p] = '\0';
	memcpy(msg, dot + 1, (size_t)(at - dot - 1));
	msg[at - dot - 1] = '\0';
	for (const char *c = thread; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_'))
			return 0;
	return 1;
}

/* The token "[#t_xxxxxxxxxxxx]" (or "[#c_...]") in a subject. */
static int em_subject_token(const char *subject, char *thread, size_t tlen)
{
	const char *p = em_token_at(subject);
	if (!p)
		return 0;
	p += 2;
	size_t n = 0;
	while (p[n] && p[n] != ']' && n < tlen - 1) {
		if (!((p[n] >= 'a' && p[n] <= 'z') || (p[n] >= '0' && p[n] <= '9') || p[n] == '_'))
			return 0;
		n++;
	}
	if (p[n] != ']' || n < 4)
		return 0;
	memcpy(thread, p, n);
	thread[n] = '\0';
	return 1;
}

static void em_new_thread(char *thread, size_t len)
{
	static const char alphabet[] = "0123456789abcdefghjkmnpqrstvwxyz";
	unsigned char rnd[12];
	FILE *f = fopen("/dev/urandom", "rb");
	if (!f || fread(rnd, 1, sizeof(rnd), f) != sizeof(rnd)) {
		for (size_t i = 0; i < sizeof(rnd); i++)
			rnd[i] = (unsigned char)(g_random_int() & 0xff);
	}
	if (f)
		fclose(f);
	size_t o = (size_t)snprintf(thread, len, EM_THREAD_PREFIX);
	for (size_t i = 0; i < sizeof(rnd) && o + 1 < len; i++)
		thread[o++] = alphabet[rnd[i] & 31];
	thread[o] = '\0';
}

/* The index key of a Message-ID: "mid:" and 40 hex digits of its SHA-256. */
static void em_thread_key(const char *message_id, char key[80])
{
	char h[65];
	em_sha256_hex(message_id, strlen(message_id), h);
	snprintf(key, 80, "mid:%.40s", h);
}

static void em_remembered(void *arg, int status)
{
	(void)arg;
	(void)status; /* an index entry: losing one only costs threading by subject */
}

void em_thread_remember(struct em_state *st, const char *message_id, const char *thread)
{
	char key[80];
	em_thread_key(message_id, key);
	st->api->kv_set(st->host, key, thread, strlen(thread), EM_MID_TTL_MS, em_remembered, NULL);
}

static void em_looked_up(void *arg, int status, const char *value, size_t len)
{
	struct em_thread_query *q = arg;
	if (status == OMR_OK && value && len > 2 && len < sizeof(q->thread)) {
		memcpy(q->thread, value, len);
		q->thread[len] = '\0';
		q->found(q);
		return;
	}
	em_thread_find(q);
}

/* The thread: by the Message-IDs the mail answers, then the subject's
 * token, else a new one. */
void em_thread_find(struct em_thread_query *q)
{
	struct em_state *st = q->st;
	char msg[128];
	while (q->next < json_array_size(q->ids) && q->next < EM_LOOKUPS_MAX) {
		const char *id = json_string_value(json_array_get(q->ids, q->next++));
		if (em_ours(id, q->thread, sizeof(q->thread), msg, sizeof(msg))) {
			q->found(q);
			return;
		}
		char key[80];
		em_thread_key(id, key);
		if (st->api->kv_get(st->host, key, em_looked_up, q) == OMR_OK)
			return;
	}
	if (!em_subject_token(q->subject, q->thread, sizeof(q->thread)))
		em_new_thread(q->thread, sizeof(q->thread));
	q->found(q);
}

void em_thread_query_clear(struct em_thread_query *q)
{
	json_decref(q->ids);
	q->ids = NULL;
}
