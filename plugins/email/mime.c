/*
 * mime: see mime.h.
 */
#define _GNU_SOURCE /* strcasestr */
#include <ctype.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gmime/gmime.h>
#include <omniroute/plugin.h>

#include "mime.h"
#include "text.h"

void em_mime_init(void)
{
	static int done;
	if (!done) {
		/* GMime registers GObject types, which cannot be unregistered: the
		 * library must stay mapped when this plugin is unloaded */
		dlopen("libgmime-3.0.so.0", RTLD_NOW | RTLD_NODELETE | RTLD_GLOBAL);
		g_mime_init();
		done = 1;
	}
}

/* ---- small helpers ---- */

static char *em_dup(const char *s)
{
	return s ? omr_plugin_strdup(s) : NULL;
}

static char *em_bracket(const char *id)
{
	if (!id || !*id)
		return NULL;
	size_t n = strlen(id);
	char *out = omr_plugin_calloc(1, n + 3);
	if (id[0] == '<')
		memcpy(out, id, n);
	else
		snprintf(out, n + 3, "<%s>", id);
	return out;
}

static char *em_lower(const char *s)
{
	char *o = em_dup(s);
	for (char *p = o; p && *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return o;
}

/* Valid UTF-8 of at most max bytes (cut at a character boundary). */
/* Cut s (UTF-8) to at most max bytes at a character boundary; 1 when it
 * was longer. */
static int em_cut(char *s, size_t max)
{
	if (strlen(s) <= max)
		return 0;
	while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--;
	s[max] = '\0';
	return 1;
}

/* len bytes as UTF-8 (a wrong or missing charset is Windows-1252), without
 * control characters but tab and newline, at most max bytes; *cut (may be
 * NULL) says whether it was longer. */
static char *em_utf8_cut(const char *s, size_t len, size_t max, int *cut)
{
	char *v;
	if (cut)
		*cut = 0;
	if (!s || !len)
		return omr_plugin_strdup(""); /* an empty GByteArray has no data */
	if (g_utf8_validate(s, (gssize)len, NULL)) {
		v = g_strndup(s, len);
	} else {
		gsize out = 0;
		v = g_convert_with_fallback(s, (gssize)len, "UTF-8", "WINDOWS-1252", "?", NULL, &out,
					    NULL);
		if (!v)
			v = g_utf8_make_valid(s, (gssize)len);
	}
	char *r = omr_plugin_strdup(v);
	g_free(v);
	/* NULs and other control characters but tab and newline go */
	char *w = r;
	for (char *p = r; *p; p++)
		if ((unsigned char)*p >= 0x20 || *p == '\n' || *p == '\t')
			*w++ = *p;
	*w = '\0';
	int c = em_cut(r, max);
	if (cut)
		*cut = c;
	return r;
}

static char *em_utf8(const char *s, size_t len, size_t max)
{
	return em_utf8_cut(s, len, max, NULL);
}

static GByteArray *em_decoded(GMimePart *part)
{
	GMimeDataWrapper *w = g_mime_part_get_content(part);
	if (!w)
		return NULL;
	GMimeStream *mem = g_mime_stream_mem_new();
	g_mime_data_wrapper_write_to_stream(w, mem);
	GByteArray *arr = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
	GByteArray *copy = g_byte_array_new();
	g_byte_array_append(copy, arr->data, arr->len);
	g_object_unref(mem);
	return copy;
}

/* A charset that says nothing about 8-bit bytes: such mail is UTF-8 or
 * Windows-1252 in practice, whatever it declares. */
static int em_weak_charset(GMimePart *part)
{
	GMimeContentType *ct = g_mime_object_get_content_type(GMIME_OBJECT(part));
	const char *cs = g_mime_content_type_get_parameter(ct, "charset");
	return !cs || g_ascii_strcasecmp(cs, "us-ascii") == 0 ||
	       g_ascii_strcasecmp(cs, "ascii") == 0 || g_ascii_strcasecmp(cs, "unknown-8bit") == 0 ||
	       g_ascii_strcasecmp(cs, "x-unknown") == 0;
}

static char *em_raw_text_of(GMimePart *part, size_t max, int *cut)
{
	char *t = GMIME_IS_TEXT_PART(part) && !em_weak_charset(part) ?
			  g_mime_text_part_get_text(GMIME_TEXT_PART(part)) : NULL;
	char *r;
	if (t) {
		r = em_utf8_cut(t, strlen(t), max, cut);
		g_free(t);
		return r;
	}
	GByteArray *b = em_decoded(part);
	if (cut)
		*cut = 0;
	if (!b)
		return omr_plugin_strdup("");
	r = em_utf8_cut((const char *)b->data, b->len, max, cut);
	g_byte_array_unref(b);
	return r;
}

/* The decoded UTF-8 text of a text part (at most max bytes; *cut, may be
 * NULL: it was longer); format=flowed made plain. */
static char *em_text_of(GMimePart *part, size_t max, int *cut)
{
	char *r = em_raw_text_of(part, max, cut);
	GMimeContentType *ct = g_mime_object_get_content_type(GMIME_OBJECT(part));
	const char *fmt = g_mime_content_type_get_parameter(ct, "format");
	if (fmt && g_ascii_strcasecmp(fmt, "flowed") == 0 &&
	    g_mime_content_type_is_type(ct, "text", "plain")) {
		const char *delsp = g_mime_content_type_get_parameter(ct, "delsp");
		char *u = em_unflow(r, delsp && g_ascii_strcasecmp(delsp, "yes") == 0);
		free(r);
		r = u;
		/* quote marks are written back as "> ": a little longer, maybe */
		if (em_cut(r, max) && cut)
			*cut = 1;
	}
	return r;
}

static int em_blank(const char *s)
{
	for (; *s; s++)
		if (!g_ascii_isspace(*s))
			return 0;
	return 1;
}

/* ---- the walk over the parts ---- */

struct em_walk {
	struct em_msg *m;
	const struct em_limits *lim;
	GMimePart *plain, *html;      /* the best text bodies */
	GString *more;                /* later inline text/plain parts of a mixed body */
	int report;                   /* multipart/report; report-type=delivery-status */
};

static int em_is_attachment(GMimeObject *o)
{
	const char *d = g_mime_object_get_disposition(o);
	return d && g_ascii_strcasecmp(d, "attachment") == 0;
}

static void em_add_attachment(struct em_walk *w, GMimeObject *o, const char *name,
			      const char *type, const unsigned char *data, size_t size)
{
	struct em_msg *m = w->m;
	if (json_array_size(m->attachments) >= w->lim->attachments_max)
		return;
	const char *cid = g_mime_object_get_content_id(o);
	const char *disp = g_mime_object_get_disposition(o);
	int inl = (disp && g_ascii_strcasecmp(disp, "inline") == 0) || (cid && !em_is_attachment(o));
	gchar *sum = g_compute_checksum_for_data(G_CHECKSUM_SHA256, data ? data : (const guchar *)"",
						 data ? size : 0);
	int keep = data && size && size <= w->lim->attachment_max; /* empty: nothing to store */
	char *uname = em_utf8(name, strlen(name), 255);
	/* a media type is a token/token in ASCII; anything else says nothing */
	int type_ok = type && *type && strlen(type) <= 255;
	for (const char *c = type; type_ok && *c; c++)
		type_ok = (unsigned char)*c > 0x20 && (unsigned char)*c < 0x7f;
	json_t *a = json_pack("{s:s,s:s,s:I,s:b,s:s,s:b}", "name", *uname ? uname : "attachment",
			      "type", type_ok ? type : "application/octet-stream", "size",
			      (json_int_t)size, "inline", inl, "sha256", sum, "stored", keep);
	free(uname);
	g_free(sum);
	if (!a)
		return; /* (cannot happen with the checks above) attachments and parts stay in step */
	if (cid && g_utf8_validate(cid, -1, NULL))
		json_object_set_new(a, "content_id", json_string(cid));
	json_array_append_new(m->attachments, a);
	m->parts = realloc(m->parts, (m->nparts + 1) * sizeof(*m->parts));
	if (!m->parts)
		abort();
	struct em_part *p = &m->parts[m->nparts++];
	p->size = size;
	p->data = NULL;
	if (keep && size) {
		p->data = omr_plugin_calloc(1, size);
		memcpy(p->data, data, size);
	}
}

/* A line "Name: value" of a header block (text/rfc822-headers, a DSN). */
static char *em_field(const char *text, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
			const char *v = p + n + 1;
			while (*v == ' ' || *v == '\t')
				v++;
			size_t l = strcspn(v, "\r\n");
			/* a folded continuation */
			const char *q = v + l;
			while (*q == '\r')
				q++;
			if (*q == '\n' && (q[1] == ' ' || q[1] == '\t') && l == 0) {
				v = q + 1;
				while (*v == ' ' || *v == '\t')
					v++;
				l = strcspn(v, "\r\n");
			}
			char *r = omr_plugin_calloc(1, l + 1);
			memcpy(r, v, l);
			while (l && isspace((unsigned char)r[l - 1]))
				r[--l] = '\0';
			return r;
		}
	}
	return NULL;
}

static void em_bounce_part(struct em_walk *w, GMimeObject *o, GMimeContentType *ct)
{
	struct em_msg *m = w->m;
	if (g_mime_content_type_is_type(ct, "message", "delivery-status") && GMIME_IS_PART(o)) {
		char *t = em_text_of(GMIME_PART(o), 65536, NULL);
		char *action = em_field(t, "Action");
		if (action && g_ascii_strcasecmp(action, "failed") == 0) {
			m->bounce = 1;
			free(m->bounce_status);
			free(m->bounce_diagnostic);
			m->bounce_status = em_field(t, "Status");
			m->bounce_diagnostic = em_field(t, "Diagnostic-Code");
		}
		free(action);
		free(t);
	} else if ((g_mime_content_type_is_type(ct, "text", "rfc822-headers") ||
		    g_mime_content_type_is_type(ct, "message", "rfc822-headers")) && GMIME_IS_PART(o)) {
		char *t = em_text_of(GMIME_PART(o), 65536, NULL);
		char *id = em_field(t, "Message-ID");
		if (id && !m->bounce_message_id)
			m->bounce_message_id = em_dup(id);
		free(id);
		free(t);
	} else if (GMIME_IS_MESSAGE_PART(o)) {
		GMimeMessage *orig = g_mime_message_part_get_message(GMIME_MESSAGE_PART(o));
		const char *id = orig ? g_mime_message_get_message_id(orig) : NULL;
		if (id && !m->bounce_message_id)
			m->bounce_message_id = em_bracket(id);
	}
}

static void em_visit(GMimeObject *parent, GMimeObject *o, gpointer data)
{
	struct em_walk *w = data;
	GMimeContentType *ct = g_mime_object_get_content_type(o);
	if (GMIME_IS_MULTIPART(o))
		return; /* its parts come next */
	if (w->report && (g_mime_content_type_is_type(ct, "message", "delivery-status") ||
			  g_mime_content_type_is_type(ct, "text", "rfc822-headers") ||
			  g_mime_content_type_is_type(ct, "message", "rfc822-headers") ||
			  GMIME_IS_MESSAGE_PART(o))) {
		em_bounce_part(w, o, ct);
		return;
	}
	char *type = g_mime_content_type_get_mime_type(ct);
	char *ltype = em_lower(type);
	g_free(type);
	if (GMIME_IS_MESSAGE_PART(o)) {
		/* a forwarded mail: kept whole, as an attachment */
		GMimeMessage *inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(o));
		char *raw = inner ? g_mime_object_to_string(GMIME_OBJECT(inner), NULL) : NULL;
		const char *subj = inner ? g_mime_message_get_subject(inner) : NULL;
		char name[300];
		snprintf(name, sizeof(name), "%.250s.eml", subj && *subj ? subj : "forwarded message");
		em_add_attachment(w, o, name, "message/rfc822", (const unsigned char *)raw,
				  raw ? strlen(raw) : 0);
		g_free(raw);
	} else if (GMIME_IS_PART(o)) {
		GMimePart *part = GMIME_PART(o);
		int text = g_str_has_prefix(ltype, "text/");
		if (text && !em_is_attachment(o) && !g_mime_part_get_filename(part) &&
		    (strcmp(ltype, "text/plain") == 0 || strcmp(ltype, "text/html") == 0)) {
			int plain = strcmp(ltype, "text/plain") == 0;
			if (plain && !w->plain) {
				w->plain = part;
			} else if (!plain && !w->html) {
				w->html = part;
			} else if (plain && parent && GMIME_IS_MULTIPART(parent) &&
				   g_mime_content_type_is_type(
					   g_mime_object_get_content_type(parent), "multipart",
					   "mixed")) {
				/* Apple Mail and others split a body around inline
				 * attachments: the pieces belong to the text */
				char *t = em_text_of(part, w->lim->text_max, NULL);
				if (!em_blank(t) && w->more->len < w->lim->text_max)
					g_string_append_printf(w->more, "\n\n%s", t);
				free(t);
			} else {
				goto attach; /* a second body: keep it as a file */
			}
		} else {
attach:;
			const char *fn = g_mime_part_get_filename(part);
			GByteArray *b = em_decoded(part);
			char def[64];
			snprintf(def, sizeof(def), "%s", text ? "text.txt" : "attachment");
			em_add_attachment(w, o, fn ? fn : def, ltype, b ? b->data : NULL, b ? b->len : 0);
			if (b)
				g_byte_array_unref(b);
		}
	}
	free(ltype);
}

/* ---- headers ---- */

static void em_references(struct em_msg *m, GMimeMessage *msg, GMimeParserOptions *opts)
{
	const char *refs = g_mime_object_get_header(GMIME_OBJECT(msg), "References");
	const char *irt = g_mime_object_get_header(GMIME_OBJECT(msg), "In-Reply-To");
	m->references = json_array();
	if (refs) {
		GMimeReferences *r = g_mime_references_parse(opts, refs);
		for (int i = 0; r && i < g_mime_references_length(r) && i < 100; i++) {
			char *id = em_bracket(g_mime_references_get_message_id(r, i));
			if (id && g_utf8_validate(id, -1, NULL) && strlen(id) < 1000)
				json_array_append_new(m->references, json_string(id));
			free(id);
		}
		if (r)
			g_mime_references_free(r);
	}
	if (irt) {
		GMimeReferences *r = g_mime_references_parse(opts, irt);
		if (r && g_mime_references_length(r) > 0) {
			char *id = em_bracket(g_mime_references_get_message_id(r, 0));
			if (id && g_utf8_validate(id, -1, NULL) && strlen(id) < 1000)
				m->in_reply_to = id;
			else
				free(id);
		}
		if (r)
			g_mime_references_free(r);
	}
}

static void em_auto(struct em_msg *m, GMimeMessage *msg)
{
	GMimeObject *o = GMIME_OBJECT(msg);
	const char *as = g_mime_object_get_header(o, "Auto-Submitted");
	const char *prec = g_mime_object_get_header(o, "Precedence");
	while (as && (*as == ' ' || *as == '\t'))
		as++;
	if (as && *as && g_ascii_strncasecmp(as, "no", 2) != 0)
		m->auto_reason = "Auto-Submitted";
	else if (g_mime_object_get_header(o, "X-Autoreply") ||
		 g_mime_object_get_header(o, "X-Autorespond"))
		m->auto_reason = "X-Autoreply";
	else if (prec && (strcasestr(prec, "bulk") || strcasestr(prec, "junk") ||
			  strcasestr(prec, "list")))
		m->auto_reason = "Precedence";
	else if (g_mime_object_get_header(o, "List-Id"))
		m->auto_reason = "List-Id";
}

static void em_addresses(struct em_msg *m, GMimeMessage *msg)
{
	InternetAddressList *from = g_mime_message_get_from(msg);
	InternetAddressList *to = g_mime_message_get_to(msg);
	for (int i = 0; from && i < internet_address_list_length(from); i++) {
		InternetAddress *ia = internet_address_list_get_address(from, i);
		if (!INTERNET_ADDRESS_IS_MAILBOX(ia))
			continue;
		const char *addr = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia));
		if (!addr || !strchr(addr, '@') || !g_utf8_validate(addr, -1, NULL) ||
		    strlen(addr) > 254)
			continue;
		m->from_addr = em_lower(addr);
		const char *name = internet_address_get_name(ia);
		if (name && *name)
			m->from_name = em_utf8(name, strlen(name), 200);
		break;
	}
	for (int i = 0; to && i < internet_address_list_length(to); i++) {
		InternetAddress *ia = internet_address_list_get_address(to, i);
		if (!INTERNET_ADDRESS_IS_MAILBOX(ia))
			continue;
		const char *addr = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia));
		if (addr && strlen(addr) <= 254 && g_utf8_validate(addr, -1, NULL)) {
			m->to_addr = em_lower(addr);
			break;
		}
	}
	InternetAddressList *cc = g_mime_message_get_cc(msg);
	for (int i = 0; cc && i < internet_address_list_length(cc); i++) {
		InternetAddress *ia = internet_address_list_get_address(cc, i);
		if (!INTERNET_ADDRESS_IS_MAILBOX(ia) || json_array_size(m->cc) >= OMR_MAIL_CC_MAX)
			continue;
		const char *addr = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia));
		/* only what an agent's reply-all may name again (the core refuses
		 * a reply whose Cc has anything else) */
		if (!omr_mail_addr_ok(addr))
			continue;
		if (!m->cc)
			m->cc = json_array();
		char *low = em_lower(addr);
		json_array_append_new(m->cc, json_string(low));
		free(low);
	}
	/* the envelope sender, as the delivering MTA recorded it */
	const char *rp = g_mime_object_get_header(GMIME_OBJECT(msg), "Return-Path");
	if (rp) {
		while (*rp == ' ' || *rp == '\t')
			rp++;
		const char *lt = strchr(rp, '<'), *gt = lt ? strchr(lt, '>') : NULL;
		if (lt && gt && (size_t)(gt - lt) <= 255) {
			char *v = g_strndup(lt + 1, (gsize)(gt - lt - 1));
			if (g_utf8_validate(v, -1, NULL))
				m->return_path = em_lower(v);
			g_free(v);
		}
	}
}

/* ---- the message ---- */

int em_parse(const char *data, size_t len, const struct em_limits *lim, struct em_msg *m,
	     char **err_r)
{
	static const char *fallback[] = { "UTF-8", "WINDOWS-1252", NULL };
	memset(m, 0, sizeof(*m));
	m->attachments = json_array();
	GMimeParserOptions *opts = g_mime_parser_options_new();
	g_mime_parser_options_set_fallback_charsets(opts, fallback);
	g_mime_parser_options_set_rfc2047_compliance_mode(opts, GMIME_RFC_COMPLIANCE_LOOSE);
	g_mime_parser_options_set_address_compliance_mode(opts, GMIME_RFC_COMPLIANCE_LOOSE);
	g_mime_parser_options_set_parameter_compliance_mode(opts, GMIME_RFC_COMPLIANCE_LOOSE);
	GMimeStream *s = g_mime_stream_mem_new_with_buffer(data, len);
	GMimeParser *p = g_mime_parser_new_with_stream(s);
	GMimeMessage *msg = g_mime_parser_construct_message(p, opts);
	g_object_unref(p);
	g_object_unref(s);
	if (!msg) {
		g_mime_parser_options_free(opts);
		em_msg_free(m);
		return omr_plugin_error(err_r, "not a mail message");
	}

	const char *id = g_mime_message_get_message_id(msg);
	if (id && g_utf8_validate(id, -1, NULL) && strlen(id) < 990)
		m->message_id = em_bracket(id);
	const char *subj = g_mime_message_get_subject(msg);
	m->subject = em_utf8(subj ? subj : "", subj ? strlen(subj) : 0, 998);
	GDateTime *date = g_mime_message_get_date(msg);
	if (date)
		m->date_ms = (long long)g_date_time_to_unix(date) * 1000;
	em_addresses(m, msg);
	em_references(m, msg, opts);
	em_auto(m, msg);

	struct em_walk w = { .m = m, .lim = lim, .more = g_string_new(NULL) };
	GMimeObject *top = g_mime_message_get_mime_part(msg);
	if (top) {
		GMimeContentType *ct = g_mime_object_get_content_type(top);
		const char *rt = g_mime_content_type_get_parameter(ct, "report-type");
		w.report = g_mime_content_type_is_type(ct, "multipart", "report") && rt &&
			   g_ascii_strcasecmp(rt, "delivery-status") == 0;
		if (GMIME_IS_MULTIPART(top))
			g_mime_multipart_foreach(GMIME_MULTIPART(top), em_visit, &w);
		else
			em_visit(NULL, top, &w);
	}
	int cut = 0;
	if (w.plain) {
		char *t = em_text_of(w.plain, lim->text_max, &m->text_cut);
		if (w.more->len) {
			GString *all = g_string_new(t);
			g_string_append_len(all, w.more->str, (gssize)w.more->len);
			free(t);
			t = em_utf8_cut(all->str, all->len, lim->text_max, &cut);
			m->text_cut |= cut;
			g_string_free(all, TRUE);
		}
		m->full_text = t;
	} else if (w.html) {
		char *h = em_text_of(w.html, 4 * lim->text_max, &m->text_cut);
		char *t = em_html_to_text(h, strlen(h));
		m->full_text = em_utf8_cut(t, strlen(t), lim->text_max, &cut);
		m->text_cut |= cut;
		m->from_html = 1;
		free(t);
		free(h);
	} else {
		m->full_text = omr_plugin_strdup("");
	}
	g_string_free(w.more, TRUE);
	em_tidy(m->full_text);
	m->text = em_visible_text(m->full_text);
	g_object_unref(msg);
	g_mime_parser_options_free(opts);
	return 0;
}

void em_msg_free(struct em_msg *m)
{
	if (!m)
		return;
	free(m->message_id);
	free(m->in_reply_to);
	json_decref(m->references);
	free(m->from_addr);
	free(m->from_name);
	free(m->to_addr);
	json_decref(m->cc);
	free(m->return_path);
	free(m->subject);
	free(m->text);
	free(m->full_text);
	json_decref(m->attachments);
	for (size_t i = 0; i < m->nparts; i++)
		free(m->parts[i].data);
	free(m->parts);
	free(m->bounce_message_id);
	free(m->bounce_status);
	free(m->bounce_diagnostic);
	memset(m, 0, sizeof(*m));
}
