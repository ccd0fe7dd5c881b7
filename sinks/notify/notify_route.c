/* SPDX-License-Identifier: MIT */
/*
 * notify_route.c — from one note to the receivers that want it: the type filter ([notify]
 * events, native receivers only: the [manager] receiver takes endpoint changes, as it always
 * did), the tenant filter ([notify] tenants, every receiver), then each payload rendered once
 * and posted to each target. Main thread.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "sinks/notify/notify_internal.h"

_Static_assert(NOTIFY_TARGETS_MAX == CONFIG_URL_MAX + 1, "every [notify] url and [manager] url");

int notify_route_init(struct notify_route *rt, const struct wgmon_config *cfg,
                      struct notify_stats *stats, char *err, size_t errlen)
{
	const struct config_notify *nc = &cfg->notify;
	int type, ti;

	memset(rt, 0, sizeof(*rt));
	rt->stats = stats;
	for (uint32_t i = 0; i < nc->n_events; i++) {
		type = notify_type_lookup(nc->events[i]);
		if (type < 0) {
			snprintf(err, errlen,
			         "events: unknown type '%s' (endpoint_changed, state_changed, "
			         "peer_created, peer_removed, interface_down, interface_up)",
			         nc->events[i]);
			return -EINVAL;
		}
		rt->type_mask |= 1u << type;
	}
	for (uint32_t i = 0; i < nc->n_tenants; i++) {
		ti = -1;
		for (uint32_t k = 0; k < cfg->n_tenant && ti < 0; k++)
			if (!strcmp(cfg->tenant[k].name, nc->tenants[i]))
				ti = (int)k;
		if (ti < 0) {
			snprintf(err, errlen, "tenants: no tenant section named '%s'",
			         nc->tenants[i]);
			return -EINVAL;
		}
		rt->tenant_mask[ti / 64] |= 1ull << (ti % 64);
		rt->tenant_filter = true;
	}
	return 0;
}

static bool route_wants(const struct notify_route *rt, enum notify_format fmt,
                        const struct notify_note *n)
{
	if (rt->tenant_filter && (n->tenant_index < 0 || !(rt->tenant_mask[n->tenant_index / 64] &
	                                                   (1ull << (n->tenant_index % 64)))))
		return false;
	if (fmt == NOTIFY_FORMAT_MANAGER)
		return n->type == NOTIFY_ENDPOINT_CHANGED;
	return !rt->type_mask || (rt->type_mask & (1u << n->type));
}

unsigned notify_route_note(struct notify_route *rt, const struct notify_note *n)
{
	char body[2][NOTIFY_BODY_MAX];
	size_t len[2] = {0, 0};
	unsigned posted = 0;

	if (rt->stats)
		notify_stat_add(&rt->stats->detected[n->type], 1);
	for (uint32_t i = 0; i < rt->n; i++) {
		const enum notify_format f = rt->format[i];

		if (!route_wants(rt, f, n))
			continue;
		if (!len[f])
			len[f] = f == NOTIFY_FORMAT_MANAGER
			                 ? notify_render_manager(n, body[f], sizeof(body[f]))
			                 : notify_render_native(n, body[f], sizeof(body[f]));
		if (len[f] && notify_target_post(rt->target[i], n->type, body[f], len[f]) == 0)
			posted++;
	}
	if (!posted && rt->stats)
		notify_stat_add(&rt->stats->filtered, 1);
	return posted;
}
