/* SPDX-License-Identifier: MIT */
/*
 * source.c — the non-UDP sources, read by the ingest thread: a file or stdin
 * (replayed line by line, at full speed or --rate lines/s) and /dev/kmsg (one
 * record per read). Lines of one source are batched per worker into lane
 * records. Unlike UDP, a full lane pauses these sources instead of dropping:
 * the data waits in the file or in the kernel's ring (where an overwrite is
 * counted as kmsg_overrun).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ingest/ingest_internal.h"

enum emit_stop { EMIT_DONE = 0, EMIT_PAUSED, EMIT_RATE };

static int src_open_fd(struct ingest_src *s, const struct ingest_source *spec)
{
	switch (spec->kind) {
	case INGEST_SOURCE_FILE:
		snprintf(s->name, sizeof(s->name), "file:%s", spec->path);
		return open(spec->path, O_RDONLY | O_CLOEXEC);
	case INGEST_SOURCE_STDIN: snprintf(s->name, sizeof(s->name), "stdin"); return STDIN_FILENO;
	case INGEST_SOURCE_KMSG:
		snprintf(s->name, sizeof(s->name), "kmsg");
		return open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	default: errno = EINVAL; return -1;
	}
}

int ingest_src_open(struct ingest_src *s, const struct ingest_source *spec)
{
	struct stat st;
	int err;

	memset(s, 0, sizeof(*s));
	s->kind = spec->kind;
	s->fd = src_open_fd(s, spec);
	if (s->fd < 0)
		goto fail;
	/* Only records from now on: a restart must not count the kernel's backlog again. */
	if (s->kind == INGEST_SOURCE_KMSG && lseek(s->fd, 0, SEEK_END) < 0)
		goto fail_close;
	s->regular = s->kind != INGEST_SOURCE_KMSG && fstat(s->fd, &st) == 0 && S_ISREG(st.st_mode);
	s->buf = malloc(s->kind == INGEST_SOURCE_KMSG ? INGEST_KMSG_BUF : INGEST_FILE_BUF);
	if (s->buf)
		return 0;
	errno = ENOMEM;
fail_close:
	err = errno;
	ingest_src_close(s);
	errno = err;
fail:
	err = errno;
	ingest_log(INGEST_LOG_ERROR, "cannot open source %s: %s", s->name, strerror(err));
	s->fd = -1;
	return -err;
}

void ingest_src_close(struct ingest_src *s)
{
	if (s->fd > STDIN_FILENO)
		close(s->fd);
	s->fd = -1;
	free(s->buf);
	s->buf = NULL;
}

/* A line the parser would reject anyway: counted here, without a copy. */
static void src_too_long(struct ingest *in)
{
	shm_counter_add(&in->cnt->lines, 1);
	shm_counter_add(&in->cnt->rejected[PARSE_REJECT_TOO_LONG], 1);
}

/* --rate: may one more line go now? */
static bool src_rate_ok(struct ingest *in)
{
	unsigned __int128 elapsed;

	if (!in->o.rate)
		return true;
	elapsed = ingest_mono_ns() - in->rate_start_ns;
	return (unsigned __int128)in->rate_lines * 1000000000u <= elapsed * in->o.rate;
}

/* Per-worker records being filled during one call of src_emit(). */
struct pending {
	struct ingest_record *rec;
	uint32_t len;
};

static void pending_flush(struct ingest *in, struct pending *p, uint32_t w, uint64_t now)
{
	if (p[w].rec)
		ingest_lane_commit(&in->lanes[w], p[w].rec, p[w].len, now);
	p[w].rec = NULL;
}

/* Append one line to its worker's record; false if that lane is full. */
static bool src_line(struct ingest *in, struct pending *p, const char *line, size_t len,
                     uint64_t now)
{
	uint32_t w = ingest_pick_worker(line, len, NULL, in->nworkers);

	if (p[w].rec && p[w].len + len + 1 > INGEST_RECORD_MAX)
		pending_flush(in, p, w, now);
	if (!p[w].rec) {
		p[w].rec = ingest_reserve(in, w, INGEST_RECORD_MAX);
		p[w].len = 0;
		if (!p[w].rec)
			return false;
	}
	memcpy(p[w].rec->data + p[w].len, line, len);
	p[w].rec->data[p[w].len + len] = '\n';
	p[w].len += (uint32_t)len + 1;
	return true;
}

/* The next complete line of buf[off, fill) (or the last one at EOF), or NULL. */
static const char *src_next_line(struct ingest *in, struct ingest_src *s, size_t *len, size_t *next)
{
	for (;;) {
		char *p = s->buf + s->off, *nl = memchr(p, '\n', s->fill - s->off);
		size_t n = nl ? (size_t)(nl - p) : s->fill - s->off;

		if (!nl && !(s->eof && n)) {
			if (n > INGEST_LINE_MAX && !s->skipping) {
				src_too_long(in);
				s->skipping = true;
			}
			if (s->skipping)
				s->off = s->fill;
			return NULL;
		}
		*next = s->off + n + (nl ? 1 : 0);
		if (!s->skipping && n <= INGEST_LINE_MAX) {
			*len = n;
			return p;
		}
		if (!s->skipping)
			src_too_long(in);
		s->skipping = false;
		s->off = *next;
	}
}

/* Hand on the complete lines in the buffer. */
static enum emit_stop src_emit(struct ingest *in, struct ingest_src *s)
{
	struct pending p[INGEST_WORKERS_MAX];
	enum emit_stop stop = EMIT_DONE;
	uint64_t now = ingest_now_ns();
	const char *line;
	size_t len, next;

	memset(p, 0, sizeof(p[0]) * in->nworkers);
	while ((line = src_next_line(in, s, &len, &next)) != NULL) {
		if (!src_rate_ok(in)) {
			stop = EMIT_RATE;
			break;
		}
		if (!src_line(in, p, line, len, now)) {
			stop = EMIT_PAUSED;
			break;
		}
		s->off = next;
		s->lines++;
		in->rate_lines++;
	}
	for (uint32_t w = 0; w < in->nworkers; w++)
		pending_flush(in, p, w, now);
	return stop;
}

/* One read(); false at EOF or on an error (both end the source). */
static bool src_read(struct ingest *in, struct ingest_src *s)
{
	static struct ingest_ratelimit rl;
	ssize_t n;

	if (s->off) {
		memmove(s->buf, s->buf + s->off, s->fill - s->off);
		s->fill -= s->off;
		s->off = 0;
	}
	do
		n = read(s->fd, s->buf + s->fill, INGEST_FILE_BUF - s->fill);
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EAGAIN)
		return true;
	if (n < 0)
		ingest_log_ratelimited(&rl, INGEST_LOG_ERROR, "%s: read: %s", s->name,
		                       strerror(errno));
	if (n <= 0) {
		s->eof = true;
		return false;
	}
	shm_counter_add(&in->cnt->datagrams, 1);
	shm_counter_add(&in->cnt->bytes, (uint64_t)n);
	s->fill += (size_t)n;
	return true;
}

static bool src_lines_process(struct ingest *in, struct ingest_src *s, const struct pollfd *pfd)
{
	bool readable = s->regular || (pfd && (pfd->revents & (POLLIN | POLLHUP | POLLERR)));

	for (unsigned turn = 0; turn < INGEST_FILE_TURNS; turn++) {
		enum emit_stop stop = src_emit(in, s);

		s->paused = stop == EMIT_PAUSED;
		s->throttled = stop == EMIT_RATE;
		if (stop != EMIT_DONE)
			return false;
		if (s->eof || !readable)
			break;
		readable = s->regular; /* a pipe or tty: one read per readiness */
		if (!src_read(in, s))
			return src_lines_process(in, s, NULL); /* the last line, without '\n' */
	}
	if (s->eof && s->off >= s->fill && s->fd >= 0) {
		ingest_log(INGEST_LOG_INFO, "%s: end of input after %llu lines", s->name,
		           (unsigned long long)s->lines);
		ingest_src_close(s);
	}
	return s->fd >= 0 && s->regular;
}

/* /dev/kmsg: one record per read; only its first line (the message) is handed on:
 * the " KEY=value" lines after it are metadata. */
static bool src_kmsg_process(struct ingest *in, struct ingest_src *s, const struct pollfd *pfd)
{
	if (!s->paused && !(pfd && (pfd->revents & (POLLIN | POLLERR))))
		return false;
	for (unsigned turn = 0; turn < INGEST_SRC_BUDGET; turn++) {
		struct ingest_record *r;
		char *nl;
		uint32_t w;
		ssize_t n;

		if (!s->paused) {
			n = read(s->fd, s->buf, INGEST_KMSG_BUF);
			if (n < 0 && errno == EPIPE) {
				/* Records were overwritten before we read them; reading goes on. */
				shm_counter_add(&in->cnt->dropped[SHM_DROP_KMSG_OVERRUN], 1);
				continue;
			}
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				return false;
			if (n < 0) {
				/* EINVAL (record larger than the buffer) and the like do not heal. */
				ingest_log(INGEST_LOG_ERROR, "kmsg: read: %s: source closed",
				           strerror(errno));
				ingest_src_close(s);
				return false;
			}
			nl = memchr(s->buf, '\n', (size_t)n);
			s->fill = nl ? (size_t)(nl - s->buf) : (size_t)n;
			shm_counter_add(&in->cnt->datagrams, 1);
			shm_counter_add(&in->cnt->bytes, (uint64_t)n);
		}
		w = ingest_pick_worker(s->buf, s->fill, NULL, in->nworkers);
		r = ingest_reserve(in, w, (uint32_t)s->fill);
		s->paused = !r; /* keep the record and try again shortly */
		if (!r)
			return false;
		memcpy(r->data, s->buf, s->fill);
		ingest_lane_commit(&in->lanes[w], r, (uint32_t)s->fill, ingest_now_ns());
	}
	return true;
}

bool ingest_src_process(struct ingest *in, struct ingest_src *s, const struct pollfd *pfd)
{
	if (s->fd < 0)
		return false;
	if (s->kind == INGEST_SOURCE_KMSG)
		return src_kmsg_process(in, s, pfd);
	return src_lines_process(in, s, pfd);
}
