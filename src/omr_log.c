/*
 * omr_log: stderr and syslog logging. See omr_log.h for the threading rule.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "omr_log.h"

static struct {
	volatile int level;
	int use_syslog;
} omr_log_state = { OMR_LOG_INFO, 0 };

static const char *const omr_log_names[] = { "ERROR", "WARN ", "INFO ", "DEBUG" };
static const int omr_log_syslog_prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };

void omr_log_setup(enum omr_log_level level, int use_syslog, const char *ident)
{
	omr_log_state.level = level;
	if (use_syslog && !omr_log_state.use_syslog)
		openlog(ident ? ident : "omniroute", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	else if (!use_syslog && omr_log_state.use_syslog)
		closelog();
	omr_log_state.use_syslog = use_syslog;
}

void omr_log_set_level(enum omr_log_level level)
{
	omr_log_state.level = level;
}

int omr_log_enabled(enum omr_log_level level)
{
	return (int)level <= omr_log_state.level;
}

int omr_log_level_parse(const char *s)
{
	static const char *const names[] = { "error", "warn", "info", "debug" };
	for (int i = 0; i < 4; i++)
		if (strcasecmp(s, names[i]) == 0)
			return i;
	if (strcasecmp(s, "warning") == 0)
		return OMR_LOG_WARN;
	return -1;
}

void omr_logv(enum omr_log_level level, const char *prefix, const char *fmt, va_list ap)
{
	char line[4096];
	struct timespec ts;
	struct tm tm;
	size_t n;
	int r;

	if (!omr_log_enabled(level))
		return;
	if (level > OMR_LOG_DEBUG)
		level = OMR_LOG_DEBUG;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
	r = snprintf(line + n, sizeof(line) - n, ".%03ldZ %s ", ts.tv_nsec / 1000000L,
		     omr_log_names[level]);
	if (r > 0)
		n += (size_t)r;
	size_t head = n; /* syslog gets the line from here on */
	if (prefix) {
		r = snprintf(line + n, sizeof(line) - n - 1, "%s: ", prefix);
		if (r > 0)
			n += (size_t)r < sizeof(line) - n - 1 ? (size_t)r : sizeof(line) - n - 2;
	}
	va_list cp;
	va_copy(cp, ap);
	r = vsnprintf(line + n, sizeof(line) - n - 1, fmt, cp);
	va_end(cp);
	if (r > 0)
		n += (size_t)r < sizeof(line) - n - 1 ? (size_t)r : sizeof(line) - n - 2;
	/* Keep one event on one line: control characters in the message
	 * (they may come from untrusted input) are replaced. */
	for (size_t i = head; i < n; i++)
		if ((unsigned char)line[i] < 0x20)
			line[i] = ' ';
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, n) < 0) {
		/* nowhere left to report it */
	}
	if (omr_log_state.use_syslog)
		syslog(omr_log_syslog_prio[level], "%.*s", (int)(n - 1 - head), line + head);
}

void omr_log(enum omr_log_level level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	omr_logv(level, NULL, fmt, ap);
	va_end(ap);
}
