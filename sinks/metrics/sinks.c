/* SPDX-License-Identifier: MIT */
/*
 * sinks.c — the other sinks' figures for wgmon-metrics to expose: a copy of the stats objects
 * wgmon-redis and wgmon-notify publish, read with their own stats-only readers when those sinks
 * are part of the build (METRICS_HAVE_REDIS_STATS / METRICS_HAVE_NOTIFY_STATS), into the neutral
 * struct metrics_sinks so that nothing else here depends on their headers.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>

#include "sinks/metrics/metrics_internal.h"
#ifdef METRICS_HAVE_REDIS_STATS
#include "sinks/redis/redis.h"
#endif
#ifdef METRICS_HAVE_NOTIFY_STATS
#include "sinks/notify/notify.h"
#endif

/* Whether process pid exists (EPERM: it does, as another user). */
static __attribute__((unused)) bool sinks_alive(uint32_t pid)
{
	return pid && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
}

#ifdef METRICS_HAVE_REDIS_STATS
static void sinks_redis(const char *shm, struct metrics_sinks *out)
{
	struct redis_stats st;

	if (redis_stats_read(shm, &st) < 0)
		return;
	out->redis = true;
	out->redis_up = st.running && sinks_alive(st.pid);
	out->redis_connected = out->redis_up && st.connected;
	out->redis_updated_at = st.updated_at;
	out->redis_passes = st.passes;
	out->redis_passes_failed = st.passes_failed;
	out->redis_writes = st.writes;
	out->redis_peers_written = st.peers_written;
	out->redis_events_written = st.events_written;
	out->redis_events_missed = st.events_missed;
	out->redis_errors = st.errors;
	out->redis_reconnects = st.reconnects;
	out->redis_resyncs = st.resyncs;
	out->redis_last_pass_ns = st.last_pass_ns;
	out->redis_peers_pending = st.peers_pending;
}
#else
static void sinks_redis(const char *shm, struct metrics_sinks *out)
{
}
#endif

#ifdef METRICS_HAVE_NOTIFY_STATS
_Static_assert(NOTIFY_TARGETS_MAX <= METRICS_NOTIFY_TARGETS, "room for every receiver");
_Static_assert(NOTIFY__COUNT <= METRICS_NOTIFY_TYPES, "room for every notification type");

static void sinks_notify(const char *shm, struct metrics_sinks *out)
{
	static struct notify_stats st; /* 4.6 KiB: not on the stack */
	uint32_t n;

	if (notify_stats_read(shm, &st) < 0)
		return;
	out->notify = true;
	out->notify_up = sinks_alive(st.pid);
	out->notify_heartbeat = st.heartbeat;
	out->notify_events_read = st.events_read;
	out->notify_events_missed = st.events_missed;
	for (unsigned t = 0; t < NOTIFY__COUNT; t++) {
		out->notify_type[t] = notify_type_name(t);
		out->notify_detected[t] = st.detected[t];
	}
	n = st.n_targets < NOTIFY_TARGETS_MAX ? st.n_targets : NOTIFY_TARGETS_MAX;
	out->notify_targets = n;
	for (uint32_t i = 0; i < n; i++) {
		const struct notify_stats_target *t = &st.target[i];
		struct metrics_notify_target *m = &out->target[i];

		memcpy(m->url, t->url,
		       sizeof(m->url) < sizeof(t->url) ? sizeof(m->url) : sizeof(t->url));
		m->url[sizeof(m->url) - 1] = '\0';
		m->posted = t->posted;
		m->sent = t->sent;
		m->failed = t->failed;
		m->rejected = t->rejected;
		m->retried = t->retried;
		m->dropped = t->dropped;
		m->queue_depth = t->queue_depth;
	}
}
#else
static void sinks_notify(const char *shm, struct metrics_sinks *out)
{
}
#endif

void metrics_sinks_read(const char *shm, struct metrics_sinks *out)
{
	memset(out, 0, sizeof(*out));
	sinks_redis(shm, out);
	sinks_notify(shm, out);
}
