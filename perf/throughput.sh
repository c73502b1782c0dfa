#!/usr/bin/env bash
# Replay throughput on net_pcap: generates a capture (once) and replays it
# RUNS times with the release build, printing Mpps per run.
#
#   perf/throughput.sh [PACKETS] [WORKERS] [RUNS]
#
# net_pcap reads and writes capture files through libpcap, so this measures
# the whole replay path, file I/O included; it is the number for
# `labelgate replay`, not the forwarding ceiling of a core.
set -euo pipefail
cd "$(dirname "$0")/.."
packets=${1:-1000000}
workers=${2:-1}
runs=${3:-5}
mkdir -p perf/out
cap=perf/out/flows-$packets.pcap
[ -f "$cap" ] || /usr/bin/python3 perf/gen-flows.py "$cap" --packets "$packets" --flows 4096
cargo build --release --quiet
for i in $(seq "$runs"); do
    ./target/release/labelgate replay "$cap" --config perf/router.conf --out perf/out/run \
        --workers "$workers" | grep '^replayed'
done
