/*
 * The DPDK surface labelgate binds. bindgen reads this header; its
 * wrap_static_fns pass turns every static-inline function it reaches
 * (rte_eth_rx_burst, rte_pktmbuf_free, ...) into a real C symbol that
 * build.rs compiles, so no wrapper is written by hand.
 */
#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_fib6.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_lpm6.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_mbuf_pool_ops.h>
#include <rte_mempool.h>
#include <rte_version.h>

/*
 * rte_errno is a per-lcore thread-local behind a macro, which bindgen cannot
 * bind. As a static inline function it goes through the same generated
 * wrapper path as DPDK's own inlines.
 */
static inline int lg_rte_errno(void)
{
	return rte_errno;
}
