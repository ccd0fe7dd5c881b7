/* SPDX-License-Identifier: MIT */
/*
 * worker.c — a parser worker: takes records from its lane in order, splits
 * them into lines, parses each line and applies the event to the shm table.
 * It counts lines and rejections in its own counter block; the table counts
 * events. A record is released (its bytes go back to the ingest thread) only
 * after every line of it was applied. With --workers 0 the ingest thread calls
 * ingest_lines_apply() itself (run to completion).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>

#include "ingest/ingest_internal.h"

void ingest_lines_apply(struct ingest *in, uint32_t block, struct shm_counters *cnt,
                        const char *data, size_t len, uint64_t recv_ns)
{
	static struct ingest_ratelimit rl_full;
	struct ingest_split sp;
	struct parse_event ev;
	const char *line;
	uint64_t lines = 0;
	size_t n;

	ingest_split_init(&sp, data, len);
	while (ingest_split_next(&sp, &line, &n)) {
		int r = parse_line(line, n, &ev);

		lines++;
		if (r != PARSE_OK) {
			shm_counter_add(&cnt->rejected[r], 1);
			continue;
		}
		if (in->o.iface_wanted && ev.iface_len &&
		    !in->o.iface_wanted(in->o.iface_ctx, ev.iface)) {
			shm_counter_add(&cnt->dropped[SHM_DROP_IFACE_FILTERED], 1);
			continue;
		}
		if (shm_writer_apply(in->w, block, &ev, recv_ns) == -ENOSPC)
			ingest_log_ratelimited(
			        &rl_full, INGEST_LOG_ERROR,
			        "table full: raise --capacity (events still counted)");
	}
	/* After the applies: a reader that sees the count also sees these lines in the table
	 * (release; shm_reader_stats loads it relaxed, which x86 and the tests accept). */
	__atomic_store_n(&cnt->lines, cnt->lines + lines, __ATOMIC_RELEASE);
}

void ingest_inline_drain(struct ingest *in)
{
	struct ingest_lane *l = &in->lanes[0];
	struct ingest_record *rec;

	while ((rec = ingest_lane_pop(l)) != NULL) {
		ingest_lines_apply(in, SHM_BLOCK_WORKER(0), in->inline_cnt, rec->data, rec->len,
		                   rec->recv_ns);
		ingest_lane_release(l, rec);
	}
}

void *ingest_worker_main(void *arg)
{
	struct ingest_worker *wk = arg;
	char name[16];

	snprintf(name, sizeof(name), "wgmond-work%u", wk->block - 1);
	pthread_setname_np(pthread_self(), name);
	for (;;) {
		struct ingest_record *rec = ingest_lane_pop(wk->lane);

		if (!rec) {
			if (!ingest_lane_wait(wk->lane))
				break;
			continue;
		}
		ingest_lines_apply(wk->in, wk->block, wk->cnt, rec->data, rec->len, rec->recv_ns);
		ingest_lane_release(wk->lane, rec);
	}
	return NULL;
}
