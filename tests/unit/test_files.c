/* Unit tests: omr_files (signed links to stored attachments). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "omr_files.h"
#include "omr_util.h"

#define SHA "3f1c0d5e8a9b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d"
#define NOW 1800000000LL

static const unsigned char KEY[32] = "0123456789abcdef0123456789abcdef";

static struct omr_file_ref ref(const char *channel, const char *sha, const char *name,
			       const char *type, int64_t expires)
{
	struct omr_file_ref r;
	memset(&r, 0, sizeof(r));
	snprintf(r.channel, sizeof(r.channel), "%s", channel);
	snprintf(r.sha256, sizeof(r.sha256), "%s", sha);
	snprintf(r.name, sizeof(r.name), "%s", name);
	snprintf(r.type, sizeof(r.type), "%s", type);
	r.expires = expires;
	return r;
}

static void test_roundtrip(void **state)
{
	struct omr_files *f = omr_files_new_with_key("/var/lib/omniroute/attachments", KEY);
	struct omr_file_ref r = ref("email", SHA, "factuur maart.pdf", "application/pdf", NOW + 60);
	struct omr_file_ref got;
	char path[4096];
	char *link = omr_files_link(f, &r);

	assert_non_null(link);
	assert_memory_equal(link, OMR_FILES_PREFIX, strlen(OMR_FILES_PREFIX));
	const char *rest = link + strlen(OMR_FILES_PREFIX);
	assert_int_equal(omr_files_check(f, rest, NOW, &got, path, sizeof(path)), OMR_FILES_OK);
	assert_string_equal(got.channel, "email");
	assert_string_equal(got.sha256, SHA);
	assert_string_equal(got.name, "factuur maart.pdf");
	assert_string_equal(got.type, "application/pdf");
	assert_int_equal(got.expires, NOW + 60);
	assert_string_equal(path, "/var/lib/omniroute/attachments/email/" SHA);

	/* a minute later than it was made for */
	assert_int_equal(omr_files_check(f, rest, NOW + 61, &got, path, sizeof(path)),
			 OMR_FILES_EXPIRED);
	/* another node's key (or after a restart) */
	unsigned char other[32];
	memset(other, 7, sizeof(other));
	struct omr_files *g = omr_files_new_with_key("/x", other);
	assert_int_equal(omr_files_check(g, rest, NOW, &got, path, sizeof(path)), OMR_FILES_BAD);
	omr_files_free(g);

	/* every single changed character breaks it */
	char *copy = omr_strdup(rest);
	for (size_t i = 0; copy[i]; i++) {
		char was = copy[i];
		if (copy[i] == '/')
			continue;
		copy[i] = was == 'a' ? 'b' : 'a';
		assert_int_equal(omr_files_check(f, copy, NOW, &got, path, sizeof(path)),
				 OMR_FILES_BAD);
		copy[i] = was;
	}
	free(copy);
	free(link);
	omr_files_free(f);
}

static void test_hostile_links(void **state)
{
	struct omr_files *f = omr_files_new_with_key("/srv", KEY);
	struct omr_file_ref got;
	char path[64], big[3000];
	static const char *const bad[] = {
		"", "/", "abc", "ab/", "/" SHA, "zz/" SHA, "6/" SHA, "../../etc/passwd",
		"..%2f..%2fetc%2fpasswd", "00/" SHA SHA, "61/" SHA "0",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(omr_files_check(f, bad[i], NOW, &got, path, sizeof(path)),
				 OMR_FILES_BAD);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	big[2000] = '/';
	assert_int_equal(omr_files_check(f, big, NOW, &got, path, sizeof(path)), OMR_FILES_BAD);

	/* correctly signed payloads that name something else than a file of
	 * the store are refused all the same */
	static const char *const payloads[] = {
		"../x\n" SHA "\n1900000000\na.pdf\napplication/pdf",
		"email\n../../../etc/passwd\n1900000000\na.pdf\napplication/pdf",
		"email\n" SHA "\n1900000000\n../a\napplication/pdf",
		"email\n" SHA "\n1900000000\n..\napplication/pdf",
		"email\n" SHA "\n1900000000\na\"b\napplication/pdf",
		"email\n" SHA "\n1900000000\na.pdf\napplication/pdf\nextra",
		"email\n" SHA "\n1900000000\na.pdf\ntext/html; charset=x",
		"email\n" SHA "\n-5\na.pdf\napplication/pdf",
		"email\n" SHA "\nsoon\na.pdf\napplication/pdf",
		"email\n" SHA "\n1900000000\n\xff\xfe.pdf\napplication/pdf",
		"EMAIL\n" SHA "\n1900000000\na.pdf\napplication/pdf",
		"email\n" SHA "\n1900000000\n\xe2\x80\xae" "fdp.exe\napplication/pdf", /* RLO */
		"email\n" SHA "\n1900000000\na\xc2\x85" "b\napplication/pdf",         /* NEL */
		"email\n" SHA "\n1900000000\na\xe2\x80\x8b" ".pdf\napplication/pdf",  /* ZWSP */
		"email\n" SHA "\n1900000000\n\xef\xbb\xbf" "a.pdf\napplication/pdf",  /* BOM */
	};
	for (size_t i = 0; i < sizeof(payloads) / sizeof(payloads[0]); i++) {
		const char *p = payloads[i];
		char link[1200], sig[65];
		omr_hex((const unsigned char *)p, strlen(p), link);
		omr_hmac_sha256_hex(KEY, sizeof(KEY), p, strlen(p), sig);
		strcat(link, "/");
		strcat(link, sig);
		assert_int_equal(omr_files_check(f, link, NOW, &got, path, sizeof(path)),
				 OMR_FILES_BAD);
	}
	/* a root too long for the caller's buffer is refused, not cut */
	struct omr_file_ref r = ref("email", SHA, "a.pdf", "application/pdf", NOW + 60);
	char *link = omr_files_link(f, &r);
	char tiny[20];
	assert_int_equal(omr_files_check(f, link + strlen(OMR_FILES_PREFIX), NOW, &got, tiny,
					 sizeof(tiny)),
			 OMR_FILES_BAD);
	free(link);
	/* fields no link can carry */
	r = ref("email", "abc", "a.pdf", "application/pdf", NOW);
	assert_null(omr_files_link(f, &r));
	r = ref("e/../x", SHA, "a.pdf", "application/pdf", NOW);
	assert_null(omr_files_link(f, &r));
	r = ref("email", SHA, "a\nb", "application/pdf", NOW);
	assert_null(omr_files_link(f, &r));
	r = ref("email", SHA, "a.pdf", "nonsense", NOW);
	assert_null(omr_files_link(f, &r));
	omr_files_free(f);
}

static void test_serve_type(void **state)
{
	int shown = -1;
	assert_string_equal(omr_files_serve_type("image/png", &shown), "image/png");
	assert_int_equal(shown, 1);
	assert_string_equal(omr_files_serve_type("text/plain", &shown), "text/plain");
	assert_int_equal(shown, 1);
	/* a PDF keeps its type but is downloaded (no viewer in a sandbox) */
	assert_string_equal(omr_files_serve_type("application/pdf", &shown), "application/pdf");
	assert_int_equal(shown, 0);
	/* what could run script on our origin is a download of bytes */
	static const char *const risky[] = { "text/html", "image/svg+xml", "application/xhtml+xml",
					     "text/xml", "application/javascript",
					     "application/octet-stream" };
	for (size_t i = 0; i < sizeof(risky) / sizeof(risky[0]); i++) {
		assert_string_equal(omr_files_serve_type(risky[i], &shown),
				    "application/octet-stream");
		assert_int_equal(shown, 0);
	}
}

/* Frames get links on stored attachments this node has, nothing else. */
/* A store in a new temporary directory (root, its email dir) with one
 * file, SHA, holding bytes. */
static struct omr_files *store_with_file(char *root, char *dir, size_t dlen, char *file,
					 size_t flen, const char *bytes)
{
	FILE *fp;
	assert_non_null(mkdtemp(root));
	snprintf(dir, dlen, "%s/email", root);
	assert_int_equal(mkdir(dir, 0750), 0);
	snprintf(file, flen, "%s/%s", dir, SHA);
	fp = fopen(file, "w");
	assert_non_null(fp);
	fputs(bytes, fp);
	fclose(fp);
	return omr_files_new_with_key(root, KEY);
}

static void test_decorate(void **state)
{
	char root[] = "/tmp/omr-files-XXXXXX", dir[256], file[400];
	struct omr_files *f;
	json_t *frame, *out, *atts;

	f = store_with_file(root, dir, sizeof(dir), file, sizeof(file), "%PDF-1.4");

	frame = json_pack("{s:s,s:{s:s,s:[{s:s,s:s,s:[{s:s,s:s,s:s,s:b},{s:s,s:s,s:b},"
			  "{s:s,s:s,s:s,s:b},{s:s,s:s,s:s,s:b}]}]}}",
			  "type", "history", "conversation", "id", "c_1", "messages", "id", "m_1",
			  "channel", "email", "attachments",
			  "name", "factuur.pdf", "type", "application/pdf", "sha256", SHA, "stored", 1,
			  "name", "big.iso", "type", "application/x-iso9660-image", "stored", 0,
			  "name", "elsewhere.pdf", "type", "application/pdf", "sha256",
			  "0000000000000000000000000000000000000000000000000000000000000000",
			  "stored", 1,
			  "name", "../../passwd\xe2\x80\xae" "exe.pdf", "type", "TEXT/HTML<script>",
			  "sha256", SHA, "stored", 1);
	assert_non_null(frame);
	out = omr_files_decorate(f, frame, NOW);
	assert_ptr_not_equal(out, frame); /* a copy: the caller's frame is shared */
	assert_null(json_object_get(json_array_get(json_object_get(json_array_get(
		json_object_get(json_object_get(frame, "conversation"), "messages"), 0),
		"attachments"), 0), "url"));
	atts = json_object_get(json_array_get(json_object_get(json_object_get(out, "conversation"),
								 "messages"), 0), "attachments");
	const char *url = json_string_value(json_object_get(json_array_get(atts, 0), "url"));
	assert_non_null(url);
	struct omr_file_ref got;
	char path[512];
	assert_int_equal(omr_files_check(f, url + strlen(OMR_FILES_PREFIX), NOW, &got, path,
					 sizeof(path)), OMR_FILES_OK);
	assert_string_equal(path, file);
	assert_int_equal(got.expires, NOW + OMR_FILES_TTL_S);
	assert_null(json_object_get(json_array_get(atts, 1), "url")); /* not stored */
	assert_null(json_object_get(json_array_get(atts, 2), "url")); /* not on this node */
	url = json_string_value(json_object_get(json_array_get(atts, 3), "url"));
	assert_non_null(url); /* same file, name and type made safe */
	assert_int_equal(omr_files_check(f, url + strlen(OMR_FILES_PREFIX), NOW, &got, path,
					 sizeof(path)), OMR_FILES_OK);
	assert_string_equal(got.name, ".._.._passwd_exe.pdf");
	assert_string_equal(got.type, "application/octet-stream");
	json_decref(out);

	/* only where the server puts messages: not in what a bot sent along */
	json_t *slots = json_pack("{s:s,s:{s:{s:s,s:[{s:s,s:s,s:b}]}}}", "type", "offer",
				  "conversation", "bot_slots", "channel", "email", "attachments",
				  "sha256", SHA, "name", "x.pdf", "stored", 1);
	out = omr_files_decorate(f, slots, NOW);
	assert_ptr_equal(out, slots);
	json_decref(out);
	json_decref(slots);
	/* the welcome's list of conversations */
	json_t *welcome = json_pack("{s:s,s:[{s:[{s:s,s:[{s:s,s:s,s:b}]}]}]}", "type", "welcome",
				    "conversations", "messages", "channel", "email", "attachments",
				    "sha256", SHA, "name", "y.pdf", "stored", 1);
	out = omr_files_decorate(f, welcome, NOW);
	assert_non_null(json_object_get(json_array_get(json_object_get(json_array_get(json_object_get(
		json_array_get(json_object_get(out, "conversations"), 0), "messages"), 0),
		"attachments"), 0), "url"));
	json_decref(out);
	json_decref(welcome);

	/* a frame without stored attachments is passed as it is */
	json_t *plain = json_pack("{s:s,s:{s:s,s:s}}", "type", "message", "message", "id", "m_2",
				  "channel", "webchat");
	out = omr_files_decorate(f, plain, NOW);
	assert_ptr_equal(out, plain);
	json_decref(out);
	json_decref(plain);

	/* whether the file is here is remembered for a minute (no stat() per
	 * frame), then looked at again */
	unlink(file);
	out = omr_files_decorate(f, frame, NOW + 30);
	assert_non_null(json_object_get(json_array_get(json_object_get(json_array_get(
		json_object_get(json_object_get(out, "conversation"), "messages"), 0),
		"attachments"), 0), "url"));
	json_decref(out);
	out = omr_files_decorate(f, frame, NOW + 61);
	assert_null(json_object_get(json_array_get(json_object_get(json_array_get(
		json_object_get(json_object_get(out, "conversation"), "messages"), 0),
		"attachments"), 0), "url"));
	json_decref(out);
	json_decref(frame);
	omr_files_free(f);
	rmdir(dir);
	rmdir(root);
}

/* A purged file is deleted from this node's store (omr_privacy's sweeper);
 * names that are not a channel and a SHA-256 never reach the disk. */
static void test_remove(void **state)
{
	static const struct {
		const char *channel, *sha;
		int want;
	} cases[] = {
		{ "email", SHA, 1 },           /* here: deleted */
		{ "email", SHA, 0 },           /* again: not here */
		{ "..", SHA, -1 },
		{ "email/../x", SHA, -1 },
		{ "", SHA, -1 },
		{ "email", "../../etc/passwd", -1 },
		{ "email", "3F1C0D5E8A9B7C6D5E4F3A2B1C0D9E8F7A6B5C4D3E2F1A0B9C8D7E6F5A4B3C2D", -1 },
		{ "email", SHA "00", -1 },
	};
	char root[] = "/tmp/omr-files-XXXXXX", dir[256], file[400];
	struct omr_files *f = store_with_file(root, dir, sizeof(dir), file, sizeof(file), "bytes");

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(omr_files_remove(f, cases[i].channel, cases[i].sha), cases[i].want);
	assert_int_not_equal(access(file, F_OK), 0);
	omr_files_free(f);
	rmdir(dir);
	rmdir(root);
}

static void test_url_encode(void **state)
{
	char *s = omr_url_encode("factuur maart/\"ü\".pdf~-_");
	assert_string_equal(s, "factuur%20maart%2F%22%C3%BC%22.pdf~-_");
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),  cmocka_unit_test(test_hostile_links),
		cmocka_unit_test(test_serve_type), cmocka_unit_test(test_decorate),
		cmocka_unit_test(test_url_encode), cmocka_unit_test(test_remove),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
