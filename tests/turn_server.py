"""A coturn of the test's own, from the shipped deploy/turnserver.conf.

Only what cannot be the same on a test machine is changed: free ports instead of 3478 and 443,
loopback (or a test network's address) instead of the public address, a fresh secret, a
self-signed certificate made here, the log on stdout. Every hardening line (denied peers,
quotas, no TCP relays, no DTLS) is run as shipped; ``allowed_peers`` adds exceptions for a
media test whose peers are this machine.
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import secrets
import socket
import ssl
import time
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from signaling.ice import turn_credential, turn_username
from tests.turn_client import TurnProbe

SHIPPED = Path(__file__).resolve().parent.parent / "deploy" / "turnserver.conf"
START_TIMEOUT = 10.0
HOST = "127.0.0.1"
READY = "Total General servers"  # logged once every listener is open


def free_port(host: str = HOST) -> int:
    """A port free for both TCP and UDP on ``host`` (TURN listens on both)."""
    while True:
        with socket.socket() as tcp, socket.socket(type=socket.SOCK_DGRAM) as udp:
            tcp.bind((host, 0))
            port = int(tcp.getsockname()[1])
            try:
                udp.bind((host, port))
            except OSError:
                continue
            return port


def relay_ports() -> tuple[int, int]:
    """200 relay ports below Linux's ephemeral range, so other tests' sockets do not take
    them; a random window keeps parallel runs apart."""
    low = 20_000 + secrets.randbelow(60) * 200
    return low, low + 199


def rewrite(text: str, changes: dict[str, list[str]]) -> str:
    """``text`` with the lines of each key in ``changes`` replaced by its values ("" for a flag,
    an empty list removes the key). A key the shipped file does not set is added."""
    kept = [line for line in text.splitlines() if line.split("=", 1)[0].strip() not in changes]
    for key, values in changes.items():
        kept += [f"{key}={value}" if value else key for value in values]
    return "\n".join(kept) + "\n"


def self_signed(directory: Path, host: str = HOST) -> tuple[Path, Path]:
    """A certificate for ``host`` and localhost, and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    names = [x509.IPAddress(ipaddress.ip_address(host)), x509.DNSName("localhost")]
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class TurnServer:
    def __init__(
        self, directory: Path, allowed_peers: tuple[str, ...] = (), host: str = HOST
    ) -> None:
        self.directory = directory
        self.allowed_peers = allowed_peers
        self.host = host
        self.port = free_port(host)
        self.tls_port = free_port(host)
        self.secret = secrets.token_hex(32)
        self.realm = "kelas.test"
        self.cert, self.key = self_signed(directory, host)
        self.log: list[str] = []
        self._process: asyncio.subprocess.Process | None = None
        self._drain: asyncio.Task[None] | None = None

    def configuration(self) -> str:
        low, high = relay_ports()
        return rewrite(
            SHIPPED.read_text(),
            {
                "listening-port": [str(self.port)],
                "tls-listening-port": [str(self.tls_port)],
                "listening-ip": [self.host],
                # ::1 too, so that a test can ask for an IPv6 relay.
                "relay-ip": [self.host, "::1"],
                "min-port": [str(low)],
                "max-port": [str(high)],
                "static-auth-secret": [self.secret],
                "realm": [self.realm],
                "cert": [str(self.cert)],
                "pkey": [str(self.key)],
                "syslog": [],
                "log-file": ["stdout"],
                "verbose": [""],  # logs each listener as it opens, and each refusal
                "pidfile": [str(self.directory / "turnserver.pid")],
                "userdb": [str(self.directory / "turndb")],
                "allowed-peer-ip": list(self.allowed_peers),
            },
        )

    async def start(self) -> None:
        """Start it and return once it relays for a credential minted as Kelas mints them."""
        path = self.directory / "turnserver.conf"
        path.write_text(self.configuration())
        self._process = await asyncio.create_subprocess_exec(
            "turnserver", "-c", str(path),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        output = self._process.stdout
        assert output is not None

        # READY can come before the listeners of a relay thread are open (a probe was once
        # refused on a loaded machine): wait for each of ours too.
        wanted = {
            f"TLS/TCP listener opened on : {self.host}:{self.port}",
            f"TLS/TCP listener opened on : {self.host}:{self.tls_port}",
            f"UDP listener opened on: {self.host}:{self.port}",
        }

        async def listening() -> None:
            ready = False
            while not ready or wanted:
                line = (await output.readline()).decode(errors="replace")
                if not line:
                    raise RuntimeError("turnserver exited while starting:\n" + "".join(self.log))
                self.log.append(line)
                ready = ready or READY in line
                wanted.difference_update({w for w in wanted if w in line})

        await asyncio.wait_for(listening(), START_TIMEOUT)
        self._drain = asyncio.get_running_loop().create_task(self._read_rest(output))
        # coturn logs a line it cannot read as an ERROR and goes on without it: a denied range
        # it could not parse would be a hole.
        errors = [line for line in self.log if "ERROR" in line]
        assert not errors, errors
        probe = await self.probe()
        try:
            await probe.allocate()
            await probe.release()
        finally:
            await probe.close()

    async def _read_rest(self, output: asyncio.StreamReader) -> None:
        while line := await output.readline():
            self.log.append(line.decode(errors="replace"))

    async def stop(self) -> None:
        if self._process is None or self._process.returncode is not None:
            return
        self._process.terminate()
        try:
            await asyncio.wait_for(self._process.wait(), START_TIMEOUT)
        except TimeoutError:
            self._process.kill()
            await self._process.wait()
        if self._drain is not None:
            await self._drain

    # -- what clients use ---------------------------------------------------------------

    def urls(self) -> tuple[str, str, str]:
        return (
            f"turn:{self.host}:{self.port}?transport=udp",
            f"turn:{self.host}:{self.port}?transport=tcp",
            f"turns:{self.host}:{self.tls_port}?transport=tcp",
        )

    def tls_context(self) -> ssl.SSLContext:
        """A client context that trusts this server's certificate (and nothing else)."""
        return ssl.create_default_context(cafile=str(self.cert))

    async def probe(
        self, user_id: int = 1, *, tls: bool = False, expires: int | None = None, secret: str = ""
    ) -> TurnProbe:
        """A TURN client with a credential minted as Kelas mints it."""
        username = turn_username(user_id, expires or int(time.time()) + 600)
        credential = turn_credential(secret or self.secret, username)
        port, context = (self.tls_port, self.tls_context()) if tls else (self.port, None)
        return await TurnProbe.open(self.host, port, username, credential, context)
