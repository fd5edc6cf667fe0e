#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

int pd_log_level = PD_LOG_INFO;

static const struct {
        const char *name;
        int level;
} levels[] = {{"error", PD_LOG_ERROR},
              {"warn", PD_LOG_WARN},
              {"info", PD_LOG_INFO},
              {"debug", PD_LOG_DEBUG}};

int pd_log_level_parse(const char *name)
{
        for (size_t i = 0; name && i < sizeof(levels) / sizeof(levels[0]); i++)
                if (!strcmp(name, levels[i].name))
                        return levels[i].level;
        return -1;
}

static const char *level_name(int level)
{
        for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
                if (levels[i].level >= level)
                        return levels[i].name;
        return "debug";
}

void pd_log_write(int level, const char *module, const char *fmt, ...)
{
        char line[2048];
        struct timeval tv;
        struct tm tm;
        gettimeofday(&tv, NULL);
        gmtime_r(&tv.tv_sec, &tm);
        int n = snprintf(line, sizeof(line),
                         "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ level=%s "
                         "module=%s ",
                         tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                         tm.tm_hour, tm.tm_min, tm.tm_sec,
                         (int)(tv.tv_usec / 1000), level_name(level), module);
        va_list ap;
        va_start(ap, fmt);
        if (n > 0 && (size_t)n < sizeof(line))
                vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
        va_end(ap);
        /* One write per line so concurrent processes do not interleave. */
        fprintf(stderr, "%s\n", line);
}
