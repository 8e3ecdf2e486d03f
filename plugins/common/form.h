/*
 * form.h: an agent's file as a multipart/form-data body (RFC 7578), for
 * the channel plugins that upload it to a provider API: the WhatsApp Cloud
 * API's media upload, the Messenger Send API's attachment upload
 * (docs/media.md). Meant for a worker thread (host API work): it touches
 * nothing but its arguments. Static inline like provider.h.
 */
#ifndef OMR_PLUGINS_FORM_H
#define OMR_PLUGINS_FORM_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <omniroute/plugin.h>

#define PROVIDER_FORM_BOUNDARY "omniroute-form-7f3a9c1e5b"
#define PROVIDER_FORM_CONTENT_TYPE \
	"Content-Type: multipart/form-data; boundary=" PROVIDER_FORM_BOUNDARY

/* The parts before the file's bytes into out (cap bytes; out NULL: only
 * counted). Returns their length. */
static inline size_t provider_form_head(char *out, size_t cap, const char *const *fields,
					const char *file_field, const char *filename,
					const char *type)
{
	size_t n = 0;
	int k;
	for (size_t i = 0; fields[i] && fields[i + 1]; i += 2) {
		k = snprintf(out ? out + n : NULL, out ? cap - n : 0,
			     "--" PROVIDER_FORM_BOUNDARY "\r\nContent-Disposition: form-data; "
			     "name=\"%s\"\r\n\r\n%s\r\n", fields[i], fields[i + 1]);
		n += k > 0 ? (size_t)k : 0;
	}
	k = snprintf(out ? out + n : NULL, out ? cap - n : 0,
		     "--" PROVIDER_FORM_BOUNDARY "\r\nContent-Disposition: form-data; name=\"%s\"; "
		     "filename=\"%s\"\r\nContent-Type: %s\r\n\r\n", file_field, filename, type);
	return n + (k > 0 ? (size_t)k : 0);
}

/* The body: fields (name, value pairs, NULL-terminated; no CR or LF in
 * them), then the file at path as the part file_field, named filename
 * (a quote, backslash, CR or LF in it becomes '_') and typed type.
 * Returns the body (malloc'ed, the caller owns it; *len_r bytes), or NULL
 * when the file cannot be read. */
static inline char *provider_form_file(const char *const *fields, const char *file_field,
				       const char *filename, const char *type, const char *path,
				       size_t *len_r)
{
	static const char tail[] = "\r\n--" PROVIDER_FORM_BOUNDARY "--\r\n";
	char *name = omr_plugin_strdup(filename), *body = NULL;
	FILE *f = fopen(path, "rb");
	long n;
	for (char *p = name; *p; p++)
		if (*p == '"' || *p == '\\' || *p == '\r' || *p == '\n')
			*p = '_';
	if (f && fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		size_t hl = provider_form_head(NULL, 0, fields, file_field, name, type);
		size_t len = hl + (size_t)n + sizeof(tail) - 1;
		body = omr_plugin_calloc(1, len + 1);
		provider_form_head(body, hl + 1, fields, file_field, name, type);
		if (fread(body + hl, 1, (size_t)n, f) == (size_t)n) {
			memcpy(body + hl + n, tail, sizeof(tail) - 1);
			*len_r = len;
		} else {
			free(body);
			body = NULL;
		}
	}
	if (f)
		fclose(f);
	free(name);
	return body;
}

#endif
