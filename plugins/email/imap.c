/*
 * imap: see imap.h.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <glib.h>
#include <omniroute/plugin.h>

#include "imap.h"

#define EM_IMAP_RESP_MAX (4u << 20) /* of a STATUS or SEARCH answer */

enum em_imap_step { EM_IMAP_IDLE, EM_IMAP_LOAD, EM_IMAP_STATUS, EM_IMAP_SEARCH, EM_IMAP_FETCH,
		    EM_IMAP_DELIVER };

struct em_imap {
	const struct omr_host_api *api;
	omr_host *host;
	em_imap_deliver deliver;
	void *deliver_arg;
	char *url;              /* the mailbox's URL, without a trailing '/' */
	char *server;           /* scheme://authority/ */
	char *mailbox;          /* decoded name, for STATUS */
	char *user, *password;
	int starttls;
	long long interval_ms, batch, max_size, timeout_ms;
	char key[64];           /* kv key of the position */

	enum em_imap_step step;
	int stopping, loaded, failing;
	omr_timer *timer;
	CURL *easy;
	char errbuf[CURL_ERROR_SIZE];
	GByteArray *buf;        /* the response of the running command */
	int too_big;
	unsigned long long validity, last;  /* the position */
	unsigned long long *todo;           /* UIDs of this round */
	size_t ntodo, next;
	unsigned long long fetching;
	unsigned long long fetched;
	unsigned long long bad_uid;         /* the UID whose FETCH failed last */
	int bad_tries;                      /* in a row */
	int from_start;                     /* no position yet: read what is there */
};

#define EM_IMAP_FETCH_TRIES 3 /* a message that cannot be fetched is skipped after */

/* ---- parsers ---- */

/* Up to 19 decimal digits at s (len bytes) into *v; how many were read. */
static size_t em_imap_digits(const char *s, size_t len, unsigned long long *v)
{
	size_t digits = 0;
	*v = 0;
	while (digits < len && digits < 19 && isdigit((unsigned char)s[digits])) {
		*v = *v * 10 + (unsigned long long)(s[digits] - '0');
		digits++;
	}
	return digits;
}

/* The value after "NAME " in s (case-insensitive), as a number. */
static int em_imap_number_after(const char *s, size_t len, const char *name,
				unsigned long long *out)
{
	size_t n = strlen(name);
	for (size_t i = 0; i + n < len; i++) {
		if (g_ascii_strncasecmp(s + i, name, n) != 0 || s[i + n] != ' ' ||
		    (i > 0 && (isalnum((unsigned char)s[i - 1]))))
			continue;
		size_t j = i + n + 1;
		unsigned long long v;
		size_t digits = em_imap_digits(s + j, len - j, &v);
		j += digits;
		if (digits == 0 || (j < len && isdigit((unsigned char)s[j])))
			return -1;
		*out = v;
		return 0;
	}
	return -1;
}

int em_imap_parse_status(const char *resp, size_t len, unsigned long long *validity,
			 unsigned long long *uidnext)
{
	size_t i = 0;
	while (i + 9 <= len && g_ascii_strncasecmp(resp + i, "* STATUS ", 9) != 0) {
		while (i < len && resp[i] != '\n')
			i++;
		i++;
	}
	if (i + 9 > len)
		return -1;
	i += 9;
	/* the mailbox: "quoted", a literal {n}CRLF followed by n bytes, or an atom */
	if (i < len && resp[i] == '"') {
		for (i++; i < len && resp[i] != '"'; i++)
			if (resp[i] == '\\')
				i++;
		i++;
	} else if (i < len && resp[i] == '{') {
		unsigned long long n;
		i++;
		size_t digits = em_imap_digits(resp + i, len - i < 9 ? len - i : 9, &n);
		i += digits;
		if (!digits || i + 3 > len || memcmp(resp + i, "}\r\n", 3) != 0 || n > len - i - 3)
			return -1;
		i += 3 + (size_t)n;
	} else {
		while (i < len && resp[i] != ' ' && resp[i] != '\r' && resp[i] != '\n')
			i++;
	}
	while (i < len && resp[i] == ' ')
		i++;
	if (i >= len || resp[i] != '(')
		return -1;
	size_t end = i;
	while (end < len && resp[end] != ')' && resp[end] != '\n')
		end++;
	if (em_imap_number_after(resp + i, end - i, "UIDVALIDITY", validity) < 0 ||
	    em_imap_number_after(resp + i, end - i, "UIDNEXT", uidnext) < 0)
		return -1;
	return 0;
}

static int em_imap_cmp(const void *a, const void *b)
{
	unsigned long long x = *(const unsigned long long *)a, y = *(const unsigned long long *)b;
	return x < y ? -1 : x > y;
}

size_t em_imap_parse_search(const char *resp, size_t len, unsigned long long after,
			    unsigned long long *uids, size_t max)
{
	size_t n = 0, cap = 0;
	unsigned long long *all = NULL;
	size_t i = 0;
	while (i < len) {
		/* one line */
		size_t end = i;
		while (end < len && resp[end] != '\n')
			end++;
		if (end - i >= 8 && g_ascii_strncasecmp(resp + i, "* SEARCH", 8) == 0) {
			size_t j = i + 8;
			while (j < end) {
				while (j < end && (resp[j] == ' ' || resp[j] == '\r'))
					j++;
				unsigned long long v;
				size_t digits = em_imap_digits(resp + j, end - j, &v);
				j += digits;
				if (!digits || (j < end && resp[j] != ' ' && resp[j] != '\r'))
					break; /* "(MODSEQ ...)" or garbage: the numbers end */
				if (v > after && v <= 0xffffffffULL) {
					if (n == cap) {
						cap = cap ? cap * 2 : 64;
						all = g_realloc_n(all, cap, sizeof(*all));
					}
					all[n++] = v;
				}
			}
		}
		i = end + 1;
	}
	if (!n) {
		g_free(all);
		return 0;
	}
	qsort(all, n, sizeof(*all), em_imap_cmp);
	size_t out = 0;
	for (size_t k = 0; k < n && out < max; k++)
		if (k == 0 || all[k] != all[k - 1])
			uids[out++] = all[k];
	g_free(all);
	return out;
}

int em_imap_url_check(const char *url, char **err_r)
{
	const char *p;
	if (g_str_has_prefix(url, "imap://"))
		p = url + 7;
	else if (g_str_has_prefix(url, "imaps://"))
		p = url + 8;
	else
		return omr_plugin_error(err_r, "imap_url: imap://host[:port]/MAILBOX or imaps://...");
	const char *slash = strchr(p, '/');
	if (!slash || slash == p || !slash[1] || slash[1] == '/' || slash[1] == ';')
		return omr_plugin_error(err_r, "imap_url: the mailbox is missing (imap://host/INBOX)");
	for (const char *c = url; *c; c++)
		if ((unsigned char)*c <= ' ' || *c == '"' || *c == '\\' || *c == 0x7f)
			return omr_plugin_error(err_r, "imap_url: no spaces, quotes or control "
						       "characters (escape them as %%XX)");
	if (strchr(slash, ';') || strchr(slash, '?') || strchr(p, '@'))
		return omr_plugin_error(err_r, "imap_url: only a mailbox, no ;UID=, query or "
					       "user@ (use imap_user, imap_password)");
	if (strlen(url) > 1000)
		return omr_plugin_error(err_r, "imap_url: at most 1000 characters");
	return 0;
}

/* ---- the poller ---- */

static void em_imap_round_end(struct em_imap *im, const char *failure);
static void em_imap_status(struct em_imap *im);
static void em_imap_fetch_next(struct em_imap *im);

static size_t em_imap_write(char *data, size_t size, size_t n, void *arg)
{
	struct em_imap *im = arg;
	size_t len = size * n;
	size_t cap = im->step == EM_IMAP_FETCH ? (size_t)im->max_size : EM_IMAP_RESP_MAX;
	if (im->buf->len + len > cap) {
		im->too_big = 1;
		size_t room = cap - im->buf->len;
		g_byte_array_append(im->buf, (const guint8 *)data, (guint)room);
		return 0; /* ends the transfer */
	}
	g_byte_array_append(im->buf, (const guint8 *)data, (guint)len);
	return len;
}

/* A transfer of the poller's current step; done gets the curl code. */
static int em_imap_transfer(struct em_imap *im, const char *url, const char *custom,
			    void (*done)(void *arg, int code, long status))
{
	if (im->easy)
		curl_easy_cleanup(im->easy);
	im->easy = curl_easy_init();
	if (!im->easy)
		return -1;
	g_byte_array_set_size(im->buf, 0);
	im->too_big = 0;
	im->errbuf[0] = '\0';
	curl_easy_setopt(im->easy, CURLOPT_URL, url);
	if (custom)
		curl_easy_setopt(im->easy, CURLOPT_CUSTOMREQUEST, custom);
	if (im->user)
		curl_easy_setopt(im->easy, CURLOPT_USERNAME, im->user);
	if (im->password)
		curl_easy_setopt(im->easy, CURLOPT_PASSWORD, im->password);
	if (im->starttls && g_str_has_prefix(im->url, "imap://"))
		curl_easy_setopt(im->easy, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
	curl_easy_setopt(im->easy, CURLOPT_WRITEFUNCTION, em_imap_write);
	curl_easy_setopt(im->easy, CURLOPT_WRITEDATA, im);
	curl_easy_setopt(im->easy, CURLOPT_ERRORBUFFER, im->errbuf);
	curl_easy_setopt(im->easy, CURLOPT_TIMEOUT_MS, (long)im->timeout_ms);
	curl_easy_setopt(im->easy, CURLOPT_NOSIGNAL, 1L);
	/* A session that has the mailbox selected sees it as it was then
	 * (STATUS too): each round begins on a new connection, and the steps
	 * of a round (back to back) share one; connections idle for half an
	 * interval are not taken again. */
	curl_easy_setopt(im->easy, CURLOPT_MAXAGE_CONN, (long)(im->interval_ms / 2000));
	if (im->step == EM_IMAP_STATUS)
		curl_easy_setopt(im->easy, CURLOPT_FRESH_CONNECT, 1L);
	if (im->api->transfer(im->host, im->easy, done, im) != OMR_OK)
		return -1;
	return 0;
}

static const char *em_imap_why(struct em_imap *im, int code, char *buf, size_t len)
{
	snprintf(buf, len, "%s", im->errbuf[0] ? im->errbuf : curl_easy_strerror((CURLcode)code));
	return buf;
}

static void em_imap_saved(void *arg, int status)
{
	(void)arg;
	(void)status; /* lost: the next start fetches again; ingest knows the messages */
}

static void em_imap_save(struct em_imap *im)
{
	char v[64];
	int n = snprintf(v, sizeof(v), "%llu:%llu", im->validity, im->last);
	im->api->kv_set(im->host, im->key, v, (size_t)n, 0, em_imap_saved, NULL);
}

/* The round is over (failure: why, or NULL); the next one after interval. */
static void em_imap_round_end(struct em_imap *im, const char *failure)
{
	im->step = EM_IMAP_IDLE;
	g_free(im->todo);
	im->todo = NULL;
	im->ntodo = im->next = 0;
	if (failure && !im->failing)
		im->api->log(im->host, OMR_LOG_WARN, "IMAP %s: %s; trying again every %lld ms",
			     im->url, failure, im->interval_ms);
	else if (!failure && im->failing)
		im->api->log(im->host, OMR_LOG_INFO, "IMAP %s: reachable again", im->url);
	im->failing = failure != NULL;
	if (!im->stopping)
		im->api->timer_start(im->timer, (uint64_t)im->interval_ms, 0);
}

static void em_imap_delivered(void *darg, const char *reply)
{
	struct em_imap *im = darg;
	if (reply[0] == '4' && im->stopping) {
		im->step = EM_IMAP_IDLE; /* not taken: this UID again after the restart */
		return;
	}
	if (reply[0] == '4') {
		/* not stored now: this UID again next round */
		em_imap_round_end(im, reply);
		return;
	}
	if (reply[0] != '2')
		im->api->log(im->host, OMR_LOG_WARN, "IMAP %s: message UID %llu refused: %s",
			     im->url, im->fetching, reply);
	im->last = im->fetching;
	em_imap_save(im);
	if (im->stopping) {
		im->step = EM_IMAP_IDLE;
		return;
	}
	em_imap_fetch_next(im);
}

/* In a transfer's done callback: 1 when the round goes no further (the
 * poller stops, or the command failed; a cut answer is fine when cut_ok). */
static int em_imap_ended(struct em_imap *im, int code, int cut_ok)
{
	char why[CURL_ERROR_SIZE + 64];
	if (im->stopping) {
		im->step = EM_IMAP_IDLE;
		return 1;
	}
	if (code != CURLE_OK && !(cut_ok && im->too_big)) {
		em_imap_round_end(im, em_imap_why(im, code, why, sizeof(why)));
		return 1;
	}
	return 0;
}

static void em_imap_fetched(void *arg, int code, long status)
{
	struct em_imap *im = arg;
	char why[CURL_ERROR_SIZE + 64];
	(void)status;
	if (!im->stopping && code != CURLE_OK && !im->too_big) {
		/* one message the server will not give (damaged, too slow to
		 * come): after a few rounds it is skipped, not the mailbox */
		im->bad_tries = im->bad_uid == im->fetching ? im->bad_tries + 1 : 1;
		im->bad_uid = im->fetching;
		if (im->bad_tries >= EM_IMAP_FETCH_TRIES) {
			im->api->log(im->host, OMR_LOG_ERROR,
				     "IMAP %s: message UID %llu could not be fetched %d times (%s): "
				     "skipped, left in the mailbox", im->url, im->fetching,
				     im->bad_tries, em_imap_why(im, code, why, sizeof(why)));
			im->last = im->fetching;
			em_imap_save(im);
			em_imap_fetch_next(im);
			return;
		}
	}
	if (em_imap_ended(im, code, 1))
		return;
	im->step = EM_IMAP_DELIVER;
	im->fetched++;
	/* the message goes to deliver whole, without a copy; the next
	 * command gets a new buffer */
	size_t len = im->buf->len;
	char *data = (char *)g_byte_array_free(im->buf, FALSE);
	im->buf = g_byte_array_new();
	/* deliver may answer at once: nothing of im is used after it */
	im->deliver(im->deliver_arg, data, len, im->too_big, em_imap_delivered, im);
}

static void em_imap_fetch_next(struct em_imap *im)
{
	char url[1200];
	if (im->next >= im->ntodo) {
		em_imap_round_end(im, NULL);
		return;
	}
	im->fetching = im->todo[im->next++];
	im->step = EM_IMAP_FETCH;
	snprintf(url, sizeof(url), "%s/;UID=%llu", im->url, im->fetching);
	if (em_imap_transfer(im, url, NULL, em_imap_fetched) < 0)
		em_imap_round_end(im, "cannot start a transfer");
}

static void em_imap_searched(void *arg, int code, long status)
{
	struct em_imap *im = arg;
	(void)status;
	if (em_imap_ended(im, code, 1))
		return;
	if (im->too_big) {
		/* the answer was cut: its last number may be cut too */
		while (im->buf->len && im->buf->data[im->buf->len - 1] != ' ')
			g_byte_array_set_size(im->buf, im->buf->len - 1);
	}
	im->todo = g_new(unsigned long long, (gsize)im->batch);
	im->ntodo = em_imap_parse_search((const char *)im->buf->data, im->buf->len, im->last,
					 im->todo, (size_t)im->batch);
	im->next = 0;
	im->api->log(im->host, OMR_LOG_DEBUG, "IMAP %s: %zu new message(s) to fetch", im->url,
		     im->ntodo);
	em_imap_fetch_next(im);
}

static void em_imap_statused(void *arg, int code, long status)
{
	struct em_imap *im = arg;
	char cmd[80];
	unsigned long long validity = 0, uidnext = 0;
	(void)status;
	if (em_imap_ended(im, code, 0))
		return;
	if (em_imap_parse_status((const char *)im->buf->data, im->buf->len, &validity,
				 &uidnext) < 0) {
		em_imap_round_end(im, "the server's STATUS answer has no UIDVALIDITY/UIDNEXT");
		return;
	}
	if (validity != im->validity) {
		if (im->validity) {
			im->api->log(im->host, OMR_LOG_WARN,
				     "IMAP %s: UIDVALIDITY changed (%llu -> %llu): reading the "
				     "mailbox again; messages already stored are recognised",
				     im->url, im->validity, validity);
			im->last = 0;
		} else if (!im->from_start && uidnext > 1) {
			/* the first poll of this mailbox: what is there already is
			 * the past (imap_from_start reads it) */
			im->api->log(im->host, OMR_LOG_INFO,
				     "IMAP %s: first poll; messages up to UID %llu were there "
				     "before and are left alone", im->url, uidnext - 1);
			im->last = uidnext - 1;
		} else {
			im->last = 0;
		}
		im->validity = validity;
		em_imap_save(im);
	}
	im->api->log(im->host, OMR_LOG_DEBUG, "IMAP %s: UIDVALIDITY %llu, UIDNEXT %llu, taken %llu",
		     im->url, validity, uidnext, im->last);
	if (uidnext <= im->last + 1) {
		em_imap_round_end(im, NULL); /* nothing new */
		return;
	}
	im->step = EM_IMAP_SEARCH;
	snprintf(cmd, sizeof(cmd), "UID SEARCH UID %llu:*", im->last + 1);
	if (em_imap_transfer(im, im->url, cmd, em_imap_searched) < 0)
		em_imap_round_end(im, "cannot start a transfer");
}

static void em_imap_status(struct em_imap *im)
{
	GString *cmd = g_string_new("STATUS \"");
	for (const char *c = im->mailbox; *c; c++) {
		if (*c == '"' || *c == '\\')
			g_string_append_c(cmd, '\\');
		g_string_append_c(cmd, *c);
	}
	g_string_append(cmd, "\" (UIDVALIDITY UIDNEXT)");
	im->step = EM_IMAP_STATUS;
	int rc = em_imap_transfer(im, im->server, cmd->str, em_imap_statused);
	g_string_free(cmd, TRUE);
	if (rc < 0)
		em_imap_round_end(im, "cannot start a transfer");
}

static void em_imap_loaded(void *arg, int status, const char *value, size_t len)
{
	struct em_imap *im = arg;
	im->step = EM_IMAP_IDLE;
	if (status != OMR_OK) {
		em_imap_round_end(im, "Redis unavailable: the position is unknown");
		return;
	}
	im->loaded = 1;
	if (value && len < 64) {
		char v[64];
		memcpy(v, value, len);
		v[len] = '\0';
		if (sscanf(v, "%llu:%llu", &im->validity, &im->last) != 2)
			im->validity = im->last = 0;
	}
	if (im->stopping)
		return;
	em_imap_status(im);
}

static void em_imap_begin(void *arg)
{
	struct em_imap *im = arg;
	if (im->stopping || im->step != EM_IMAP_IDLE)
		return;
	if (im->loaded) {
		em_imap_status(im);
		return;
	}
	im->step = EM_IMAP_LOAD;
	if (im->api->kv_get(im->host, im->key, em_imap_loaded, im) != OMR_OK)
		em_imap_round_end(im, "cannot read the position");
}

struct em_imap *em_imap_new(const struct omr_host_api *api, omr_host *host,
			    const struct em_imap_config *cfg, em_imap_deliver deliver, void *arg,
			    char **err_r)
{
	if (em_imap_url_check(cfg->url, err_r) < 0)
		return NULL;
	struct em_imap *im = omr_plugin_calloc(1, sizeof(*im));
	im->api = api;
	im->host = host;
	im->deliver = deliver;
	im->deliver_arg = arg;
	im->url = omr_plugin_strdup(cfg->url);
	size_t n = strlen(im->url);
	while (n && im->url[n - 1] == '/')
		im->url[--n] = '\0';
	const char *auth = strstr(im->url, "://") + 3;
	const char *slash = strchr(auth, '/');
	im->server = g_strndup(im->url, (gsize)(slash - im->url + 1));
	char *dec = curl_easy_unescape(NULL, slash + 1, 0, NULL);
	im->mailbox = omr_plugin_strdup(dec ? dec : slash + 1);
	curl_free(dec);
	im->user = cfg->user ? omr_plugin_strdup(cfg->user) : NULL;
	im->password = cfg->password ? omr_plugin_strdup(cfg->password) : NULL;
	im->starttls = cfg->starttls;
	im->interval_ms = cfg->interval_ms;
	im->batch = cfg->batch > 0 ? cfg->batch : 1;
	im->max_size = cfg->max_size;
	im->timeout_ms = cfg->timeout_ms;
	im->from_start = cfg->from_start;
	im->buf = g_byte_array_new();
	/* the position belongs to the mailbox and the account reading it */
	GChecksum *sum = g_checksum_new(G_CHECKSUM_SHA256);
	g_checksum_update(sum, (const guchar *)im->url, -1);
	g_checksum_update(sum, (const guchar *)"\n", 1);
	g_checksum_update(sum, (const guchar *)(im->user ? im->user : ""), -1);
	snprintf(im->key, sizeof(im->key), "imap:%.40s", g_checksum_get_string(sum));
	g_checksum_free(sum);
	im->timer = api->timer_new(host, em_imap_begin, im);
	return im;
}

void em_imap_start(struct em_imap *im)
{
	im->api->log(im->host, OMR_LOG_INFO, "IMAP: polling %s every %lld ms", im->url,
		     im->interval_ms);
	im->api->timer_start(im->timer, 1, 0);
}

void em_imap_stats(const struct em_imap *im, unsigned long long *fetched, int *failing)
{
	*fetched = im->fetched;
	*failing = im->failing;
}

void em_imap_stop(struct em_imap *im)
{
	im->stopping = 1;
	im->api->timer_stop(im->timer);
}

void em_imap_free(struct em_imap *im)
{
	if (!im)
		return;
	im->api->timer_free(im->timer);
	if (im->easy)
		curl_easy_cleanup(im->easy);
	g_byte_array_unref(im->buf);
	g_free(im->todo);
	free(im->url);
	g_free(im->server);
	free(im->mailbox);
	free(im->user);
	if (im->password) {
		memset(im->password, 0, strlen(im->password));
		free(im->password);
	}
	free(im);
}
