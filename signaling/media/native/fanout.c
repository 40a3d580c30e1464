/* Kelas's native packet path: what a forwarded RTP packet costs per subscriber, in C.

   Python keeps the policy (which slot shows whom, pauses, keyframe waits, resend budgets,
   the pace); this file does the per-packet work that ran through a dozen Python calls:
   renumber, build the header, keep the packet for NACKs, take it from the subscriber's
   pacer bucket, SRTP-protect it (with aiortc's own outbound libsrtp session, pylibsrtp's) and
   send it on the subscriber's ICE socket. See fanout.h for the interface, wire.py and
   forwarding.py for its use. */

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include "fanout.h"

const double KL_KEEP_S = 1.0;
const double KL_BURST_S = 0.02;   /* the bucket holds 20 ms at the pace */
const double KL_MAX_WAIT_S = 0.25; /* nothing waits longer in the pacer's queue */
const int KL_MIN_BURST = 2 * 1300; /* bytes: two full packets, whatever the pace */
const int KL_SEND_TIME_AT = 17;    /* abs-send-time's 3 bytes in a packet built here */

/* libsrtp's srtp_protect and srtp_protect_rtcp, as pylibsrtp (which aiortc uses) built
   them: one libsrtp in the process, and every session is aiortc's. 0 is srtp_err_status_ok. */
typedef int (*kl_protect_fn)(void *session, void *header, int *len);
static kl_protect_fn protect_rtp, protect_rtcp, unprotect_rtp, unprotect_rtcp;

int kl_init(void *rtp, void *rtcp, void *unprotect, void *unprotect_control) {
    protect_rtp = (kl_protect_fn)rtp;
    protect_rtcp = (kl_protect_fn)rtcp;
    unprotect_rtp = (kl_protect_fn)unprotect;
    unprotect_rtcp = (kl_protect_fn)unprotect_control;
    return rtp && rtcp && unprotect && unprotect_control ? 0 : -1;
}

/* ---- an inbound packet ---- */

/* Unprotect the SRTP packet in ``buf`` (``len`` bytes) in place with ``srtp`` (aiortc's
   inbound session), then read its RTP header as aiortc's RtpPacket.parse does. Returns 0;
   libsrtp's status (> 0) when it failed (authentication, replay); or -1 when it is not RTP
   (too short, not version 2, CSRCs, extension or padding past its end). */
int kl_receive(void *srtp, uint8_t *buf, int len, kl_received *out) {
    if (len < 12 || len > KL_MAX + KL_TRAILER) return -1;
    int status = unprotect_rtp(srtp, buf, &len);
    if (status != 0) return status;
    if (len < 12 || buf[0] >> 6 != 2) return -1;
    int pos = 12 + 4 * (buf[0] & 0x0F);
    if (len < pos) return -1;
    out->has_extension = (buf[0] >> 4) & 1;
    out->profile = 0;
    out->extension_at = out->extension_len = 0;
    if (out->has_extension) {
        if (len < pos + 4) return -1;
        out->profile = (uint16_t)((buf[pos] << 8) | buf[pos + 1]);
        int words = (buf[pos + 2] << 8) | buf[pos + 3];
        pos += 4;
        if (len < pos + 4 * words) return -1;
        out->extension_at = pos;
        out->extension_len = 4 * words;
        pos += 4 * words;
    }
    int end = len;
    if (buf[0] & 0x20) { /* padding: its count is the last byte */
        int padding = buf[len - 1];
        if (padding == 0 || padding > len - pos) return -1;
        end -= padding;
    }
    out->len = len;
    out->marker = buf[1] >> 7;
    out->payload_type = buf[1] & 0x7F;
    out->seq = (uint16_t)((buf[2] << 8) | buf[3]);
    out->timestamp = ((uint32_t)buf[4] << 24) | ((uint32_t)buf[5] << 16) | (buf[6] << 8) | buf[7];
    out->ssrc = ((uint32_t)buf[8] << 24) | ((uint32_t)buf[9] << 16) | (buf[10] << 8) | buf[11];
    out->payload_at = pos;
    out->payload_len = end - pos;
    return 0;
}

/* Whether the plain compound RTCP packet in ``buf`` holds anything that Kelas or aiortc
   reads: 0 when it is only sender reports of nothing sent (packet count 0) and receiver
   reports without report blocks, with SDES, APP or XR (RFC 3550 6.4-6.7, RFC 3611), which
   nobody reads. Anything else, also anything malformed, is 1: Python parses it as aiortc
   does, and drops what aiortc drops. (An idle sender still reports: aiortc's sends an SR and
   an SDES every second for each section it could send on, some 200 a second at 64
   subscribers, each one a Python parse and handler.) */
int kl_rtcp_matters(const uint8_t *buf, int len) {
    int pos = 0;
    if (len < 4) return 1;
    while (pos + 4 <= len) {
        const uint8_t *p = buf + pos;
        int count = p[0] & 0x1F;
        int length = 4 * (((p[2] << 8) | p[3]) + 1);
        if (p[0] >> 6 != 2 || length > len - pos) return 1;
        switch (p[1]) {
        case 200: /* SR: header, SSRC, NTP time, RTP time, packet count, octet count */
            if (count > 0 || length < 28 || (p[20] | p[21] | p[22] | p[23]) != 0) return 1;
            break;
        case 201: /* RR */
            if (count > 0) return 1;
            break;
        case 202: case 204: case 207: /* SDES, APP, XR */
            break;
        default: /* BYE, NACK and the other transport feedback, PLI, FIR, REMB; unknown */
            return 1;
        }
        pos += length;
    }
    return pos != len;
}

/* Unprotect the SRTCP packet in ``buf`` (``len`` bytes) in place with ``srtp`` (aiortc's
   inbound session). Returns 0 and its plain length in ``*plain``, 0 there too when nothing
   in it matters (kl_rtcp_matters); libsrtp's status (> 0) when it failed; -1 when it is too
   short or too long to be SRTCP. */
int kl_receive_rtcp(void *srtp, uint8_t *buf, int len, int *plain) {
    *plain = 0;
    if (len < 8 || len > KL_MAX + KL_TRAILER) return -1;
    int status = unprotect_rtcp(srtp, buf, &len);
    if (status != 0) return status;
    if (kl_rtcp_matters(buf, len)) *plain = len;
    return 0;
}

/* ---- the pacer: its bucket, and the packets that wait for it ---- */

typedef struct kl_held {
    struct kl_held *next;
    double at;           /* when it began to wait */
    int len;
    uint8_t restamp;     /* its abs-send-time is set again when it leaves */
    uint8_t data[];      /* the RTP packet as built, unprotected */
} kl_held;

void kl_refill(kl_bucket *b, double now) {
    double rate = b->rate;
    if (b->queued_bytes / KL_MAX_WAIT_S > rate) rate = b->queued_bytes / KL_MAX_WAIT_S;
    double cap = rate * KL_BURST_S;
    if (cap < KL_MIN_BURST) cap = KL_MIN_BURST;
    if (!b->started) {
        b->tokens = cap;
        b->started = 1;
    } else if (now > b->at) {
        b->tokens += (now - b->at) * rate;
        if (b->tokens > cap) b->tokens = cap;
    }
    b->at = now;
}

void kl_take(kl_bucket *b, int size, double now) {
    kl_refill(b, now);
    b->tokens -= size;
}

int kl_try(kl_bucket *b, int size, double now) {
    kl_refill(b, now);
    if (b->queued == 0 && b->tokens >= size) {
        b->tokens -= size;
        return 1;
    }
    return 0;
}

kl_bucket *kl_bucket_new(void) { return calloc(1, sizeof(kl_bucket)); }

static void unlist(kl_bucket *b) {
    kl_steps *s = b->steps;
    if (!s) return;
    if (b->prev_waiting) b->prev_waiting->next_waiting = b->next_waiting;
    else s->first = b->next_waiting;
    if (b->next_waiting) b->next_waiting->prev_waiting = b->prev_waiting;
    else s->last = b->prev_waiting;
    b->next_waiting = b->prev_waiting = NULL;
    b->steps = NULL;
    s->count--;
}

void kl_bucket_clear(kl_bucket *b) {
    unlist(b); /* nothing waits any more */
    kl_held *lists[2] = {b->resends, b->media};
    for (int i = 0; i < 2; i++) {
        for (kl_held *h = lists[i], *next; h; h = next) {
            next = h->next;
            free(h);
        }
    }
    b->resends = b->resends_last = b->media = b->media_last = NULL;
    b->queued = 0;
    b->queued_bytes = 0;
}

void kl_bucket_free(kl_bucket *b) {
    if (!b) return;
    kl_bucket_clear(b);
    free(b);
}

/* ``rtp`` waits its turn (a copy): 0, or -1 when it is too big or memory ran out. */
int kl_hold(kl_bucket *b, const uint8_t *rtp, int len, int restamp, int resend, double now) {
    if (len < 12 || len > KL_MAX) return -1;
    kl_held *h = malloc(sizeof(kl_held) + len);
    if (!h) return -1;
    h->next = NULL;
    h->at = now;
    h->len = len;
    h->restamp = (uint8_t)(restamp != 0);
    memcpy(h->data, rtp, len);
    kl_held **first = resend ? &b->resends : &b->media;
    kl_held **last = resend ? &b->resends_last : &b->media_last;
    if (*last) (*last)->next = h;
    else *first = h;
    *last = h;
    b->queued++;
    b->queued_bytes += len;
    return 0;
}

int kl_out_send(kl_out *out, const uint8_t *rtp, int len, int restamp, double now);
int kl_drain(kl_bucket *b, double now, uint16_t *left, int cap);

/* ---- the pacers' steps ---- */

kl_steps *kl_steps_new(void) { return calloc(1, sizeof(kl_steps)); }

/* Buckets outlive their steps or not: each side unlists the other when it goes. */
void kl_steps_free(kl_steps *s) {
    if (!s) return;
    while (s->first) unlist(s->first);
    free(s);
}

/* ``b`` has something waiting: step it with the others (once, however often it is said). */
void kl_steps_add(kl_steps *s, kl_bucket *b) {
    if (b->steps == s) return;
    unlist(b);
    b->steps = s;
    b->next_waiting = NULL;
    b->prev_waiting = s->last;
    if (s->last) s->last->next_waiting = b;
    else s->first = b;
    s->last = b;
    s->count++;
}

/* One step: what may leave from each bucket leaves (kl_drain); a bucket with nothing left
   waiting leaves the steps. Returns how many still wait. */
int kl_steps_run(kl_steps *s, double now) {
    for (kl_bucket *b = s->first, *next; b; b = next) {
        next = b->next_waiting;
        kl_drain(b, now, NULL, 0);
        if (b->queued == 0) unlist(b);
    }
    return s->count;
}

/* What may leave now leaves, in order, resends first: within the bucket, and whatever has
   waited KL_MAX_WAIT_S already. Returns how many left; ``left`` (up to ``cap``, may be
   NULL) gets their sequence numbers. The number still waiting is ``b->queued``. */
int kl_drain(kl_bucket *b, double now, uint16_t *left, int cap) {
    int count = 0;
    kl_refill(b, now);
    kl_held **lists[2][2] = {{&b->resends, &b->resends_last}, {&b->media, &b->media_last}};
    for (int i = 0; i < 2; i++) {
        kl_held **first = lists[i][0];
        while (*first && (b->tokens > 0 || now - (*first)->at >= KL_MAX_WAIT_S)) {
            kl_held *h = *first;
            *first = h->next;
            if (!*first) *lists[i][1] = NULL;
            b->tokens -= h->len;
            b->queued--;
            b->queued_bytes -= h->len;
            if (b->out) kl_out_send(b->out, h->data, h->len, h->restamp, now);
            if (left && count < cap) left[count] = (uint16_t)((h->data[2] << 8) | h->data[3]);
            count++;
            free(h);
        }
    }
    return count;
}

/* ---- a subscriber's way out ---- */

kl_out *kl_out_new(void) {
    kl_out *out = calloc(1, sizeof(kl_out));
    if (out) out->fd = -1;
    return out;
}

void kl_out_route(kl_out *out, int fd, const void *addr, int addr_len) {
    if (out->fd >= 0) close(out->fd);
    out->fd = -1;
    if (fd < 0 || addr_len <= 0 || addr_len > (int)sizeof out->addr) {
        if (fd >= 0) close(fd);
        return;
    }
    memcpy(&out->addr, addr, addr_len);
    out->addr_len = addr_len;
    out->fd = fd;
}

void kl_out_free(kl_out *out) {
    if (!out) return;
    kl_out_route(out, -1, NULL, 0);
    free(out);
}

static void stamp(uint8_t *packet, double now) {
    uint32_t value = (uint32_t)((int64_t)(now * 262144.0) & 0xFFFFFF);
    packet[KL_SEND_TIME_AT] = value >> 16;
    packet[KL_SEND_TIME_AT + 1] = value >> 8;
    packet[KL_SEND_TIME_AT + 2] = value;
}

int kl_out_send(kl_out *out, const uint8_t *rtp, int len, int restamp, double now) {
    if (out->fd < 0 || !out->srtp) return KL_NOROUTE;
    if (len < 12 || len > KL_MAX) return KL_TOOBIG;
    memcpy(out->buf, rtp, len);
    if (restamp && len >= KL_SEND_TIME_AT + 3) stamp(out->buf, now);
    int protected_len = len;
    if (protect_rtp(out->srtp, out->buf, &protected_len) != 0) {
        out->errors++;
        return KL_FAILED;
    }
    ssize_t sent = sendto(out->fd, out->buf, protected_len, MSG_DONTWAIT,
                          (const struct sockaddr *)&out->addr, out->addr_len);
    if (sent < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) out->dropped++;
        else out->errors++;
        return KL_FAILED;
    }
    out->sent++;
    return KL_SENT;
}

/* ---- a slot: one downstream stream of a subscriber ---- */

int kl_map(kl_slot *s, uint16_t seq, uint32_t ts, double now, uint16_t *out_seq,
           uint32_t *out_ts) {
    if (s->fresh) {
        int64_t gap = s->has_last ? (int64_t)((now - s->last_at) * s->clock_rate) : 0;
        if (gap < 1) gap = 1;
        s->seq_offset = (uint16_t)(s->next_seq - seq);
        s->ts_offset = (uint32_t)(s->last_ts + (uint32_t)gap - ts);
        s->base = seq;
        s->fresh = 0;
    } else if ((uint16_t)(seq - s->base) >= 0x8000) {
        return 0; /* from before the switch: its number went to another packet */
    }
    uint16_t o_seq = (uint16_t)(seq + s->seq_offset);
    uint32_t o_ts = ts + s->ts_offset;
    if ((uint16_t)(o_seq - s->next_seq) < 0x8000) { /* newer than anything sent */
        s->next_seq = (uint16_t)(o_seq + 1);
        s->last_ts = o_ts;
    }
    s->last_at = now;
    s->has_last = 1;
    *out_seq = o_seq;
    *out_ts = o_ts;
    return 1;
}

static int build(kl_slot *s, uint8_t payload_type, const uint8_t *payload, int payload_len,
                 uint16_t seq, uint32_t ts, int marker, double now, uint8_t *into) {
    int header = s->send_time_id ? 20 : 12;
    if (payload_len < 0 || header + payload_len > KL_MAX) return -1;
    into[0] = s->send_time_id ? 0x90 : 0x80;
    into[1] = (uint8_t)((marker ? 0x80 : 0) | (payload_type & 0x7F));
    into[2] = seq >> 8;
    into[3] = seq;
    into[4] = ts >> 24;
    into[5] = ts >> 16;
    into[6] = ts >> 8;
    into[7] = ts;
    into[8] = s->ssrc >> 24;
    into[9] = s->ssrc >> 16;
    into[10] = s->ssrc >> 8;
    into[11] = s->ssrc;
    if (s->send_time_id) { /* RFC 8285 one-byte form: 0xBEDE, one word: id, len - 1, value */
        into[12] = 0xBE;
        into[13] = 0xDE;
        into[14] = 0;
        into[15] = 1;
        into[16] = (uint8_t)((s->send_time_id << 4) | 2);
        stamp(into, now);
    }
    memcpy(into + header, payload, payload_len);
    return header + payload_len;
}

/* A RED payload (RFC 2198): 4-byte headers of the redundant blocks (F bit set: the payload
   type, a 14-bit timestamp offset, a 10-bit length), then the primary's one byte (F clear:
   its payload type alone), then the blocks in that order, the primary last. Fills ``red``
   and returns 0; -1 (and red->pt = -1) when the payload is not that, or the primary block
   is empty. ``red->pt`` is the payload type all blocks share, or -2 if they differ. */
int kl_red_read(const uint8_t *payload, int len, kl_red *red) {
    int at = 0, blocks = 0, pt = -1;
    red->pt = -1;
    if (!payload || len < 1) return -1;
    while (payload[at] & 0x80) { /* a redundant block's header */
        if (at + 4 > len) return -1;
        int block_pt = payload[at] & 0x7F;
        pt = pt == -1 || pt == block_pt ? block_pt : -2;
        blocks += ((payload[at + 2] & 0x03) << 8) | payload[at + 3];
        at += 4;
        if (at >= len) return -1;
    }
    int primary_pt = payload[at] & 0x7F;
    pt = pt == -1 || pt == primary_pt ? primary_pt : -2;
    at += 1 + blocks; /* the primary's header, then the redundant blocks */
    if (at >= len) return -1;
    red->pt = pt;
    red->primary_at = at;
    red->primary_len = len - at;
    return 0;
}

/* ``red``: what kl_red_read read of the payload, or NULL (or pt -1) for no RED. A slot that
   takes RED gets it as it is, with its RED payload type, when the blocks are of the
   payload type it sends plain packets with (the subscriber's Opus); any other slot gets the
   primary block alone, as a plain packet. */
int kl_forward(kl_slot *s, const uint8_t *payload, int payload_len, const kl_red *red,
               uint16_t seq, uint32_t ts, int marker, double now) {
    uint16_t o_seq;
    uint32_t o_ts;
    uint8_t payload_type = s->payload_type;
    if (!s->out) return KL_NOROUTE;
    if (red && red->pt != -1) {
        if (s->red_payload_type && red->pt == s->payload_type) {
            payload_type = s->red_payload_type;
        } else {
            if (red->primary_at < 0 || red->primary_len < 1 ||
                red->primary_at + red->primary_len > payload_len)
                return KL_TOOBIG;
            payload += red->primary_at;
            payload_len = red->primary_len;
        }
    }
    if (payload_len < 0 || payload_len + 20 > KL_MAX) return KL_TOOBIG;
    if (!kl_map(s, seq, ts, now, &o_seq, &o_ts)) return KL_OLD;
    if (s->restarted < 0) s->restarted = o_seq;
    uint8_t *packet = s->out->built;
    int len = build(s, payload_type, payload, payload_len, o_seq, o_ts, marker, now, packet);
    s->packets++;
    s->octets += payload_len;
    if (marker || s->audio) {
        s->sr_rtp = o_ts;
        s->sr_at = now;
    }
    if (s->bucket) {
        if (s->audio) kl_take(s->bucket, len, now);
        else if (!kl_try(s->bucket, len, now)) {
            /* it waits its turn; memory gone: it is lost, as on a full link */
            kl_hold(s->bucket, packet, len, s->send_time_id != 0, 0, now);
            return KL_WAIT;
        }
    }
    return kl_out_send(s->out, packet, len, 0, now);
}

/* One published packet to every slot that shows its stream and is neither paused nor
   waiting for a keyframe (Python keeps that list): ``results[i]`` is slot i's answer; the
   return value counts the slots Python must look at (KL_WAIT, KL_NOROUTE). */
int kl_fan(kl_slot **slots, int n, const uint8_t *payload, int payload_len, const kl_red *red,
           uint16_t seq, uint32_t ts, int marker, double now, uint8_t *results) {
    int flagged = 0;
    for (int i = 0; i < n; i++) {
        int result = kl_forward(slots[i], payload, payload_len, red, seq, ts, marker, now);
        results[i] = (uint8_t)result;
        if (result == KL_WAIT || result == KL_NOROUTE) flagged++;
    }
    return flagged;
}

/* ---- sender reports ---- */

#define KL_RTCP_BUDGET 1100 /* bytes of RTCP per datagram, before SRTCP's index and tag */

static uint8_t *put32(uint8_t *p, uint32_t v) {
    p[0] = v >> 24;
    p[1] = v >> 16;
    p[2] = v >> 8;
    p[3] = v;
    return p + 4;
}

static int sdes_chunk_len(int cname_len) { return (4 + 2 + cname_len + 1 + 3) & ~3; }

/* One datagram of RTCP for ``slots[0..n)``: for each, the compound of RFC 3550 6.1 that
   aiortc or a browser sends per sender, an SR (6.4.1) and an SDES with its CNAME (6.5), one
   after another; SRTCP-protected and sent. (One SDES per slot: aiortc's parser misreads an
   SDES of several chunks.) */
static int send_reports(kl_out *out, kl_slot **slots, int n, uint64_t ntp, double now,
                        const uint8_t *cname, int cname_len) {
    uint8_t packet[KL_RTCP_BUDGET + 64];
    uint8_t *p = packet;
    int chunk = sdes_chunk_len(cname_len);
    int words = (4 + chunk) / 4 - 1;
    for (int i = 0; i < n; i++) {
        kl_slot *s = slots[i];
        double ahead = (now - s->sr_at) * s->clock_rate; /* the RTP time of ``now`` */
        uint32_t rtp = s->sr_rtp + (uint32_t)(int64_t)(ahead + 0.5);
        *p++ = 0x80;
        *p++ = 200;
        *p++ = 0;
        *p++ = 6;
        p = put32(p, s->ssrc);
        p = put32(p, (uint32_t)(ntp >> 32));
        p = put32(p, (uint32_t)ntp);
        p = put32(p, rtp);
        p = put32(p, (uint32_t)s->packets);
        p = put32(p, (uint32_t)s->octets);
        *p++ = 0x81;
        *p++ = 202;
        *p++ = (uint8_t)(words >> 8);
        *p++ = (uint8_t)words;
        uint8_t *start = p;
        p = put32(p, s->ssrc);
        *p++ = 1; /* CNAME */
        *p++ = (uint8_t)cname_len;
        memcpy(p, cname, cname_len);
        p += cname_len;
        memset(p, 0, start + chunk - p); /* the end item, and padding */
        p = start + chunk;
    }
    int len = (int)(p - packet);
    if (protect_rtcp(out->srtp, packet, &len) != 0) {
        out->errors++;
        return KL_FAILED;
    }
    if (sendto(out->fd, packet, len, MSG_DONTWAIT, (const struct sockaddr *)&out->addr,
               out->addr_len) < 0) {
        out->dropped++;
        return KL_FAILED;
    }
    return KL_SENT;
}

/* Sender reports for the slots of one subscriber, in as few datagrams as fit: the NTP time
   ``ntp`` (of ``now``) with each slot's RTP time of that instant, carried on from its last
   frame at its clock rate, and its counts. Returns the datagrams sent, or -KL_NOROUTE,
   -KL_TOOBIG (a CNAME over 255 bytes). */
int kl_reports(kl_out *out, kl_slot **slots, int n, uint64_t ntp, double now,
               const uint8_t *cname, int cname_len) {
    if (out->fd < 0 || !out->srtp) return -KL_NOROUTE;
    if (cname_len < 0 || cname_len > 255) return -KL_TOOBIG;
    int per_slot = 28 + 4 + sdes_chunk_len(cname_len);
    int fit = KL_RTCP_BUDGET / per_slot; /* at least 3 */
    int sent = 0;
    for (int first = 0; first < n; first += fit) {
        int count = n - first < fit ? n - first : fit;
        if (send_reports(out, slots + first, count, ntp, now, cname, cname_len) == KL_SENT)
            sent++;
    }
    return sent;
}

/* The slots among ``slots`` that forwarded something, into ``used`` (room for ``n``): how
   many. (Sender reports are for them alone.) */
int kl_used(kl_slot **slots, int n, kl_slot **used) {
    int count = 0;
    for (int i = 0; i < n; i++)
        if (slots[i]->packets) used[count++] = slots[i];
    return count;
}

/* What ``slots`` forwarded, in bytes: the first ``audio`` of them into totals[0], the others
   into totals[1]. */
void kl_octets(kl_slot **slots, int n, int audio, unsigned long long *totals) {
    totals[0] = totals[1] = 0;
    for (int i = 0; i < n; i++) totals[i < audio ? 0 : 1] += slots[i]->octets;
}

kl_slot *kl_slot_new(void) {
    kl_slot *s = calloc(1, sizeof(kl_slot));
    if (s) {
        s->fresh = 1;
        s->restarted = -1;
    }
    return s;
}

void kl_slot_free(kl_slot *s) { free(s); }

kl_history *kl_history_new(void) { return calloc(1, sizeof(kl_history)); }

void kl_history_free(kl_history *h) {
    if (!h) return;
    for (int i = 0; i < KL_KEEP; i++) free(h->ring[i].payload);
    free(h);
}

void kl_history_add(kl_history *h, const uint8_t *payload, int payload_len, uint16_t seq,
                    uint32_t ts, int marker, double now) {
    int at = seq % KL_KEEP;
    /* Forget, from the oldest on, what was kept KL_KEEP_S ago or more (a resend would come
       too late to matter), and give its memory back: a student's camera at 300 kbit/s
       fills 256 packets in some 8 s. Only what is that old goes, whatever the order the
       packets came in: one that comes late becomes the oldest. */
    for (int n = 0; n < KL_KEEP && h->oldest != at; n++, h->oldest = (h->oldest + 1) % KL_KEEP) {
        kl_kept *old = &h->ring[h->oldest];
        if (old->payload && now - old->at < KL_KEEP_S) break;
        free(old->payload);
        old->payload = NULL;
        old->len = old->cap = 0;
    }
    kl_kept *kept = &h->ring[at];
    kept->len = 0; /* forgotten, unless it fits */
    if (payload_len < 0 || payload_len + 20 > KL_MAX) return;
    if (kept->cap < payload_len) {
        uint8_t *grown = realloc(kept->payload, payload_len);
        if (!grown) return;
        kept->payload = grown;
        kept->cap = payload_len;
    }
    memcpy(kept->payload, payload, payload_len);
    kept->len = payload_len;
    kept->seq = seq;
    kept->ts = ts;
    kept->marker = (uint8_t)(marker != 0);
    kept->at = now;
    kl_kept *first = &h->ring[h->oldest];
    if (first != kept && first->payload && (uint16_t)(seq - first->seq) >= 0x8000)
        h->oldest = at; /* it came late, and is now the oldest kept */
}

/* The packet the slot sent as ``seq``, built again into ``into`` (KL_MAX bytes) from its
   source's history: its length, or 0 when it is no longer kept or came from before the
   slot's last switch (its number then meant another source's packet). */
int kl_rebuild(kl_slot *s, uint16_t seq, double now, uint8_t *into) {
    if (!s->history || s->fresh) return 0;
    uint16_t source_seq = (uint16_t)(seq - s->seq_offset);
    if ((uint16_t)(source_seq - s->base) >= 0x8000) return 0;
    kl_kept *kept = &s->history->ring[source_seq % KL_KEEP];
    if (kept->len == 0 || kept->seq != source_seq || now - kept->at >= KL_KEEP_S) return 0;
    return build(s, s->payload_type, kept->payload, kept->len, seq, kept->ts + s->ts_offset,
                 kept->marker, now, into);
}
