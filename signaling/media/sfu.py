"""The SFU: peers by class and person, sources gated by the room's rules, slots assigned.

The room decides; the SFU applies, in three separate steps that the namespace calls when a
room change says so: ``gate`` (whose media is forwarded), ``plan`` (the bitrate each
publisher is told to send) and ``assign`` (which slot of each subscriber shows whom, and
which of those videos each subscriber's downlink budget lets through, returning only the
layouts that changed, so only those people are told).

About twice a second the SFU measures what each subscriber's link carries (downlink.py) and
asks the namespace to ``rebudget`` each class: ``budget`` decides again, within each
subscriber's estimate, which videos they get (budget.py), and returns the layouts that
changed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, Protocol

from aiortc import RTCPeerConnection

from classroom.errors import N_, InvalidInput
from classroom.live import LiveRole
from signaling import protocol
from signaling.media import hooks
from signaling.media.budget import LAST_N, Key, Video, wanted
from signaling.media.forwarding import Kind, Slot, Source
from signaling.media.guard import Gate, Tally
from signaling.media.layout import assign_slots
from signaling.media.peer import (
    Peer,
    add_candidate,
    configuration,
    negotiate,
    parse_candidate,
    watch,
)
from signaling.media.repair import KEYFRAME_EVERY_S, KeyframeRequests
from signaling.media.simulcast import negotiate_rid
from signaling.media.trickle import Trickled, Waiting
from signaling.room import Plans, Room

log = logging.getLogger(__name__)
LOUD_DBOV = 50  # RFC 6464 level: 0 is loudest, 127 silence; louder than -50 dBov is speech
QUIET_AFTER_S = 0.8
TICK_S = QUIET_AFTER_S / 2  # speaking, downlinks and budgets are looked at this often
SMALL_HOLD_S = 10.0  # a small simulcast layer nobody needed for this long is no longer sent
TOO_EARLY = N_("Too many ICE candidates came before their media offer.")


class MediaListener(Protocol):
    """What the SFU tells the room layer."""

    def speaking(self, lesson_id: int, user_id: int, speaking: bool) -> bool:
        """Someone started or stopped speaking; returns whether the room took note (it does
        not while that person's microphone is not forwarded)."""
        ...

    def failed(self, lesson_id: int, user_id: int, reason: str) -> None:
        """This participant's peer connection failed and was closed: "ice" (no path to the
        browser) or "dtls" (the handshake failed, e.g. a certificate that does not match)."""
        ...

    def quality(self, lesson_id: int, user_id: int, quality: protocol.Quality) -> None:
        """This participant's connection, measured from their receiver reports: told at
        once when its grade changes, otherwise at most every couple of seconds
        (signaling/media/quality.py)."""
        ...

    def rebudget(self, lesson_id: int) -> None:
        """Time to decide again what each subscriber of this class receives within their
        downlink: call ``Sfu.budget`` and tell those whose layout changed."""
        ...

    def tick(self, lesson_id: int, now: float) -> None:
        """Time to look at the class's speaking meter (``Room.meter``, fed by the SFU with
        this same clock): its prompts for the tutor, and keeping its figures."""
        ...


class _Nobody:
    def speaking(self, lesson_id: int, user_id: int, speaking: bool) -> bool:
        return False

    def failed(self, lesson_id: int, user_id: int, reason: str) -> None:
        return None

    def quality(self, lesson_id: int, user_id: int, quality: protocol.Quality) -> None:
        return None

    def rebudget(self, lesson_id: int) -> None:
        return None

    def tick(self, lesson_id: int, now: float) -> None:
        return None


class Sfu:
    """Every peer connection of this process, and the forwarding between them."""

    def __init__(
        self,
        stun_urls: Sequence[str] = (),
        *,
        last_n: int = LAST_N,
        keyframe_every_s: float = KEYFRAME_EVERY_S,
    ) -> None:
        """``stun_urls`` let the server learn its public address behind a 1:1 NAT (a cloud
        machine). The server never uses TURN: it must be reachable itself, and a relay
        allocated per peer connection would only delay every answer. ``last_n``: how many
        recent speakers' videos a subscriber gets besides the main one (budget.py);
        ``keyframe_every_s``: how often a publisher may be asked for a keyframe at most
        (repair.py)."""
        hooks.check()
        negotiate_rid()  # simulcast: aiortc negotiates the layers' rid extension
        self._stun_urls = tuple(stun_urls)
        self._last_n = last_n
        self._keyframe_every_s = keyframe_every_s
        self._listener: MediaListener = _Nobody()
        self._peers: dict[tuple[int, int], Peer] = {}
        self._voice: dict[tuple[int, int], float] = {}  # last loud packet
        self._sweeper: asyncio.Task[None] | None = None
        self._upstream: set[asyncio.Task[None]] = set()  # RTCP on its way to publishers
        self._tally = Tally()
        self._waiting = Waiting()  # trickled candidates that came before their peer
        self._connecting: dict[tuple[int, int], int] = {}  # offers being answered, per person
        # Simulcast cameras' small layers (simulcast.py): when a subscriber last needed one,
        # and what its publisher was last told (their plan's ``small``).
        self._small_needed: dict[tuple[int, int], float] = {}
        self._small_told: dict[tuple[int, int], bool] = {}

    def listen(self, listener: MediaListener) -> None:
        self._listener = listener

    # -- life cycle ---------------------------------------------------------------------

    def start(self) -> None:
        self._sweeper = asyncio.get_running_loop().create_task(self._sweep())

    async def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        peers = list(self._peers.values())
        self._peers.clear()
        await asyncio.gather(*(peer.close() for peer in peers))

    # -- peers --------------------------------------------------------------------------

    async def connect(self, room: Room, user_id: int, offer: str, plans: Plans) -> tuple[str, int]:
        """A (new) peer connection for this participant; once it negotiated, an older one is
        closed, as after a network change. Returns the answer SDP and the number of slots.
        Call ``gate`` and ``assign`` afterwards, as after any change of the room."""
        key = (room.lesson_id, user_id)
        # While this is set, candidates that name no offer wait for this peer (trickle.py).
        self._connecting[key] = self._connecting.get(key, 0) + 1
        try:
            return await self._connect(room, user_id, offer, plans)
        finally:
            # No await since the last look at the waiting candidates: none is left behind.
            if self._connecting[key] == 1:
                del self._connecting[key]
            else:
                self._connecting[key] -= 1

    async def _connect(self, room: Room, user_id: int, offer: str, plans: Plans) -> tuple[str, int]:
        key = (room.lesson_id, user_id)
        gate = Gate(f"user {user_id} in class {room.lesson_id}", self._tally)
        pc = RTCPeerConnection(configuration(self._stun_urls))
        hooks.fingerprint_once(pc)
        peer = Peer(user_id, pc, gate)
        self._small_told.pop(key, None)  # a new connection starts with no small layer (hello)

        def measured(quality: protocol.Quality) -> None:
            if self._peers.get(key) is peer:
                self._listener.quality(room.lesson_id, user_id, quality)

        peer.measured = measured
        slots = self.slots_for(room)
        try:
            answer = await negotiate(
                peer, offer, slots, lambda kind: self._source(room, user_id, kind)
            )
        except BaseException:
            await peer.close()
            raise
        # Only a new peer that negotiated replaces the old one: a bad offer leaves media as
        # it was.
        old = self._peers.pop(key, None)
        if old is not None:
            await old.close()
        self._peers[key] = peer
        self.plan(room, user_id, plans)
        log.info("class %s: peer of user %s connected", room.lesson_id, user_id)

        def failed(reason: str) -> None:
            if self._peers.get(key) is peer:
                del self._peers[key]
                self._voice.pop(key, None)
                self._listener.failed(room.lesson_id, user_id, reason)

        watch(peer, failed)
        while early := self._waiting.take(key, peer.ufrag):
            for trickled in early:
                await _give(peer, trickled)
        return answer, slots

    @staticmethod
    def slots_for(room: Room) -> int:
        """Slots per kind in each peer connection: one per possible publisher."""
        return room.capacity + 1

    async def candidate(
        self,
        lesson_id: int,
        user_id: int,
        text: str,
        mid: str | None,
        index: int | None,
        ufrag: str | None,
    ) -> None:
        """A trickled candidate ("" ends them): checked now, then given to the peer
        connection of the offer it names (``ufrag``), or kept until that exists."""
        key = (lesson_id, user_id)
        trickled = Trickled(parse_candidate(text), mid, index, ufrag)
        peer = self._peers.get(key)
        if peer is not None and (ufrag == peer.ufrag if ufrag else key not in self._connecting):
            await add_candidate(peer, trickled)
        elif not self._waiting.add(key, trickled):
            raise InvalidInput(TOO_EARLY)

    async def leave(self, room: Room, user_id: int) -> None:
        """Close this person's peer; call ``assign`` afterwards to re-point the others."""
        peer = self._peers.pop((room.lesson_id, user_id), None)
        self._voice.pop((room.lesson_id, user_id), None)
        self._small_needed.pop((room.lesson_id, user_id), None)
        self._small_told.pop((room.lesson_id, user_id), None)
        self._waiting.forget((room.lesson_id, user_id))
        if peer is not None:
            await peer.close()
            log.info("class %s: peer of user %s closed", room.lesson_id, user_id)

    async def close_room(self, lesson_id: int) -> None:
        for key in [k for k in self._peers if k[0] == lesson_id]:
            self._voice.pop(key, None)
            self._waiting.forget(key)
            self._small_needed.pop(key, None)
            self._small_told.pop(key, None)
            await self._peers.pop(key).close()

    def peer(self, lesson_id: int, user_id: int) -> Peer | None:
        return self._peers.get((lesson_id, user_id))

    def _room_peers(self, room: Room) -> dict[int, Peer]:
        return {
            uid: peer
            for (lid, uid), peer in self._peers.items()
            if lid == room.lesson_id and uid in room.participants
        }

    # -- applying the room's rules ------------------------------------------------------

    def gate(self, room: Room) -> None:
        """Forward each source or not, as the room's rules say (a mute drops audio here)."""
        for uid, peer in self._room_peers(room).items():
            for kind, source in peer.sources.items():
                _gate(source, room.forwards(uid, kind))

    def plan(self, room: Room, user_id: int, plans: Plans) -> None:
        """The bitrate this publisher is asked for (REMB) follows their plan."""
        peer = self._peers.get((room.lesson_id, user_id))
        if peer is None:
            return
        for kind, source in peer.sources.items():
            if kind != "audio":
                plan = plans.screen if kind == "screen" else plans.camera
                source.max_bitrate = plan.max_bitrate
                if source.low is not None:
                    source.low.max_bitrate, source.low.sending = plan.low_bitrate, plan.small

    def assign(self, room: Room) -> dict[int, protocol.Layout]:
        """Point each subscriber's slots at the current publishers (people keep the slot they
        had). Returns the layouts that changed since each subscriber was last told."""
        peers = self._room_peers(room)
        publishers = [p.user_id for p in room.publishers()]
        screen = next(
            (
                peers[p].sources.get("screen")
                for p in publishers
                if p in peers and room.forwards(p, "screen")
            ),
            None,
        )
        for uid, peer in peers.items():
            peer.assignment = assign_slots(peer.assignment, publishers, uid, len(peer.video_slots))
            for index, (audio, video) in enumerate(
                zip(peer.audio_slots, peer.video_slots, strict=True)
            ):
                owner = peer.assignment.get(index)
                publisher = peers.get(owner) if owner is not None else None
                audio.attach(publisher.sources.get("audio") if publisher else None)
                camera = publisher.sources.get("video") if publisher else None
                if camera is None or camera.low is None or video.source is not camera.low:
                    video.attach(camera)  # (a simulcast camera's small layer stays shown)
            shown = screen if screen is not None and screen.publisher_id != uid else None
            if peer.screen_slot is not None:
                peer.screen_slot.attach(shown)
            peer.screen = screen.publisher_id if screen else None
        return self._decide(room, peers)

    def small_layer(self, room: Room, user_id: int) -> bool:
        """Whether ``user_id`` was last told to send their camera's small layer."""
        return self._small_told.get((room.lesson_id, user_id), False)

    def replans(self, room: Room) -> list[int]:
        """The publishers whose camera's small layer is needed now and was not, or has not
        been for SMALL_HOLD_S and was: their plans change (``small_layer``). A layer that
        nobody takes costs its publisher's encoder and uplink, and a browser adapts a single
        layer's size to its bitrate, which it does not for simulcast (libwebrtc)."""
        now = time.monotonic()
        changed = []
        for uid, peer in self._room_peers(room).items():
            camera = peer.sources.get("video")
            if camera is None or camera.low is None:
                continue
            key = (room.lesson_id, uid)
            needed = now - self._small_needed.get(key, -math.inf) <= SMALL_HOLD_S
            if needed != self._small_told.get(key, False):
                self._small_told[key] = needed
                changed.append(uid)
        return changed

    def budget(self, room: Room) -> dict[int, protocol.Layout]:
        """Decide again which videos each subscriber gets within their downlink (the
        slots stay as they are). Returns the layouts that changed."""
        return self._decide(room, self._room_peers(room))

    def _decide(self, room: Room, peers: dict[int, Peer]) -> dict[int, protocol.Layout]:
        now = time.monotonic()
        tutor = next((p.user_id for p in room.publishers() if p.role == LiveRole.TUTOR), None)
        main = room.spotlight if room.spotlight is not None else tutor
        changed: dict[int, protocol.Layout] = {}
        for uid, peer in peers.items():
            slots = [s for s in peer.video_slots + [peer.screen_slot] if s is not None]
            videos = [v for s in slots if s.source and s.source.forwarding for v in _videos(s)]
            person = room.participants.get(uid)
            want = wanted(
                videos,
                main=main,
                tutor=tutor,
                speakers=room.speakers,
                # The tutor sees every student (their link permitting): last-N is for the class.
                last_n=len(videos) if uid == tutor else self._last_n,
                audio_only=person is not None and not person.receive_video,
            )
            downlink = peer.downlink
            before, estimate = peer.budget.shown, downlink.estimate(now)
            shown = peer.budget.decide(want, estimate, downlink.audio_bps, now, downlink.hint(now))
            if shown != before and log.isEnabledFor(logging.DEBUG):
                log.debug(
                    "class %s: user %s is shown %s at %.1f (estimate %s, audio %d, hint %s): %s",
                    room.lesson_id, uid, sorted(shown), now, estimate, downlink.audio_bps,
                    downlink.hint(now), [(v.key, v.bitrate) for v in want],
                )  # fmt: skip
            for slot in slots:
                needs = _show(slot, shown)
                if needs is not None:
                    self._small_needed[(room.lesson_id, needs)] = now
            paused = sorted(
                v.publisher for v in videos if not v.screen and not v.upgrade and v.key not in shown
            )
            screen_paused = any(v.screen and v.key not in shown for v in videos)
            # Compared as a tuple: twice a second for everyone, a Layout only when it changed.
            key = (sorted(peer.assignment.items()), peer.screen, paused, screen_paused)
            if key != peer.layout_key:
                peer.layout_key = key
                changed[uid] = protocol.Layout(
                    slots={str(i): p for i, p in peer.assignment.items()},
                    screen=peer.screen,
                    paused=paused,
                    screen_paused=screen_paused,
                )
        return changed

    # -- sources ------------------------------------------------------------------------

    def _source(self, room: Room, user_id: int, kind: Kind) -> Source:
        peer_key = (room.lesson_id, user_id)

        def upstream(send: Callable[[Any], Coroutine[Any, Any, None]]) -> None:
            # RTCP to the publisher, by their receiver: a task, the packet path never waits
            peer = self._peers.get(peer_key)
            if peer is not None:
                task = asyncio.get_running_loop().create_task(send(_receiver(peer, kind)))
                self._upstream.add(task)
                task.add_done_callback(self._upstream.discard)

        def keyframe(ssrc: int) -> None:
            log.debug("class %s: keyframe asked of user %s (%s)", *peer_key, kind)
            upstream(lambda receiver: receiver._send_rtcp_pli(ssrc))

        def retransmit(ssrc: int, lost: list[int]) -> None:
            upstream(lambda receiver: receiver._send_rtcp_nack(ssrc, lost))

        def level(publisher: int, dbov: int, timestamp: int) -> None:
            if dbov > LOUD_DBOV:
                return
            now = time.monotonic()
            room.meter.loud(publisher, now, timestamp)  # signaling/speaking.py: who speaks how much
            if peer_key in self._voice or self._listener.speaking(room.lesson_id, publisher, True):
                self._voice[peer_key] = now

        def remb(ssrc: int, bitrate: int) -> None:
            upstream(lambda receiver: hooks.send_remb(receiver, ssrc, bitrate))

        keyframes = KeyframeRequests(self._keyframe_every_s)
        if kind == "audio":
            return Source(user_id, kind, keyframe, retransmit, on_level=level, keyframes=keyframes)
        return Source(user_id, kind, keyframe, retransmit, send_remb=remb, keyframes=keyframes)

    async def _sweep(self) -> None:
        """Who stopped speaking; what each link carries; then each class's budgets and
        speaking meter."""
        while True:
            await asyncio.sleep(TICK_S)
            now = time.monotonic()
            for key, last in list(self._voice.items()):
                if now - last > QUIET_AFTER_S:
                    del self._voice[key]
                    self._listener.speaking(key[0], key[1], False)
            for peer in self._peers.values():
                peer.measure(now)
            for lesson_id in {lesson_id for lesson_id, _ in self._peers}:
                self._listener.rebudget(lesson_id)
                self._listener.tick(lesson_id, now)

    def stats(self) -> dict[str, int]:
        sources = [s for p in self._peers.values() for s in p.sources.values()]
        sources += [s.low for s in sources if s.low is not None]
        slots = [s for p in self._peers.values() for s in p.all_slots()]
        return {
            "peers": len(self._peers),
            "packets_in": sum(s.packets_in for s in sources),
            "packets_out": sum(s.packets for s in slots),
            "datagrams_dropped": self._tally.dropped,
        }


async def _give(peer: Peer, trickled: Trickled) -> None:
    """A candidate that waited: its ack is long gone, so a refusal is only logged."""
    try:
        await add_candidate(peer, trickled)
    except InvalidInput:
        log.info("user %s: a candidate that waited for its peer was refused", peer.user_id)


def _gate(source: Source, on: bool) -> None:
    if on and not source.forwarding and source.kind != "audio":
        for slot in source.slots:
            slot.waiting_keyframe = True
        source.want_keyframe()
    source.forwarding = on
    if source.low is not None:
        _gate(source.low, on)


def _cost(source: Source) -> int:
    """What a stream costs: its measured bitrate, at most its plan's (a keyframe, asked for
    whenever a video resumes, must not make it look dearer for a moment and pause it
    again); its plan's while not measured, so that a stream that just started is not taken
    for free."""
    plan = source.max_bitrate or 300_000
    return min(int(source.bitrate), plan) if source.bitrate else plan


def _videos(slot: Slot) -> list[Video]:
    """What the slot's video costs (budget.py): one Video, or for a simulcast camera its
    small layer and the upgrade to its full one."""
    assert slot.source is not None
    full = slot.source.full or slot.source
    screen = slot.kind == "screen"
    if full.low is None or not _layered(full):
        return [Video(full.publisher_id, _cost(full), screen=screen)]
    low = _cost(full.low)
    return [
        Video(full.publisher_id, low, screen=screen),
        Video(full.publisher_id, max(_cost(full) - low, 0), screen=screen, upgrade=True),
    ]


def _show(slot: Slot, shown: frozenset[Key]) -> int | None:
    """Pause the slot or not, as the budget decided, and for a simulcast camera forward
    the layer it chose (the slot switches at the layer's next keyframe). Returns the
    publisher whose small layer the slot needs, if it does."""
    if slot.source is None:
        return None
    full = slot.source.full or slot.source
    base = (full.publisher_id, slot.kind == "screen", False)
    slot.pause(base not in shown)
    if base not in shown or full.low is None:
        return None
    small = _layered(full) and (*base[:2], True) not in shown
    slot.switch_layer(full.low if small else full)  # (back to the full one, if it has no plan)
    return full.publisher_id if small else None


def _layered(camera: Source) -> bool:
    """Whether the camera's plan has a small layer (a student's thumbnail has none)."""
    return camera.low is not None and camera.low.max_bitrate > 0


def _receiver(peer: Peer, kind: Kind) -> Any:
    index = {"audio": 0, "video": 1, "screen": 2}[kind]
    return peer.pc.getTransceivers()[index].receiver
