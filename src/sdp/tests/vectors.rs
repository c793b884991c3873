//! Real-world session descriptions (written with `\n`; tests convert to CRLF).

/// SIPp's built-in `uac` scenario offer (PCMU only, RFC 3551 static type 0 with rtpmap).
pub const SIPP_UAC: &str = "v=0
o=user1 53655765 2353687637 IN IP4 127.0.0.1
s=-
c=IN IP4 127.0.0.1
t=0 0
m=audio 6000 RTP/AVP 0
a=rtpmap:0 PCMU/8000
";

/// baresip 3.x: Opus first, PCMU, PCMA, telephone-event, session-level tool, unknown media attributes.
pub const BARESIP: &str = "v=0
o=- 1718306373 2057962519 IN IP4 192.168.1.20
s=-
c=IN IP4 192.168.1.20
t=0 0
a=tool:baresip 3.10.1
m=audio 10318 RTP/AVP 96 0 8 101
b=AS:96
a=rtpmap:96 opus/48000/2
a=fmtp:96 stereo=1;sprop-stereo=1
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=sendrecv
a=label:1
a=ssrc:1938432712 cname:3e54c7d1-9a58-4e3e-a7f8-2a5a1f1f5c9b
a=rtcp-rsize
a=ptime:20
";

/// A Polycom-like offer: best-effort SRTP (`a=crypto` over RTP/AVP), G.722 first, vendor attributes.
pub const POLYCOM: &str = "v=0
o=- 1366035580 1366035580 IN IP4 10.0.0.50
s=Polycom IP Phone
c=IN IP4 10.0.0.50
t=0 0
a=sendrecv
m=audio 2226 RTP/AVP 9 0 8 18 127
a=rtpmap:9 G722/8000
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:18 G729/8000
a=fmtp:18 annexb=no
a=rtpmap:127 telephone-event/8000
a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:QTc4MTE1MzBkYjk0NzgzNjA0YzE0ZmRkN2Q1ZjM4|2^48
a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:NzJmMjNjZjc0ZmJiNjkyMWI4ZmE4MGFmMzhlNGQ3|2^48 UNENCRYPTED_SRTCP
a=x-polycom-vendor-attr:1
a=silenceSupp:off - - - -
";

/// A Linphone-like audio + video offer: session `b=`, `a=rtcp` with address, media-level `c=` on video.
pub const AUDIO_VIDEO: &str = "v=0
o=alice 2890844526 2890844526 IN IP4 198.51.100.5
s=Talk
c=IN IP4 198.51.100.5
b=AS:380
t=0 0
a=rtcp-xr:rcvr-rtt=all:10000 stat-summary=loss,dup,jitt,TTL voip-metrics
m=audio 7078 RTP/AVP 96 0 8 101
a=rtpmap:96 opus/48000/2
a=fmtp:96 useinbandfec=1
a=rtpmap:101 telephone-event/48000
a=rtcp:7079 IN IP4 198.51.100.5
m=video 9078 RTP/AVP 96 97
c=IN IP4 198.51.100.6
a=rtpmap:96 VP8/90000
a=rtpmap:97 H264/90000
a=fmtp:97 profile-level-id=42801F
a=rtcp-fb:* nack
a=rtcp-fb:* ccm fir
";

/// A first audio stream disabled with port 0, a live PCMA one, and a T.38 stream with port 0.
pub const PORT_ZERO: &str = "v=0
o=gw 100 7 IN IP4 203.0.113.9
s=-
c=IN IP4 203.0.113.9
t=0 0
m=audio 0 RTP/AVP 0
m=audio 5004 RTP/AVP 8
a=ptime:30
a=maxptime:60
m=image 0 udptl t38
";

/// Hold by `a=sendonly` (RFC 3264 §8.4), a re-offer of [`SIPP_UAC`] with version +1.
pub const HOLD_SENDONLY: &str = "v=0
o=user1 53655765 2353687638 IN IP4 127.0.0.1
s=-
c=IN IP4 127.0.0.1
t=0 0
m=audio 6000 RTP/AVP 0
a=rtpmap:0 PCMU/8000
a=sendonly
";

/// Hold by `a=inactive` at session level (RFC 3264 §8.4).
pub const HOLD_INACTIVE: &str = "v=0
o=user1 53655765 2353687639 IN IP4 127.0.0.1
s=-
c=IN IP4 127.0.0.1
t=0 0
a=inactive
m=audio 6000 RTP/AVP 0
a=rtpmap:0 PCMU/8000
";

/// RFC 2543-style hold: `c=0.0.0.0` (RFC 3264 §8.4).
pub const HOLD_ZERO_ADDR: &str = "v=0
o=user1 53655765 2353687640 IN IP4 127.0.0.1
s=-
c=IN IP4 0.0.0.0
t=0 0
m=audio 6000 RTP/AVP 0
a=rtpmap:0 PCMU/8000
";

/// A WebRTC-style offer: DTLS-SRTP only (`UDP/TLS/RTP/SAVPF`), IPv6, many unknown attributes.
pub const WEBRTC: &str = "v=0
o=- 4611731400430051336 2 IN IP4 127.0.0.1
s=-
t=0 0
a=group:BUNDLE 0
a=msid-semantic: WMS
m=audio 9 UDP/TLS/RTP/SAVPF 111 0 8 126
c=IN IP6 2001:db8::1
a=rtcp:9 IN IP4 0.0.0.0
a=ice-ufrag:abcd
a=ice-pwd:0123456789abcdef0123456789
a=fingerprint:sha-256 AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89
a=setup:actpass
a=mid:0
a=rtcp-mux
a=rtpmap:111 opus/48000/2
a=fmtp:111 minptime=10;useinbandfec=1
a=rtpmap:126 telephone-event/8000
";

/// Port/count on `m=` (RFC 8866 §5.14), `i=`, `u=`, `e=`, `p=`, `r=`, `z=`, `k=` lines, multicast `c=`.
pub const ALL_LINES: &str = "v=0
o=jdoe 2890844526 2890842807 IN IP4 10.47.16.5
s=SDP Seminar
i=A Seminar on the session description protocol
u=http://www.example.com/seminars/sdp.pdf
e=j.doe@example.com (Jane Doe)
p=+1 617 555-6011
c=IN IP4 224.2.17.12/127
t=2873397496 2873404696
r=7d 1h 0 25h
z=2882844526 -1h 2898848070 0
k=prompt
a=recvonly
m=audio 49170 RTP/AVP 0
i=the audio
b=AS:64
k=prompt
m=video 51372/2 RTP/AVP 99
a=rtpmap:99 h263-1998/90000
";

/// Every vector, for round-trip and mutation tests.
pub const ALL: &[&str] = &[
    SIPP_UAC,
    BARESIP,
    POLYCOM,
    AUDIO_VIDEO,
    PORT_ZERO,
    HOLD_SENDONLY,
    HOLD_INACTIVE,
    HOLD_ZERO_ADDR,
    WEBRTC,
    ALL_LINES,
];
