/* The interface of fanout.c, also read by cffi (build.py): plain declarations only. */

#define KL_KEEP 256   /* packets kept per video source for NACKs (forwarding.HISTORY) */
#define KL_MAX 1484   /* the largest RTP packet built or sent, header included: with SRTP's
                         tag, a datagram of at most 1,500 bytes (what aiortc's pylibsrtp opens) */
#define KL_TRAILER 16 /* room for SRTP's tag (SRTP_MAX_TRAILER_LEN) */

/* kl_forward's and kl_out_send's results */
#define KL_SENT 0
#define KL_WAIT 1     /* built (video), and waits in the pacer's queue: Python arms its timer */
#define KL_OLD 2      /* from before the slot's switch: nothing to send */
#define KL_NOROUTE 3  /* no keys or no socket (yet, or any more) */
#define KL_TOOBIG 4
#define KL_FAILED 5   /* protect or sendto failed (counted in the out) */

extern const double KL_KEEP_S; /* kept at most this long (libwebrtc keeps 1 s at least) */
extern const double KL_BURST_S;
extern const double KL_MAX_WAIT_S;
extern const int KL_MIN_BURST;
extern const int KL_SEND_TIME_AT;

struct kl_out;
struct kl_held;
struct kl_steps;

/* A subscriber's pacer: a token bucket and the packets that wait for it (resends first).
   A waiting packet is kept as built (renumbered, unprotected) and leaves by ``out``. */
typedef struct kl_bucket {
    double rate;         /* bytes/s */
    double tokens;
    double at;
    int started;
    int queued;          /* packets waiting */
    double queued_bytes;
    struct kl_out *out;  /* the subscriber's way out, NULL: what waits is dropped */
    struct kl_held *resends, *resends_last, *media, *media_last;
    struct kl_steps *steps; /* the steps it waits in, NULL: none */
    struct kl_bucket *next_waiting, *prev_waiting;
} kl_bucket;

/* The pacers' steps on one event loop: the buckets that have something waiting, in the
   order they began to wait, drained all in one call (kl_steps_run). */
typedef struct kl_steps {
    kl_bucket *first, *last;
    int count;
} kl_steps;

typedef struct kl_out {
    void *srtp;          /* srtp_t: aiortc's outbound session (borrowed), NULL: none */
    int fd;              /* a dup of the ICE socket, -1: none */
    unsigned char addr[128]; /* struct sockaddr_storage */
    int addr_len;
    unsigned long long sent, dropped, errors;
    uint8_t built[KL_MAX]; /* scratch: a packet that is not kept (audio) is built here */
    uint8_t buf[KL_MAX + KL_TRAILER];
} kl_out;

/* What a video source received, once for all the slots that show it: a NACK is answered
   by building the packet again, with the slot's numbering. */
typedef struct kl_kept {
    uint8_t *payload;
    int len, cap;
    uint16_t seq;        /* the source's own number */
    uint32_t ts;
    uint8_t marker;
    double at;           /* when it was kept */
} kl_kept;

typedef struct kl_history {
    kl_kept ring[KL_KEEP];
    int oldest;          /* where the oldest packet kept may be */
} kl_history;

typedef struct kl_slot {
    kl_out *out;
    kl_bucket *bucket;   /* NULL: unpaced */
    uint32_t ssrc;
    uint8_t payload_type;
    uint8_t red_payload_type; /* audio: RED's (RFC 2198) for this subscriber, 0: none */
    uint8_t send_time_id; /* abs-send-time's extension id, 0: none */
    uint8_t audio;
    uint8_t fresh;        /* the next packet starts a new source's numbering */
    uint32_t clock_rate;
    uint16_t seq_offset, next_seq, base;
    uint32_t ts_offset, last_ts;
    double last_at;
    int has_last;
    unsigned long long packets, octets;
    uint32_t sr_rtp;
    double sr_at;
    int restarted;        /* the first number sent since the last keyframe wait, -1: none */
    kl_history *history;  /* of the source shown (video), NULL: no resends (audio) */
} kl_slot;

/* What kl_red read of a RED payload (RFC 2198): the payload type every block has, and
   where the primary block is (the newest, the one that a receiver without RED plays). */
typedef struct kl_red {
    int pt;              /* -1: the payload is no RED at all */
    int primary_at, primary_len;
} kl_red;

/* What kl_receive read of an inbound RTP packet (RFC 3550 5.1, RFC 8285), offsets into it. */
typedef struct kl_received {
    int len;             /* the plain packet's length */
    uint32_t ssrc, timestamp;
    uint16_t seq;
    uint8_t marker, payload_type, has_extension;
    uint16_t profile;    /* the header extension's (0xBEDE: one-byte elements) */
    int extension_at, extension_len;  /* its elements */
    int payload_at, payload_len;      /* padding left out */
} kl_received;

int kl_init(void *protect_rtp, void *protect_rtcp, void *unprotect_rtp, void *unprotect_rtcp);
int kl_receive(void *srtp, uint8_t *buf, int len, kl_received *out);
int kl_rtcp_matters(const uint8_t *buf, int len);
int kl_receive_rtcp(void *srtp, uint8_t *buf, int len, int *plain);
void kl_refill(kl_bucket *b, double now);
void kl_take(kl_bucket *b, int size, double now);
int kl_try(kl_bucket *b, int size, double now);
kl_bucket *kl_bucket_new(void);
void kl_bucket_clear(kl_bucket *b);
void kl_bucket_free(kl_bucket *b);
int kl_hold(kl_bucket *b, const uint8_t *rtp, int len, int restamp, int resend, double now);
int kl_drain(kl_bucket *b, double now, uint16_t *left, int cap);
kl_steps *kl_steps_new(void);
void kl_steps_free(kl_steps *s);
void kl_steps_add(kl_steps *s, kl_bucket *b);
int kl_steps_run(kl_steps *s, double now);
kl_out *kl_out_new(void);
void kl_out_route(kl_out *out, int fd, const void *addr, int addr_len);
void kl_out_free(kl_out *out);
int kl_out_send(kl_out *out, const uint8_t *rtp, int len, int restamp, double now);
int kl_map(kl_slot *s, uint16_t seq, uint32_t ts, double now, uint16_t *out_seq, uint32_t *out_ts);
int kl_red_read(const uint8_t *payload, int len, kl_red *red);
int kl_forward(kl_slot *s, const uint8_t *payload, int payload_len, const kl_red *red,
               uint16_t seq, uint32_t ts, int marker, double now);
kl_slot *kl_slot_new(void);
int kl_fan(kl_slot **slots, int n, const uint8_t *payload, int payload_len, const kl_red *red,
           uint16_t seq, uint32_t ts, int marker, double now, uint8_t *results);
void kl_slot_free(kl_slot *s);
int kl_reports(kl_out *out, kl_slot **slots, int n, uint64_t ntp, double now,
               const uint8_t *cname, int cname_len);
int kl_used(kl_slot **slots, int n, kl_slot **used);
void kl_octets(kl_slot **slots, int n, int audio, unsigned long long *totals);
kl_history *kl_history_new(void);
void kl_history_free(kl_history *h);
void kl_history_add(kl_history *h, const uint8_t *payload, int payload_len, uint16_t seq,
                    uint32_t ts, int marker, double now);
int kl_rebuild(kl_slot *s, uint16_t seq, double now, uint8_t *into);
