/* util.h: small helpers every module uses: errors, allocation, strings.
 *
 * Error convention (libpcap style, used everywhere in core/): a function that
 * can fail takes `char *err` pointing at CL_ERRBUF bytes, returns -1 (or NULL)
 * and leaves a lower-case message there that names the object and the fix. */
#ifndef CAPLAB_UTIL_H
#define CAPLAB_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define CL_ERRBUF 1024
#define CAPLAB_VERSION "0.1.0"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Formats into err (if not NULL) and returns -1, so `return cl_err(err, ...)`. */
int cl_err(char *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Allocation that aborts on out-of-memory: callers never check. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A growable byte/string buffer; data is always NUL-terminated. */
struct buf {
	char *data;
	size_t len, cap;
};
void buf_add(struct buf *b, const void *p, size_t n);
void buf_adds(struct buf *b, const char *s);
void buf_addf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_reset(struct buf *b);
void buf_free(struct buf *b);

/* Whole-file helpers. read_file returns a NUL-terminated malloc'd buffer. */
char *read_file(const char *path, size_t *len, char *err);
int write_file(const char *path, const void *data, size_t len, int mode, char *err);
/* Whole-file copy (atomic at dst, via write_file). */
int copy_file(const char *src, const char *dst, int mode, char *err);
int mkdir_p(const char *path, int mode, char *err);
int rm_rf(const char *path);

/* Monotonic and real time in seconds / nanoseconds. */
double now_mono(void);
uint64_t now_real_ns(void);

/* sha256 of a buffer or file as 64 hex chars + NUL. */
void sha256_hex(const void *data, size_t len, char out[65]);
int sha256_file_hex(const char *path, char out[65], char *err);

#endif
