#!/usr/bin/env bash
# What MAC labelling costs: replay throughput (median of RUNS, release
# build) and callgrind's instructions per packet in the engine
# (Engine::process_burst, which holds every MAC hook of the fast path), with
# no policy, stub (the framework's own cost), mls, and mls + biba, each with
# its ratio to no policy.
#
#   perf/mac.sh [PACKETS] [RUNS]
#
# Throughput on net_pcap includes libpcap's file reading and writing, the
# same for every configuration; the instruction counts are noise-free.
set -euo pipefail
cd "$(dirname "$0")/.."
packets=${1:-1000000}
runs=${2:-5}
grind_packets=100000
mkdir -p perf/out
cap=perf/out/flows-$packets.pcap
small=perf/out/flows-$grind_packets.pcap
[ -f "$cap" ] || /usr/bin/python3 perf/gen-flows.py "$cap" --packets "$packets" --flows 1024
[ -f "$small" ] || /usr/bin/python3 perf/gen-flows.py "$small" --packets "$grind_packets" --flows 1024
cargo build --release --quiet

declare -A extra=(
    [none]=""
    [stub]="mac load stub"
    [mls]="mac load mls
link set port0 label mls/low(low-high)
link set port1 label mls/low(low-high)"
    [mls+biba]="mac load mls
mac load biba
link set port0 label mls/low(low-high),biba/high(low-high)
link set port1 label mls/low(low-high),biba/high(low-high)"
)
order=(none stub mls mls+biba)

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

declare -A mpps ipp
for name in "${order[@]}"; do
    conf=perf/out/mac-$name.conf
    { cat perf/router.conf; printf '%s\n' "${extra[$name]}"; } > "$conf"
    mpps[$name]=$(for _ in $(seq "$runs"); do
        ./target/release/labelgate replay "$cap" --config "$conf" --out perf/out/run \
            --stats-json perf/out/run/stats.json >/dev/null
        /usr/bin/python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print(s["fates"]["received"] / s["replay"]["seconds"] / 1e6)' perf/out/run/stats.json
    done | median)
    out=perf/out/callgrind.$name
    valgrind --tool=callgrind --callgrind-out-file="$out" --collect-atstart=no \
        '--toggle-collect=*process_burst*' \
        ./target/release/labelgate replay "$small" --config "$conf" --out perf/out/grind >/dev/null 2>&1
    ir=$(callgrind_annotate "$out" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
    ipp[$name]=$(awk -v ir="$ir" -v n="$grind_packets" 'BEGIN {printf "%.0f", ir / n}')
done

printf '%-10s %10s %8s %14s %8s\n' policies Mpps ratio instr/packet ratio
for name in "${order[@]}"; do
    printf '%-10s %10.3f %8.3f %14s %8.3f\n' "$name" "${mpps[$name]}" \
        "$(awk -v a="${mpps[$name]}" -v b="${mpps[none]}" 'BEGIN {print a / b}')" \
        "${ipp[$name]}" \
        "$(awk -v a="${ipp[$name]}" -v b="${ipp[none]}" 'BEGIN {print a / b}')"
done
