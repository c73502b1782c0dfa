#!/usr/bin/python3
"""Writes a large capture for throughput runs: N UDP-in-IPv6 frames spread
over F flows, addressed to port0 of perf/router.conf. Plain struct packing,
not scapy, so a million packets take seconds.

usage: gen-flows.py OUT.pcap [--packets N] [--flows F] [--size BYTES]
"""
import argparse
import struct

p = argparse.ArgumentParser()
p.add_argument("out")
p.add_argument("--packets", type=int, default=1_000_000)
p.add_argument("--flows", type=int, default=1024)
p.add_argument("--size", type=int, default=64, help="frame length, at least 62")
a = p.parse_args()

ROUTER = bytes.fromhex("020000000010")
HOST = bytes.fromhex("0200000000aa")
payload_len = max(a.size, 62) - 14 - 40
udp_len = payload_len

with open(a.out, "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    frames = []
    for flow in range(a.flows):
        src = bytes.fromhex("20010db800ff0000000000000000") + struct.pack(">H", 2)
        dst = bytes.fromhex("20010db80001") + struct.pack(">H", flow >> 8) + bytes(6) + struct.pack(">H", flow & 0xFFFF)
        ip6 = struct.pack(">IHBB", 0x60000000, payload_len, 17, 64) + src + dst
        udp = struct.pack(">HHHH", 1024 + flow % 60000, 9, udp_len, 0) + bytes(udp_len - 8)
        frames.append(ROUTER + HOST + b"\x86\xdd" + ip6 + udp)
    for i in range(a.packets):
        fr = frames[i % a.flows]
        f.write(struct.pack("<IIII", i // 1_000_000, i % 1_000_000, len(fr), len(fr)))
        f.write(fr)
