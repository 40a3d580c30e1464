// The browser side of the SFU: one peer connection laid out in fixed slots (docs/protocol.md).
// Up: microphone, camera, screen. Down: N audio slots, N video slots, one screen slot.
import { candidateToSend } from "./ice.js";

export const LAYERS = ["h", "l"];

// The codecs a section offers, in this order and no others: video VP8; audio RED (RFC 2198: each
// voice packet carries the one before again, so that a packet lost on the way is rebuilt from
// the next instead of concealed), then Opus, which RED carries and a browser without RED sends.
export const CODECS = { audio: ["audio/red", "audio/opus"], video: ["video/vp8"] };

export function preferCodecs(transceiver, mimes) {
  const caps = RTCRtpReceiver.getCapabilities(transceiver.receiver.track.kind);
  const wanted = mimes.flatMap((mime) => caps.codecs.filter((c) => c.mimeType.toLowerCase() === mime));
  if (wanted.length && transceiver.setCodecPreferences) transceiver.setCodecPreferences(wanted);
}

export class Media {
  constructor({ iceServers, iceTransportPolicy = "all", slots, onCandidate, onState }) {
    this.slots = slots;
    this.iceServers = iceServers;
    this.iceTransportPolicy = iceTransportPolicy;
    this.pc = new RTCPeerConnection({ iceServers, iceTransportPolicy, bundlePolicy: "max-bundle" });
    // Every candidate, and the end of them (the event's null), goes to the server.
    this.pc.onicecandidate = (e) => onCandidate(candidateToSend(e.candidate, this.pc.localDescription?.sdp));
    this.pc.onconnectionstatechange = () => onState(this.pc.connectionState);
    const add = (kind, direction, sendEncodings) =>
      this.pc.addTransceiver(kind, { direction, sendEncodings });
    this.up = {
      audio: add("audio", "sendonly"),
      // The camera as simulcast: the full picture and a small one (rids h and l, docs/protocol.md),
      // so that someone whose link is thin still sees the main video. The plan says whether the
      // small one is sent at all.
      video: add(
        "video",
        "sendonly",
        LAYERS.map((rid, i) => ({ rid, scaleResolutionDownBy: 2 ** i })),
      ),
      screen: add("video", "sendonly"),
    };
    this.audioSlots = Array.from({ length: slots }, () => add("audio", "recvonly"));
    this.videoSlots = Array.from({ length: slots }, () => add("video", "recvonly"));
    this.screenSlot = add("video", "recvonly");
    for (const t of this.pc.getTransceivers()) preferCodecs(t, CODECS[t.receiver.track.kind]);
  }

  async offer() {
    await this.pc.setLocalDescription(await this.pc.createOffer());
    return { type: "offer", sdp: this.pc.localDescription.sdp };
  }

  async answer(sdp) {
    await this.pc.setRemoteDescription({ type: "answer", sdp });
  }

  async send(kind, track) {
    await this.up[kind].sender.replaceTrack(track || null);
  }

  async applyPlan(kind, plan, track) {
    // The server's plan for what this browser sends (bitrate, size, frame rate).
    const sender = this.up[kind].sender;
    const params = sender.getParameters();
    if (!params.encodings || !params.encodings.length) params.encodings = [{}];
    const width = track?.getSettings?.().width || plan.width;
    const scale = Math.max(1, width / plan.width);
    params.encodings.forEach((encoding, i) => {
      // The first is the full layer; a second (the camera's small layer) is half the size.
      encoding.maxBitrate = i === 0 ? plan.max_bitrate : plan.low_bitrate;
      encoding.maxFramerate = i === 0 ? plan.framerate : plan.low_framerate;
      encoding.scaleResolutionDownBy = scale * 2 ** i;
      encoding.active = i === 0 || plan.low_bitrate > 0;
    });
    try {
      await sender.setParameters(params);
    } catch (err) {
      console.warn("setParameters", err);
    }
  }

  videoTrack(slot) {
    return this.videoSlots[slot]?.receiver.track;
  }
  audioTrack(slot) {
    return this.audioSlots[slot]?.receiver.track;
  }
  screenTrack() {
    return this.screenSlot.receiver.track;
  }

  close() {
    this.pc.close();
  }
}

export async function openDevices({ audioId, videoId, mic, cam, plan }) {
  // Ask for what the person chose; report what went wrong in words they can act on.
  const want = {
    audio: mic
      ? { deviceId: audioId ? { exact: audioId } : undefined, echoCancellation: true, noiseSuppression: true }
      : false,
    video: cam
      ? {
          deviceId: videoId ? { exact: videoId } : undefined,
          width: { ideal: plan?.width || 640 },
          height: { ideal: plan?.height || 480 },
        }
      : false,
  };
  if (!want.audio && !want.video) return { stream: new MediaStream(), error: null };
  try {
    return { stream: await navigator.mediaDevices.getUserMedia(want), error: null };
  } catch (err) {
    if (want.video && want.audio) {
      // A missing or refused camera should not keep the microphone out.
      try {
        const stream = await navigator.mediaDevices.getUserMedia({ audio: want.audio });
        return { stream, error: err.name === "NotAllowedError" ? "camera_denied" : "no_camera" };
      } catch (inner) {
        /* fall through */
      }
    }
    return { stream: new MediaStream(), error: err.name === "NotAllowedError" ? "denied" : "no_devices" };
  }
}

export function levelMeter(stream, onLevel) {
  // A microphone level meter for the device check (no audio leaves the page).
  const track = stream.getAudioTracks()[0];
  if (!track) return () => {};
  const ctx = new AudioContext();
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 512;
  ctx.createMediaStreamSource(new MediaStream([track])).connect(analyser);
  const data = new Uint8Array(analyser.fftSize);
  let running = true;
  const tick = () => {
    if (!running) return;
    analyser.getByteTimeDomainData(data);
    let peak = 0;
    for (const v of data) peak = Math.max(peak, Math.abs(v - 128));
    onLevel(Math.min(1, peak / 64));
    requestAnimationFrame(tick);
  };
  tick();
  return () => {
    running = false;
    ctx.close();
  };
}
