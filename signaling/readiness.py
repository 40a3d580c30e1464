"""The setup check's rules: what proves that a network path reached the server, and what
makes a setup ready.

Receipts. The check's peer connections end at this server (signaling/media/probe.py). When
one opens its data channel, the server hands the browser a receipt for that path, ``direct``
(the browser offered no relay candidate: UDP straight to us) or ``relay`` (only relay
candidates: through TURN), signed with the app's secret key:

    "<user id>.<path>.<unix time>.<base64url HMAC-SHA256, 43 characters>"

The browser sends its receipts with its results. The server counts a path as working only
with a receipt of its own, for that person, at most ``RECEIPT_TTL_S`` old. Every process
shares the secret, so the results may be stored by another process than the one whose peer
connection was reached, and nothing is kept in memory between the two.

Verdict. ``failed``: the person cannot take part (no usable microphone, or no path to the
server at all). ``warn``: they can, with a "but", each named in ``reasons``: no camera, a
microphone that heard nothing, UDP blocked (the relay works, with more delay), a relay or
STUN server that did not answer, a connection graded poor (signaling/media/quality.py), or
less bitrate than a class needs. ``ok`` otherwise.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from typing import Literal

from classroom.readiness import Report, Verdict
from signaling.media.quality import grade

Path = Literal["direct", "relay"]
RECEIPT_TTL_S = 600  # a check takes under a minute; a receipt is not a standing pass
RECEIPT = re.compile(r"(\d{1,10})\.(direct|relay)\.(\d{1,12})\.([A-Za-z0-9_-]{43})")
# A class under the downlink budget needs about 1.5 Mbit/s down (the tutor's video, the
# last speakers' thumbnails, everyone's audio); a camera sends up to 1 Mbit/s, 300 kbit/s
# for a student's thumbnail, plus audio.
DOWN_KBPS, UP_KBPS = 1500, 400


def _mac(secret: str, text: str) -> str:
    digest = hmac.new(secret.encode(), f"readiness:{text}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def receipt(secret: str, user_id: int, path: Path, issued: int) -> str:
    """The receipt for ``user_id``'s check reaching us by ``path`` at ``issued`` (unix s)."""
    text = f"{user_id}.{path}.{issued}"
    return f"{text}.{_mac(secret, text)}"


def proven(secret: str, token: str, user_id: int, now: float) -> Path | None:
    """The path ``token`` proves for ``user_id`` at ``now``; None if it is not ours, not
    theirs, too old, or from the future."""
    match = RECEIPT.fullmatch(token)
    if match is None:
        return None
    owner, path, issued, mac = match.groups()
    text = f"{owner}.{path}.{issued}"
    if not hmac.compare_digest(mac, _mac(secret, text)) or int(owner) != user_id:
        return None
    if not 0 <= now - int(issued) <= RECEIPT_TTL_S:
        return None
    return "direct" if path == "direct" else "relay"


def verdict(report: Report) -> tuple[Verdict, list[str]]:
    """The verdict on a whole report, and why (codes the check page words)."""
    failed = []
    if report.mic in ("denied", "missing", "error"):
        failed.append("mic")
    if report.udp != "ok" and report.relay != "ok":
        failed.append("no_path")
    if failed:
        return "failed", failed
    warn = []
    if report.camera != "ok":
        warn.append("camera")
    if report.mic == "silent":
        warn.append("mic_silent")
    if report.udp != "ok":
        warn.append("udp_blocked")
    if report.relay == "failed" or report.turn == "failed":
        warn.append("relay_failed")
    if report.stun == "failed":
        warn.append("stun_failed")
    measured = report.rtt_ms is not None or report.loss is not None
    if measured and grade(report.rtt_ms, report.loss or 0.0) == "poor":
        warn.append("unstable")
    if (report.down_kbps is not None and report.down_kbps < DOWN_KBPS) or (
        report.up_kbps is not None and report.up_kbps < UP_KBPS
    ):
        warn.append("slow")
    return ("warn" if warn else "ok"), warn
