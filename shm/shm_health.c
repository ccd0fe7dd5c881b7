/* SPDX-License-Identifier: MIT */
/*
 * shm_health.c — a peer's health, decided by readers from the facts the
 * writer stores (times of the latest events), the current time and a
 * threshold. The writer never stores a state: thresholds are the reader's
 * (per tenant, per tool), and a state computed at write time would go stale.
 */
#include <string.h>

#include "shm/shm.h"

static const char *const state_names[SHM_STATE__COUNT] = {
        [SHM_STATE_NEW] = "new",         [SHM_STATE_UP] = "up",     [SHM_STATE_STALE] = "stale",
        [SHM_STATE_FAILING] = "failing", [SHM_STATE_DOWN] = "down", [SHM_STATE_REMOVED] = "removed",
};

const char *shm_state_name(int state)
{
	return state >= 0 && state < SHM_STATE__COUNT ? state_names[state] : "unknown";
}

int shm_state_lookup(const char *name)
{
	for (int s = 0; s < SHM_STATE__COUNT; s++)
		if (!strcmp(name, state_names[s]))
			return s;
	return -1;
}

static inline uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

/*
 * The rules, in order (the first that holds wins):
 *   removed  peer_destroyed, and no sign of life since (ids restart at 1 when the
 *            module is reloaded, so a later creation or handshake revives the slot);
 *   down     the latest handshake_gave_up or keys_zeroed is newer than the latest
 *            completed handshake and than any retry after it;
 *   failing  handshake retries or restarts newer than the latest completed handshake;
 *   new      never a completed handshake (created, or only seen sending);
 *   up       a completed handshake within stale_after;
 *   stale    otherwise.
 * A restart (M22) has no time of its own in the slot; its count rising with no
 * handshake after it shows in retry_at, because the retries follow it.
 */
int shm_peer_state(const struct shm_peer *p, uint64_t now_ns, uint64_t stale_after_ns)
{
	uint64_t gave_up = max_u64(p->gave_up_at, p->keys_zeroed_at);
	uint64_t alive = max_u64(max_u64(p->created_at, p->last_handshake),
	                         max_u64(p->last_keepalive_rx, p->last_handshake_rx));

	if (p->destroyed_at && p->destroyed_at >= alive)
		return SHM_STATE_REMOVED;
	if (gave_up > p->last_handshake && gave_up >= p->retry_at)
		return SHM_STATE_DOWN;
	if (p->retry_at > p->last_handshake)
		return SHM_STATE_FAILING;
	if (!p->last_handshake)
		return SHM_STATE_NEW;
	if (now_ns < p->last_handshake || now_ns - p->last_handshake <= stale_after_ns)
		return SHM_STATE_UP;
	return SHM_STATE_STALE;
}
