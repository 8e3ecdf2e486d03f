/*
 * config: the e-mail plugin's configuration keys (as data, for the host's
 * loader and the configuration reference) and the checks the types alone
 * cannot make; the same code serves `omniroute -t`, a reload and the start.
 */
#include <stddef.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <omniroute/plugin.h>

#include "email.h"
#include "imap.h"

#define EOFF(f) offsetof(struct em_config, f)
const struct omr_conf_key em_keys[] = {
	{ "address", OMR_CONF_STRING, EOFF(address), 1, NULL, 0, 0,
	  "the contact center's address: From of replies (support@example.com)" },
	{ "from_name", OMR_CONF_STRING, EOFF(from_name), 0, "Customer Service", 0, 0,
	  "display name of replies (\"Alice via <from_name>\")" },
	{ "domain", OMR_CONF_STRING, EOFF(domain), 0, NULL, 0, 0,
	  "domain of our Message-IDs (default: the domain of address)" },
	{ "lmtp_address", OMR_CONF_STRING, EOFF(lmtp_address), 0, "127.0.0.1", 0, 0,
	  "where the LMTP listener binds (IPv4)" },
	{ "lmtp_port", OMR_CONF_INT, EOFF(lmtp_port), 0, "2424", 0, 65535,
	  "LMTP port for the MTA (0: no LMTP)" },
	{ "max_size", OMR_CONF_INT, EOFF(max_size), 0, "26214400", 1024, 268435456,
	  "largest message in bytes (larger: 552)" },
	{ "attachment_max", OMR_CONF_INT, EOFF(attachment_max), 0, "10485760", 0, 268435456,
	  "largest attachment stored, bytes (larger ones: name, type and size only)" },
	{ "max_recipients", OMR_CONF_INT, EOFF(max_recipients), 0, "50", 1, 1000,
	  "recipients of one LMTP transaction" },
	{ "max_connections", OMR_CONF_INT, EOFF(max_connections), 0, "64", 1, 10000,
	  "LMTP connections at once" },
	{ "lmtp_timeout", OMR_CONF_MS, EOFF(lmtp_timeout), 0, "5m", 1000, 3600000,
	  "an idle LMTP connection is closed after this" },
	{ "smtp_url", OMR_CONF_STRING, EOFF(smtp_url), 0, "smtp://127.0.0.1:25", 0, 0,
	  "the smarthost for replies: smtp://host:port (STARTTLS) or smtps://host:port" },
	{ "smtp_user", OMR_CONF_STRING, EOFF(smtp_user), 0, NULL, 0, 0, "SMTP AUTH user" },
	{ "smtp_password", OMR_CONF_SECRET, EOFF(smtp_password), 0, NULL, 0, 0,
	  "SMTP AUTH password" },
	{ "smtp_starttls", OMR_CONF_BOOL, EOFF(smtp_starttls), 0, "true", 0, 0,
	  "require STARTTLS on smtp:// (false: plain, for a smarthost on localhost)" },
	{ "send_attempts", OMR_CONF_INT, EOFF(send_attempts), 0, "5", 1, 20,
	  "tries of a reply on transient failures (connection, 4xx)" },
	{ "send_timeout", OMR_CONF_MS, EOFF(send_timeout), 0, "60s", 1000, 600000,
	  "of one SMTP delivery" },
	{ "html", OMR_CONF_BOOL, EOFF(html), 0, "false", 0, 0,
	  "replies carry an HTML alternative as well as text/plain" },
	{ "reopen_within", OMR_CONF_MS, EOFF(reopen_within), 0, "7d", 0, 31536000000LL,
	  "a customer writing again in a thread closed this recently reopens it (0: never)" },
	{ "trust_from", OMR_CONF_BOOL, EOFF(trust_from), 0, "false", 0, 0,
	  "the MTA verifies senders (SPF/DKIM/DMARC): the From address is stored as the "
	  "customer's verified e-mail (else as claimed_email)" },
	{ "sender_rate_max", OMR_CONF_INT, EOFF(sender_rate_max), 0, "30", 0, 1000000,
	  "mails from one address per sender_rate_window that may start contacts; more are "
	  "stored as automatic, not routed (a mail loop; 0: no limit)" },
	{ "sender_rate_window", OMR_CONF_MS, EOFF(sender_rate_window), 0, "1h", 1000, 86400000,
	  "the window of sender_rate_max" },
	{ "imap_url", OMR_CONF_STRING, EOFF(imap_url), 0, NULL, 0, 0,
	  "a mailbox to poll: imaps://host/INBOX or imap://host:143/INBOX (none: no polling)" },
	{ "imap_user", OMR_CONF_STRING, EOFF(imap_user), 0, NULL, 0, 0, "IMAP login" },
	{ "imap_password", OMR_CONF_SECRET, EOFF(imap_password), 0, NULL, 0, 0,
	  "IMAP password" },
	{ "imap_starttls", OMR_CONF_BOOL, EOFF(imap_starttls), 0, "true", 0, 0,
	  "require STARTTLS on imap:// (false: plain, for a server on localhost)" },
	{ "imap_interval", OMR_CONF_MS, EOFF(imap_interval), 0, "60s", 1000, 86400000,
	  "between two polls of the mailbox" },
	{ "imap_batch", OMR_CONF_INT, EOFF(imap_batch), 0, "50", 1, 10000,
	  "messages fetched per poll (the rest next time)" },
	{ "imap_from_start", OMR_CONF_BOOL, EOFF(imap_from_start), 0, "false", 0, 0,
	  "the first poll of a mailbox reads the mail already in it (false: only what comes after)" },
	{ NULL, OMR_CONF_END, 0, 0, NULL, 0, 0, NULL },
};

int em_check(const void *config, char **err_r)
{
	const struct em_config *cfg = config;
	const char *at = strchr(cfg->address, '@');
	if (!at || at == cfg->address || !at[1] || strpbrk(cfg->address, "<> \t\r\n,;\"") ||
	    strlen(cfg->address) > 254)
		return omr_plugin_error(err_r, "address: an e-mail address like support@example.com");
	if (cfg->domain && (!*cfg->domain || strpbrk(cfg->domain, "<>@ \t\r\n") ||
			    strlen(cfg->domain) > 200))
		return omr_plugin_error(err_r, "domain: a domain name");
	if (strncmp(cfg->smtp_url, "smtp://", 7) != 0 && strncmp(cfg->smtp_url, "smtps://", 8) != 0)
		return omr_plugin_error(err_r, "smtp_url: smtp://host:port or smtps://host:port");
	if (strpbrk(cfg->from_name, "\r\n") || strlen(cfg->from_name) > 200)
		return omr_plugin_error(err_r, "from_name: one line of at most 200 characters");
	struct in_addr a;
	if (inet_pton(AF_INET, cfg->lmtp_address, &a) != 1)
		return omr_plugin_error(err_r, "lmtp_address: an IPv4 address");
	if (cfg->imap_url && em_imap_url_check(cfg->imap_url, err_r) < 0)
		return OMR_ERROR;
	if (!cfg->lmtp_port && !cfg->imap_url)
		return omr_plugin_error(err_r, "no way in: set lmtp_port or imap_url");
	return OMR_OK;
}
