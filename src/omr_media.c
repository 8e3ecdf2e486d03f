/* omr_media: see omr_media.h. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "omr_config.h"
#include "omr_curl.h"
#include "omr_log.h"
#include "omr_media.h"
#include "omr_mediafile.h"
#include "omr_util.h"
#include "omr_worker.h"
#include <omniroute/plugin.h>

#define OMR_MEDIA_LOOKUP_MAX (64 * 1024) /* a lookup answer is a small JSON */
#define OMR_MEDIA_RETRY_MS 1000          /* first delay; doubles */

struct omr_media {
	struct omr_env env;
	struct omr_curl *curl;
	struct omr_worker *jobs;
	char *root;
	struct omr_dlist fetches; /* under way, newest first (for stop) */
	int stopping;
	unsigned long long fetched, refused, failed;
};

/* One fetch of a whole list: done when its last attachment is. */
struct omr_fetch_group {
	struct omr_media *m;
	int left;
	int cancelled;
	omr_media_done done;
	void *arg;
};

/* One attachment being fetched. */
struct omr_fetch {
	struct omr_dlink link; /* in m->fetches */
	struct omr_fetch_group *g;
	json_t *att;          /* borrowed from the group's list */
	char *channel;
	char *url;
	char *auth;           /* "Authorization: Bearer ..." or NULL */
	int lookup;           /* the url answers {"url"} first */
	int tries;
	long long max;        /* media.max_bytes when it started */
	CURL *easy;
	struct curl_slist *headers;
	struct omr_buf body;
	int too_big;
	char errbuf[CURL_ERROR_SIZE];
	struct event *retry;
};

struct omr_media *omr_media_new(const struct omr_env *env, struct omr_curl *curl,
				struct omr_worker *jobs, const char *root)
{
	struct omr_media *m = omr_calloc(1, sizeof(*m));
	m->env = *env;
	m->curl = curl;
	m->jobs = jobs;
	m->root = omr_strdup(root);
	return m;
}

void omr_media_free(struct omr_media *m)
{
	if (!m)
		return;
	omr_media_stop(m);
	free(m->root);
	free(m);
}

void omr_media_metrics(const struct omr_media *m, struct omr_buf *b)
{
	omr_metric(b, "media_fetched_total", "counter",
		   "customers' media files downloaded and kept", m->fetched);
	omr_metric(b, "media_refused_total", "counter",
		   "media files refused (too large, empty, a type not taken)", m->refused);
	omr_metric(b, "media_fetch_failed_total", "counter",
		   "media downloads that failed after every try (kept as unavailable)", m->failed);
}

int omr_media_wanted(const json_t *attachments)
{
	size_t i;
	json_t *a;
	json_array_foreach(attachments, i, a)
		if (json_is_object(json_object_get(a, "fetch")))
			return 1;
	return 0;
}

const char *omr_media_check(char *const *types, long long max_bytes, const unsigned char *data,
			    size_t len, const char **type_r, char **message_r)
{
	const char *type = omr_mediafile_sniff(data, len);
	*type_r = type;
	*message_r = NULL;
	if (len == 0) {
		*message_r = omr_strdup("attachment refused: the file is empty");
		return "empty";
	}
	if ((long long)len > max_bytes) {
		*message_r = omr_asprintf("attachment refused: too large (%zu bytes, at most %lld)",
					  len, max_bytes);
		return "too_large";
	}
	if (!type || !omr_mediafile_allowed(types, type)) {
		*message_r = omr_asprintf("attachment refused: type %s is not taken",
					  type ? type : "unknown");
		return "type";
	}
	return NULL;
}

/* ---- keeping a file (worker) ---- */

struct omr_keep {
	struct omr_media *m;
	char dir[4200];
	char sha[65];
	unsigned char *data;
	size_t len;
	int rc, err;
	/* what it is for: a fetched attachment, or an agent's file */
	struct omr_fetch *f;
	omr_media_kept cb;
	void *arg;
	json_t *att;
};

static void omr_keep_work(void *arg)
{
	struct omr_keep *k = arg;
	unsigned char d[32];
	if (!EVP_Digest(k->data, k->len, d, NULL, EVP_sha256(), NULL)) {
		k->rc = -1;
		k->err = EIO;
		return;
	}
	omr_hex(d, sizeof(d), k->sha);
	/* each directory down to the channel's (mkdir -p) */
	for (char *p = k->dir + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;
		*p = '\0';
		int made = mkdir(k->dir, 0750) == 0 || errno == EEXIST;
		*p = c;
		if (!made) {
			k->rc = -1;
			k->err = errno;
			return;
		}
		if (!c)
			break;
	}
	k->rc = omr_mediafile_store(k->dir, k->sha, k->data, k->len);
	k->err = k->rc < 0 ? errno : 0;
}

/* Start keeping data (taken) in channel's directory; done(k) on the main
 * loop with k->rc; -1 when it could not start (data freed). */
static struct omr_keep *omr_keep_new(struct omr_media *m, const char *channel, unsigned char *data,
				     size_t len)
{
	struct omr_keep *k = omr_calloc(1, sizeof(*k));
	k->m = m;
	snprintf(k->dir, sizeof(k->dir), "%s/%s", m->root, channel);
	k->data = data;
	k->len = len;
	return k;
}

static void omr_keep_free(struct omr_keep *k)
{
	free(k->data);
	json_decref(k->att);
	free(k);
}

/* ---- fetching ---- */

static void omr_fetch_start(struct omr_fetch *f);

static void omr_fetch_group_end(struct omr_fetch_group *g)
{
	if (--g->left > 0)
		return;
	g->done(g->arg, g->cancelled ? OMR_AGAIN : OMR_OK);
	free(g);
}

static void omr_fetch_free(struct omr_fetch *f)
{
	omr_dlist_remove(&f->g->m->fetches, &f->link);
	if (f->retry)
		event_free(f->retry);
	if (f->easy)
		curl_easy_cleanup(f->easy);
	curl_slist_free_all(f->headers);
	omr_buf_free(&f->body);
	free(f->channel);
	free(f->url);
	if (f->auth)
		OPENSSL_cleanse(f->auth, strlen(f->auth));
	free(f->auth);
	free(f);
}

/* The attachment is a marker: unavailable, with why. */
static void omr_fetch_fail(struct omr_fetch *f, const char *why)
{
	struct omr_fetch_group *g = f->g;
	json_object_del(f->att, "fetch");
	json_object_del(f->att, "size");
	json_object_set_new(f->att, "unavailable", json_true());
	json_object_set_new(f->att, "error", json_string(why));
	omr_fetch_free(f);
	omr_fetch_group_end(g);
}

static void omr_fetch_cancel(struct omr_fetch *f)
{
	struct omr_fetch_group *g = f->g;
	g->cancelled = 1;
	json_object_del(f->att, "fetch");
	omr_fetch_free(f);
	omr_fetch_group_end(g);
}

static void omr_fetch_kept(void *arg, int status)
{
	struct omr_keep *k = arg;
	struct omr_fetch *f = k->f;
	struct omr_media *m = k->m;
	if (status != OMR_OK) {
		omr_fetch_cancel(f);
	} else if (k->rc < 0) {
		omr_log_error("media: cannot write %s/%s: %s", k->dir, k->sha, strerror(k->err));
		m->failed++;
		omr_fetch_fail(f, "download failed: the file could not be written");
	} else {
		struct omr_fetch_group *g = f->g;
		json_object_del(f->att, "fetch");
		json_object_del(f->att, "unavailable");
		json_object_set_new(f->att, "sha256", json_string(k->sha));
		json_object_set_new(f->att, "size", json_integer((json_int_t)k->len));
		json_object_set_new(f->att, "stored", json_true());
		m->fetched++;
		omr_fetch_free(f);
		omr_fetch_group_end(g);
	}
	omr_keep_free(k);
}

/* The file came: checked, then written on the worker. */
static void omr_fetch_got(struct omr_fetch *f)
{
	struct omr_media *m = f->g->m;
	const struct omr_config *cfg = omr_env_cfg(&m->env);
	const char *type, *code;
	char *msg;
	size_t len;

	code = omr_media_check(cfg->media.types, f->max, (const unsigned char *)f->body.data,
			       f->body.len, &type, &msg);
	if (code) {
		omr_log_info("media: %s file of %s refused: %s", f->channel, f->url, msg);
		m->refused++;
		omr_fetch_fail(f, msg);
		free(msg);
		return;
	}
	json_object_set_new(f->att, "type", json_string(type));
	unsigned char *data = (unsigned char *)omr_buf_steal(&f->body, &len);
	struct omr_keep *k = omr_keep_new(m, f->channel, data, len);
	k->f = f;
	if (omr_worker_submit(m->jobs, omr_keep_work, omr_fetch_kept, k) != OMR_OK) {
		omr_keep_free(k);
		omr_fetch_cancel(f); /* the sender sends again */
	}
}

/* whether curl can read url at all (one that it cannot would fail every
 * try, as if the provider were down) */
static int omr_fetch_url_readable(const char *url)
{
	CURLU *u = curl_url();
	int ok = u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK;
	curl_url_cleanup(u);
	return ok;
}

/* why a URL is not fetched */
enum omr_fetch_refusal {
	OMR_FETCH_URL_OK,
	OMR_FETCH_URL_NONE,   /* no URL at all */
	OMR_FETCH_URL_SCHEME, /* not http(s) */
	OMR_FETCH_URL_BAD,    /* http(s), but curl cannot read it */
	OMR_FETCH_URL_PLAIN,  /* readable, but a bearer token would go over plain http */
};

/* whether url may be fetched: with a bearer token over TLS only, or to
 * this host (a local gateway, the tests' fakes) */
static enum omr_fetch_refusal omr_fetch_url_check(const char *url, int bearer)
{
	if (!url)
		return OMR_FETCH_URL_NONE;
	if (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0)
		return OMR_FETCH_URL_SCHEME;
	if (!omr_fetch_url_readable(url))
		return OMR_FETCH_URL_BAD;
	if (bearer && !omr_url_token_ok(url))
		return OMR_FETCH_URL_PLAIN;
	return OMR_FETCH_URL_OK;
}

/* the log's words for a refusal, and the agent's (the attachment's error) */
static const char *omr_fetch_refusal_log(enum omr_fetch_refusal r)
{
	static const char *const why[] = {
		[OMR_FETCH_URL_OK] = "",
		[OMR_FETCH_URL_NONE] = "the provider named no file",
		[OMR_FETCH_URL_SCHEME] = "not an http(s) URL",
		[OMR_FETCH_URL_BAD] = "not a URL",
		[OMR_FETCH_URL_PLAIN] = "the channel's token would go over plain http",
	};
	return why[r];
}

static const char *omr_fetch_refusal_error(enum omr_fetch_refusal r)
{
	return r == OMR_FETCH_URL_NONE	 ? "download failed: the provider named no file"
	       : r == OMR_FETCH_URL_PLAIN ? "download failed: the provider named a file over plain http"
					  : "download failed: the provider named a file by no URL we "
					    "can fetch";
}

/* A lookup answered: its "url" is the file. */
static void omr_fetch_looked_up(struct omr_fetch *f)
{
	json_t *j = json_loadb(f->body.data ? f->body.data : "", f->body.len, 0, NULL);
	const char *url = json_string_value(json_object_get(j, "url"));
	enum omr_fetch_refusal r = omr_fetch_url_check(url, f->auth != NULL);
	if (r != OMR_FETCH_URL_OK) {
		omr_log_warn("media: %s file not fetched: %s (%s)", f->channel,
			     omr_fetch_refusal_log(r), url ? url : "no url");
		json_decref(j);
		f->g->m->failed++;
		omr_fetch_fail(f, omr_fetch_refusal_error(r));
		return;
	}
	free(f->url);
	f->url = omr_strdup(url);
	json_decref(j);
	f->lookup = 0;
	f->tries = 0;
	omr_buf_reset(&f->body);
	omr_fetch_start(f);
}

static void omr_fetch_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	omr_fetch_start(arg);
}

static void omr_fetch_done(void *arg, CURLcode rc, long status)
{
	struct omr_fetch *f = arg;
	struct omr_media *m = f->g->m;
	const struct omr_config *cfg = omr_env_cfg(&m->env);
	char why[CURL_ERROR_SIZE + 64];

	curl_easy_cleanup(f->easy);
	f->easy = NULL;
	if (rc == CURLE_ABORTED_BY_CALLBACK && !f->too_big) {
		omr_fetch_cancel(f); /* the daemon is stopping */
		return;
	}
	if (f->too_big || rc == CURLE_FILESIZE_EXCEEDED) {
		char *msg = omr_asprintf("attachment refused: too large (over %lld bytes)", f->max);
		m->refused++;
		omr_fetch_fail(f, msg);
		free(msg);
		return;
	}
	if (rc == CURLE_OK && status >= 200 && status < 300) {
		if (f->lookup)
			omr_fetch_looked_up(f);
		else
			omr_fetch_got(f);
		return;
	}
	if (rc == CURLE_OK)
		snprintf(why, sizeof(why), "download failed: HTTP %ld", status);
	else
		snprintf(why, sizeof(why), "download failed: %s",
			 f->errbuf[0] ? f->errbuf : curl_easy_strerror(rc));
	int again = rc != CURLE_OK || status == 429 || (status >= 500 && status != 501);
	if (again && f->tries < cfg->media.fetch_tries && !m->stopping) {
		long ms = OMR_MEDIA_RETRY_MS << (f->tries - 1 < 5 ? f->tries - 1 : 5);
		struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
		omr_log_info("media: %s file: %s; trying again", f->channel, why);
		omr_buf_reset(&f->body);
		if (!f->retry)
			f->retry = evtimer_new(m->env.base, omr_fetch_retry_cb, f);
		evtimer_add(f->retry, &tv);
		return;
	}
	omr_log_warn("media: %s file not fetched: %s", f->channel, why);
	m->failed++;
	omr_fetch_fail(f, why);
}

static size_t omr_fetch_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct omr_fetch *f = userdata;
	size_t n = size * nmemb;
	long long cap = f->lookup ? OMR_MEDIA_LOOKUP_MAX : f->max;
	if ((long long)(f->body.len + n) > cap) {
		f->too_big = !f->lookup;
		return 0; /* aborts the transfer */
	}
	omr_buf_append(&f->body, ptr, n);
	return n;
}

static void omr_fetch_start(struct omr_fetch *f)
{
	struct omr_media *m = f->g->m;
	const struct omr_config *cfg = omr_env_cfg(&m->env);
	f->tries++;
	f->errbuf[0] = '\0';
	f->easy = curl_easy_init();
	if (!f->easy) {
		omr_fetch_fail(f, "download failed: out of resources");
		return;
	}
	curl_easy_setopt(f->easy, CURLOPT_URL, f->url);
	curl_easy_setopt(f->easy, CURLOPT_HTTPHEADER, f->headers);
	curl_easy_setopt(f->easy, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(f->easy, CURLOPT_TIMEOUT_MS, (long)cfg->media.fetch_timeout);
	curl_easy_setopt(f->easy, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	curl_easy_setopt(f->easy, CURLOPT_WRITEFUNCTION, omr_fetch_write);
	curl_easy_setopt(f->easy, CURLOPT_WRITEDATA, f);
	curl_easy_setopt(f->easy, CURLOPT_ERRORBUFFER, f->errbuf);
	curl_easy_setopt(f->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(f->easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	/* a CDN may redirect; the token is not sent to another host */
	curl_easy_setopt(f->easy, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(f->easy, CURLOPT_MAXREDIRS, 3L);
	curl_easy_setopt(f->easy, CURLOPT_UNRESTRICTED_AUTH, 0L);
	curl_easy_setopt(f->easy, CURLOPT_USERAGENT, "omniroute/" PACKAGE_VERSION);
	if (!f->lookup)
		curl_easy_setopt(f->easy, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)f->max);
	if (omr_curl_start(m->curl, f->easy, omr_fetch_done, f) < 0) {
		curl_easy_cleanup(f->easy);
		f->easy = NULL;
		omr_fetch_cancel(f);
	}
}

/* One attachment's fetch from its "fetch" spec; 0, or -1 when the spec is
 * not one (the attachment is then marked unavailable by the caller). */
static int omr_fetch_new(struct omr_fetch_group *g, const char *channel, json_t *att)
{
	const json_t *spec = json_object_get(att, "fetch");
	const char *url = json_string_value(json_object_get(spec, "url"));
	const char *bearer = json_string_value(json_object_get(spec, "bearer"));
	struct omr_fetch *f;

	enum omr_fetch_refusal r = omr_fetch_url_check(url, bearer != NULL);
	if (r != OMR_FETCH_URL_OK || (bearer && strpbrk(bearer, "\r\n"))) {
		if (r != OMR_FETCH_URL_OK && url)
			omr_log_warn("media: %s file not fetched: %s (%s)", channel,
				     omr_fetch_refusal_log(r), url);
		return -1;
	}
	f = omr_calloc(1, sizeof(*f));
	f->g = g;
	f->att = att;
	f->channel = omr_strdup(channel);
	f->url = omr_strdup(url);
	f->lookup = json_is_true(json_object_get(spec, "lookup"));
	f->max = omr_env_cfg(&g->m->env)->media.max_bytes;
	omr_buf_init(&f->body);
	if (bearer) {
		f->auth = omr_asprintf("Authorization: Bearer %s", bearer);
		f->headers = curl_slist_append(f->headers, f->auth);
	}
	omr_dlist_push_head(&g->m->fetches, &f->link);
	g->left++;
	omr_fetch_start(f);
	return 0;
}

static void omr_fetch_group_later(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	omr_fetch_group_end(arg);
}

void omr_media_fetch(struct omr_media *m, const char *channel, json_t *list, omr_media_done done,
		     void *arg)
{
	struct omr_fetch_group *g = omr_calloc(1, sizeof(*g));
	size_t i;
	json_t *a;

	g->m = m;
	g->done = done;
	g->arg = arg;
	g->left = 1; /* this call's own, so that done never runs inside it */
	json_array_foreach(list, i, a) {
		if (!json_is_object(json_object_get(a, "fetch")))
			continue;
		if (m->stopping) {
			g->cancelled = 1;
			json_object_del(a, "fetch");
		} else if (omr_fetch_new(g, channel, a) < 0) {
			json_object_del(a, "fetch");
			json_object_set_new(a, "unavailable", json_true());
			json_object_set_new(a, "error", json_string("download failed: no file named"));
		}
	}
	/* the call's own share ends on the loop, never inside the call */
	if (event_base_once(m->env.base, -1, EV_TIMEOUT, omr_fetch_group_later, g, NULL) < 0)
		abort(); /* out of memory */
}

void omr_media_stop(struct omr_media *m)
{
	m->stopping = 1;
	/* those waiting for a retry end now; those in curl end when the
	 * multi handle stops (CURLE_ABORTED_BY_CALLBACK), those on the
	 * worker when it stops */
	for (struct omr_dlink *l = m->fetches.head, *next; l; l = next) {
		struct omr_fetch *f = OMR_DLIST_ITEM(l, struct omr_fetch, link);
		next = l->next;
		if (f->retry && evtimer_pending(f->retry, NULL)) {
			evtimer_del(f->retry);
			omr_fetch_cancel(f);
		}
	}
}

/* ---- an agent's file ---- */

static void omr_media_kept_cb(void *arg, int status)
{
	struct omr_keep *k = arg;
	if (status != OMR_OK) {
		k->cb(k->arg, NULL, "unavailable", "the server is stopping; try again");
	} else if (k->rc < 0) {
		omr_log_error("media: cannot write %s/%s: %s", k->dir, k->sha, strerror(k->err));
		k->cb(k->arg, NULL, "unavailable", "the file could not be written");
	} else {
		json_object_set_new(k->att, "sha256", json_string(k->sha));
		json_object_set_new(k->att, "stored", json_true());
		k->cb(k->arg, k->att, NULL, NULL);
	}
	omr_keep_free(k);
}

void omr_media_keep(struct omr_media *m, const char *channel, const char *name,
		    unsigned char *data, size_t len, omr_media_kept cb, void *arg)
{
	const struct omr_config *cfg = omr_env_cfg(&m->env);
	const char *type, *code;
	char *msg;

	code = omr_media_check(cfg->media.types, cfg->media.max_bytes, data, len, &type, &msg);
	if (code) {
		m->refused++;
		free(data);
		cb(arg, NULL, code, msg);
		free(msg);
		return;
	}
	struct omr_keep *k = omr_keep_new(m, channel, data, len);
	k->cb = cb;
	k->arg = arg;
	k->att = json_pack("{s:s,s:s,s:I}", "name", name, "type", type, "size", (json_int_t)len);
	if (omr_worker_submit(m->jobs, omr_keep_work, omr_media_kept_cb, k) != OMR_OK) {
		omr_keep_free(k);
		cb(arg, NULL, "busy", "the server is busy; try again");
	}
}

/* ---- pure helpers ---- */

static int omr_media_b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '+' ? 62 : c == '/' ? 63 : -1;
}

long omr_media_b64_decode(const char *in, size_t len, unsigned char *out, size_t cap)
{
	size_t o = 0;
	if (len % 4)
		return -1;
	for (size_t i = 0; i < len; i += 4) {
		int v[4], pad = 0;
		for (int k = 0; k < 4; k++) {
			char c = in[i + (size_t)k];
			if (c == '=' && i + 4 == len && k >= 2 && (k == 3 || in[i + 3] == '=')) {
				v[k] = 0;
				pad++;
				continue;
			}
			if (pad || (v[k] = omr_media_b64_value(c)) < 0)
				return -1;
		}
		unsigned long w = (unsigned long)v[0] << 18 | (unsigned long)v[1] << 12 |
				  (unsigned long)v[2] << 6 | (unsigned long)v[3];
		size_t n = 3 - (size_t)pad;
		if (o + n > cap)
			return -1;
		for (size_t k = 0; k < n; k++)
			out[o++] = (unsigned char)(w >> (16 - 8 * k));
	}
	return (long)o;
}

char *omr_media_file_name(const char *name)
{
	const char *base = name, *p;
	char out[256];
	size_t o = 0;
	if (!name)
		return NULL;
	for (p = name; *p; p++)
		if (*p == '/' || *p == '\\')
			base = p + 1;
	for (p = base; *p && o < sizeof(out) - 1; p++)
		if ((unsigned char)*p >= 0x20 && *p != 0x7f)
			out[o++] = *p;
	while (o > 0 && !omr_utf8_valid(out, o))
		o--;
	out[o] = '\0';
	if (!o || strcmp(out, ".") == 0 || strcmp(out, "..") == 0)
		return NULL;
	return omr_strdup(out);
}
