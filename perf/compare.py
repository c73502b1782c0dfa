#!/usr/bin/python3
"""labelgate side by side with DPDK's l3fwd and a zero-work io floor.

On this machine, in one run, alternating programs over ROUNDS rounds: each
program forwards between two net_pcap ports fed by captures with
infinite_rx=1 (each port its own capture), on the same lcore, with the same
routes; each is measured the same way, by DPDK telemetry's /ethdev/stats
opackets over a fixed window after a warm-up. Reports each program's median
Mpps, its ratio to l3fwd (of the medians, and the median of each round's) and to
the floor, its start-up time (launch to the
first packet out) and resident memory, and labelgate's instructions per
packet from callgrind with its top functions. Writes result.json and
mpps.svg in OUT.

    perf/compare.py [--table FILE] [--rounds N] [--window SECS] [--out DIR]
                    [--cases small,full-uniform,full-zipf,full-spray] [--workers 1,2]
                    [--hugepages]

DPDK's memory is on 4 KiB pages (--no-huge), which needs no set-up; with
--hugepages every program's is on the system's reserved huge pages
(--in-memory; reserve HUGEPAGES_MB first), as in a deployment: l3fwd's
route tables and every program's mbufs then are, while labelgate's FIB
stays on its heap's 4 KiB pages.

With --workers 1,2 l3fwd and labelgate also run with two workers (two
lcores, a receive queue per port each, each queue fed half the port's
capture; labelgate's control thread shares the first worker's CPU).

Tables: a small one (two /48s, 1024 destinations per port), and a full one:
the table FILE (a prefix per line, gzip if .gz, as ../shared/data's RIS
table, read in place) or, without it, 250,000 prefixes shaped like the
default-free zone. Full-table traffic (see traffic()): 32,768 destinations
per port drawn uniformly over the prefixes, a Zipf-skewed set, and a spray
over the address space the table covers. Each port's packets leave by the
other. labelgate runs with its control thread on lcore 0 beside the worker
on the lcore the others use (l3fwd and the floor have no control thread).

l3fwd is built from Debian's dpdk-doc examples in OUT/l3fwd with only the
changes these devices and tables need (see patch_l3fwd).
"""
import argparse
import gzip
import json
import os
import random
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
EXAMPLES = "/usr/share/dpdk/examples"
LCORE = "1"
PORT_MAC = ["02:00:00:00:00:10", "02:00:00:00:00:11"]
NEXT_HOP_MAC = ["02:00:00:00:01:02", "02:00:00:00:01:01"]  # beyond port0, port1
HOST_MAC = "02:00:00:00:00:aa"
SRC = ["2001:db8:ff00::2", "2001:db8:ff01::2"]
PER_PORT = 32768
GRIND_PACKETS = 32768
# The cases callgrind counts.
GRIND_CASES = ("small", "full uniform")
# Free huge pages --hugepages asks for: the largest program (l3fwd on the
# full table) with room to spare.
HUGEPAGES_MB = 1024


def sh(cmd, **kw):
    subprocess.run(cmd, check=True, **kw)


# --- the programs ------------------------------------------------------------

def replace_once(path, old, new):
    text = open(path).read()
    if old not in text:
        sys.exit(f"{path}: cannot patch l3fwd: {old!r} not found (another DPDK version?)")
    open(path, "w").write(text.replace(old, new))


def patch_l3fwd(src, full):
    """The changes l3fwd needs here, each for a reason:
    - RX offloads masked to what the device offers: net_pcap offers none,
      and l3fwd asks for checksum offload unconditionally;
    - the full table: its IPv6 LPM limits (1024 rules, 65536 tbl8 groups)
      raised to hold it, and its mbuf pool raised for infinite_rx, which
      keeps each port's whole capture in mbufs."""
    main = os.path.join(src, "main.c")
    replace_once(main,
                 "local_port_conf.rx_adv_conf.rss_conf.rss_hf &=\n\t\t\tdev_info.flow_type_rss_offloads;",
                 "local_port_conf.rx_adv_conf.rss_conf.rss_hf &=\n\t\t\tdev_info.flow_type_rss_offloads;\n"
                 "\t\tlocal_port_conf.rxmode.offloads &= dev_info.rx_offload_capa;")
    replace_once(main, "rxq_conf.offloads = port_conf.rxmode.offloads;",
                 "rxq_conf.offloads = port_conf.rxmode.offloads & dev_info.rx_offload_capa;")
    replace_once(main, "(unsigned)8192)", "(unsigned)98303)")
    if full:
        lpm = os.path.join(src, "l3fwd_lpm.c")
        replace_once(lpm, "#define IPV6_L3FWD_LPM_MAX_RULES         1024",
                     "#define IPV6_L3FWD_LPM_MAX_RULES         (1 << 20)")
        replace_once(lpm, "#define IPV6_L3FWD_LPM_NUMBER_TBL8S (1 << 16)",
                     "#define IPV6_L3FWD_LPM_NUMBER_TBL8S (1 << 18)")


def build_l3fwd(out, full):
    d = os.path.join(out, "l3fwd-full" if full else "l3fwd")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    shutil.copytree(os.path.join(EXAMPLES, "l3fwd"), os.path.join(d, "l3fwd"))
    shutil.copytree(os.path.join(EXAMPLES, "common"), os.path.join(d, "common"))
    patch_l3fwd(os.path.join(d, "l3fwd"), full)
    sh(["make", "-s", "-C", os.path.join(d, "l3fwd"), "-j2"], stdout=subprocess.DEVNULL)
    return os.path.join(d, "l3fwd", "build", "l3fwd")


def build_iofwd(out):
    exe = os.path.join(out, "iofwd")
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "libdpdk"], check=True,
                           capture_output=True, text=True).stdout.split()
    sh(["cc", "-O3", os.path.join(HERE, "iofwd.c"), "-o", exe] + flags)
    return exe


# --- traffic and tables ------------------------------------------------------

def mac(s):
    return bytes(int(x, 16) for x in s.split(":"))


def ip6(s):
    return socket.inet_pton(socket.AF_INET6, s)


def frame(port, dst):
    """A 64-byte UDP frame to the router's `port`, for address `dst` (16 bytes)."""
    plen = 64 - 14 - 40
    hdr = struct.pack(">IHBB", 0x60000000, plen, 17, 64) + ip6(SRC[port]) + dst
    udp = struct.pack(">HHHH", 1024 + dst[15], 9, plen, 0) + bytes(plen - 8)
    return mac(PORT_MAC[port]) + mac(HOST_MAC) + b"\x86\xdd" + hdr + udp


def write_pcap(path, frames):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, fr in enumerate(frames):
            f.write(struct.pack("<IIII", i // 1_000_000, i % 1_000_000, len(fr), len(fr)))
            f.write(fr)


def table_prefixes(path, rng):
    if path:
        opener = gzip.open if path.endswith(".gz") else open
        with opener(path, "rt") as f:
            out = []
            for line in f:
                a, _, l = line.strip().partition("/")
                if l:
                    out.append((int.from_bytes(ip6(a), "big"), int(l)))
            return out
    # 250,000 prefixes with the default-free zone's lengths, clustered under
    # 12,000 /32 allocations in 600 /20s, longer ones within a few /40s.
    shares = [(48, 45), (32, 11), (44, 10), (40, 9), (36, 4), (47, 4)]
    mask = lambda l: ((1 << 128) - 1) ^ ((1 << (128 - l)) - 1)
    blocks = [(0x2 << 125) | rng.getrandbits(125) & mask(20) for _ in range(600)]
    allocs = [rng.choice(blocks) | (rng.getrandbits(128) & mask(32) & ~mask(20)) for _ in range(12000)]
    seen, out = set(), []
    while len(out) < 250_000:
        pick, acc, length = rng.randrange(100), 0, None
        for l, share in shares:
            acc += share
            if pick < acc:
                length = l
                break
        length = length or rng.randrange(16, 65)
        p = (rng.choice(allocs) | rng.randrange(4) << 88 | rng.getrandbits(88)) & mask(length)
        if (p >> 96) == 0x20010db8 or (p, length) in seen:
            continue
        seen.add((p, length))
        out.append((p, length))
    return out


def addr_in(prefix, length, rng):
    host = rng.getrandbits(128 - length) if length < 128 else 0
    return (prefix | host).to_bytes(16, "big")


def longest_match(prefixes):
    """The index of the prefix an address's longest match is, or None."""
    by_len = {}
    for i, (p, l) in enumerate(prefixes):
        by_len.setdefault(l, {})[p] = i
    lengths = [(l, ((1 << 128) - 1) ^ ((1 << (128 - l)) - 1), by_len[l]) for l in sorted(by_len, reverse=True)]

    def lookup(a):
        for _, m, table in lengths:
            i = table.get(a & m)
            if i is not None:
                return i
        return None
    return lookup


def traffic(prefixes, kind, rng):
    """Destinations for the two ports' captures, each port's only ones whose
    longest match is a prefix routed out of the other port (prefix i leaves
    by port i % 2), as a router's transit traffic is (so no redirects are
    due; an address drawn in a prefix that a more specific one routes back
    is drawn again):
    - uniform: 32,768 distinct prefixes a port, one address in each;
    - zipf: prefixes drawn Zipf (s = 1.1) in a random order, one fixed
      address each, so that popular destinations repeat;
    - spray: addresses drawn uniformly over the address space the table
      covers (a prefix by its size), each with random host bits: what
      random destinations that the table routes look like."""
    lookup = longest_match(prefixes)

    def transit(p, l, port, r, tries):
        for _ in range(tries):
            a = addr_in(p, l, r)
            i = lookup(int.from_bytes(a, "big"))
            if i is not None and i % 2 != port:
                return a
        return None

    out = []
    for port in (0, 1):
        mine = [(p, l) for i, (p, l) in enumerate(prefixes) if i % 2 != port]
        if kind == "spray":
            weights = [2.0 ** (64 - min(l, 64)) for _, l in mine]
            dsts = []
            while len(dsts) < PER_PORT:
                for p, l in rng.choices(mine, weights, k=PER_PORT):
                    a = transit(p, l, port, rng, 1)
                    if a is not None and len(dsts) < PER_PORT:
                        dsts.append(a)
            out.append(dsts)
            continue
        order = mine[:]
        rng.shuffle(order)
        fixed = [a for a in (transit(p, l, port, random.Random(p ^ l), 8) for p, l in order) if a is not None]
        if kind == "uniform":
            out.append(fixed[:PER_PORT])
        else:
            weights = [1 / (r + 1) ** 1.1 for r in range(len(fixed))]
            out.append(rng.choices(fixed, weights, k=PER_PORT))
    return out


def prefix_text(p, l):
    return socket.inet_ntop(socket.AF_INET6, p.to_bytes(16, "big")) + f"/{l}"


def write_configs(d, routes):
    """labelgate's configurations (no policy, mls on every port) and l3fwd's
    route files, for `routes` [(prefix text, port)]."""
    base = [f"link set port{p} lladdr {PORT_MAC[p]}" for p in (0, 1)]
    base += [f"addr add {SRC[p][:-1]}1/64 dev port{p}" for p in (0, 1)]
    base += [f"neigh add fe80::{2 - p} lladdr {NEXT_HOP_MAC[p]} dev port{p}" for p in (0, 1)]
    base += [f"route add {r} via fe80::{2 - p} dev port{p}" for r, p in routes]
    base.append("worker 1 rx port0/0 port1/0")
    configs = {}
    for name, extra in [("labelgate", []),
                        ("labelgate+mls", ["mac load mls"] + [f"link set port{p} label mls/low(low-high)" for p in (0, 1)])]:
        path = os.path.join(d, f"{name}.conf")
        with open(path, "w") as f:
            f.write("\n".join(base + extra) + "\n")
        configs[name] = path
    with open(os.path.join(d, "rules6.cfg"), "w") as f:
        f.writelines(f"R{r} {p}\n" for r, p in routes)
    with open(os.path.join(d, "rules4.cfg"), "w") as f:
        f.write("R192.0.2.0/24 0\n")
    return configs


def drop_worker_lines(conf, d, workers):
    """The configuration without its `worker` line, so that `run` gives each
    worker lcore a queue on every port."""
    path = os.path.join(d, os.path.basename(conf).replace(".conf", f"-x{workers}.conf"))
    with open(conf) as f, open(path, "w") as out:
        out.writelines(line for line in f if not line.startswith("worker "))
    return path


# --- measuring ---------------------------------------------------------------

class Telemetry:
    def __init__(self, prefix):
        self.path = f"/var/run/dpdk/{prefix}/dpdk_telemetry.v2"
        self.sock = None

    def opackets(self):
        if self.sock is None:
            if not os.path.exists(self.path):
                return None
            s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            try:
                s.connect(self.path)
                s.recv(4096)
            except OSError:
                return None
            self.sock = s
        total = 0
        for p in (0, 1):
            self.sock.send(f"/ethdev/stats,{p}".encode())
            reply = json.loads(self.sock.recv(1 << 16))["/ethdev/stats"]
            if not reply:
                return None
            total += reply["opackets"]
        return total


def rss_mb(pid):
    """Resident memory, huge pages (which VmRSS leaves out) included."""
    kb = 0
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.split(":")[0] in ("Rss", "Private_Hugetlb", "Shared_Hugetlb"):
                kb += int(line.split()[1])
    return kb / 1024


def meminfo():
    info = {}
    with open("/proc/meminfo") as f:
        for line in f:
            k, v = line.split(":")
            info[k] = int(v.split()[0])
    return info


def free_hugepages_mb():
    info = meminfo()
    return info.get("HugePages_Free", 0) * info.get("Hugepagesize", 0) // 1024


def sample(tel):
    """The time and the packets sent so far, retried briefly if telemetry
    does not answer."""
    for _ in range(100):
        n = tel.opackets()
        if n is not None:
            return time.monotonic(), n
        time.sleep(0.01)
    raise RuntimeError(f"telemetry at {tel.path} does not answer")


def measure(name, argv, prefix, log, warmup, window):
    started = time.monotonic()
    with open(log, "w") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
    tel = Telemetry(prefix)
    try:
        first = None
        while first is None and time.monotonic() - started < 60:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited {proc.returncode}; see {log}")
            n = tel.opackets()
            if n:
                first = time.monotonic() - started
            else:
                time.sleep(0.01)
        if first is None:
            raise RuntimeError(f"{name} forwarded nothing in 60 s; see {log}")
        time.sleep(warmup)
        t0, n0 = sample(tel)
        time.sleep(window)
        t1, n1 = sample(tel)
        return {"mpps": (n1 - n0) / (t1 - t0) / 1e6, "startup_s": first, "rss_mb": rss_mb(proc.pid)}
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def callgrind(labelgate, config, capture, out):
    """Instructions per packet in Engine::process_burst, and its top
    functions, from a replay of `capture` (port0's destinations, repeated
    to GRIND_PACKETS)."""
    cg = os.path.join(out, "callgrind.out")
    sh(["valgrind", "--tool=callgrind", f"--callgrind-out-file={cg}", "--collect-atstart=no",
        "--toggle-collect=*process_burst*", labelgate, "replay", capture, "--config", config,
        "--out", os.path.join(out, "grind"), "--stats-json", os.path.join(out, "grind.json")],
       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    received = json.load(open(os.path.join(out, "grind.json")))["fates"]["received"]
    ann = subprocess.run(["callgrind_annotate", cg], capture_output=True, text=True).stdout
    total, top = None, []
    for line in ann.splitlines():
        if "PROGRAM TOTALS" in line:
            total = int(line.split()[0].replace(",", ""))
        elif total is not None and "(" in line and ":" in line and len(top) < 8:
            ir, rest = line.split(maxsplit=1)
            top.append((int(ir.replace(",", "")), rest.split(")", 1)[-1].strip()))
    return {"instructions_per_packet": round(total / received) if total else None,
            "top": [{"ir_per_packet": round(i / received), "function": f} for i, f in top]}


def svg(results, path):
    """Bars of median Mpps by program, a group per traffic case."""
    cases = list(results)
    progs = sorted({p for c in cases for p in results[c]})
    colours = {"io floor": "#999", "l3fwd": "#4a7", "labelgate": "#37c", "labelgate+mls": "#c73"}
    top = max(v["mpps"] for c in cases for v in results[c].values()) * 1.15
    w, h, bar = 150 * len(cases) + 80, 320, 26
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="11">',
             f'<text x="10" y="16" font-size="13">Mpps per worker core, median (perf/compare.py)</text>']
    for i, c in enumerate(cases):
        x0 = 60 + 150 * i
        parts.append(f'<text x="{x0}" y="{h - 8}">{c}</text>')
        for j, p in enumerate(progs):
            if p not in results[c]:
                continue
            v = results[c][p]["mpps"]
            bh = (h - 60) * v / top
            x = x0 + j * (bar + 2)
            parts.append(f'<rect x="{x}" y="{h - 30 - bh:.1f}" width="{bar}" height="{bh:.1f}" fill="{colours.get(p, "#555")}"/>')
            parts.append(f'<text x="{x}" y="{h - 34 - bh:.1f}">{v:.1f}</text>')
    for j, p in enumerate(progs):
        parts.append(f'<rect x="{w - 120}" y="{30 + 16 * j}" width="10" height="10" fill="{colours.get(p, "#555")}"/>'
                     f'<text x="{w - 105}" y="{39 + 16 * j}">{p}</text>')
    parts.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(parts) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--table")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--warmup", type=float, default=1.0)
    ap.add_argument("--window", type=float, default=2.0)
    ap.add_argument("--out", default=os.path.join(HERE, "out", "compare"))
    ap.add_argument("--cases", default="small,full-uniform,full-zipf,full-spray",
                    help="which cases to run, comma-separated")
    ap.add_argument("--hugepages", action="store_true",
                    help="run every program's DPDK memory on the system's reserved huge pages "
                    "(--in-memory) rather than on 4 KiB pages (--no-huge -m)")
    ap.add_argument("--workers", default="1",
                    help="worker counts to run l3fwd and labelgate with, comma-separated (e.g. 1,2)")
    a = ap.parse_args()
    wanted = set(a.cases.split(","))
    worker_counts = [int(w) for w in a.workers.split(",")]
    if a.hugepages and free_hugepages_mb() < HUGEPAGES_MB:
        info = meminfo()
        page_mb = max(info.get("Hugepagesize", 2048) // 1024, 1)
        wanted_pages = info.get("HugePages_Total", 0) + -(-(HUGEPAGES_MB - free_hugepages_mb()) // page_mb)
        sys.exit(f"--hugepages needs {HUGEPAGES_MB} MB of free huge pages and the system has "
                 f"{free_hugepages_mb()}; reserve more (as root): "
                 f"echo {wanted_pages} > /proc/sys/vm/nr_hugepages")
    os.makedirs(a.out, exist_ok=True)
    rng = random.Random(5)

    sh(["cargo", "build", "--release", "--quiet"], cwd=ROOT)
    labelgate = os.path.join(ROOT, "target", "release", "labelgate")
    iofwd = build_iofwd(a.out)
    l3fwd = {"small": build_l3fwd(a.out, False), "full": build_l3fwd(a.out, True)}

    small = [("2001:db8:1::/48", 1), ("2001:db8:2::/48", 0)]
    small_dsts = [[ip6(f"2001:db8:{1 + p}::{i:x}") for i in range(1024)] for p in (0, 1)]
    prefixes = table_prefixes(a.table, rng)
    full = [(prefix_text(p, l), i % 2) for i, (p, l) in enumerate(prefixes)]
    cases = [("small", "small", small, small_dsts)] if "small" in wanted else []
    for kind in ("uniform", "zipf", "spray"):
        if f"full-{kind}" in wanted:
            cases.append((f"full {kind}", "full", full, traffic(prefixes, kind, rng)))

    plan = []
    for case, table, routes, dsts in cases:
        d = os.path.join(a.out, case.replace(" ", "-"))
        os.makedirs(d, exist_ok=True)
        caps = []
        for p in (0, 1):
            caps.append(os.path.join(d, f"port{p}.pcap"))
            write_pcap(caps[-1], [frame(p, x) for x in dsts[p]])
        # callgrind's replay: port0's destinations over and over to
        # GRIND_PACKETS, so that what it counts is the steady state (a
        # destination's first packet misses the route cache, which the
        # small table's 1,024 alone would all do).
        grind_cap = os.path.join(d, "grind.pcap")
        if case in GRIND_CASES:
            write_pcap(grind_cap, [frame(0, x) for x in dsts[0]] * -(-GRIND_PACKETS // len(dsts[0])))
        configs = write_configs(d, routes)
        # On huge pages DPDK takes memory as it needs it; on 4 KiB pages
        # it has what -m gives it, enough for the largest of the programs.
        mem = ["--in-memory"] if a.hugepages else ["--no-huge", "-m", "2048" if table == "full" else "1024"]
        for workers in worker_counts:
            # With more than one worker each port has a receive queue per
            # worker, each fed its share of the port's capture (net_pcap
            # gives a port a transmit queue per receive queue).
            vdevs = []
            for p in (0, 1):
                if workers == 1:
                    rx = f"rx_pcap={caps[p]}"
                else:
                    shares = []
                    for q in range(workers):
                        shares.append(os.path.join(d, f"port{p}-q{q}.pcap"))
                        write_pcap(shares[-1], [frame(p, x) for x in dsts[p][q::workers]])
                    rx = ",".join(f"rx_pcap={c}" for c in shares)
                vdevs += ["--vdev", f"net_pcap{p},{rx},infinite_rx=1"]
            eal = lambda prefix, lcores: ["--no-pci", "--file-prefix", prefix] + lcores + mem + vdevs
            # One CPU a worker; labelgate's control thread (the main lcore,
            # asleep but for a millisecond's work now and then) shares the
            # first worker's CPU.
            cpus = [str(c) for c in range(workers)] if workers > 1 else [LCORE]
            queues = ",".join(f"({p},{q},{cpus[q]})" for q in range(workers) for p in (0, 1))
            label = case if workers == 1 else f"{case} x{workers}"
            progs = {
                "l3fwd": [l3fwd[table]] + eal("cmp-l3fwd", ["-l", ",".join(cpus)]) + [
                    "--", "-p", "0x3", f"--config={queues}", "--lookup=lpm", "--parse-ptype",
                    f"--rule_ipv4={d}/rules4.cfg", f"--rule_ipv6={d}/rules6.cfg",
                    f"--eth-dest=0,{NEXT_HOP_MAC[0]}", f"--eth-dest=1,{NEXT_HOP_MAC[1]}"],
            }
            if workers == 1:
                progs = {"io floor": [iofwd] + eal("cmp-io", ["-l", LCORE]), **progs}
                lg_lcores = ["-l", f"0,{LCORE}"]
            else:
                lg_lcores = ["--lcores", ",".join([f"0@{cpus[0]}"] + [f"{w + 1}@{c}" for w, c in enumerate(cpus)])]
            for name, conf in configs.items():
                if workers > 1:
                    conf = drop_worker_lines(conf, d, workers)
                progs[name] = [labelgate, "run", "--config", conf, "--extra-mbufs", str(2 * PER_PORT), "--"] + \
                    eal(f"cmp-{name.replace('+', '-')}", lg_lcores)
            if case != "small" and case != "full uniform":
                progs.pop("io floor", None)
                progs.pop("labelgate+mls")
            plan.append((label, d, grind_cap, configs, progs))

    samples = {}
    for rnd in range(a.rounds):
        for case, d, _, _, progs in plan:
            for name, argv in progs.items():
                prefix = argv[argv.index("--file-prefix") + 1]
                m = measure(name, argv, prefix, os.path.join(d, f"{name}.log"), a.warmup, a.window)
                samples.setdefault(case, {}).setdefault(name, []).append(m)
                print(f"round {rnd + 1} {case:13} {name:14} {m['mpps']:7.2f} Mpps  start {m['startup_s']:.2f} s  rss {m['rss_mb']:.0f} MB", flush=True)

    results = {}
    for case, progs in samples.items():
        results[case] = {}
        for name, ms in progs.items():
            results[case][name] = {k: statistics.median(m[k] for m in ms) for k in ms[0]}
        for name, r in results[case].items():
            if "l3fwd" in results[case]:
                r["vs_l3fwd"] = r["mpps"] / results[case]["l3fwd"]["mpps"]
                # Each round's ratio: the two ran a few seconds apart, on
                # the machine as it then was, so the median of these is
                # steadier than the ratio of medians where the machine's
                # speed drifts between rounds.
                rounds = zip(progs[name], progs["l3fwd"])
                r["vs_l3fwd_by_round"] = statistics.median(m["mpps"] / l["mpps"] for m, l in rounds)
            floor = results.get(case.split(" x")[0], {}).get("io floor") or results.get("small", {}).get("io floor")
            if floor:
                r["vs_floor"] = r["mpps"] / floor["mpps"]
    grind = {}
    for case, d, grind_cap, configs, _ in plan:
        if case in GRIND_CASES:
            for name, conf in configs.items():
                grind[f"{case} {name}"] = callgrind(labelgate, conf, grind_cap, d)

    doc = {"machine": os.uname().nodename, "cpus": os.cpu_count(), "rounds": a.rounds,
           "window_s": a.window, "pages": "huge" if a.hugepages else "4 KiB", "table": a.table or "synthesized", "routes": len(prefixes),
           "results": results, "callgrind": grind}
    with open(os.path.join(a.out, "result.json"), "w") as f:
        json.dump(doc, f, indent=1)
    svg(results, os.path.join(a.out, "mpps.svg"))
    print()
    print(f"{'case':13} {'program':14} {'Mpps':>7} {'/l3fwd':>7} {'rounds':>7} {'/floor':>7} {'start s':>8} {'RSS MB':>7}")
    for case, progs in results.items():
        for name, r in progs.items():
            print(f"{case:13} {name:14} {r['mpps']:7.2f} {r.get('vs_l3fwd', float('nan')):7.2f} "
                  f"{r.get('vs_l3fwd_by_round', float('nan')):7.2f} "
                  f"{r.get('vs_floor', float('nan')):7.2f} {r['startup_s']:8.2f} {r['rss_mb']:7.0f}")
    for k, g in grind.items():
        print(f"callgrind {k}: {g['instructions_per_packet']} instructions per packet")
    print(f"wrote {a.out}/result.json and {a.out}/mpps.svg")


if __name__ == "__main__":
    sys.exit(main())
