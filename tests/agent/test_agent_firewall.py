"""Firewall logs (netfilter LOG lines from iptables/ufw/nftables, key=value firewalls) to ECS network events."""

from __future__ import annotations

import time
from typing import Any

import pytest

from collectors.agent.parsers import ParseContext, parse
from collectors.agent.parsers.base import MAX_LINE, get

from .conftest import raw_lines

# As Ubuntu's ufw and the kernel's xt_LOG write them (kern.log / syslog), with the kernel clock in front.
UFW_BLOCK = ("Nov 28 08:12:45 hni-web-01 kernel: [ 3453.276354] [UFW BLOCK] IN=enp0s3 OUT= "
             "MAC=08:00:27:a8:6e:4b:52:54:00:12:35:02:08:00 SRC=198.51.100.40 DST=10.0.2.15 LEN=44 TOS=0x00 "
             "PREC=0x00 TTL=49 ID=17521 PROTO=TCP SPT=54321 DPT=23 WINDOW=1024 RES=0x00 SYN URGP=0")
UFW_ALLOW = ("Nov 28 08:12:46 hni-web-01 kernel: [ 3454.100001] [UFW ALLOW] IN=enp0s3 OUT= "
             "MAC=08:00:27:a8:6e:4b:52:54:00:12:35:02:08:00 SRC=192.0.2.10 DST=10.0.2.15 LEN=60 TOS=0x00 "
             "PREC=0x00 TTL=63 ID=2101 DF PROTO=TCP SPT=40400 DPT=22 WINDOW=64240 RES=0x00 SYN URGP=0")
IPTABLES_DROPPED = ("Nov 28 08:12:47 gw01 kernel: IPTables-Dropped: IN=eth1 OUT=eth0 SRC=10.20.0.8 DST=203.0.113.9 "
                    "LEN=76 TOS=0x00 PREC=0x00 TTL=63 ID=0 DF PROTO=UDP SPT=123 DPT=123 LEN=56")
NO_PREFIX = ("Nov 28 08:12:48 gw01 kernel: IN=eth0 OUT= MAC=00:16:3e:00:00:01:00:16:3e:00:00:02:08:00 "
             "SRC=198.51.100.7 DST=10.0.0.1 LEN=40 TOS=0x00 PREC=0x00 TTL=241 ID=54321 PROTO=TCP SPT=61000 "
             "DPT=8080 WINDOW=65535 RES=0x00 SYN URGP=0")
ICMP_ERROR = ("Nov 28 08:12:49 gw01 kernel: FW-REJECT: IN=eth0 OUT= SRC=10.0.0.1 DST=198.51.100.7 LEN=68 TOS=0x00 "
              "PREC=0xC0 TTL=64 ID=1 PROTO=ICMP TYPE=3 CODE=3 [SRC=198.51.100.7 DST=10.0.0.1 LEN=40 TOS=0x00 "
              "PREC=0x00 TTL=241 ID=54321 PROTO=UDP SPT=53 DPT=33434 LEN=20 ]")
ICMPV6 = ("2026-11-28T08:12:50.123456+07:00 gw01 kernel: [UFW BLOCK] IN=eth0 OUT= "
          "SRC=2001:0db8:0000:0000:0000:0000:0000:0001 DST=2001:db8::2 LEN=72 TC=0 HOPLIMIT=255 FLOWLBL=0 "
          "PROTO=ICMPv6 TYPE=135 CODE=0")
# --log-prefix "FW-DROP" without its trailing space runs into IN=.
ABUTTED = ("Nov 28 08:12:51 gw01 kernel: FW-DROPIN=eth0 OUT= SRC=198.51.100.8 DST=10.0.0.1 LEN=40 PROTO=TCP "
           "SPT=1 DPT=2 SYN")
DMESG = ("[123456.789012] [UFW BLOCK] IN=eth0 OUT= SRC=198.51.100.9 DST=10.0.0.1 LEN=40 TOS=0x00 PREC=0x00 "
         "TTL=50 ID=1 PROTO=TCP SPT=4000 DPT=445 WINDOW=1024 RES=0x00 SYN URGP=0")
# FortiOS traffic log as a FortiGate sends it over syslog (priority, then key=value; no syslog header).
FORTIGATE = ('<189>date=2026-11-28 time=08:12:45 devname="HNI-FGT-01" devid="FG100FTK19000000" '
             'eventtime=1795828365123456789 tz="+0700" logid="0000000013" type="traffic" subtype="forward" '
             'level="notice" vd="root" srcip=198.51.100.40 srcport=51234 srcintf="port1" srcintfrole="wan" '
             'dstip=10.10.1.20 dstport=3389 dstintf="port2" dstintfrole="lan" srccountry="Reserved" '
             'sessionid=123456 proto=6 action="deny" policyid=0 policytype="policy" service="RDP" '
             'trandisp="noop" duration=0 sentbyte=0 rcvdbyte=0 crscore=30 crlevel="high" msg="Denied by forward '
             'policy check (policy 0)"')
FORTIGATE_CLOSE = ('date=2026-11-28 time=08:12:46 devname="HNI-FGT-01" devid="FG100FTK19000000" logid="0000000013" '
                   'type="traffic" subtype="forward" srcip=10.10.1.20 srcport=50000 dstip=8.8.8.8 dstport=53 '
                   'proto=17 action="close" policyid=12 policyname="lan-to-dns"')
SOPHOS = ('device="SFW" date=2026-11-28 time=08:12:47 timezone="+07" device_name="XG230" device_id=C01001K234RXPA1 '
          'log_id=010101600001 log_type="Firewall" log_component="Firewall Rule" log_subtype="Denied" status="Deny" '
          'priority=Information duration=0 fw_rule_id=5 in_interface="Port2" out_interface="" '
          'src_mac=00:0c:29:aa:bb:cc src_ip=198.51.100.41 src_country_code=R1 dst_ip=10.10.1.21 protocol="TCP" '
          'src_port=50000 dst_port=22')


@pytest.fixture
def fixed_ctx(ctx: ParseContext) -> ParseContext:
    return ParseContext(host="agent-host", tz=ctx.tz, now=ctx.now.replace(month=11, day=30))


def fields(doc: dict[str, Any], *names: str) -> dict[str, Any]:
    return {name: get(doc, name) for name in names}


FLOW = ("source.ip", "source.port", "destination.ip", "destination.port", "network.transport", "event.action",
        "event.category", "event.type")


def test_a_ufw_block_is_a_denied_tcp_connection(fixed_ctx: ParseContext) -> None:
    doc, source = parse(UFW_BLOCK, fixed_ctx)

    assert source == "firewall"
    assert fields(doc, *FLOW) == {
        "source.ip": "198.51.100.40", "source.port": 54321, "destination.ip": "10.0.2.15", "destination.port": 23,
        "network.transport": "tcp", "event.action": "drop", "event.category": ["network"],
        "event.type": ["connection", "denied"]}
    assert fields(doc, "observer.product", "observer.type", "rule.name", "network.direction",
                  "observer.ingress.interface.name", "source.mac", "destination.mac", "iptables.tcp.flags",
                  "iptables.ttl", "event.dataset", "host.name", "@timestamp") == {
        "observer.product": "ufw", "observer.type": "firewall", "rule.name": "UFW BLOCK",
        "network.direction": "inbound", "observer.ingress.interface.name": "enp0s3",
        "source.mac": "52-54-00-12-35-02", "destination.mac": "08-00-27-A8-6E-4B", "iptables.tcp.flags": ["SYN"],
        "iptables.ttl": 49, "event.dataset": "iptables.log", "host.name": "hni-web-01",
        "@timestamp": "2026-11-28T01:12:45.000Z"}
    assert get(doc, "related.ip") == ["198.51.100.40", "10.0.2.15"]


@pytest.mark.parametrize(("line", "expected"), [
    (UFW_ALLOW, {"event.action": "accept", "event.type": ["connection", "allowed"], "destination.port": 22,
                 "iptables.fragment_flags": ["DF"]}),
    (IPTABLES_DROPPED, {"event.action": "drop", "network.transport": "udp", "rule.name": "IPTables-Dropped",
                        "observer.egress.interface.name": "eth0", "network.direction": None,
                        "observer.product": "iptables"}),
    (NO_PREFIX, {"event.action": "log", "event.type": ["connection"], "destination.port": 8080, "rule.name": None}),
    (ICMP_ERROR, {"event.action": "reject", "network.transport": "icmp", "source.ip": "10.0.0.1",
                  "destination.port": None, "iptables.icmp.type": 3, "iptables.icmp.code": 3}),
    (ICMPV6, {"network.transport": "ipv6-icmp", "source.ip": "2001:db8::1", "@timestamp": "2026-11-28T01:12:50.123Z"}),
    (ABUTTED, {"rule.name": "FW-DROP", "event.action": "drop", "observer.ingress.interface.name": "eth0"}),
])
def test_netfilter_variants_keep_their_meaning(fixed_ctx: ParseContext, line: str, expected: dict[str, Any]) -> None:
    doc, source = parse(line, fixed_ctx)

    assert source == "firewall"
    assert fields(doc, *expected) == expected


def test_a_netfilter_line_from_dmesg_without_a_syslog_header_is_read_too(fixed_ctx: ParseContext) -> None:
    doc, source = parse(DMESG, fixed_ctx)

    assert source == "firewall"
    assert fields(doc, "source.ip", "destination.port", "event.action", "host.name") == {
        "source.ip": "198.51.100.9", "destination.port": 445, "event.action": "drop", "host.name": "agent-host"}


def test_a_fortigate_traffic_log_is_a_denied_connection_at_its_own_event_time(fixed_ctx: ParseContext) -> None:
    doc, source = parse(FORTIGATE, fixed_ctx)

    assert source == "firewall"
    assert fields(doc, *FLOW) == {
        "source.ip": "198.51.100.40", "source.port": 51234, "destination.ip": "10.10.1.20", "destination.port": 3389,
        "network.transport": "tcp", "event.action": "drop", "event.category": ["network"],
        "event.type": ["connection", "denied"]}
    assert fields(doc, "@timestamp", "observer.vendor", "observer.name", "observer.serial_number", "rule.id",
                  "network.iana_number", "observer.ingress.interface.name", "event.dataset") == {
        "@timestamp": "2026-11-28T01:12:45.123Z", "observer.vendor": "Fortinet", "observer.name": "HNI-FGT-01",
        "observer.serial_number": "FG100FTK19000000", "rule.id": "0", "network.iana_number": "6",
        "observer.ingress.interface.name": "port1", "event.dataset": "firewall.log"}
    assert get(doc, "event.original") == FORTIGATE


def test_a_fortigate_line_without_eventtime_uses_its_date_time_and_tz_or_the_agents_zone(
        fixed_ctx: ParseContext) -> None:
    doc, _ = parse(FORTIGATE_CLOSE, fixed_ctx)

    assert fields(doc, "@timestamp", "event.action", "event.type", "network.transport", "rule.name") == {
        "@timestamp": "2026-11-28T01:12:46.000Z", "event.action": "accept", "event.type": ["connection", "allowed"],
        "network.transport": "udp", "rule.name": "lan-to-dns"}


def test_a_sophos_firewall_log_maps_its_own_key_names(fixed_ctx: ParseContext) -> None:
    doc, source = parse(SOPHOS, fixed_ctx)

    assert source == "firewall"
    assert fields(doc, "source.ip", "destination.ip", "destination.port", "network.transport", "event.action",
                  "observer.vendor", "observer.name", "rule.id") == {
        "source.ip": "198.51.100.41", "destination.ip": "10.10.1.21", "destination.port": 22,
        "network.transport": "tcp", "event.action": "drop", "observer.vendor": "Sophos", "observer.name": "XG230",
        "rule.id": "5"}


def test_no_kernel_line_of_the_loghub_linux_corpus_is_taken_for_a_firewall(ctx: ParseContext) -> None:
    kernel = [line for line in raw_lines("loghub", "Linux", "Linux_2k.log") if " kernel: " in line]

    sources = {parse(line, ctx).source for line in kernel}

    assert len(kernel) == 76 and sources == {"system"}


@pytest.mark.parametrize("line", [
    "Nov 28 08:12:45 gw01 kernel: IN=eth0 OUT= SRC=not-an-address DST=10.0.0.1 PROTO=TCP SPT=1 DPT=2",
    "Nov 28 08:12:45 gw01 kernel: IN=eth0 SRC=198.51.100.1 PROTO=TCP SPT=1 DPT=2",
    "Nov 28 08:12:45 gw01 kernel: Kernel command line: ro root=LABEL=/ rhgb quiet",
    "srcip=999.1.1.1 dstip=10.0.0.1 dstport=22 action=deny",
    "user=alice src=198.51.100.1 msg=hello",
])
def test_lines_without_two_valid_addresses_are_not_firewall_events(fixed_ctx: ParseContext, line: str) -> None:
    doc, source = parse(line, fixed_ctx)

    assert source != "firewall"
    assert get(doc, "destination.ip") is None


MEGA = MAX_LINE


@pytest.mark.parametrize("line", [
    "a" * (MEGA - 1) + "=",
    'a="' + "x" * MEGA,
    ("a" * 60 + " b=") * (MEGA // 64),
    "IN= OUT= " * (MEGA // 9),
    "Nov 28 08:12:45 gw01 kernel: " + "IN=a OUT=b SRC=1.1.1.1 DST=2.2.2.2 " * (MEGA // 36),
    'a="\\" ' * (MEGA // 6),
    "srcip=1.1.1.1 dstip=2.2.2.2 " * (MEGA // 28),
])
def test_hostile_firewall_shaped_lines_cost_linear_time(line: str, fixed_ctx: ParseContext) -> None:
    elapsed = []
    for _ in range(3):  # the best of three: a busy shared machine can pause any one call
        start = time.perf_counter()
        doc, _ = parse(line, fixed_ctx)
        elapsed.append(time.perf_counter() - start)

    assert min(elapsed) < 0.05
    assert get(doc, "event.original")
