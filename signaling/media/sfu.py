"""The SFU: peers by class and person, sources gated by the room's rules, slots assigned."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

from aiortc import RTCPeerConnection

from signaling.media import hooks
from signaling.media.forwarding import Kind, Source
from signaling.media.guard import Gate, Tally
from signaling.media.peer import Peer, add_candidate, configuration, negotiate, watch
from signaling.room import Room

# Told when someone starts or stops speaking; returns whether the room took note (it does not
# while that person's microphone is not forwarded).
SpeakingCallback = Callable[[int, int, bool], bool]
# Told that a participant's media connection failed and was closed: lesson id, user id, and
# "ice" (no path to the browser) or "dtls" (the handshake failed, e.g. a wrong certificate).
FailedCallback = Callable[[int, int, str], None]
LOUD_DBOV = 50  # RFC 6464 level: 0 is loudest, 127 silence; louder than -50 dBov is speech
QUIET_AFTER_S = 0.8


class Sfu:
    """Every peer connection of this process, and the forwarding between them."""

    def __init__(
        self,
        ice_servers: list[dict[str, Any]],
        on_speaking: SpeakingCallback,
        on_failed: FailedCallback = lambda lesson_id, user_id, reason: None,
    ) -> None:
        hooks.check()
        self._ice_servers = ice_servers
        self._on_speaking = on_speaking
        self._on_failed = on_failed
        self._peers: dict[tuple[int, int], Peer] = {}
        self._voice: dict[tuple[int, int], float] = {}  # last loud packet
        self._sweeper: asyncio.Task[None] | None = None
        self._tally = Tally()

    # -- life cycle ---------------------------------------------------------------------

    def start(self) -> None:
        self._sweeper = asyncio.get_running_loop().create_task(self._sweep_quiet())

    async def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        for peer in list(self._peers.values()):
            await peer.close()
        self._peers.clear()

    # -- peers --------------------------------------------------------------------------

    async def connect(self, room: Room, user_id: int, offer: str) -> tuple[str, int]:
        """A (new) peer connection for this participant; an older one is closed, as after a
        network change. Returns the answer SDP and the number of slots."""
        key = (room.lesson_id, user_id)
        old = self._peers.pop(key, None)
        if old is not None:
            await old.close()
        gate = Gate(f"user {user_id} in class {room.lesson_id}", self._tally)
        peer = Peer(user_id, RTCPeerConnection(configuration(self._ice_servers)), gate)
        slots = self.slots_for(room)
        try:
            answer = await negotiate(
                peer, offer, slots, lambda kind: self._source(room, user_id, kind)
            )
        except BaseException:
            await peer.close()
            raise
        self._peers[key] = peer

        def failed(reason: str) -> None:
            if self._peers.get(key) is peer:
                del self._peers[key]
            self._on_failed(room.lesson_id, user_id, reason)

        watch(peer, failed)
        self.sync(room)
        return answer, slots

    @staticmethod
    def slots_for(room: Room) -> int:
        """Slots per kind in each peer connection: one per possible publisher."""
        return room.capacity + 1

    async def candidate(
        self, lesson_id: int, user_id: int, candidate: str, mid: str | None, index: int | None
    ) -> None:
        peer = self._peers.get((lesson_id, user_id))
        if peer is not None:
            await add_candidate(peer, candidate, mid, index)

    async def leave(self, room: Room, user_id: int) -> None:
        peer = self._peers.pop((room.lesson_id, user_id), None)
        self._voice.pop((room.lesson_id, user_id), None)
        if peer is not None:
            await peer.close()
        self.sync(room)

    async def close_room(self, lesson_id: int) -> None:
        for key in [k for k in self._peers if k[0] == lesson_id]:
            await self._peers.pop(key).close()

    def peer(self, lesson_id: int, user_id: int) -> Peer | None:
        return self._peers.get((lesson_id, user_id))

    # -- forwarding ---------------------------------------------------------------------

    def sync(self, room: Room) -> dict[int, dict[str, Any]]:
        """Apply the room's rules: gate each source, and point each subscriber's slots at the
        current publishers (keeping people in the slot they had). Returns, per subscriber,
        which slot shows whom."""
        peers = {uid: p for (lid, uid), p in self._peers.items() if lid == room.lesson_id}
        peers = {uid: p for uid, p in peers.items() if uid in room.participants}
        for uid, peer in peers.items():
            plan = room.send_plan(uid)
            for kind, source in peer.sources.items():
                self._gate(source, room.forwards(uid, kind))
                if kind != "audio":
                    source.max_bitrate = plan["screen" if kind == "screen" else "camera"][
                        "max_bitrate"
                    ]
        publishers = [p.user_id for p in room.publishers()]
        tutor_screen = next(
            (
                peers[p].sources.get("screen")
                for p in publishers
                if p in peers and room.forwards(p, "screen")
            ),
            None,
        )
        layout: dict[int, dict[str, Any]] = {}
        for uid, peer in peers.items():
            others = [p for p in publishers if p != uid]
            kept = {i: p for i, p in peer.assignment.items() if p in others}
            free = [i for i in range(len(peer.video_slots)) if i not in kept]
            for p in others:
                if p not in kept.values() and free:
                    kept[free.pop(0)] = p
            peer.assignment = kept
            for index in range(len(peer.video_slots)):
                publisher = peers.get(kept[index]) if index in kept else None
                peer.audio_slots[index].attach(
                    publisher.sources.get("audio") if publisher else None
                )
                peer.video_slots[index].attach(
                    publisher.sources.get("video") if publisher else None
                )
            if peer.screen_slot is not None:
                peer.screen_slot.attach(
                    tutor_screen if tutor_screen and tutor_screen.publisher_id != uid else None
                )
            layout[uid] = {
                "slots": {str(i): p for i, p in sorted(kept.items())},
                "screen": tutor_screen.publisher_id if tutor_screen else None,
            }
        return layout

    @staticmethod
    def _gate(source: Source, on: bool) -> None:
        if on and not source.forwarding and source.kind != "audio":
            for slot in source.slots:
                slot.waiting_keyframe = True
            source.want_keyframe(force=True)
        source.forwarding = on

    def _source(self, room: Room, user_id: int, kind: Kind) -> Source:
        peer_key = (room.lesson_id, user_id)

        async def keyframe(ssrc: int) -> None:
            peer = self._peers.get(peer_key)
            if peer is not None:
                await _receiver(peer, kind)._send_rtcp_pli(ssrc)

        async def retransmit(ssrc: int, lost: list[int]) -> None:
            peer = self._peers.get(peer_key)
            if peer is not None:
                await _receiver(peer, kind)._send_rtcp_nack(ssrc, lost)

        def level(publisher: int, dbov: int) -> None:
            if dbov > LOUD_DBOV:
                return
            if peer_key in self._voice or self._on_speaking(room.lesson_id, publisher, True):
                self._voice[peer_key] = time.monotonic()

        async def remb(ssrc: int, bitrate: int) -> None:
            peer = self._peers.get(peer_key)
            if peer is not None:
                await hooks.send_remb(_receiver(peer, kind), ssrc, bitrate)

        if kind == "audio":
            return Source(user_id, kind, keyframe, retransmit, on_level=level)
        return Source(user_id, kind, keyframe, retransmit, send_remb=remb)

    async def _sweep_quiet(self) -> None:
        while True:
            await asyncio.sleep(QUIET_AFTER_S / 2)
            now = time.monotonic()
            for key, last in list(self._voice.items()):
                if now - last > QUIET_AFTER_S:
                    del self._voice[key]
                    self._on_speaking(key[0], key[1], False)

    def stats(self) -> dict[str, int]:
        sources = [s for p in self._peers.values() for s in p.sources.values()]
        slots = [s for p in self._peers.values() for s in p.all_slots()]
        return {
            "peers": len(self._peers),
            "packets_in": sum(s.packets_in for s in sources),
            "packets_out": sum(s.packets for s in slots),
            "datagrams_dropped": self._tally.dropped,
        }


def _receiver(peer: Peer, kind: Kind) -> Any:
    index = {"audio": 0, "video": 1, "screen": 2}[kind]
    return peer.pc.getTransceivers()[index].receiver
