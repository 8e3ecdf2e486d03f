/*
 * omr_redis_script: the server-side scripts of a connection (omr_redis.h):
 * as Redis Functions from one library, FUNCTION LOADed by each connection
 * before its first call and again when its server lost the library; by
 * EVALSHA where Functions cannot be had; by EVAL where the server lost its
 * script cache.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "omr_log.h"
#include "omr_redis.h"
#include "omr_redis_int.h"
#include "omr_util.h"

void omr_redis_script_init(struct omr_redis_script *s, const char *name, const char *source)
{
	unsigned char md[SHA_DIGEST_LENGTH];
	memset(s, 0, sizeof(*s));
	s->name = name;
	s->source = source;
	SHA1((const unsigned char *)source, strlen(source), md);
	omr_hex(md, sizeof(md), s->sha);
}

/* ---- script library (Redis Functions) ---- */

/* The library's text under name: one do ... end block per script that has
 * the body line (omr_redis.h); with set, each such script's fname and lib. */
static char *omr_redis_library_text(struct omr_redis_library *lib, struct omr_redis_script *s,
				    size_t n, const char *name, int set, size_t *len_r)
{
	struct omr_buf b;

	omr_buf_init(&b);
	/* a script's scope may declare a local 'redis' (gen.awk) */
	omr_buf_printf(&b, "#!lua name=%s\nlocal omr_register = redis.register_function\n", name);
	for (size_t i = 0; i < n; i++) {
		const char *src = s[i].source, *body = strstr(src, OMR_REDIS_SCRIPT_BODY);
		char *fname;
		while (body && body != src && body[-1] != '\n')
			body = strstr(body + 1, OMR_REDIS_SCRIPT_BODY);
		/* a Function's name is letters, digits and '_' */
		if (!body || strspn(s[i].name, "abcdefghijklmnopqrstuvwxyz0123456789_") !=
				     strlen(s[i].name))
			continue;
		fname = omr_asprintf("%s_%s", name, s[i].name);
		/* the part before the body line is the Function's scope: its
		 * locals live from one call to the next */
		omr_buf_puts(&b, "do\n");
		omr_buf_append(&b, src, (size_t)(body - src));
		omr_buf_printf(&b, "omr_register{function_name = '%s', "
				   "callback = function(KEYS, ARGV)\n", fname);
		omr_buf_puts(&b, body + strlen(OMR_REDIS_SCRIPT_BODY));
		omr_buf_printf(&b, "\nend%s}\nend\n",
			       s[i].readonly ? ", flags = { 'no-writes' }" : "");
		if (set) {
			s[i].fname = fname;
			s[i].lib = lib;
			lib->nfunctions++;
		} else {
			free(fname);
		}
	}
	return omr_buf_steal(&b, len_r);
}

void omr_redis_library_init(struct omr_redis_library *lib, struct omr_redis_script *s, size_t n)
{
	unsigned char md[SHA_DIGEST_LENGTH];
	char hex[2 * SHA_DIGEST_LENGTH + 1];
	size_t len;
	char *text;

	/* named after its own text (under a name of the same length): a
	 * library that Redis says it has already is this very one */
	memset(lib, 0, sizeof(*lib));
	text = omr_redis_library_text(lib, s, n, "omr_000000000000", 0, &len);
	SHA1((const unsigned char *)text, len, md);
	free(text);
	omr_hex(md, sizeof(md), hex);
	snprintf(lib->name, sizeof(lib->name), "omr_%.12s", hex);
	lib->source = omr_redis_library_text(lib, s, n, lib->name, 1, &lib->len);
}

void omr_redis_library_free(struct omr_redis_library *lib, struct omr_redis_script *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i].lib != lib)
			continue;
		free(s[i].fname);
		s[i].fname = NULL;
		s[i].lib = NULL;
	}
	free(lib->source);
	lib->source = NULL;
}

/* Functions are off on this connection: err is Redis' answer to FUNCTION
 * LOAD or FCALL. Said once per reason, in words of ours (Redis 6 echoes the
 * call's arguments, customer data among them); tried again after
 * OMR_REDIS_FN_RETRY_MS, on a server without Functions only on the next
 * connection. A refusal for now (loading, busy, out of memory, a replica)
 * is tried again a second later, and not warned about. */
static void omr_redis_fn_off(struct omr_redis *r, const char *err)
{
	static const char *const passing[] = { "LOADING", "BUSY", "OOM", "READONLY", "MASTERDOWN",
						"TRYAGAIN", "NOAUTH", "MOVING", NULL };
	const char *why;
	char text[160];
	int64_t now = omr_mono_ms();

	r->fn = OMR_REDIS_FN_OFF;
	for (const char *const *p = passing; *p; p++) {
		if (strncmp(err, *p, strlen(*p)) == 0) {
			r->fn_retry_at = now + 1000;
			omr_log_debug("redis %s: FUNCTION LOAD refused for now (%s): EVALSHA "
				      "meanwhile", r->name, *p);
			return;
		}
	}
	r->fn_retry_at = now + OMR_REDIS_FN_RETRY_MS;
	if (strncmp(err, "ERR unknown command", 19) == 0 ||
	    strncmp(err, "ERR unknown subcommand", 22) == 0) {
		r->fn_retry_at = INT64_MAX;
		why = "this Redis has no Functions (before 7.0)";
	} else if (strncmp(err, "NOPERM", 6) == 0) {
		why = "NOPERM: the ACL user may not run FUNCTION LOAD or FCALL (grant "
		      "+function|load and +fcall, or +@scripting)";
	} else {
		/* the first line, short: a compile error quotes the library */
		snprintf(text, sizeof(text), "%.*s", (int)strcspn(err, "\r\n"), err);
		why = text;
	}
	if (r->fn_why && strcmp(r->fn_why, why) == 0)
		return;
	free(r->fn_why);
	r->fn_why = omr_strdup(why);
	omr_log_warn("redis %s: the scripts run with EVALSHA, not as Redis Functions "
		     "(FUNCTION LOAD and FCALL, which cost Redis less per call): %s", r->name, why);
}

static void omr_redis_fn_loaded(void *arg, const redisReply *reply, const char *err)
{
	struct omr_redis *r = arg;
	/* no reply: the connection went (r may be being freed); the next
	 * one loads again */
	if (!reply)
		return;
	if (!err || strstr(err, "already exists")) {
		r->fn = OMR_REDIS_FN_READY;
		omr_log_debug("redis %s: scripts run as Redis Functions (library %s)", r->name,
			      r->fn_lib ? r->fn_lib->name : "?");
		return;
	}
	omr_redis_fn_off(r, err);
}

/* Whether a call of s goes as FCALL: the library is loaded, or its load
 * is sent ahead of the call. */
static int omr_redis_fn_use(struct omr_redis *r, const struct omr_redis_script *s)
{
	const struct omr_redis_library *lib = s->lib;
	if (!lib)
		return 0;
	if (r->fn == OMR_REDIS_FN_OFF && omr_mono_ms() >= r->fn_retry_at)
		r->fn = OMR_REDIS_FN_UNKNOWN;
	if (r->fn == OMR_REDIS_FN_OFF)
		return 0;
	if (r->fn == OMR_REDIS_FN_UNKNOWN || r->fn_lib != lib) {
		const char *argv[] = { "FUNCTION", "LOAD", lib->source };
		size_t argvlen[] = { 8, 4, lib->len };
		struct omr_redis_req *q = omr_calloc(1, sizeof(*q));
		q->cb = omr_redis_fn_loaded;
		q->arg = r;
		q->quiet = 1;
		q->timeout = r->opts.command_timeout;
		/* not sent: this call goes by EVALSHA, the next one asks again */
		if (omr_redis_send(r, q, 3, argv, argvlen) < 0) {
			free(q);
			return 0;
		}
		r->fn = OMR_REDIS_FN_LOADING;
		r->fn_lib = lib;
		r->stats.fn_loads++;
	}
	return 1;
}

/* An FCALL's error that says the Function did not run at all, so that the
 * call may go again: the server lacks the library (flushed, another
 * server), knows no FCALL (before 7.0), or the user may not run it. Sets
 * the connection's state from it. */
static int omr_redis_fn_missing(struct omr_redis *r, const char *err)
{
	if (strncmp(err, "ERR Function not found", 22) == 0) {
		if (r->fn == OMR_REDIS_FN_READY)
			r->fn = OMR_REDIS_FN_UNKNOWN;
		return 1;
	}
	/* an error raised inside a Function carries " script: ": it ran */
	if (strstr(err, " script: "))
		return 0;
	if ((strncmp(err, "ERR unknown command", 19) == 0 &&
	     (strstr(err, "'FCALL'") || strstr(err, "`FCALL`") || strstr(err, "'fcall'") ||
	      strstr(err, "`fcall`"))) ||
	    (strncmp(err, "NOPERM", 6) == 0 && strstr(err, "'fcall' command"))) {
		omr_redis_fn_off(r, err);
		return 1;
	}
	return 0;
}

/* Send a script call as cmd with what (a Function's name, a SHA-1, a
 * source) before the number of keys and the arguments */
static int omr_redis_script_cmd(struct omr_redis *r, struct omr_redis_req *q, const char *cmd,
				const char *what)
{
	free(q->argv[0]);
	free(q->argv[1]);
	q->argv[0] = omr_strdup(cmd);
	q->argv[1] = omr_strdup(what);
	q->argvlen[0] = strlen(cmd);
	q->argvlen[1] = strlen(what);
	return omr_redis_send(r, q, q->argc, (const char **)q->argv, q->argvlen);
}

/* Send a script call: FCALL when its Function can be had, else EVALSHA */
static int omr_redis_script_send(struct omr_redis *r, struct omr_redis_req *q)
{
	const struct omr_redis_script *s = q->script;
	int fcall = q->fn_tries < OMR_REDIS_FN_TRIES && omr_redis_fn_use(r, s);

	if (!fcall && s->lib)
		r->stats.fn_fallbacks++;
	q->fcall = fcall;
	q->fn_tries += fcall;
	return omr_redis_script_cmd(r, q, fcall ? "FCALL" : "EVALSHA", fcall ? s->fname : s->sha);
}

void omr_redis_eval(struct omr_redis *r, const struct omr_redis_script *s, omr_redis_cb cb,
		    void *arg, int nkeys, int argc, const char **argv, const size_t *argvlen)
{
	struct omr_redis_req *q = omr_calloc(1, sizeof(*q));
	char nk[16];

	q->cb = cb;
	q->arg = arg;
	q->timeout = r->opts.command_timeout;
	q->script = s;
	q->argc = argc + 3;
	q->argv = omr_calloc((size_t)q->argc, sizeof(*q->argv));
	q->argvlen = omr_calloc((size_t)q->argc, sizeof(*q->argvlen));
	snprintf(nk, sizeof(nk), "%d", nkeys);
	q->argv[2] = omr_strdup(nk);
	q->argvlen[2] = strlen(nk);
	for (int i = 0; i < argc; i++) {
		size_t len = argvlen ? argvlen[i] : strlen(argv[i]);
		q->argv[i + 3] = omr_strndup(argv[i], len);
		q->argvlen[i + 3] = len;
	}
	if (r->state != OMR_REDIS_READY || omr_redis_script_send(r, q) < 0)
		omr_redis_fail_later(r, q, omr_redis_why(r));
}

int omr_redis_script_retry(struct omr_redis *r, struct omr_redis_req *q, const redisReply *reply)
{
	const struct omr_redis_script *s = q->script;
	int rc;

	if (q->fcall ? !omr_redis_fn_missing(r, reply->str)
		     : strncmp(reply->str, "NOSCRIPT", 8) != 0)
		return 0;
	omr_redis_req_unlink(q);
	r->inflight--;
	q->sent = 0;
	if (q->fcall) {
		/* the Function was never run: send the call again, by FCALL
		 * once the library is loaded, else by EVALSHA */
		rc = omr_redis_script_send(r, q);
	} else {
		/* The server lost its script cache (restart, SCRIPT FLUSH):
		 * send the source once; EVAL caches it again. */
		q->script = NULL;
		rc = omr_redis_script_cmd(r, q, "EVAL", s->source);
	}
	if (rc < 0)
		omr_redis_finish(q, NULL, "Redis connection lost");
	return 1;
}
