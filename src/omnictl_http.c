/*
 * omnictl_http: see omnictl.h. One blocking libcurl request at a time on
 * the handle of struct omnictl; the answer is read into memory, at most
 * OMNICTL_MAX_BODY bytes. No proxy from the environment (the token would
 * go to it) and no redirects (nor would they).
 */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "omnictl.h"

struct omnictl_xfer {
	struct omnictl_answer *a;
	int too_big;
};

/* TLS settings from the environment, as libcurl options. */
static const struct {
	const char *name;
	CURLoption opt;
} omnictl_tls_env[] = {
	{ "OMNIROUTE_CACERT", CURLOPT_CAINFO },
	{ "OMNIROUTE_CERT", CURLOPT_SSLCERT },
	{ "OMNIROUTE_KEY", CURLOPT_SSLKEY },
};

static size_t omnictl_on_body(char *data, size_t size, size_t n, void *arg)
{
	struct omnictl_xfer *x = arg;
	size_t len = size * n; /* libcurl: size is always 1 */
	if (len > OMNICTL_MAX_BODY - x->a->body.len) {
		x->too_big = 1;
		return 0; /* aborts the transfer */
	}
	return omnictl_str_add(&x->a->body, data, len) < 0 ? 0 : len;
}

/* copies at most n - 1 printable ASCII bytes of s[0..len) into dst,
 * without leading and trailing blanks */
static void omnictl_copy_header(char *dst, size_t n, const char *s, size_t len)
{
	size_t j = 0;
	while (len && (*s == ' ' || *s == '\t'))
		s++, len--;
	while (len && isspace((unsigned char)s[len - 1]))
		len--;
	for (size_t i = 0; i < len && j + 1 < n; i++) {
		if (s[i] >= 0x20 && s[i] < 0x7f)
			dst[j++] = s[i];
	}
	dst[j] = '\0';
}

static size_t omnictl_on_header(char *data, size_t size, size_t n, void *arg)
{
	struct omnictl_answer *a = arg;
	size_t len = size * n;
	static const char retry[] = "retry-after:";

	if (len > 5 && memcmp(data, "HTTP/", 5) == 0) {
		/* a new answer (after a 100 Continue, say): "HTTP/1.1 413 Reason" */
		const char *sp = memchr(data, ' ', len);
		const char *sp2 = sp ? memchr(sp + 1, ' ', len - (size_t)(sp + 1 - data)) : NULL;
		a->retry_after[0] = '\0';
		a->reason[0] = '\0';
		if (sp2)
			omnictl_copy_header(a->reason, sizeof(a->reason), sp2 + 1,
					    len - (size_t)(sp2 + 1 - data));
	} else if (len > sizeof(retry) - 1 && strncasecmp(data, retry, sizeof(retry) - 1) == 0) {
		omnictl_copy_header(a->retry_after, sizeof(a->retry_after), data + sizeof(retry) - 1,
				    len - (sizeof(retry) - 1));
	}
	return len;
}

int omnictl_str_escape(struct omnictl *c, struct omnictl_str *dst, const char *s)
{
	char *e = curl_easy_escape(c->curl, s, 0);
	int rc;
	if (!e) {
		dst->failed = 1;
		return -1;
	}
	rc = omnictl_str_add(dst, e, strlen(e));
	curl_free(e);
	return rc;
}

static struct curl_slist *omnictl_headers(struct omnictl *c, unsigned flags, int has_body)
{
	struct curl_slist *h = NULL, *t;
	struct omnictl_str auth = { 0 }, key = { 0 };
	const char *lines[6];
	size_t n = 0;

	lines[n++] = flags & OMNICTL_R_CSV ? "Accept: text/csv" : "Accept: application/json";
	lines[n++] = "Expect:"; /* no 100-continue round trip */
	lines[n++] = "User-Agent: omnictl/" PACKAGE_VERSION;
	if (has_body)
		lines[n++] = "Content-Type: application/json";
	if (c->opt[OMNICTL_O_KEY]) { /* conversations start --key */
		if (omnictl_str_addf(&key, "Idempotency-Key: %s", c->opt[OMNICTL_O_KEY]) < 0)
			return NULL;
		lines[n++] = key.p;
	}
	if ((flags & OMNICTL_R_AUTH) && c->token) {
		if (omnictl_str_addf(&auth, "Authorization: Bearer %s", c->token) < 0) {
			omnictl_str_free(&key);
			return NULL;
		}
		lines[n++] = auth.p;
	}
	for (size_t i = 0; i < n; i++) {
		t = curl_slist_append(h, lines[i]);
		if (!t) {
			curl_slist_free_all(h);
			h = NULL;
			break;
		}
		h = t;
	}
	/* the header list holds copies: the token is not left in our heap */
	if (auth.p)
		memset(auth.p, 0, auth.len);
	omnictl_str_free(&auth);
	omnictl_str_free(&key);
	return h;
}

static void omnictl_media_type(struct omnictl *c, struct omnictl_answer *a)
{
	char *ct = NULL;
	if (curl_easy_getinfo(c->curl, CURLINFO_CONTENT_TYPE, &ct) != CURLE_OK || !ct)
		return;
	omnictl_copy_header(a->content_type, sizeof(a->content_type), ct, strcspn(ct, ";"));
	for (char *p = a->content_type; *p; p++)
		*p = (char)tolower((unsigned char)*p);
}

/* why no answer came, and the exit status for it */
static int omnictl_no_answer(struct omnictl *c, CURLcode e, const char *errbuf,
			     const struct omnictl_xfer *x)
{
	const char *why = errbuf[0] ? errbuf : curl_easy_strerror(e);
	switch (e) {
	case CURLE_FILESIZE_EXCEEDED:
		goto too_big;
	case CURLE_WRITE_ERROR:
		if (x->too_big)
			goto too_big;
		if (x->a->body.failed)
			return omnictl_oom();
		break;
	case CURLE_OUT_OF_MEMORY:
		return omnictl_oom();
	case CURLE_URL_MALFORMAT:
		fprintf(stderr, "omnictl: bad URL '%s': %s\n", c->url, why);
		return OMNICTL_USAGE;
	case CURLE_UNSUPPORTED_PROTOCOL: /* the scheme was checked: an HTTP/0.9 "answer" */
	case CURLE_WEIRD_SERVER_REPLY:
		fprintf(stderr, "omnictl: what answers at %s does not speak HTTP (%s)\n", c->url, why);
		return OMNICTL_UNREACHABLE;
	case CURLE_OPERATION_TIMEDOUT:
		fprintf(stderr, "omnictl: no answer from the daemon at %s within %ld s (--timeout)\n",
			c->url, c->timeout_s);
		return OMNICTL_UNREACHABLE;
	default:
		break;
	}
	fprintf(stderr, "omnictl: cannot reach the daemon at %s: %s\n", c->url, why);
	return OMNICTL_UNREACHABLE;
too_big:
	fprintf(stderr, "omnictl: the answer from %s is larger than %u MiB: not read\n", c->url,
		OMNICTL_MAX_BODY >> 20);
	return OMNICTL_FAILED;
}

int omnictl_request(struct omnictl *c, const char *method, const char *path, const json_t *body,
		    unsigned flags, struct omnictl_answer *a)
{
	struct omnictl_xfer x = { .a = a };
	struct omnictl_str url = { 0 };
	struct curl_slist *headers = NULL;
	char errbuf[CURL_ERROR_SIZE] = "";
	char *data = NULL;
	CURLcode e = CURLE_OK;
	int rc = OMNICTL_OK;
	long ms = c->timeout_s * 1000L;

	memset(a, 0, sizeof(*a));
	if (body && !(data = json_dumps(body, JSON_COMPACT)))
		return omnictl_oom();
	headers = omnictl_headers(c, flags, data != NULL);
	if (!headers || omnictl_str_addf(&url, "%s%s", c->url, path) < 0) {
		rc = omnictl_oom();
		goto done;
	}
	curl_easy_reset(c->curl);
#define OMNICTL_SET(opt, val) \
	do { \
		if (e == CURLE_OK) \
			e = curl_easy_setopt(c->curl, opt, val); \
	} while (0)
	OMNICTL_SET(CURLOPT_URL, url.p);
	OMNICTL_SET(CURLOPT_PROXY, ""); /* not http_proxy & co. */
	OMNICTL_SET(CURLOPT_NOSIGNAL, 1L);
	OMNICTL_SET(CURLOPT_TIMEOUT_MS, ms);
	OMNICTL_SET(CURLOPT_CONNECTTIMEOUT_MS, ms < 10000 ? ms : 10000L);
	OMNICTL_SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)OMNICTL_MAX_BODY);
	OMNICTL_SET(CURLOPT_ERRORBUFFER, errbuf);
	OMNICTL_SET(CURLOPT_HTTPHEADER, headers);
	OMNICTL_SET(CURLOPT_WRITEFUNCTION, omnictl_on_body);
	OMNICTL_SET(CURLOPT_WRITEDATA, &x);
	OMNICTL_SET(CURLOPT_HEADERFUNCTION, omnictl_on_header);
	OMNICTL_SET(CURLOPT_HEADERDATA, a);
	/* an admin API with TLS (docs/omnictl.md#tls): a private CA, a client
	 * certificate when admin.tls.client_ca asks for one */
	for (size_t i = 0; i < sizeof(omnictl_tls_env) / sizeof(omnictl_tls_env[0]); i++) {
		const char *v = getenv(omnictl_tls_env[i].name);
		if (v && *v)
			OMNICTL_SET(omnictl_tls_env[i].opt, v);
	}
	if (strcmp(method, "POST") == 0) {
		OMNICTL_SET(CURLOPT_POST, 1L);
		OMNICTL_SET(CURLOPT_POSTFIELDS, data ? data : "");
		OMNICTL_SET(CURLOPT_POSTFIELDSIZE, data ? (long)strlen(data) : 0L);
	} else if (strcmp(method, "GET") != 0) {
		OMNICTL_SET(CURLOPT_CUSTOMREQUEST, method);
	}
#undef OMNICTL_SET
	if (e != CURLE_OK) {
		fprintf(stderr, "omnictl: libcurl: %s\n", curl_easy_strerror(e));
		rc = OMNICTL_FAILED;
		goto done;
	}
	e = curl_easy_perform(c->curl);
	if (e != CURLE_OK) {
		rc = omnictl_no_answer(c, e, errbuf, &x);
		goto done;
	}
	if (curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &a->status) != CURLE_OK)
		a->status = 0;
	omnictl_media_type(c, a);
	if (a->body.len) {
		/* one JSON document, nothing after it; objects and arrays only */
		const char *p = a->body.p;
		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			p++;
		if (*p == '{' || *p == '[')
			a->json = json_loadb(a->body.p, a->body.len, 0, NULL);
	}
done:
	curl_slist_free_all(headers); /* not read after the transfer */
	omnictl_str_free(&url);
	free(data);
	return rc;
}

void omnictl_answer_free(struct omnictl_answer *a)
{
	json_decref(a->json);
	a->json = NULL;
	omnictl_str_free(&a->body);
}

void omnictl_print_body(const struct omnictl_answer *a)
{
	if (!a->body.len)
		return;
	fwrite(a->body.p, 1, a->body.len, stdout);
	if (a->body.p[a->body.len - 1] != '\n')
		fputc('\n', stdout);
}

/* "413 Request Entity Too Large", or "413" */
static void omnictl_put_status(const struct omnictl_answer *a)
{
	fprintf(stderr, "%ld%s%s", a->status, a->reason[0] ? " " : "", a->reason);
}

int omnictl_refused(struct omnictl *c, const char *method, const char *path,
		    const struct omnictl_answer *a)
{
	const json_t *err = json_object_get(a->json, "error");
	const char *code = json_string_value(json_object_get(err, "code"));
	const char *msg = json_string_value(json_object_get(err, "message"));

	if (c->json && a->json)
		omnictl_print_body(a);
	if (a->status == 401) {
		fprintf(stderr, "omnictl: the daemon refused the token (401 unauthorized): "
				"check --token / OMNIROUTE_TOKEN / token in the config file");
		if (c->token_from)
			fprintf(stderr, " (this one came from %s)", c->token_from);
		fputc('\n', stderr);
		return OMNICTL_USAGE;
	}
	if (a->status == 429) {
		fprintf(stderr, "omnictl: the daemon refuses admin tokens from this address for now, "
				"after too many wrong ones (429%s%s)",
			code ? " " : "", code ? code : "");
		if (a->retry_after[0])
			fprintf(stderr, ": retry in %s s", a->retry_after);
		fputc('\n', stderr);
		return OMNICTL_USAGE;
	}
	fprintf(stderr, "omnictl: %s %s: ", method, path);
	if (a->status == 403)
		fputs("the token may not do this: ", stderr);
	if (code || msg) {
		struct omnictl_str m = { 0 };
		fprintf(stderr, "%ld ", a->status);
		omnictl_put_clean(stderr, code ? code : "error", 0, NULL);
		if (msg && omnictl_str_add(&m, msg, strlen(msg)) == 0) {
			while (m.len && isspace((unsigned char)m.p[m.len - 1]))
				m.p[--m.len] = '\0';
			/* a reload's errors are file:line lines: one a line */
			int lines = strchr(m.p, '\n') != NULL;
			if (m.len) {
				fputs(lines ? ":\n  " : ": ", stderr);
				omnictl_put_clean(stderr, m.p, lines, "  ");
			}
		}
		omnictl_str_free(&m);
		fputc('\n', stderr);
	} else {
		fputs("the daemon answered ", stderr);
		omnictl_put_status(a);
		if (!a->body.len)
			fputs(" with an empty body\n", stderr);
		else
			fprintf(stderr, " (%s, not the daemon's JSON)\n",
				a->content_type[0] ? a->content_type : "no content type");
	}
	return a->status == 403 ? OMNICTL_USAGE : OMNICTL_FAILED;
}

int omnictl_call(struct omnictl *c, const char *method, const char *path, const json_t *body,
		 unsigned flags, struct omnictl_answer *a)
{
	int rc = omnictl_request(c, method, path, body, flags, a);
	if (rc != OMNICTL_OK)
		return rc;
	if (a->status < 200 || a->status > 299)
		return omnictl_refused(c, method, path, a);
	if (flags & OMNICTL_R_CSV) {
		if (strcmp(a->content_type, "text/csv") != 0) {
			fprintf(stderr, "omnictl: %s %s: the daemon did not answer CSV (%s): does this "
					"version have --csv?\n",
				method, path, a->content_type[0] ? a->content_type : "no type");
			return OMNICTL_FAILED;
		}
		return OMNICTL_OK;
	}
	if (!json_is_object(a->json)) {
		fprintf(stderr, "omnictl: %s %s: the answer (", method, path);
		omnictl_put_status(a);
		fprintf(stderr, ", %s) is not a JSON object\n",
			a->body.len ? (a->content_type[0] ? a->content_type : "no type") : "empty");
		return OMNICTL_FAILED;
	}
	if (c->json)
		omnictl_print_body(a);
	return OMNICTL_OK;
}
