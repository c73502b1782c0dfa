#!/usr/bin/env python3
"""Builds labelgate's end-to-end fixtures with scapy.

Every fixture is a directory holding the router's configuration, the
captures fed into its ports, the captures each port must emit and the
counters the replay must end with (fixture.json). The expected frames are
made here, by scapy, from FreeBSD's rules: an implementation independent of
labelgate's own, so a byte-for-byte match means both agree.

    make-fixtures.py           write every fixture
    make-fixtures.py --check   rebuild in a scratch directory and fail if
                               anything differs from what is committed

Needs Debian's python3-scapy (run it with /usr/bin/python3).
"""
import filecmp
import logging
import json
import os
import shutil
import sys
import tempfile

from scapy.all import (ARP, IP, UDP, TCP, Dot1Q, Ether, ICMPv6DestUnreach,
                       ICMPv6EchoRequest, ICMPv6ND_NS, ICMPv6ND_Redirect,
                       ICMPv6NDOptDstLLAddr, ICMPv6NDOptRedirectedHdr,
                       ICMPv6PacketTooBig, ICMPv6ParamProblem,
                       ICMPv6TimeExceeded, IPv6, IPv6ExtHdrHopByHop,
                       IPv6ExtHdrRouting, PadN, Raw, RouterAlert,
                       HBHOptUnknown, wrpcap)

logging.getLogger("scapy.runtime").setLevel(logging.ERROR)

HERE = os.path.dirname(os.path.abspath(__file__))

# The router: three ports, their MACs, addresses and link-local addresses
# (modified EUI-64 of the MAC, as FreeBSD's in6_ifattach derives them).
MAC = {0: "02:00:00:00:00:10", 1: "02:00:00:00:00:11", 2: "02:00:00:00:00:12"}
LL = {0: "fe80::ff:fe00:10", 1: "fe80::ff:fe00:11", 2: "fe80::ff:fe00:12"}
ADDR = {0: "2001:db8:ff::1", 1: "2001:db8:11::1", 2: "2001:db8:22::1"}

# Stations around it.
HOST = "2001:db8:ff::2"          # on port0
HOST_MAC = "02:00:00:00:aa:02"
HOST_LL = "fe80::aa:2"
PEER = "2001:db8:ff::3"          # also on port0
PEER_MAC = "02:00:00:00:aa:03"
GW1_LL = "fe80::1"               # the router behind port1
GW1_MAC = "02:00:00:00:01:01"
ONLINK = "2001:db8:2::5"         # on port1's link
ONLINK_MAC = "02:00:00:00:02:05"
FAR = "2001:db8:1::5"            # behind GW1

BASE = f"""# Three ports; port0 faces the hosts, port1 the rest of the network.
link set port0 lladdr {MAC[0]}
link set port1 lladdr {MAC[1]}
link set port2 lladdr {MAC[2]}
addr add {ADDR[0]}/64 dev port0
addr add {ADDR[1]}/64 dev port1
addr add {ADDR[2]}/64 dev port2
route add 2001:db8:1::/48 via {GW1_LL} dev port1
route add 2001:db8:2::/48 dev port1
neigh add {HOST} lladdr {HOST_MAC} dev port0
neigh add {HOST_LL} lladdr {HOST_MAC} dev port0
neigh add {PEER} lladdr {PEER_MAC} dev port0
neigh add {GW1_LL} lladdr {GW1_MAC} dev port1
neigh add {ONLINK} lladdr {ONLINK_MAC} dev port1
"""

FIXTURES = []


def fixture(fn):
    FIXTURES.append(fn)
    return fn


def to_router(port, ip6, src_mac=HOST_MAC):
    """A frame from a station to the router's port."""
    return Ether(dst=MAC[port], src=src_mac) / ip6


def ip6_bytes(frame):
    """The IPv6 packet of a frame as it was built, without link padding."""
    raw = bytes(frame)[14:]
    plen = int.from_bytes(raw[4:6], "big")
    return raw[:40 + plen]


def forwarded(frame, port, mac, hops=1):
    """What the router sends for `frame`: out of `port` to `mac`, the hop
    limit lowered, everything else byte-identical."""
    ip6 = bytearray(ip6_bytes(frame))
    ip6[7] -= hops
    return Ether(dst=mac, src=MAC[port], type=0x86dd) / Raw(bytes(ip6))


def quote(frame, hops=1):
    """The offending packet as an error quotes it: after the hop limit was
    lowered (the seed copies it after decrementing), at most 1232 bytes."""
    ip6 = bytearray(ip6_bytes(frame))
    ip6[7] -= hops
    return bytes(ip6[:1232])


def error(port, dst_mac, src, dst, icmp, quoted):
    """An ICMPv6 error from the router: hop limit 64, traffic class and flow
    label zero, scapy's own checksum."""
    return Ether(dst=dst_mac, src=MAC[port]) / IPv6(src=src, dst=dst, hlim=64) / icmp / Raw(quoted)


def udp(src, dst, n=0, hlim=64, size=16, sport=4000):
    return IPv6(src=src, dst=dst, hlim=hlim) / UDP(sport=sport + n, dport=9) / Raw(bytes((n + i) % 256 for i in range(size)))


# --- issue 2: the foundation -------------------------------------------------

@fixture
def forward():
    """Plain forwarding: assorted protocols and sizes from port0 to a gateway
    route, an on-link route and back; Ethernet padding is trimmed."""
    ins, outs = [], []
    def add(ip6, port, mac):
        f = to_router(0, ip6)
        ins.append(f)
        outs.append((port, forwarded(f, port, mac)))
    for n in range(8):
        add(udp(HOST, FAR, n, size=n * 150), 1, GW1_MAC)
    add(IPv6(src=HOST, dst=FAR, hlim=2) / TCP(sport=5555, dport=80, flags="S"), 1, GW1_MAC)
    add(IPv6(src=HOST, dst="2001:db8:1:abcd::1", hlim=255) / ICMPv6EchoRequest(id=7, seq=1, data=b"ping"), 1, GW1_MAC)
    add(IPv6(src=HOST, dst=ONLINK, fl=0x12345, tc=0xb8) / UDP(sport=1, dport=2), 1, ONLINK_MAC)
    add(IPv6(src=HOST, dst=FAR) / IPv6ExtHdrHopByHop(options=[PadN(optdata=b"\x00\x00\x00\x00")]) / UDP(sport=3, dport=4) / Raw(b"hbh"), 1, GW1_MAC)
    # A 54-byte frame padded to Ethernet's 60: the padding is not forwarded.
    small = to_router(0, IPv6(src=HOST, dst=FAR, nh=59, plen=0))
    ins.append(Ether(bytes(small) + b"\x00" * 6))
    outs.append((1, forwarded(small, 1, GW1_MAC)))
    return dict(
        config=BASE,
        inputs={0: ins},
        expect={0: [], 1: [o for p, o in outs if p == 1], 2: []},
        counters={"fates": {"received": len(ins), "forwarded": len(ins), "dropped": 0},
                  "ip6stat": {"ip6s_total": len(ins), "ip6s_forward": len(ins)},
                  "interfaces": {"port1": {"ifs6_out_forward": len(ins)},
                                 "port0": {"ifs6_in_receive": len(ins)}}},
    )


@fixture
def malformed():
    """Frames that must not get through, each under its own counter; one good
    packet at the end shows the port still works."""
    bad = [
        ("ether_runt", Raw(b"\x02\x00\x00\x00\x00\x10\x02\x00")),
        ("ether_noproto", Ether(dst=MAC[0], src=HOST_MAC) / ARP()),
        ("ether_noproto", Ether(dst=MAC[0], src=HOST_MAC) / IP(dst="192.0.2.1") / UDP()),
        ("ether_noproto", Ether(dst=MAC[0], src=HOST_MAC) / Dot1Q(vlan=5) / IPv6(src=HOST, dst=FAR)),
        ("ether_otherhost", Ether(dst="02:00:00:00:99:99", src=HOST_MAC) / IPv6(src=HOST, dst=FAR)),
        ("toosmall", Ether(dst=MAC[0], src=HOST_MAC, type=0x86dd) / Raw(b"\x60" + b"\x00" * 30)),
        ("badvers", Ether(dst=MAC[0], src=HOST_MAC, type=0x86dd) / Raw(b"\x45" + bytes(ip6_bytes(to_router(0, udp(HOST, FAR)))[1:]))),
        ("tooshort", Ether(dst=MAC[0], src=HOST_MAC) / IPv6(src=HOST, dst=FAR, plen=400) / UDP(sport=1, dport=2)),
        ("badscope", to_router(0, IPv6(src="ff02::1", dst=FAR))),
        ("badscope", to_router(0, IPv6(src=HOST, dst="::"))),
        ("badscope", to_router(0, IPv6(src="::ffff:192.0.2.1", dst=FAR))),
        ("badscope", to_router(0, IPv6(src=HOST, dst="::1"))),
        ("badscope", to_router(0, IPv6(src=HOST, dst="ff01::1"))),
        ("badscope", to_router(0, IPv6(src="fe80:5::1", dst=FAR))),
        ("badscope", to_router(0, IPv6(src=ADDR[1], dst=ADDR[0]))),
    ]
    good = to_router(0, udp(HOST, FAR, 1))
    drops = {}
    for reason, _ in bad:
        drops[reason] = drops.get(reason, 0) + 1
    return dict(
        config=BASE,
        inputs={0: [f for _, f in bad] + [good]},
        expect={0: [], 1: [forwarded(good, 1, GW1_MAC)], 2: []},
        counters={"fates": {"received": len(bad) + 1, "forwarded": 1, "dropped": len(bad), "drops": drops},
                  "ip6stat": {"ip6s_toosmall": 1, "ip6s_badvers": 1, "ip6s_tooshort": 1, "ip6s_badscope": 7},
                  "interfaces": {"port0": {"ifs6_in_hdrerr": 2, "ifs6_in_truncated": 1, "ifs6_in_addrerr": 4,
                                           "ifs6_in_discard": 10}}},
    )


@fixture
def jumbo():
    """Frames larger than an mbuf's data room arrive in chained mbufs and
    leave byte-identical through links with a 9000-byte MTU."""
    ins = [to_router(0, udp(HOST, FAR, n, size=s)) for n, s in enumerate([1900, 2100, 4000, 8900 - 48])]
    return dict(
        config=BASE + "link set port0 mtu 9000\nlink set port1 mtu 9000\n",
        inputs={0: ins},
        expect={0: [], 1: [forwarded(f, 1, GW1_MAC) for f in ins], 2: []},
        counters={"fates": {"received": 4, "forwarded": 4, "dropped": 0}},
    )


@fixture
def multiport():
    """Inputs on two ports at once (--rx), each forwarded to the other side."""
    a = [to_router(0, udp(HOST, FAR, n)) for n in range(5)]
    b = [to_router(1, udp(FAR, HOST, n), src_mac=GW1_MAC) for n in range(3)]
    return dict(
        config=BASE,
        inputs={0: a, 1: b},
        expect={0: [forwarded(f, 0, HOST_MAC) for f in b], 1: [forwarded(f, 1, GW1_MAC) for f in a], 2: []},
        counters={"fates": {"received": 8, "forwarded": 8}},
    )


@fixture
def workers():
    """Two workers: the input is spread over two queues by flow, as RSS
    would; each flow keeps its order, the output is compared as a set."""
    ins = [to_router(0, udp(HOST, f"2001:db8:1:{flow}::1", n)) for n in range(40) for flow in range(8)]
    return dict(
        config=BASE,
        inputs={0: ins},
        workers=2,
        ordered=False,
        expect={0: [], 1: [forwarded(f, 1, GW1_MAC) for f in ins], 2: []},
        counters={"fates": {"received": len(ins), "forwarded": len(ins)}},
    )


# --- writing -----------------------------------------------------------------

def stamp(frames):
    """Fixed timestamps, so that the files are reproducible."""
    out = []
    for i, f in enumerate(frames):
        f = f.copy()
        f.time = 1_700_000_000 + i / 1000
        out.append(f)
    return out


def write(outdir):
    for fn in FIXTURES:
        spec = fn()
        d = os.path.join(outdir, fn.__name__)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "router.conf"), "w") as f:
            f.write(spec["config"])
        inputs = {}
        for port, frames in spec["inputs"].items():
            name = f"in.port{port}.pcap"
            wrpcap(os.path.join(d, name), stamp(frames), linktype=1)
            inputs[f"port{port}"] = name
        for port, frames in spec["expect"].items():
            wrpcap(os.path.join(d, f"expect.port{port}.pcap"), stamp(frames), linktype=1)
        meta = {
            "about": " ".join(fn.__doc__.split()),
            "inputs": inputs,
            "outputs": [f"port{p}" for p in spec["expect"]],
            "workers": spec.get("workers", 1),
            "ordered": spec.get("ordered", True),
            "counters": spec["counters"],
        }
        with open(os.path.join(d, "fixture.json"), "w") as f:
            json.dump(meta, f, indent=1, sort_keys=True)
            f.write("\n")


def main():
    if sys.argv[1:] == ["--check"]:
        scratch = tempfile.mkdtemp(prefix="labelgate-fixtures-")
        try:
            write(scratch)
            bad = []
            for fn in FIXTURES:
                a, b = os.path.join(scratch, fn.__name__), os.path.join(HERE, fn.__name__)
                for name in sorted(os.listdir(a)):
                    if not os.path.exists(os.path.join(b, name)) or not filecmp.cmp(os.path.join(a, name), os.path.join(b, name), shallow=False):
                        bad.append(f"{fn.__name__}/{name}")
            if bad:
                print("out of date (run make-fixtures.py):", *bad, sep="\n  ")
                sys.exit(1)
            print(f"{len(FIXTURES)} fixtures are current")
        finally:
            shutil.rmtree(scratch)
    elif sys.argv[1:]:
        sys.exit(__doc__)
    else:
        write(HERE)
        print(f"wrote {len(FIXTURES)} fixtures")


if __name__ == "__main__":
    main()
