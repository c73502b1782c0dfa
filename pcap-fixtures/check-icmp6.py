#!/usr/bin/python3
"""Checks every ICMPv6 message in captures with scapy, independently of
labelgate: the IPv6 payload length matches the bytes, the checksum is right,
an error fits the minimum MTU and quotes an IPv6 packet, a redirect comes
from a link-local address with hop limit 255 and well-formed options.

usage: check-icmp6.py CAPTURE...      (exit status 1 on any fault)
"""
import logging
import sys

logging.getLogger("scapy.runtime").setLevel(logging.ERROR)

from scapy.all import IPv6, Ether, in6_chksum, rdpcap  # noqa: E402
from scapy.utils6 import in6_islladdr  # noqa: E402

faults = []
seen = 0


def fault(where, what):
    faults.append(f"{where}: {what}")


for path in sys.argv[1:]:
    for i, frame in enumerate(rdpcap(path)):
        where = f"{path} #{i}"
        raw = bytes(frame)
        if len(raw) < 54 or raw[12:14] != b"\x86\xdd":
            continue
        ip6 = raw[14:]
        plen = int.from_bytes(ip6[4:6], "big")
        if ip6[6] != 58:
            continue
        seen += 1
        if plen != len(ip6) - 40:
            fault(where, f"payload length {plen}, but {len(ip6) - 40} bytes follow")
            continue
        icmp = ip6[40:]
        hdr = IPv6(ip6)
        zeroed = icmp[:2] + b"\x00\x00" + icmp[4:]
        want = in6_chksum(58, hdr, zeroed)
        got = int.from_bytes(icmp[2:4], "big")
        if want != got:
            fault(where, f"checksum {got:#06x}, should be {want:#06x}")
        kind = icmp[0]
        if kind < 128:
            if len(ip6) > 1280:
                fault(where, f"error of {len(ip6)} bytes exceeds the minimum MTU")
            quoted = icmp[8:]
            if len(quoted) < 40 or quoted[0] >> 4 != 6:
                fault(where, "error does not quote an IPv6 packet")
            if ip6[0] != 0x60 or ip6[1] != 0 or ip6[2:4] != b"\x00\x00":
                fault(where, "error has a traffic class or flow label")
        elif kind == 137:
            if ip6[7] != 255:
                fault(where, f"redirect with hop limit {ip6[7]}")
            if not in6_islladdr(hdr.src):
                fault(where, f"redirect from {hdr.src}, not a link-local address")
            if len(ip6) > 1280:
                fault(where, f"redirect of {len(ip6)} bytes exceeds the minimum MTU")
            opts = icmp[40:]
            while opts:
                olen = opts[1] * 8 if len(opts) > 1 else 0
                if olen == 0 or olen > len(opts):
                    fault(where, "redirect option with a bad length")
                    break
                if opts[0] == 4 and (olen < 8 or (olen - 8) % 8):
                    fault(where, "redirected header option not a multiple of 8")
                opts = opts[olen:]

if faults:
    print(*faults, sep="\n")
    sys.exit(1)
print(f"{seen} ICMPv6 messages checked")
