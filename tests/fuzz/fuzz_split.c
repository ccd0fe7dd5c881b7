/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer driver for what a worker does with a datagram: any bytes are split into lines
 * (ingest_split_next), the worker is chosen (ingest_pick_worker), and every line is parsed and
 * applied to a small private table (capacity 64: it fills, and stays consistent), as
 * worker_record() does. The first line also goes through the allow-list parser and matcher.
 * Lines must cover the datagram exactly, never hold a '\n', and never reach past it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ingest/ingest_internal.h"

#define FSP_CAPACITY 64
#define FSP_CIDR_MAX 64 /* bytes of the first line tried as a CIDR */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct shm_writer *fsp_writer(void)
{
	static struct shm_writer *w;
	struct shm_writer_opts o = {
	        .capacity = FSP_CAPACITY, .event_ring = 64, .gid = -1, .reset = true};
	char name[64];

	if (w)
		return w;
	snprintf(name, sizeof(name), "/wgmon-fuzz-split-%d", (int)getpid());
	o.name = name;
	if (shm_writer_open(&w, &o))
		abort();
	if (shm_writer_unlink(name)) /* the writer keeps its mapping */
		abort();
	return w;
}

/* What ingest_split_next() must give for data: the lines, exactly, in order. */
static size_t fsp_split(const char *buf, size_t size, const char **first, size_t *first_len)
{
	struct ingest_split sp;
	const char *line, *at = buf;
	size_t len, n = 0;

	*first = buf;
	*first_len = 0;
	ingest_split_init(&sp, buf, size);
	while (ingest_split_next(&sp, &line, &len)) {
		size_t used;

		if (line != at || len > size || line + len > buf + size || memchr(line, '\n', len))
			abort(); /* not the next line, or past the datagram */
		used = len + (line + len < buf + size && line[len] == '\r');
		if (line + used < buf + size && line[used] != '\n')
			abort(); /* a line ended anywhere but at its newline */
		at = line + used + (line + used < buf + size);
		if (!n++) {
			*first = line;
			*first_len = len;
		}
	}
	if (at != buf + size)
		abort(); /* bytes left over */
	return n;
}

static void fsp_apply(const char *line, size_t len, uint64_t t)
{
	struct shm_writer *w = fsp_writer();
	const struct shm_header *h = shm_writer_header(w);
	struct parse_event ev;
	int r = parse_line(line, len, &ev), ret;

	if (r < 0 || r >= PARSE_REJECT__COUNT || r >= SHM_REJECT_KINDS)
		abort(); /* the worker counts rejected[r] */
	if (r != PARSE_OK)
		return;
	ret = shm_writer_apply(w, SHM_BLOCK_WORKER(0), &ev, t);
	if (ret && ret != -ENOSPC)
		abort();
	if (h->peers_used > h->peer_capacity)
		abort();
}

static void fsp_pick(const char *buf, size_t size)
{
	static const uint32_t workers[] = {1, 2, 3, 7, INGEST_WORKERS_MAX};
	struct sockaddr_in6 s6 = {.sin6_family = AF_INET6};
	struct sockaddr_in s4 = {.sin_family = AF_INET};

	memcpy(&s4.sin_addr, buf, size < 4 ? size : 4);
	memcpy(&s6.sin6_addr, buf, size < 16 ? size : 16);
	for (size_t i = 0; i < sizeof(workers) / sizeof(workers[0]); i++) {
		uint32_t n = workers[i];

		if (ingest_pick_worker(buf, size, NULL, n) >= n ||
		    ingest_pick_worker(buf, size, (struct sockaddr *)&s4, n) >= n ||
		    ingest_pick_worker(buf, size, (struct sockaddr *)&s6, n) >= n)
			abort();
	}
}

static void fsp_allow(const char *line, size_t len)
{
	static struct ingest_allow a;
	struct sockaddr_in6 s6 = {.sin6_family = AF_INET6};
	char cidr[FSP_CIDR_MAX + 1], text[256];
	int r;

	len = len < FSP_CIDR_MAX ? len : FSP_CIDR_MAX;
	memcpy(cidr, line, len);
	cidr[len] = '\0';
	r = ingest_allow_add(&a, cidr);
	if (r == -ENOSPC)
		ingest_allow_init(&a);
	else if (r && r != -EINVAL)
		abort();
	if (ingest_allow_format(&a, text, sizeof(text)) >= sizeof(text))
		abort();
	memcpy(&s6.sin6_addr, cidr, len < 16 ? len : 16);
	(void)ingest_allow_match(&a, (struct sockaddr *)&s6);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint64_t t = 1763771234000000000ull;
	/* A private copy of exactly `size` bytes, so ASan sees a read one past the end. */
	char *buf = malloc(size ? size : 1);
	struct ingest_split sp;
	const char *line, *first;
	size_t len, first_len;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	fsp_split(buf, size, &first, &first_len);
	fsp_pick(buf, size);
	fsp_allow(first, first_len);
	ingest_split_init(&sp, buf, size);
	while (ingest_split_next(&sp, &line, &len))
		fsp_apply(line, len, t += 1000);
	free(buf);
	return 0;
}
