/* Fuzz harness: the reports' query strings (GET /api/v1/reports/...?from=
 * &to=&days=&format=&interval=, as the admin API receives them, raw and
 * percent-encoded) and dates. Whatever comes in, the answer is a period of
 * at most OMR_REPORTS_MAX_DAYS days in order, or an error with a message
 * of printable ASCII. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "omr_reports.h"
#include "omr_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = omr_strndup((const char *)data, size);
	struct omr_reports_query q;
	char err[256], d[16];
	long long day;
	int rc = omr_reports_query_parse(s, 22405 /* 2031-05-06 */, &q, err, sizeof(err));

	if (rc == OMR_REPORTS_OK) {
		if (q.from > q.to || q.to - q.from + 1 > OMR_REPORTS_MAX_DAYS || q.from < 0)
			abort();
		if (q.interval && q.interval != 15 && q.interval != 60 && q.interval != 1440)
			abort();
	} else {
		for (const char *p = err; *p; p++)
			if (*p < 0x20 || *p >= 0x7f)
				abort();
	}
	/* the same bytes as a date: a day that prints back the same */
	if (omr_reports_date_parse((const char *)data, size, &day) == 0) {
		omr_reports_date_str(day, d, sizeof(d));
		if (size != 10 || memcmp(d, data, 10) != 0)
			abort();
	}
	free(s);
	return 0;
}
