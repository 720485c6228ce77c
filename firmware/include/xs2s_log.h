/* Logging: one line per event, through the port's sink, each line naming
 * its link ("L3") or the engine ("--"). Levels above CONFIG_XS2S_LOG_LEVEL
 * are compiled out; xs2s_log_level lowers it further at run time. */
#ifndef XS2S_LOG_H
#define XS2S_LOG_H

#define XS2S_LOG_ERROR 1
#define XS2S_LOG_WARN  2
#define XS2S_LOG_INFO  3
#define XS2S_LOG_DEBUG 4

extern int xs2s_log_level; /* run-time level, <= CONFIG_XS2S_LOG_LEVEL */

/* link_id 0 means "the engine". Lines longer than XS2S_LOG_LINE are cut. */
void xs2s_log(int level, unsigned link_id, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define XS2S_LOG_LINE 320

#define XS2S_LOG_AT(lvl, id, ...) \
	do { if ((lvl) <= CONFIG_XS2S_LOG_LEVEL && (lvl) <= xs2s_log_level) xs2s_log((lvl), (id), __VA_ARGS__); } while (0)
#define XS2S_LOGE(id, ...) XS2S_LOG_AT(XS2S_LOG_ERROR, id, __VA_ARGS__)
#define XS2S_LOGW(id, ...) XS2S_LOG_AT(XS2S_LOG_WARN, id, __VA_ARGS__)
#define XS2S_LOGI(id, ...) XS2S_LOG_AT(XS2S_LOG_INFO, id, __VA_ARGS__)
#define XS2S_LOGD(id, ...) XS2S_LOG_AT(XS2S_LOG_DEBUG, id, __VA_ARGS__)

#endif
