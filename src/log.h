/* persona-dna: logging.  One line per event, key=value context, to stderr.
 * The level is checked before anything is formatted.  Never log payloads or
 * personal data above debug. */
#ifndef PD_LOG_H
#define PD_LOG_H

typedef enum pd_log_level_e {
        PD_LOG_ERROR = 3,
        PD_LOG_WARN  = 4,
        PD_LOG_INFO  = 6,
        PD_LOG_DEBUG = 7,
} pd_log_level_t;

extern int pd_log_level;

/* Returns -1 when name is not a level ("error", "warn", "info", "debug"). */
int pd_log_level_parse(const char *name);
void pd_log_write(int level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define PD_LOG(level, module, ...)                                             \
        do {                                                                   \
                if ((level) <= pd_log_level)                                   \
                        pd_log_write((level), (module), __VA_ARGS__);          \
        } while (0)

#define pd_log_error(mod, ...) PD_LOG(PD_LOG_ERROR, mod, __VA_ARGS__)
#define pd_log_warn(mod, ...)  PD_LOG(PD_LOG_WARN, mod, __VA_ARGS__)
#define pd_log_info(mod, ...)  PD_LOG(PD_LOG_INFO, mod, __VA_ARGS__)
#define pd_log_debug(mod, ...) PD_LOG(PD_LOG_DEBUG, mod, __VA_ARGS__)

#endif
