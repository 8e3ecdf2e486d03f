/*
 * omr_primary_parse: what sentinels and cluster nodes say, parsed as the
 * hostile input it may be (see omr_primary.h).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "omr_redis.h"
#include "omr_primary.h"
#include "omr_util.h"

unsigned omr_primary_slot(const char *tag, size_t len)
{
	unsigned crc = 0;
	for (size_t i = 0; i < len; i++) {
		crc ^= (unsigned)(unsigned char)tag[i] << 8;
		for (int b = 0; b < 8; b++)
			crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
	}
	return crc % 16384;
}

/* a host string (a reply's) into host: 0, or -1 when it is no host name
 * or address or does not fit */
static int omr_primary_host(const char *h, size_t hlen, char *host, size_t hostlen)
{
	if (!omr_host_ok(h, hlen) || hlen >= hostlen)
		return -1;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	return 0;
}

/* host and port strings (a reply's) into host and port: 0 or -1 */
static int omr_primary_addr(const char *h, size_t hlen, const char *p, size_t plen, char *host,
			    size_t hostlen, int *port)
{
	char digits[8];
	long long v;
	if (plen == 0 || plen >= sizeof(digits))
		return -1;
	memcpy(digits, p, plen);
	digits[plen] = '\0';
	if (strspn(digits, "0123456789") != plen || omr_parse_ll(digits, &v) < 0 || v < 1 ||
	    v > 65535 || omr_primary_host(h, hlen, host, hostlen) < 0)
		return -1;
	*port = (int)v;
	return 0;
}

int omr_primary_parse_slots(const redisReply *reply, unsigned slot, char *host, size_t hostlen,
			    int *port, const char **why)
{
	if (!reply || reply->type != REDIS_REPLY_ARRAY)
		return *why = "not a slot map", -1;
	for (size_t i = 0; i < reply->elements; i++) {
		const redisReply *range = reply->element[i];
		const redisReply *from = omr_reply_elem(range, 0), *to = omr_reply_elem(range, 1);
		const redisReply *node = omr_reply_elem(range, 2);
		const redisReply *h = omr_reply_elem(node, 0), *p = omr_reply_elem(node, 1);
		if (!from || !to || from->type != REDIS_REPLY_INTEGER ||
		    to->type != REDIS_REPLY_INTEGER)
			return *why = "a slot range that is not [from, to, node, ...]", -1;
		if (from->integer > slot || to->integer < slot)
			continue;
		if (!h || !p || h->type != REDIS_REPLY_STRING || p->type != REDIS_REPLY_INTEGER ||
		    p->integer < 1 || p->integer > 65535)
			return *why = "the slot's primary is not [host, port, ...]", -1;
		if (omr_primary_host(h->str, h->len, host, hostlen) < 0)
			return *why = "the slot's primary is not a host name or address", -1;
		*port = (int)p->integer;
		return 0;
	}
	return *why = "no node serves the site's slot", -1;
}

int omr_primary_parse_moved(const char *err, char host[256], int *port)
{
	const char *sp, *colon;
	if (strncmp(err, "MOVED ", 6) != 0 || !(sp = strchr(err + 6, ' ')) ||
	    !(colon = strrchr(sp + 1, ':')))
		return -1;
	return omr_primary_addr(sp + 1, (size_t)(colon - sp - 1), colon + 1, strlen(colon + 1),
				host, 256, port);
}

int omr_primary_parse_sentinel(const redisReply *reply, char *host, size_t hostlen, int *port,
			      const char **why)
{
	const redisReply *h = omr_reply_elem(reply, 0), *p = omr_reply_elem(reply, 1);

	if (reply && reply->type == REDIS_REPLY_NIL)
		return *why = "the sentinel does not know this master", -1;
	if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 || !h || !p ||
	    h->type != REDIS_REPLY_STRING || p->type != REDIS_REPLY_STRING)
		return *why = "not [host, port]", -1;
	if (omr_primary_addr(h->str, h->len, p->str, p->len, host, hostlen, port) < 0)
		return *why = "not a host name or address and a port", -1;
	return 0;
}

static int omr_primary_about(const char *text, size_t len, const char *master)
{
	size_t n = strlen(master);
	return len > n && memcmp(text, master, n) == 0 && text[n] == ' ';
}

/* the space-separated field after the one at p (or NULL), in [p, end) */
static const char *omr_primary_next_field(const char *p, const char *end)
{
	const char *sp = p < end ? memchr(p, ' ', (size_t)(end - p)) : NULL;
	return sp ? sp + 1 : NULL;
}

int omr_primary_parse_switch(const char *text, size_t len, const char *master, char *host,
			     size_t hostlen, int *port)
{
	const char *end = text + len, *h = text, *p, *pe;
	*port = 0;
	if (!omr_primary_about(text, len, master))
		return 0;
	for (int i = 0; i < 3 && h; i++) /* past the name, the old ip and port */
		h = omr_primary_next_field(h, end);
	if (h && (p = omr_primary_next_field(h, end)) && p < end) {
		pe = memchr(p, ' ', (size_t)(end - p));
		if (omr_primary_addr(h, (size_t)(p - 1 - h), p, (size_t)((pe ? pe : end) - p), host,
				     hostlen, port) < 0)
			*port = 0;
	}
	return 1;
}

/* Sentinel's events name the master as "master NAME ip port" or, for a
 * replica, "slave ip:port ip port @ NAME ip port" */
int omr_primary_parse_event(const char *text, size_t len, const char *master, char *host,
			    size_t hostlen, int *port)
{
	static const char at[] = " @ ", own[] = "master ";
	const char *p = NULL, *end = text + len, *h, *sp;
	size_t n = strlen(master);
	if (len > sizeof(own) - 1 && memcmp(text, own, sizeof(own) - 1) == 0)
		p = text + sizeof(own) - 1;
	for (size_t i = 0; !p && i + sizeof(at) - 1 <= len; i++)
		if (memcmp(text + i, at, sizeof(at) - 1) == 0)
			p = text + i + sizeof(at) - 1;
	if (!p || !omr_primary_about(p, (size_t)(end - p), master))
		return 0;
	h = p + n + 1;
	if (!(sp = memchr(h, ' ', (size_t)(end - h))))
		return 0;
	p = sp + 1; /* the port: to the end, or to a space */
	const char *pe = memchr(p, ' ', (size_t)(end - p));
	return omr_primary_addr(h, (size_t)(sp - h), p, (size_t)((pe ? pe : end) - p), host,
				hostlen, port) == 0;
}

int omr_primary_master_is(const redisReply *reply, const char *host, int port,
			  long long *epoch)
{
	const char *ip = NULL, *p = NULL, *flags = NULL;
	char want[16];
	*epoch = -1;
	if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements % 2)
		return 0;
	for (size_t i = 0; i + 1 < reply->elements; i += 2) {
		const char *k = omr_reply_str(reply->element[i]);
		const char *v = omr_reply_str(reply->element[i + 1]);
		if (!k || !v)
			continue;
		if (strcmp(k, "ip") == 0)
			ip = v;
		else if (strcmp(k, "port") == 0)
			p = v;
		else if (strcmp(k, "flags") == 0)
			flags = v;
		else if (strcmp(k, "config-epoch") == 0 &&
			 (omr_parse_ll(v, epoch) < 0 || *epoch < 0))
			*epoch = -1;
	}
	snprintf(want, sizeof(want), "%d", port);
	return ip && p && flags && strcmp(ip, host) == 0 && strcmp(p, want) == 0 &&
	       !strstr(flags, "s_down") && !strstr(flags, "o_down") &&
	       !strstr(flags, "failover_in_progress");
}
