/*
 * sms: the SMS channel plugin over SMPP 3.4 (see sms.h for the files and
 * docs/channels/sms.md for the behaviour): configuration keys as data,
 * the checks `omniroute -t` runs, and the life cycle (init, start: the
 * links connect; stop: they unbind; free).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <event2/dns.h>
#include <openssl/err.h>
#include <smpp34.h>

#include "sms_int.h"

#define SOFF(f) offsetof(struct sms_config, f)
static const char *const sms_bind_modes[] = { "transceiver", "separate", NULL };
static const struct omr_conf_key sms_keys[] = {
	{ "host", OMR_CONF_STRING, SOFF(host), 1, NULL, 0, 0, "the SMSC's host name or address" },
	{ "port", OMR_CONF_INT, SOFF(port), 0, "2775", 1, 65535, "the SMSC's SMPP port" },
	{ "tls", OMR_CONF_BOOL, SOFF(tls), 0, "false", 0, 0,
	  "SMPP over TLS (the SMSC's certificate and host name are verified)" },
	{ "tls_ca", OMR_CONF_PATH, SOFF(tls_ca), 0, NULL, 0, 0,
	  "CA certificates (PEM) for tls (default: the system's)" },
	{ "system_id", OMR_CONF_STRING, SOFF(system_id), 1, NULL, 0, 0,
	  "the account at the SMSC (up to 15 characters)" },
	{ "password", OMR_CONF_SECRET, SOFF(password), 0, NULL, 0, 0,
	  "its password (up to 8 characters; SMPP 3.4 has no longer ones)" },
	{ "system_type", OMR_CONF_STRING, SOFF(system_type), 0, NULL, 0, 0,
	  "system_type of the bind, if the SMSC wants one (up to 12)" },
	{ "bind", OMR_CONF_ENUM, SOFF(bind), 0, "transceiver", 0, 0,
	  "one transceiver session, or separate transmitter and receiver sessions", sms_bind_modes,
	  NULL },
	{ "source", OMR_CONF_STRING, SOFF(source), 1, NULL, 0, 0,
	  "the sender of our texts: +E.164 number, short code or alphanumeric (up to 11)" },
	{ "source_ton", OMR_CONF_INT, SOFF(source_ton), 0, "-1", -1, 6,
	  "its type of number (-1: from its form: + international, letters alphanumeric, else unknown)" },
	{ "source_npi", OMR_CONF_INT, SOFF(source_npi), 0, "-1", -1, 18,
	  "its numbering plan (-1: from its form)" },
	{ "country_code", OMR_CONF_STRING, SOFF(country_code), 1, NULL, 0, 0,
	  "the default region: the country calling code of national numbers (\"31\")" },
	{ "window", OMR_CONF_INT, SOFF(window), 0, "10", 1, 1000,
	  "submit_sm without an answer at most (the SMSC's window)" },
	{ "rate", OMR_CONF_INT, SOFF(rate), 0, "10", 1, 10000,
	  "submit_sm a second at most (each part counts)" },
	{ "enquire_interval", OMR_CONF_MS, SOFF(enquire_interval), 0, "30s", 1000, 600000,
	  "an enquire_link after this long without a PDU from the SMSC" },
	{ "response_timeout", OMR_CONF_MS, SOFF(response_timeout), 0, "10s", 500, 300000,
	  "the SMSC must answer a bind, enquire_link or submit_sm within this, else the link is "
	  "dropped and made again" },
	{ "reconnect_min", OMR_CONF_MS, SOFF(reconnect_min), 0, "1s", 100, 600000,
	  "the first delay before connecting again; doubled after each failure" },
	{ "reconnect_max", OMR_CONF_MS, SOFF(reconnect_max), 0, "60s", 100, 3600000,
	  "the longest delay before connecting again" },
	{ "receipts", OMR_CONF_BOOL, SOFF(receipts), 0, "true", 0, 0,
	  "ask for delivery receipts (registered_delivery)" },
	{ "send_attempts", OMR_CONF_INT, SOFF(send_attempts), 0, "5", 1, 50,
	  "tries of a part the SMSC answers with a temporary error (ESME_RTHROTTLED, ...)" },
	{ "retry_delay", OMR_CONF_MS, SOFF(retry_delay), 0, "2s", 100, 600000,
	  "the first delay after a temporary error; doubled each try (at most 60s)" },
	{ "reassembly_timeout", OMR_CONF_MS, SOFF(reassembly_timeout), 0, "30s", 1000, 600000,
	  "a customer's message in parts is stored with what came after this" },
	{ "text_max", OMR_CONF_INT, SOFF(text_max), 0, "1530", 70, 39015,
	  "the longest reply in characters (1530: 10 parts of GSM 03.38)" },
	{ NULL, OMR_CONF_END, 0, 0, NULL, 0, 0, NULL, NULL, NULL },
};

static int sms_alnum(const char *s)
{
	for (; *s; s++)
		if (isalpha((unsigned char)*s))
			return 1;
	return 0;
}

static int sms_check(const void *config, char **err_r)
{
	const struct sms_config *c = config;
	if (!c->host[0])
		return omr_plugin_error(err_r, "host: the SMSC's host name or address");
	if (strlen(c->system_id) > 15 || !c->system_id[0])
		return omr_plugin_error(err_r, "system_id: 1 to 15 characters (SMPP 3.4)");
	if (c->password && strlen(c->password) > 8)
		return omr_plugin_error(err_r, "password: at most 8 characters (SMPP 3.4)");
	if (c->system_type && strlen(c->system_type) > 12)
		return omr_plugin_error(err_r, "system_type: at most 12 characters");
	if (!c->source[0] || strlen(c->source) > 20 ||
	    (sms_alnum(c->source) && strlen(c->source) > 11))
		return omr_plugin_error(err_r, "source: a number (up to 20 digits) or up to 11 letters "
					"and digits");
	if (c->source[0] == '+' && strspn(c->source + 1, "0123456789") != strlen(c->source + 1))
		return omr_plugin_error(err_r, "source: a number after + is digits only");
	size_t cc = strlen(c->country_code);
	if (cc < 1 || cc > 3 || strspn(c->country_code, "0123456789") != cc || c->country_code[0] == '0')
		return omr_plugin_error(err_r, "country_code: the country calling code, 1 to 3 digits "
					"without + or 00 (\"31\", \"1\", \"353\")");
	if (c->reconnect_min > c->reconnect_max)
		return omr_plugin_error(err_r, "reconnect_min is longer than reconnect_max");
	if (c->tls_ca && !c->tls)
		return omr_plugin_error(err_r, "tls_ca without tls: true");
	return OMR_OK;
}

static void sms_source(struct sms_state *st)
{
	const struct sms_config *c = st->cfg;
	const char *s = c->source;
	int ton = 0, npi = 1;
	if (s[0] == '+') {
		ton = 1;
		s++;
	} else if (sms_alnum(s)) {
		ton = 5;
		npi = 0;
	}
	snprintf(st->src, sizeof(st->src), "%s", s);
	st->src_ton = (uint8_t)(c->source_ton >= 0 ? c->source_ton : ton);
	st->src_npi = (uint8_t)(c->source_npi >= 0 ? c->source_npi : npi);
}

static void sms_pump_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	sms_out_pump(arg);
}

static void sms_mo_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	sms_in_expire(arg);
}

static int sms_init(const struct omr_host_api *api, omr_host *host, const void *config,
		    void **state_r, char **err_r)
{
	const struct sms_config *cfg = config;
	if (sms_check(config, err_r) != OMR_OK)
		return OMR_ERROR;
	struct sms_state *st = omr_plugin_calloc(1, sizeof(*st));
	st->api = api;
	st->host = host;
	st->cfg = cfg;
	sms_source(st);
	struct omr_channel_policy policy = { .text_max = (size_t)cfg->text_max };
	if (api->channel_policy(host, &policy, err_r) != OMR_OK) {
		free(st);
		return OMR_ERROR;
	}
	*state_r = st;
	return OMR_OK;
}

static int sms_tls_new(struct sms_state *st, char **err_r)
{
	st->ssl = SSL_CTX_new(TLS_client_method());
	if (!st->ssl)
		return omr_plugin_error(err_r, "tls: no TLS context");
	SSL_CTX_set_min_proto_version(st->ssl, TLS1_2_VERSION);
	SSL_CTX_set_verify(st->ssl, SSL_VERIFY_PEER, NULL);
	if (st->cfg->tls_ca ? SSL_CTX_load_verify_locations(st->ssl, st->cfg->tls_ca, NULL) != 1
			    : SSL_CTX_set_default_verify_paths(st->ssl) != 1) {
		unsigned long e = ERR_get_error();
		return omr_plugin_error(err_r, "tls_ca: %s", ERR_reason_error_string(e)
							      ? ERR_reason_error_string(e)
							      : "cannot be read");
	}
	return OMR_OK;
}

static int sms_start(void *state, char **err_r)
{
	struct sms_state *st = state;
	struct in6_addr a6;
	st->base = st->api->event_base(st->host);
	if (st->cfg->tls && sms_tls_new(st, err_r) != OMR_OK)
		return OMR_ERROR;
	if (inet_pton(AF_INET, st->cfg->host, &a6) != 1 && inet_pton(AF_INET6, st->cfg->host, &a6) != 1) {
		/* a name: resolved on the loop, never with a blocking lookup */
		st->dns = evdns_base_new(st->base, EVDNS_BASE_INITIALIZE_NAMESERVERS);
		if (!st->dns)
			return omr_plugin_error(err_r, "host: no resolver (/etc/resolv.conf)");
	}
	st->pump = evtimer_new(st->base, sms_pump_timer, st);
	st->mo_timer = evtimer_new(st->base, sms_mo_timer, st);
	if (!st->pump || !st->mo_timer)
		return omr_plugin_error(err_r, "no timers");
	if (st->cfg->bind == SMS_BIND_SEPARATE) {
		sms_link_init(&st->links[0], st, BIND_TRANSMITTER, "transmitter");
		sms_link_init(&st->links[1], st, BIND_RECEIVER, "receiver");
		st->nlinks = 2;
	} else {
		sms_link_init(&st->links[0], st, BIND_TRANSCEIVER, "transceiver");
		st->nlinks = 1;
	}
	for (int i = 0; i < st->nlinks; i++)
		sms_link_connect(&st->links[i]);
	return OMR_OK;
}

static void sms_stop(void *state)
{
	struct sms_state *st = state;
	st->stopping = 1;
	for (int i = 0; i < st->nlinks; i++)
		sms_link_stop(&st->links[i]);
}

static int sms_send(void *state, const struct omr_outbound *out)
{
	return sms_out_send(state, out);
}

static void sms_metrics(void *state, omr_metrics *m)
{
	struct sms_state *st = state;
	const struct omr_host_api *api = st->api;
	unsigned long long bound = 0, drops = 0, queued = 0;
	for (int i = 0; i < st->nlinks; i++) {
		bound += st->links[i].state == SMS_BOUND;
		drops += st->links[i].drops;
	}
	for (const struct sms_msg *q = st->head; q; q = q->next)
		queued++;
	api->metric(m, "links_bound", "gauge", "SMPP sessions bound now", bound);
	api->metric(m, "link_drops_total", "counter", "SMPP sessions lost (or never bound)", drops);
	api->metric(m, "queued", "gauge", "messages not yet acknowledged in full", queued);
	api->metric(m, "submits_total", "counter", "submit_sm written (parts; resends included)",
		    st->n_submitted);
	api->metric(m, "resubmits_total", "counter",
		    "submit_sm sent again because the link dropped before their answer",
		    st->n_resent);
	api->metric(m, "throttled_total", "counter", "submit_sm answered ESME_RTHROTTLED",
		    st->n_throttled);
	api->metric(m, "sent_total", "counter", "messages acknowledged in full", st->n_sent);
	api->metric(m, "failed_total", "counter", "messages that failed for good", st->n_failed);
	api->metric(m, "received_total", "counter", "customers' messages taken (MO)", st->n_mo);
	api->metric(m, "receipts_total", "counter", "delivery receipts taken", st->n_receipts);
	api->metric(m, "malformed_total", "counter", "PDUs from the SMSC that could not be read",
		    st->n_malformed);
}

static void sms_free(void *state)
{
	struct sms_state *st = state;
	if (!st)
		return;
	st->stopping = 1;
	for (int i = 0; i < st->nlinks; i++)
		sms_link_free(&st->links[i]);
	sms_out_free(st);
	sms_in_free(st);
	if (st->pump)
		event_free(st->pump);
	if (st->mo_timer)
		event_free(st->mo_timer);
	if (st->dns)
		evdns_base_free(st->dns, 0);
	if (st->ssl)
		SSL_CTX_free(st->ssl);
	free(st);
}

const struct omr_plugin_descriptor omr_plugin = {
	OMR_PLUGIN_DESCRIPTOR_INIT,
	.name = "sms",
	.version = "1.0",
	.description = "SMS over SMPP 3.4: submit_sm out, deliver_sm in, delivery receipts",
	.kind = OMR_PLUGIN_CHANNEL,
	.config_keys = sms_keys,
	.config_size = sizeof(struct sms_config),
	.check = sms_check,
	.init = sms_init,
	.start = sms_start,
	.stop = sms_stop,
	.free = sms_free,
	.send = sms_send,
	.metrics = sms_metrics,
};
