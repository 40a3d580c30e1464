"""The baseline server: aiortc's MediaRelay, the textbook way to fan one peer out to many.

The publisher's audio and video are received, jitter-buffered and decoded once; each
subscriber's sender then encodes them again (its own VP8 and Opus encoder). Signalling is the
simplest there is: POST /publish, then POST /subscribe per subscriber, each with an offer
as JSON, answered with JSON. GET /health says when it listens. Started by bench/sfu.py as

    .venv/bin/python bench/relay_server.py --port PORT

Two settings keep the comparison fair: every sender encodes at 1 Mbit/s like the published
stream (aiortc starts at 500 kbit/s and only moves on REMB, which the bots do not send), and
each subscription is unbuffered (``buffered=False``), so a slow encoder skips to the newest
frame as a live relay must, instead of falling further behind.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

import aiortc.codecs.vpx
import gc_pauses
from aiohttp import web
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaRelay
from aiortc.rtcconfiguration import RTCBundlePolicy, RTCConfiguration
from loopback import restrict_ice_to_loopback

BITRATE = 1_000_000
PEERS: web.AppKey[set[RTCPeerConnection]] = web.AppKey("peers")
RELAY: web.AppKey[MediaRelay] = web.AppKey("relay")
SOURCES: web.AppKey[dict[str, MediaStreamTrack]] = web.AppKey("sources")
PUBLISHED: web.AppKey[asyncio.Event] = web.AppKey("published")


def new_pc(app: web.Application) -> RTCPeerConnection:
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))
    app[PEERS].add(pc)
    return pc


async def answer(pc: RTCPeerConnection, request: web.Request) -> web.Response:
    await pc.setLocalDescription(await pc.createAnswer())
    return web.json_response({"type": "answer", "sdp": pc.localDescription.sdp})


async def publish(request: web.Request) -> web.Response:
    app = request.app
    pc = new_pc(app)

    @pc.on("track")
    def on_track(track: MediaStreamTrack) -> None:
        app[SOURCES][track.kind] = track
        if {"audio", "video"} <= app[SOURCES].keys():
            app[PUBLISHED].set()

    offer = await request.json()
    await pc.setRemoteDescription(RTCSessionDescription(**offer))
    return await answer(pc, request)


async def subscribe(request: web.Request) -> web.Response:
    app = request.app
    await asyncio.wait_for(app[PUBLISHED].wait(), 10)
    pc = new_pc(app)
    offer = await request.json()
    await pc.setRemoteDescription(RTCSessionDescription(**offer))
    for kind in ("audio", "video"):
        pc.addTrack(app[RELAY].subscribe(app[SOURCES][kind], buffered=False))
    return await answer(pc, request)


async def health(request: web.Request) -> web.Response:
    return web.Response(text="ok")


async def close_peers(app: web.Application) -> None:
    peers: set[RTCPeerConnection] = app[PEERS]
    for pc in list(peers):
        await pc.close()


def create_app() -> web.Application:
    app = web.Application()
    app[PEERS] = set()
    app[RELAY] = MediaRelay()
    app[SOURCES] = {}
    app[PUBLISHED] = asyncio.Event()
    app.router.add_post("/publish", publish)
    app.router.add_post("/subscribe", subscribe)
    app.router.add_get("/health", health)
    app.on_shutdown.append(close_peers)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    restrict_ice_to_loopback()
    gc_pauses.install_from_env()
    aiortc.codecs.vpx.DEFAULT_BITRATE = BITRATE  # read by each new Vp8Encoder
    web.run_app(create_app(), host="127.0.0.1", port=args.port, print=None)


if __name__ == "__main__":
    main()
