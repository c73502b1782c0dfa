#!/usr/bin/python3
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


# --- issue 3: every branch of ip6_forward ------------------------------------

def as_received(frame):
    """An error from ip6_input quotes the packet as it arrived (hop limit
    untouched, not yet trimmed to its payload length)."""
    return bytes(frame)[14:][:1232]


def to_host(icmp, quoted):
    """An error about a packet from HOST: back out port0 from port0's global
    address, the one source selection picks for a global destination."""
    return error(0, HOST_MAC, ADDR[0], HOST, icmp, quoted)


@fixture
def hoplimit():
    """Traceroute probes and other packets whose hop limit runs out: Time
    Exceeded quoting the packet as received, never about an ICMPv6 error,
    the quote cut to 1232 bytes."""
    probes = [to_router(0, udp(HOST, FAR, n, hlim=h, sport=33434)) for n, h in enumerate([1, 2, 3])]
    zero = to_router(0, udp(HOST, FAR, 9, hlim=0))
    echo = to_router(0, IPv6(src=HOST, dst=FAR, hlim=1) / ICMPv6EchoRequest(id=1, seq=1))
    err = to_router(0, IPv6(src=HOST, dst=FAR, hlim=1) / ICMPv6DestUnreach(code=4) / Raw(b"\x60" + bytes(47)))
    big = to_router(0, udp(HOST, FAR, 5, hlim=1, size=1400))
    te = lambda f: to_host(ICMPv6TimeExceeded(code=0), quote(f, hops=0))
    return dict(
        config=BASE,
        inputs={0: probes + [zero, echo, err, big]},
        expect={0: [te(probes[0]), te(zero), te(echo), te(big)],
                1: [forwarded(probes[1], 1, GW1_MAC), forwarded(probes[2], 1, GW1_MAC)], 2: []},
        counters={"fates": {"received": 7, "forwarded": 2, "drops": {"hlim": 5}},
                  "icmp6stat": {"icp6s_error": 5, "icp6s_canterror": 1, "icp6s_otime_exceed_transit": 5,
                                "icp6s_outhist": {"3": 4}},
                  "ip6stat": {"ip6s_forward": 2, "ip6s_localout": 4},
                  "interfaces": {"port0": {"ifs6_out_timeexceed": 4, "ifs6_out_request": 4}}},
    )


@fixture
def stealth():
    """IPSTEALTH: the hop limit is neither checked nor lowered."""
    ins = [to_router(0, udp(HOST, FAR, n, hlim=h)) for n, h in enumerate([0, 1, 64])]
    return dict(
        config=BASE + "sysctl net.inet6.ip6.stealth=1\n",
        inputs={0: ins},
        expect={0: [], 1: [forwarded(f, 1, GW1_MAC, hops=0) for f in ins], 2: []},
        counters={"fates": {"received": 3, "forwarded": 3}, "icmp6stat": {"icp6s_error": 0}},
    )


@fixture
def noroute():
    """No route: Destination Unreachable code 0 quoting the packet after its
    hop limit was lowered; with no route back either, nothing is sent."""
    ins = [to_router(0, udp(HOST, f"2001:db8:9::{n}", n)) for n in range(3)]
    lost = to_router(0, udp("2001:db8:77::1", "2001:db8:9::9"))
    return dict(
        config=BASE,
        inputs={0: ins + [lost]},
        expect={0: [to_host(ICMPv6DestUnreach(code=0), quote(f)) for f in ins], 1: [], 2: []},
        counters={"fates": {"received": 4, "drops": {"noroute": 4}},
                  "ip6stat": {"ip6s_noroute": 5, "ip6s_odropped": 1},
                  # FreeBSD counts the output histogram before icmp6_reflect
                  # looks for a way back, so the unsendable error is in it.
                  "icmp6stat": {"icp6s_odst_unreach_noroute": 4, "icp6s_outhist": {"1": 4}},
                  "interfaces": {"port0": {"ifs6_in_noroute": 4, "ifs6_out_dstunreach": 3}}},
    )


@fixture
def blackhole_reject():
    """A blackhole route drops silently; a reject route answers Destination
    Unreachable code 6, as current FreeBSD does; both count cantforward."""
    hole = to_router(0, udp(HOST, "2001:db8:dead::1"))
    rej = to_router(0, udp(HOST, "2001:db8:beef::1"))
    return dict(
        config=BASE + "route add 2001:db8:dead::/48 blackhole\nroute add 2001:db8:beef::/48 reject\n",
        inputs={0: [hole, rej]},
        expect={0: [to_host(ICMPv6DestUnreach(code=6), quote(rej))], 1: [], 2: []},
        counters={"fates": {"drops": {"blackhole": 1, "reject": 1}},
                  "ip6stat": {"ip6s_cantforward": 2},
                  "icmp6stat": {"icp6s_ounknown": 1, "icp6s_outhist": {"1": 1}}},
    )


@fixture
def cantforward():
    """What ip6_forward refuses outright (multicast at either layer, an
    unspecified source) and what is the router's own (its addresses and the
    groups it joined), which goes to the control plane."""
    refused = [
        to_router(0, udp(HOST, "ff0e::1234")),
        Ether(dst="ff:ff:ff:ff:ff:ff", src=HOST_MAC) / udp(HOST, FAR),
        Ether(dst="33:33:00:00:00:01", src=HOST_MAC) / udp(HOST, FAR),
        to_router(0, udp("::", FAR)),
    ]
    ours = [
        Ether(dst="33:33:00:00:00:01", src=HOST_MAC) / IPv6(src=HOST_LL, dst="ff02::1", hlim=255) / ICMPv6EchoRequest(),
        to_router(0, IPv6(src=HOST, dst=ADDR[0]) / ICMPv6EchoRequest()),
        Ether(dst="33:33:ff:00:00:01", src=HOST_MAC) / IPv6(src=HOST, dst="ff02::1:ff00:1", hlim=255) / ICMPv6ND_NS(tgt=ADDR[0]),
        to_router(0, IPv6(src=HOST_LL, dst=LL[0]) / UDP(sport=546, dport=547)),
    ]
    return dict(
        config=BASE,
        inputs={0: refused + ours},
        expect={0: [], 1: [], 2: []},
        counters={"fates": {"received": 8, "punted": 4, "drops": {"cantforward": 4}},
                  "ip6stat": {"ip6s_cantforward": 4, "ip6s_delivered": 4},
                  "control": {"punted_echo_request": 2, "punted_nd": 1, "punted_other": 1, "log_lines": 1},
                  "interfaces": {"port0": {"ifs6_in_deliver": 4, "ifs6_in_mcast": 3}}},
    )


SITE_ROUTE = "route add fec0::/10 dev port1\nneigh add fec0::5 lladdr 02:00:00:00:fe:05 dev port1\n"
ZONES = "link set port0 zone site 1\nlink set port1 zone site 2\n" + SITE_ROUTE


@fixture
def scope():
    """A link-local source may not leave its link: Destination Unreachable
    code 2 back to it from the link's link-local address; a site-local
    destination routed into another site is dropped silently."""
    ll = to_router(0, udp(HOST_LL, FAR))
    site = to_router(0, udp(HOST, "fec0::5"))
    return dict(
        config=BASE + ZONES,
        inputs={0: [ll, site]},
        expect={0: [error(0, HOST_MAC, LL[0], HOST_LL, ICMPv6DestUnreach(code=2), quote(ll))], 1: [], 2: []},
        counters={"fates": {"drops": {"badscope": 2}},
                  "ip6stat": {"ip6s_badscope": 2, "ip6s_cantforward": 2},
                  "icmp6stat": {"icp6s_odst_unreach_beyondscope": 1},
                  "interfaces": {"port1": {"ifs6_in_discard": 1}}},
    )


@fixture
def scope_shared_zone():
    """Two ports configured into one link zone and one site zone: the same
    packets are forwarded."""
    ll = to_router(0, udp(HOST_LL, FAR))
    site = to_router(0, udp(HOST, "fec0::5"))
    return dict(
        config=BASE + SITE_ROUTE + "link set port0 zone 9 zone site 3\nlink set port1 zone 9 zone site 3\n",
        inputs={0: [ll, site]},
        expect={0: [], 1: [forwarded(ll, 1, GW1_MAC), forwarded(site, 1, "02:00:00:00:fe:05")], 2: []},
        counters={"fates": {"forwarded": 2}, "ip6stat": {"ip6s_badscope": 0}},
    )


@fixture
def mtu():
    """Larger than the outgoing link's MTU: Packet Too Big carrying that MTU,
    quoting at most 1232 bytes; exactly the MTU passes."""
    fits = to_router(0, udp(HOST, FAR, 1, size=1280 - 48))
    over = to_router(0, udp(HOST, FAR, 2, size=1300 - 48))
    huge = to_router(0, udp(HOST, FAR, 3, size=1500 - 48))
    ptb = lambda f: to_host(ICMPv6PacketTooBig(mtu=1280), quote(f))
    return dict(
        config=BASE + "link set port1 mtu 1280\n",
        inputs={0: [fits, over, huge]},
        expect={0: [ptb(over), ptb(huge)], 1: [forwarded(fits, 1, GW1_MAC)], 2: []},
        counters={"fates": {"forwarded": 1, "drops": {"toobig": 2}},
                  "icmp6stat": {"icp6s_opacket_too_big": 2},
                  "interfaces": {"port1": {"ifs6_in_toobig": 2}, "port0": {"ifs6_out_pkttoobig": 2}}},
    )


GW3 = "fe80::3"
GW3_MAC = "02:00:00:00:03:03"
REDIRECTS = f"route add 2001:db8:3::/48 via {GW3} dev port0\nroute add 2001:db8:6::/48 via {GW3} dev port0 dynamic\nneigh add {GW3} lladdr {GW3_MAC} dev port0\n"


def redirect(target, dst, frame, tlla=None):
    """icmp6_redirect_output's message: from port0's link-local address,
    hop limit 255, the redirected header cut to a multiple of 8 and to the
    room left within 1280 bytes."""
    room = (1280 - 40 - 40 - (8 if tlla else 0)) // 8 * 8 - 8
    quoted = quote(frame)
    quoted = quoted[:min(len(quoted), room) // 8 * 8]
    msg = ICMPv6ND_Redirect(tgt=target, dst=dst)
    if tlla:
        msg = msg / ICMPv6NDOptDstLLAddr(lladdr=tlla)
    msg = msg / ICMPv6NDOptRedirectedHdr(pkt=quoted)
    return Ether(dst=HOST_MAC, src=MAC[0]) / IPv6(src=LL[0], dst=HOST, hlim=255) / msg


@fixture
def redirects():
    """Forwarded back out the link it came in on: forwarded, and the sender
    told of the better first hop (the destination itself, or a gateway with
    its link-layer address); not for a route learned from a redirect, not
    for a source-routed packet."""
    onlink = to_router(0, udp(HOST, PEER, 1))
    via = to_router(0, udp(HOST, "2001:db8:3::7", 2))
    dynamic = to_router(0, udp(HOST, "2001:db8:6::7", 3))
    routed = to_router(0, IPv6(src=HOST, dst=PEER) / IPv6ExtHdrRouting(addresses=[], segleft=0) / UDP(sport=4, dport=9))
    big = to_router(0, udp(HOST, PEER, 5, size=1400))
    return dict(
        config=BASE + REDIRECTS,
        inputs={0: [onlink, via, dynamic, routed, big]},
        # The seed sends the packet (nd6_output), then the redirect.
        expect={0: [forwarded(onlink, 0, PEER_MAC), redirect(PEER, PEER, onlink),
                    forwarded(via, 0, GW3_MAC), redirect(GW3, "2001:db8:3::7", via, tlla=GW3_MAC),
                    forwarded(dynamic, 0, GW3_MAC),
                    forwarded(routed, 0, PEER_MAC),
                    forwarded(big, 0, PEER_MAC), redirect(PEER, PEER, big)],
                1: [], 2: []},
        counters={"fates": {"forwarded": 5},
                  "ip6stat": {"ip6s_redirectsent": 3, "ip6s_forward": 5},
                  "icmp6stat": {"icp6s_oredirect": 3, "icp6s_outhist": {"137": 3}},
                  "interfaces": {"port0": {"ifs6_out_redirect": 3, "ifs6_out_forward": 5}}},
    )


@fixture
def redirects_off():
    """net.inet6.ip6.redirect=0: the same traffic is forwarded back out
    without a word."""
    ins = [to_router(0, udp(HOST, PEER, 1)), to_router(0, udp(HOST, "2001:db8:3::7", 2))]
    return dict(
        config=BASE + REDIRECTS + "sysctl net.inet6.ip6.redirect=0\n",
        inputs={0: ins},
        expect={0: [forwarded(ins[0], 0, PEER_MAC), forwarded(ins[1], 0, GW3_MAC)], 1: [], 2: []},
        counters={"ip6stat": {"ip6s_redirectsent": 0}, "icmp6stat": {"icp6s_oredirect": 0}},
    )


P2P_PEER = "2001:db8:22::2"
P2P_MAC = "02:00:00:00:22:02"


@fixture
def pointopoint():
    """Back out the point-to-point link it came in on is a routing loop:
    Destination Unreachable code 3 and no forwarding. The same destination
    from another port is forwarded."""
    loop = Ether(dst=MAC[2], src=P2P_MAC) / udp(P2P_PEER, "2001:db8:22:1::5")
    across = to_router(0, udp(HOST, "2001:db8:22:1::5"))
    return dict(
        config=BASE + f"link set port2 pointopoint on\nroute add 2001:db8:22:1::/64 via {P2P_PEER} dev port2\nneigh add {P2P_PEER} lladdr {P2P_MAC} dev port2\n",
        inputs={0: [across], 2: [loop]},
        expect={0: [], 1: [], 2: [forwarded(across, 2, P2P_MAC),
                                  error(2, P2P_MAC, ADDR[2], P2P_PEER, ICMPv6DestUnreach(code=3), quote(loop))]},
        counters={"fates": {"forwarded": 1, "drops": {"p2p_loop": 1}},
                  "icmp6stat": {"icp6s_odst_unreach_addr": 1}},
    )


@fixture
def loopback():
    """A route to lo0 hands packets back to the router, as the seed's
    looutput does: an address of the router is delivered; any other comes
    back in, is forwarded to lo0 again a hop at a time, and ends in Time
    Exceeded quoting it as it arrived the last time."""
    ours = to_router(0, udp(HOST, "2001:db8:5::1"))
    loops = to_router(0, udp(HOST, "2001:db8:5::9", hlim=3))
    return dict(
        config=BASE + "addr add 2001:db8:5::1 dev lo0\nroute add 2001:db8:5::/48 dev lo0\n",
        inputs={0: [ours, loops]},
        expect={0: [to_host(ICMPv6TimeExceeded(code=0), quote(loops, hops=2))], 1: [], 2: []},
        counters={"fates": {"received": 2, "punted": 1, "drops": {"hlim": 1}},
                  "ip6stat": {"ip6s_total": 4, "ip6s_forward": 2, "ip6s_delivered": 1},
                  "interfaces": {"lo0": {"ifs6_out_forward": 2}, "port0": {"ifs6_in_receive": 4}}},
    )


@fixture
def filters():
    """Output filter rules in order, first match decides: reject answers
    administratively prohibited, drop is silent, pass lets through."""
    dns = to_router(0, IPv6(src=HOST, dst=FAR) / UDP(sport=1000, dport=53) / Raw(b"q"))
    bad = to_router(0, udp("2001:db8:ff::66", FAR), src_mac="02:00:00:00:aa:66")
    tcp = to_router(0, IPv6(src=HOST, dst="2001:db8:1:77::1") / TCP(sport=1, dport=22, flags="S"))
    blocked = to_router(0, udp(HOST, "2001:db8:1:77::1"))
    other = to_router(0, IPv6(src=HOST, dst=FAR) / UDP(sport=1000, dport=54) / Raw(b"q"))
    rules = ("filter add reject proto udp dport 53\nfilter add drop from 2001:db8:ff::66\n"
             "filter add pass proto tcp\nfilter add drop to 2001:db8:1:77::/64\n")
    return dict(
        config=BASE + rules,
        inputs={0: [dns, bad, tcp, blocked, other]},
        expect={0: [to_host(ICMPv6DestUnreach(code=1), quote(dns))],
                1: [forwarded(tcp, 1, GW1_MAC), forwarded(other, 1, GW1_MAC)], 2: []},
        counters={"fates": {"forwarded": 2, "drops": {"filtered": 3}},
                  "filters": [{"hits": 1}, {"hits": 1}, {"hits": 1}, {"hits": 1}],
                  "icmp6stat": {"icp6s_odst_unreach_admin": 1},
                  "interfaces": {"port0": {"ifs6_out_adminprohib": 1}}},
    )


@fixture
def nd6():
    """A next hop without a link-layer address: packets are held (two at
    most here); the oldest is evicted by a third and answered Destination
    Unreachable code 3; when resolution gives up the oldest left is answered
    too. A next hop that is not on the link is dropped silently."""
    held = [to_router(0, udp(HOST, "2001:db8:2::9", n)) for n in range(3)]
    stray = to_router(0, udp(HOST, "2001:db8:8::1"))
    unreach = lambda f: to_host(ICMPv6DestUnreach(code=3), quote(f))
    return dict(
        config=BASE + "route add 2001:db8:8::/48 via 2001:db9::1 dev port1\n"
               "sysctl net.inet6.icmp6.nd6_maxqlen=2\nsysctl net.inet6.icmp6.nd6_retrans=100\n"
               "sysctl net.inet6.icmp6.nd6_mmaxtries=2\n",
        inputs={0: held + [stray]},
        expect={0: [unreach(held[0]), unreach(held[1])], 1: [], 2: []},
        counters={"fates": {"received": 4, "held": 0, "drops": {"unresolved": 4}},
                  "ip6stat": {"ip6s_forward": 3, "ip6s_cantforward": 4},
                  "icmp6stat": {"icp6s_dropped": 3, "icp6s_odst_unreach_addr": 2},
                  "interfaces": {"port1": {"ifs6_out_discard": 4, "ifs6_out_forward": 3}}},
    )


@fixture
def ratelimit():
    """net.inet6.icmp6.errppslimit=5: five errors in the second, the rest
    counted as too frequent."""
    ins = [to_router(0, udp(HOST, f"2001:db8:9::{n}", n)) for n in range(12)]
    return dict(
        config=BASE + "sysctl net.inet6.icmp6.errppslimit=5\n",
        inputs={0: ins},
        expect={0: [to_host(ICMPv6DestUnreach(code=0), quote(f)) for f in ins[:5]], 1: [], 2: []},
        counters={"icmp6stat": {"icp6s_error": 12, "icp6s_toofreq": 7, "icp6s_outhist": {"1": 5}}},
    )


def hbh(*options, dst=FAR, nh=17):
    return to_router(0, IPv6(src=HOST, dst=dst) / IPv6ExtHdrHopByHop(nh=nh, options=list(options)) / UDP(sport=7, dport=9) / Raw(b"opts"))


@fixture
def hopopts():
    """Hop-by-hop options, as ip6_input processes them before forwarding:
    unknown options by their action bits, Parameter Problem pointers counted
    from the IPv6 header, router alert for MLD making the packet the
    router's."""
    skip = hbh(HBHOptUnknown(otype=0x1e, optdata=b"ab"))
    discard = hbh(HBHOptUnknown(otype=0x5e, optdata=b"ab"))
    icmp = hbh(PadN(optdata=b""), HBHOptUnknown(otype=0x9e, optdata=b"ab"))
    mcast = Ether(dst="33:33:00:00:12:34", src=HOST_MAC) / IPv6(src=HOST, dst="ff0e::1234") / IPv6ExtHdrHopByHop(nh=17, options=[HBHOptUnknown(otype=0xde, optdata=b"ab")]) / UDP(sport=7, dport=9)
    unicast = hbh(HBHOptUnknown(otype=0xde, optdata=b"ab"))
    ra_len = hbh(RouterAlert(optlen=3, value=0) / Raw(b"\x00"))
    ra_mld = hbh(RouterAlert(value=0))
    zero_plen = to_router(0, IPv6(src=HOST, dst=FAR, plen=0) / IPv6ExtHdrHopByHop(nh=59, options=[PadN(optdata=b"\x00\x00\x00\x00")]))
    pp = lambda f, code, ptr: to_host(ICMPv6ParamProblem(code=code, ptr=ptr), as_received(f))
    return dict(
        config=BASE,
        inputs={0: [skip, discard, icmp, mcast, unicast, ra_len, ra_mld, zero_plen]},
        expect={0: [pp(icmp, 2, 44), pp(unicast, 2, 42), pp(ra_len, 0, 43), pp(zero_plen, 0, 4)],
                1: [forwarded(skip, 1, GW1_MAC)], 2: []},
        counters={"fates": {"received": 8, "forwarded": 1, "punted": 1, "drops": {"badoptions": 6}},
                  "ip6stat": {"ip6s_badoptions": 4},
                  "icmp6stat": {"icp6s_oparamprob_option": 2, "icp6s_oparamprob_header": 2}},
    )


# --- issue 7: MAC labels on packets and interfaces ---------------------------
#
# A packet takes the effective label of the interface it arrives on
# (mbuf_create_from_ifnet) and leaves only through an interface whose range
# admits it (ifnet_check_transmit). A refusal is an error of nd6_output, which
# the seed answers as any other: Destination Unreachable, address unreachable,
# quoting the packet; that error carries the refused packet's label
# (mbuf_create_netlayer) and is itself checked on its way out.

P2HOST = "2001:db8:22::5"        # on port2
P2HOST_MAC = "02:00:00:00:22:05"
BEHIND1 = "2001:db8:1::77"       # behind GW1, on port1's side
MAC_BASE = BASE + f"neigh add {P2HOST} lladdr {P2HOST_MAC} dev port2\n"


def from_port(port, ip6):
    """A frame from the station on `port`'s link."""
    return Ether(dst=MAC[port], src={0: HOST_MAC, 1: ONLINK_MAC, 2: P2HOST_MAC}[port]) / ip6


def refused(port, f):
    """The seed's answer to a packet nd6_output refused: Destination
    Unreachable, address unreachable, back to its sender on `port`."""
    who = {0: (HOST_MAC, ADDR[0], HOST), 1: (ONLINK_MAC, ADDR[1], ONLINK), 2: (P2HOST_MAC, ADDR[2], P2HOST)}[port]
    return error(port, who[0], who[1], who[2], ICMPv6DestUnreach(code=3), quote(f))


@fixture
def mac_mls():
    """mls on every port: port0 low(low-high), port1 10(10-high), port2
    5:1(low-5:1+2). Packets leave only where their label is in range; each
    refused one is answered, and an answer that port1 refuses too (its
    label is port2's 5:1) is not sent."""
    a = from_port(0, udp(HOST, FAR, 1))          # low out of port1: refused
    b = from_port(0, udp(HOST, P2HOST, 2))       # low out of port2: passes
    c = from_port(0, udp(HOST, FAR, 3, hlim=1))  # time exceeded, labelled low
    d = from_port(1, udp(ONLINK, HOST, 4))       # 10 out of port0: passes
    e = from_port(1, udp(ONLINK, P2HOST, 5))     # 10 out of port2: refused
    f = from_port(2, udp(P2HOST, HOST, 6))       # 5:1 out of port0: passes
    g = from_port(2, udp(P2HOST, FAR, 7))        # 5:1 out of port1: refused
    h = from_port(2, udp(BEHIND1, FAR, 8))       # refused, and so is its answer
    return dict(
        config=MAC_BASE + "mac load mls\n"
               "link set port0 label mls/low(low-high)\n"
               "link set port1 label mls/10(10-high)\n"
               "link set port2 label mls/5:1(low-5:1+2)\n",
        inputs={0: [a, b, c], 1: [d, e], 2: [f, g, h]},
        expect={0: [refused(0, a), to_host(ICMPv6TimeExceeded(code=0), quote(c, 0)),
                    forwarded(d, 0, HOST_MAC), forwarded(f, 0, HOST_MAC)],
                1: [refused(1, e)],
                2: [forwarded(b, 2, P2HOST_MAC), refused(2, g)]},
        ordered=False,
        counters={"fates": {"received": 8, "forwarded": 3, "drops": {"mac": 4, "hlim": 1}},
                  "ip6stat": {"ip6s_forward": 3, "ip6s_cantforward": 4, "ip6s_odropped": 1},
                  "icmp6stat": {"icp6s_error": 5, "icp6s_odst_unreach_addr": 4,
                                "icp6s_otime_exceed_transit": 1},
                  "mac": {"denied": {"mls": {"EACCES": 5}}},
                  "interfaces": {"port0": {"label": "mls/low(low-high)"},
                                 "port1": {"label": "mls/10(10-high)", "ifs6_out_discard": 4},
                                 "port2": {"label": "mls/5:1(low-5:1+2)", "ifs6_out_discard": 1},
                                 "lo0": {"label": "mls/equal(equal-equal)"}}},
    )


@fixture
def mac_biba():
    """biba with interfaces_equal 0 and port1 trusted: port0 low(low-low),
    port1 high(high-high), port2 as configured, low(low-high). A low packet
    may not enter the trusted port, a high one may not leave by port0."""
    a = from_port(0, udp(HOST, FAR, 1))          # low out of port1: refused
    b = from_port(0, udp(HOST, P2HOST, 2))       # low out of port2: passes
    c = from_port(1, udp(ONLINK, HOST, 3))       # high out of port0: refused
    d = from_port(1, udp(ONLINK, P2HOST, 4))     # high out of port2: passes
    e = from_port(2, udp(P2HOST, HOST, 5))       # low out of port0: passes
    f = from_port(2, udp(P2HOST, FAR, 6))        # low out of port1: refused
    return dict(
        config=MAC_BASE + "mac load biba\nmac set biba interfaces_equal 0\n"
               "mac set biba trusted_interfaces port1\n"
               "link set port2 label biba/low(low-high)\n",
        inputs={0: [a, b], 1: [c, d], 2: [e, f]},
        expect={0: [refused(0, a), forwarded(e, 0, HOST_MAC)],
                1: [refused(1, c)],
                2: [forwarded(b, 2, P2HOST_MAC), forwarded(d, 2, P2HOST_MAC), refused(2, f)]},
        ordered=False,
        counters={"fates": {"received": 6, "forwarded": 3, "drops": {"mac": 3}},
                  "icmp6stat": {"icp6s_odst_unreach_addr": 3},
                  "mac": {"denied": {"biba": {"EACCES": 3}}},
                  "interfaces": {"port0": {"label": "biba/low(low-low)", "ifs6_out_discard": 1},
                                 "port1": {"label": "biba/high(high-high)", "ifs6_out_discard": 2},
                                 "port2": {"label": "biba/low(low-high)"},
                                 "lo0": {"label": "biba/equal(equal-equal)"}}},
    )


@fixture
def mac_mls_biba():
    """mls and biba together, each port labelled for both: a packet leaves
    only if both admit it; each refusal is counted against the policy that
    made it, one refused by both against each."""
    a = from_port(0, udp(HOST, FAR, 1))          # both admit
    b = from_port(0, udp(HOST, P2HOST, 2))       # mls refuses
    c = from_port(1, udp(ONLINK, HOST, 3))       # biba refuses
    d = from_port(1, udp(ONLINK, P2HOST, 4))     # both refuse
    e = from_port(2, udp(P2HOST, HOST, 5))       # both admit
    f = from_port(2, udp(P2HOST, FAR, 6))        # both admit
    return dict(
        config=MAC_BASE + "mac load mls\nmac load biba\n"
               "link set port0 label mls/low(low-high),biba/high(high-high)\n"
               "link set port1 label mls/low(low-high),biba/low(low-high)\n"
               "link set port2 label biba/high(high-high),mls/10(10-high)\n",
        inputs={0: [a, b], 1: [c, d], 2: [e, f]},
        expect={0: [refused(0, b), forwarded(e, 0, HOST_MAC)],
                1: [forwarded(a, 1, GW1_MAC), refused(1, c), refused(1, d), forwarded(f, 1, GW1_MAC)],
                2: []},
        ordered=False,
        counters={"fates": {"received": 6, "forwarded": 3, "drops": {"mac": 3}},
                  "mac": {"denied": {"mls": {"EACCES": 2}, "biba": {"EACCES": 2}}},
                  "interfaces": {"port0": {"label": "mls/low(low-high),biba/high(high-high)"},
                                 "port2": {"label": "mls/10(10-high),biba/high(high-high)"}}},
    )


def ifoff_traffic():
    return [from_port(0, udp(HOST, FAR, n)) for n in range(3)] + [from_port(1, udp(ONLINK, HOST, 3))]


@fixture
def mac_ifoff():
    """ifoff with its defaults silences every interface but the loopback:
    nothing is forwarded, and the answers are refused as well (EPERM)."""
    ins = ifoff_traffic()
    return dict(
        config=MAC_BASE + "mac load ifoff\n",
        inputs={0: ins[:3], 1: ins[3:]},
        expect={0: [], 1: [], 2: []},
        counters={"fates": {"received": 4, "forwarded": 0, "drops": {"mac": 4}},
                  "ip6stat": {"ip6s_cantforward": 4, "ip6s_odropped": 4},
                  "mac": {"denied": {"ifoff": {"EPERM": 8}}}},
    )


@fixture
def mac_ifoff_other():
    """ifoff with other_enabled 1 lets every interface transmit."""
    ins = ifoff_traffic()
    return dict(
        config=MAC_BASE + "mac load ifoff\nmac set ifoff other_enabled 1\n",
        inputs={0: ins[:3], 1: ins[3:]},
        expect={0: [forwarded(ins[3], 0, HOST_MAC)], 1: [forwarded(f, 1, GW1_MAC) for f in ins[:3]], 2: []},
        ordered=False,
        counters={"fates": {"received": 4, "forwarded": 4, "dropped": 0}},
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
