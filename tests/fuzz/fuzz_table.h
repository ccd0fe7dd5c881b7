/* SPDX-License-Identifier: MIT */
/*
 * fuzz_table.h — helpers of the shm fuzz drivers and hardening tests (header-only): the image of
 * a valid table header for a geometry, exactly as wgmond writes it, and a private table object
 * whose bytes a test controls (created, written with pwrite, unlinked by its owner).
 */
#ifndef WGMON_FUZZ_TABLE_H
#define WGMON_FUZZ_TABLE_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "shm/shm_internal.h"

/* Fill *h (zeroed first) as a new table of this geometry; the layout goes to *l. */
static inline void ft_header(struct shm_header *h, struct shm_layout *l, uint64_t capacity,
                             uint32_t ring)
{
	shm_layout_compute(l, capacity, ring);
	memset(h, 0, sizeof(*h));
	memcpy(h->magic, SHM_MAGIC, SHM_MAGIC_LEN);
	h->abi = SHM_ABI_VERSION;
	h->header_size = sizeof(*h);
	h->generation = 1;
	h->object_size = l->size;
	h->peer_capacity = l->peer_capacity;
	h->peer_slots = l->peer_slots;
	h->host_capacity = SHM_HOSTS_MAX;
	h->iface_capacity = SHM_IFACES_MAX;
	h->host_buckets = SHM_HOST_BUCKETS;
	h->iface_buckets = SHM_IFACE_BUCKETS;
	h->event_capacity = l->event_capacity;
	h->counter_blocks = SHM_COUNTER_BLOCKS;
	h->peer_size = sizeof(struct shm_peer);
	h->host_size = sizeof(struct shm_host);
	h->iface_size = sizeof(struct shm_iface);
	h->event_size = sizeof(struct shm_event);
	h->counters_size = sizeof(struct shm_counters);
	memcpy(h->section, l->section, sizeof(l->section));
	h->hosts_used = 1;
}

/*
 * A fresh, empty object `name` of `size` bytes (sparse), open read-write: the fd, or -errno.
 * Any object of that name is replaced.
 */
static inline int ft_object(const char *name, uint64_t size)
{
	int fd;

	shm_unlink(name);
	fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size)) {
		int err = errno;

		close(fd);
		shm_unlink(name);
		return -err;
	}
	return fd;
}

/* pwrite all of it, or false. */
static inline bool ft_write(int fd, const void *p, size_t n, uint64_t off)
{
	return pwrite(fd, p, n, (off_t)off) == (ssize_t)n;
}

#endif /* WGMON_FUZZ_TABLE_H */
