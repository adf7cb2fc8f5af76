/*
 * pjproject configuration for callpact: a SIP server-side dialer, not a phone.
 *
 * Copied to pjlib/include/pj/config_site.h by tools/build_pjsua2.sh before
 * configure; part of the build cache key, so editing it forces a rebuild.
 *
 * Why these values: one process carries hundreds of concurrent calls, each
 * with a media port in the conference bridge (the call itself, our
 * AudioMediaPort tap, a player or a second leg), so the limits that pjsua
 * sizes for a desk phone are raised together. No sound device, no video.
 */
#ifndef CALLPACT_CONFIG_SITE_H
#define CALLPACT_CONFIG_SITE_H

/* Calls. The Endpoint's UaConfig.maxCalls must still be set at run time
 * (pjsua defaults it to 4); this is the compile-time ceiling. */
#define PJSUA_MAX_CALLS                 512
#define PJSUA_MAX_ACC                   16

/* Conference bridge: per call one call port, one AudioMediaPort tap and
 * one player/bridged leg. */
#define PJSUA_MAX_CONF_PORTS            (3 * PJSUA_MAX_CALLS)
#define PJSUA_MAX_PLAYERS               (2 * PJSUA_MAX_CALLS)
#define PJSUA_MAX_RECORDERS             (PJSUA_MAX_CALLS)

/* Sockets: two RTP/RTCP sockets per call plus signalling. */
#define PJ_IOQUEUE_MAX_HANDLES          4096

/* SIP transactions and dialogs: a 503 storm or a burst of retries must not
 * exhaust the tables. */
#define PJSIP_MAX_TSX_COUNT             65535
#define PJSIP_MAX_DIALOG_COUNT          65535

/* Trunks send RFC 4733 events on payload type 101 almost everywhere; pjsua's
 * default 120 makes such trunks deliver no DTMF at all. */
#define PJMEDIA_RTP_PT_TELEPHONE_EVENTS 101

/* Server: no video, no sound device (audio goes through the bridge clock). */
#define PJMEDIA_HAS_VIDEO               0
#define PJMEDIA_AUDIO_DEV_HAS_PORTAUDIO 0
#define PJMEDIA_AUDIO_DEV_HAS_ALSA      0
#define PJMEDIA_AUDIO_DEV_HAS_NULL_AUDIO 1

/* Large UDP socket buffers: bursts of RTP for hundreds of calls on one
 * loop iteration must not be dropped by the kernel. */
#define PJMEDIA_TRANSPORT_SO_RCVBUF_SIZE (24 * 1024 * 1024)
#define PJMEDIA_TRANSPORT_SO_SNDBUF_SIZE (24 * 1024 * 1024)
#define PJSIP_UDP_SO_RCVBUF_SIZE        (24 * 1024 * 1024)
#define PJSIP_UDP_SO_SNDBUF_SIZE        (24 * 1024 * 1024)

/* Release build: no assertion-heavy debug paths. */
#define PJ_DEBUG                        0
#define PJ_LOG_MAX_LEVEL                5

#endif /* CALLPACT_CONFIG_SITE_H */
