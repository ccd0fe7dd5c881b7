/* SPDX-License-Identifier: MIT */
/*
 * snapshot.c — the rendered expositions between the render thread and the http thread: a
 * small pool of snapshots, one of them current, handed to responses by reference; and the
 * gzip of a snapshot, made once after publication when a gzip client asks for it.
 *
 *   render thread                          http thread (any number of responses)
 *   s = back(): !current && refs == 0      s = current; refs++; current still s? keep : refs--
 *   write s; publish: current = s          ... send s ...; refs-- (when MHD frees the response)
 *
 * Why it is safe without a lock: snapshots are never freed while the threads run (their buffers
 * are reused), so touching `refs` of a stale pointer is harmless; and every access below is
 * sequentially consistent, so if back() saw refs == 0 for a snapshot that is not current, a
 * reader's later increment is followed by its reload of `current`, which cannot be that
 * snapshot until the renderer publishes it again — complete. A reader only reads a snapshot it
 * holds a reference on and saw current after taking it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "sinks/metrics/metrics_internal.h"

#define GZIP_WINDOW_BITS (15 + 16) /* a gzip wrapper around deflate */
#define GZIP_MEM_LEVEL   8
#define GZIP_CHUNK_MAX   (1u << 30) /* zlib counts in uInt */

void metrics_pool_init(struct metrics_pool *pool)
{
	memset(pool, 0, sizeof(*pool));
	for (unsigned i = 0; i < METRICS_SNAPSHOTS; i++)
		pool->snap[i].index = i;
}

void metrics_pool_destroy(struct metrics_pool *pool)
{
	for (unsigned i = 0; i < METRICS_SNAPSHOTS; i++) {
		metrics_body_free(&pool->snap[i].body);
		free(pool->snap[i].gz.p);
		pool->snap[i].gz = (struct metrics_buf){0};
	}
	pool->current = NULL;
}

struct metrics_snapshot *metrics_pool_back(struct metrics_pool *pool)
{
	/* Pairs with the seq_cst exchange in publish (we are its only writer anyway). */
	struct metrics_snapshot *cur = __atomic_load_n(&pool->current, __ATOMIC_SEQ_CST);

	for (unsigned i = 0; i < METRICS_SNAPSHOTS; i++) {
		struct metrics_snapshot *s = &pool->snap[i];

		/* Pairs with the seq_cst decrement in put(): the last reader is done with s. */
		if (s != cur && __atomic_load_n(&s->refs, __ATOMIC_SEQ_CST) == 0)
			return s;
	}
	return NULL;
}

void metrics_pool_publish(struct metrics_pool *pool, struct metrics_snapshot *s)
{
	/* Publishes s's contents; pairs with the seq_cst loads of `current` in get(). */
	__atomic_store_n(&pool->current, s, __ATOMIC_SEQ_CST);
}

struct metrics_snapshot *metrics_pool_get(struct metrics_pool *pool)
{
	for (;;) {
		/* Pairs with publish: a snapshot seen current is complete. */
		struct metrics_snapshot *s = __atomic_load_n(&pool->current, __ATOMIC_SEQ_CST);

		if (!s)
			return NULL;
		/* Announces the reader to back(); ordered before the reload below. */
		__atomic_add_fetch(&s->refs, 1, __ATOMIC_SEQ_CST);
		/* Still current after the increment: back() cannot hand s out until it is put. */
		if (__atomic_load_n(&pool->current, __ATOMIC_SEQ_CST) == s)
			return s;
		metrics_pool_put(s);
	}
}

void metrics_pool_put(struct metrics_snapshot *s)
{
	/* Releases our reads of s to the renderer's seq_cst load of refs in back(). */
	__atomic_sub_fetch(&s->refs, 1, __ATOMIC_SEQ_CST);
}

int metrics_snapshot_gzip(struct metrics_snapshot *s, int level)
{
	int ret;

	if (metrics_snapshot_has_gzip(s))
		return 0;
	/* Nobody reads gz before gz_ready: the render thread may write it while s is served. */
	ret = metrics_gzip(&s->body, level, &s->gz);
	if (ret < 0)
		return ret;
	/* Publishes gz; pairs with the acquire load in metrics_snapshot_has_gzip(). */
	__atomic_store_n(&s->gz_ready, 1, __ATOMIC_RELEASE);
	return 0;
}

/* ---- gzip ------------------------------------------------------------------------------------ */

static int gzip_room(struct metrics_buf *out, z_stream *z, size_t want)
{
	size_t cap = out->cap ? out->cap : 4096;
	char *p;

	out->len = z->total_out;
	if (out->cap - out->len >= want)
		goto set;
	while (cap - out->len < want)
		cap *= 2;
	p = realloc(out->p, cap);
	if (!p)
		return -ENOMEM;
	out->p = p;
	out->cap = cap;
set:
	z->next_out = (Bytef *)out->p + out->len;
	z->avail_out = (uInt)((out->cap - out->len) < GZIP_CHUNK_MAX ? out->cap - out->len
	                                                             : GZIP_CHUNK_MAX);
	return 0;
}

/* Feed one section; the last one with Z_FINISH. */
static int gzip_feed(z_stream *z, struct metrics_buf *out, const struct metrics_buf *in, int flush)
{
	size_t left = in->len;
	const char *p = in->p;
	int ret;

	do {
		uInt n = (uInt)(left < GZIP_CHUNK_MAX ? left : GZIP_CHUNK_MAX);
		int f = n == left ? flush : Z_NO_FLUSH;

		z->next_in = (Bytef *)p;
		z->avail_in = n;
		do {
			if (z->avail_out == 0 && gzip_room(out, z, 64 * 1024) < 0)
				return -ENOMEM;
			ret = deflate(z, f);
			if (ret == Z_STREAM_ERROR)
				return -EIO;
		} while (z->avail_in || (f == Z_FINISH && ret != Z_STREAM_END));
		p += n;
		left -= n;
	} while (left);
	return 0;
}

int metrics_gzip(const struct metrics_body *body, int level, struct metrics_buf *out)
{
	static const struct metrics_buf empty = {0};
	z_stream z;
	int last = -1, ret;

	memset(&z, 0, sizeof(z));
	if (deflateInit2(&z, level, Z_DEFLATED, GZIP_WINDOW_BITS, GZIP_MEM_LEVEL,
	                 Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	out->len = 0;
	ret = gzip_room(out, &z, deflateBound(&z, (uLong)metrics_body_len(body)) + 64);
	for (int i = 0; i < METRICS_SEC__COUNT; i++)
		if (body->sec[i].len)
			last = i;
	for (int i = 0; i < METRICS_SEC__COUNT && !ret; i++)
		if (body->sec[i].len)
			ret = gzip_feed(&z, out, &body->sec[i], i == last ? Z_FINISH : Z_NO_FLUSH);
	if (!ret && last < 0)
		ret = gzip_feed(&z, out, &empty, Z_FINISH);
	out->len = ret ? 0 : z.total_out;
	deflateEnd(&z);
	return ret;
}
