/*
 * The zero-work floor for perf/compare.py: every packet received on one
 * port is sent out of the other, untouched, in bursts of 32 on one lcore.
 * No program that looks at the packets can go faster on these devices.
 * Its pool holds the 64k mbufs net_pcap's infinite_rx keeps for the
 * captures perf/compare.py makes.
 *
 *   iofwd EAL-ARGS   (two ports; stops on SIGINT or SIGTERM)
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#define BURST 32

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void port_up(uint16_t port, struct rte_mempool *pool)
{
	struct rte_eth_conf conf = {0};

	if (rte_eth_dev_configure(port, 1, 1, &conf) < 0 ||
	    rte_eth_rx_queue_setup(port, 0, 1024, rte_eth_dev_socket_id(port), NULL, pool) < 0 ||
	    rte_eth_tx_queue_setup(port, 0, 1024, rte_eth_dev_socket_id(port), NULL) < 0 ||
	    rte_eth_dev_start(port) < 0)
		rte_exit(EXIT_FAILURE, "port %u: cannot start\n", port);
}

int main(int argc, char **argv)
{
	struct rte_mbuf *pkts[BURST];
	struct rte_mempool *pool;

	if (rte_eal_init(argc, argv) < 0)
		rte_exit(EXIT_FAILURE, "rte_eal_init failed\n");
	if (rte_eth_dev_count_avail() != 2)
		rte_exit(EXIT_FAILURE, "iofwd needs two ports\n");
	pool = rte_pktmbuf_pool_create("iofwd", 98303, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				       rte_socket_id());
	if (pool == NULL)
		rte_exit(EXIT_FAILURE, "no mbuf pool\n");
	port_up(0, pool);
	port_up(1, pool);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	while (!stop) {
		for (uint16_t in = 0; in < 2; in++) {
			uint16_t n = rte_eth_rx_burst(in, 0, pkts, BURST);
			uint16_t sent = rte_eth_tx_burst(in ^ 1, 0, pkts, n);

			for (uint16_t i = sent; i < n; i++)
				rte_pktmbuf_free(pkts[i]);
		}
	}
	rte_eth_dev_stop(0);
	rte_eth_dev_stop(1);
	rte_eal_cleanup();
	return 0;
}
