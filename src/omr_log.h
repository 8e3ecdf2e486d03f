/*
 * omr_log: the one logging API.
 *
 * Lines go to stderr ("2026-11-25T10:00:00.123Z INFO  message") and, when
 * enabled, to syslog. The level is checked before formatting. The logger's
 * settings are the one piece of process-wide state outside struct omr_core:
 * they are written only by the main thread (startup, reload) and read by
 * both threads; a line is emitted with a single write(2).
 */
#ifndef OMR_LOG_H
#define OMR_LOG_H

#include <stdarg.h>
#include <omniroute/plugin.h>

void omr_log_setup(enum omr_log_level level, int use_syslog, const char *ident);
void omr_log_set_level(enum omr_log_level level);
int omr_log_enabled(enum omr_log_level level);
/* Parse "error", "warn", "info", "debug"; returns -1 if unknown. */
int omr_log_level_parse(const char *s);

void omr_log(enum omr_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void omr_logv(enum omr_log_level level, const char *prefix, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

#define omr_log_error(...) omr_log(OMR_LOG_ERROR, __VA_ARGS__)
#define omr_log_warn(...) omr_log(OMR_LOG_WARN, __VA_ARGS__)
#define omr_log_info(...) omr_log(OMR_LOG_INFO, __VA_ARGS__)
/* Debug lines carry the function name. */
#define omr_log_debug(fmt, ...) \
	do { \
		if (omr_log_enabled(OMR_LOG_DEBUG)) \
			omr_log(OMR_LOG_DEBUG, "%s: " fmt, __func__, ##__VA_ARGS__); \
	} while (0)

#endif
