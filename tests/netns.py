"""A network namespace joined to the host by a veth pair: a browser in it reaches the host's
servers over one link whose rules a test sets (UDP blocked, random loss, a rate limit).

The host keeps every server (Kelas, coturn); only what runs under ``ip netns exec`` is behind
the link. The rules are the kernel's own: nftables in the namespace for blocking and random
loss (``numgen random``; this kernel has no netem), ``tc tbf`` on the host's end for the rate of
the namespace's downlink. Names carry this process's id and a counter, addresses come from
198.18.0.0/15 (RFC 2544, for benchmarks; never routed), a /30 no route on the host already
covers. Removing the namespace removes its end of the pair, which removes the host's end, its
qdisc and the namespace's rules with it; a link left by a test process that died is removed by
the next one (``sweep``).
"""

from __future__ import annotations

import contextlib
import ipaddress
import itertools
import json
import os
import secrets
import shlex
import subprocess
from collections.abc import Iterator
from pathlib import Path

PREFIX = "kelas"  # namespace "kelas-<pid>-<n>", links "kh<pid>n<n>" (host) and "kn…" (namespace)
TEST_RANGE = ipaddress.IPv4Network("198.18.0.0/15")
TABLE = "kelas"
_counter = itertools.count()


def run(*args: str) -> str:
    done = subprocess.run(args, capture_output=True, text=True, timeout=10)
    if done.returncode:
        raise RuntimeError(f"{shlex.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def used_networks() -> list[ipaddress.IPv4Network]:
    """What the host already routes or owns, so that a new link does not overlap it."""
    routes = json.loads(run("ip", "-j", "-4", "route", "show", "table", "all"))
    found = []
    for route in routes:
        dst = route.get("dst", "")
        if dst and dst != "default" and not dst.startswith("local"):
            with contextlib.suppress(ValueError):
                found.append(ipaddress.ip_network(dst, strict=False))
    for link in json.loads(run("ip", "-j", "-4", "addr")):
        for addr in link.get("addr_info", []):
            found.append(ipaddress.ip_network(f"{addr['local']}/{addr['prefixlen']}", strict=False))
    return [n for n in found if isinstance(n, ipaddress.IPv4Network)]


def free_subnet() -> ipaddress.IPv4Network:
    used = used_networks()
    while True:
        block = secrets.randbelow(TEST_RANGE.num_addresses // 4)
        subnet = ipaddress.IPv4Network(f"{TEST_RANGE.network_address + block * 4}/30")
        if not any(subnet.overlaps(n) for n in used):
            return subnet


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep() -> None:
    """Remove the namespaces of test processes that are gone (killed before their teardown)."""
    for line in run("ip", "netns", "list").splitlines():
        name = line.split()[0] if line.split() else ""
        parts = name.split("-")
        if len(parts) == 3 and parts[0] == PREFIX and parts[1].isdigit():
            if not alive(int(parts[1])):
                with contextlib.suppress(RuntimeError):
                    run("ip", "netns", "delete", name)


class Link:
    """A namespace whose only way out is a veth pair to the host.

    ``host_ip`` is the host's end (servers listen there), ``ns_ip`` the namespace's.
    """

    def __init__(self) -> None:
        n = next(_counter)
        pid = os.getpid()
        self.name = f"{PREFIX}-{pid}-{n}"
        self.host_if = f"kh{pid}n{n}"[:15]
        self.ns_if = f"kn{pid}n{n}"[:15]
        self.subnet = free_subnet()
        hosts = list(self.subnet.hosts())
        self.host_ip, self.ns_ip = str(hosts[0]), str(hosts[1])
        self._rules: list[tuple[str, str]] = []  # (chain, rule) in the namespace's table

    # -- life ---------------------------------------------------------------------------

    def create(self) -> None:
        sweep()
        run("ip", "netns", "add", self.name)
        try:
            run("ip", "link", "add", self.host_if, "type", "veth", "peer", "name", self.ns_if,
                "netns", self.name)  # fmt: skip
            # No IPv6 link-local address on either end: the kernel would add it some two
            # seconds after the link comes up, when its duplicate detection ends, and a
            # Chromium on that side takes the new address as a network change and fails
            # what it has in flight (ERR_NETWORK_CHANGED), the imports of a page loading.
            run("ip", "link", "set", self.host_if, "addrgenmode", "none")
            run("ip", "addr", "add", f"{self.host_ip}/30", "dev", self.host_if)
            run("ip", "link", "set", self.host_if, "up")
            self.inside("ip", "link", "set", "lo", "up")
            self.inside("ip", "link", "set", self.ns_if, "addrgenmode", "none")
            self.inside("ip", "addr", "add", f"{self.ns_ip}/30", "dev", self.ns_if)
            self.inside("ip", "link", "set", self.ns_if, "up")
            # Everything leaves by the link: the host's other addresses (its candidates) too.
            self.inside("ip", "route", "add", "default", "via", self.host_ip)
            self.inside("nft", "add", "table", "inet", TABLE)
            for chain, hook in (("in", "input"), ("out", "output")):
                spec = f"{{ type filter hook {hook} priority 0; policy accept; }}"
                self.inside("nft", "add", "chain", "inet", TABLE, chain, spec)
        except BaseException:
            self.remove()
            raise

    def remove(self) -> None:
        with contextlib.suppress(RuntimeError):
            run("ip", "netns", "delete", self.name)
        # Normally gone with the namespace; not if a process still holds the namespace open.
        with contextlib.suppress(RuntimeError):
            run("ip", "link", "delete", self.host_if)

    def inside(self, *args: str) -> str:
        return run("ip", "netns", "exec", self.name, *args)

    # -- rules --------------------------------------------------------------------------

    def _add(self, chain: str, rule: str) -> None:
        self.inside("nft", "add", "rule", "inet", TABLE, chain, *shlex.split(rule))
        self._rules.append((chain, rule))

    def block_udp(self) -> None:
        """No UDP in or out of the namespace, as behind a firewall that lets only TCP through."""
        for chain, way in (("in", "iifname"), ("out", "oifname")):
            self._add(chain, f'{way} "{self.ns_if}" meta l4proto udp counter drop')

    def allow_tcp_only_to(self, *ports: int) -> None:
        """TCP out only to ``ports`` (the web and TURN over TLS, say: port 443 and no other)."""
        allowed = ", ".join(str(p) for p in ports)
        self._add("out", f'oifname "{self.ns_if}" tcp dport != {{ {allowed} }} counter reject')

    def lose(self, percent: int) -> None:
        """Drop ``percent`` % of UDP datagrams at random, each way (the media; the signaling's
        TCP would only be slower)."""
        for chain, way in (("in", "iifname"), ("out", "oifname")):
            chance = f"numgen random mod 100 < {percent}"
            self._add(chain, f'{way} "{self.ns_if}" meta l4proto udp {chance} counter drop')

    def drops(self) -> int:
        """Packets dropped by the rules so far (both ways)."""
        listed = json.loads(self.inside("nft", "-j", "list", "table", "inet", TABLE))
        total = 0
        for item in listed.get("nftables", []):
            for expr in item.get("rule", {}).get("expr", []):
                if "counter" in expr:
                    total += int(expr["counter"]["packets"])
        return total

    def limit_downlink(self, kbit: int, latency_ms: int = 100) -> None:
        """The namespace receives at most ``kbit`` kbit/s: a token bucket on the host's end,
        whose queue holds ``latency_ms`` of traffic (a home router's buffer), the rest dropped."""
        burst = max(kbit * 1000 // 8 // 50, 3000)  # 20 ms of traffic, two full packets at least
        run("tc", "qdisc", "replace", "dev", self.host_if, "root", "tbf", "rate", f"{kbit}kbit",
            "burst", str(burst), "latency", f"{latency_ms}ms")  # fmt: skip

    def downlink_stats(self) -> dict[str, int]:
        """Bytes, packets and drops of the rate limit so far."""
        (qdisc,) = json.loads(run("tc", "-j", "-s", "qdisc", "show", "dev", self.host_if))
        return {k: int(qdisc.get(k, 0)) for k in ("bytes", "packets", "drops", "overlimits")}

    # -- programs behind the link ---------------------------------------------------------

    def wrapper(self, program: str, directory: Path, env: dict[str, str] | None = None) -> Path:
        """An executable that runs ``program`` in the namespace with its arguments: Playwright
        launches it as if it were the browser (``exec`` keeps the pid, so closing the browser
        ends it, and the pipes Playwright talks through are inherited)."""
        settings = " ".join(f"{k}={shlex.quote(v)}" for k, v in (env or {}).items())
        path = directory / f"{self.name}-{Path(program).name}"
        path.write_text(
            "#!/bin/sh\n"
            f"exec {'env ' + settings + ' ' if settings else ''}"
            f'ip netns exec {self.name} {shlex.quote(program)} "$@"\n'
        )
        path.chmod(0o755)
        return path


@contextlib.contextmanager
def link() -> Iterator[Link]:
    made = Link()
    made.create()
    try:
        yield made
    finally:
        made.remove()
