#!/usr/bin/env bash
# Writes the hand-made binary test vectors of tests/vectors/rtp/,
# tests/vectors/rtcp/ and tests/vectors/rfc4733/ (committed; re-run after
# editing this script). They seed the `rtp`, `rtcp` and `rfc4733` fuzz
# targets (fuzz/seed.sh) and are valid examples of each format:
#
#   rtp/*.bin          one RTP packet each (RFC 3550 §5.1, §5.3.1, RFC 8285)
#   rtp/stream-*.bin   a selector octet then records `gap, len, packet[len]`
#                      (the stream format of src/rtp/fuzz.rs and
#                      src/media/fuzz.rs: for the session, gap bits 0-1 are
#                      RTP from A / from B / RTCP from A / from B, bits 2-5
#                      the time before it, bit 7 a command)
#   rtcp/*.bin         one RTCP datagram each, compound ones included (RFC 3550 §6)
#   rfc4733/*.bin      a telephone-event payload (RFC 4733 §2.3), or
#                      `event-seq-*`: a selector then records `ctl, gap, payload[4]`
#   ws/frames-*.bin    selector 0x00, then client WebSocket frames (RFC 6455
#                      §5.2, masked with the all-zero key so the SIP stays
#                      readable) carrying SIP (RFC 7118 §5.1): the input of
#                      the `ws_frame` fuzz target's frame side
#   ws/handshake-*.bin selector 0x03, then an upgrade request (RFC 6455 §4.1)
#                      with the sip subprotocol (the target's handshake side,
#                      checked against an origin list)
#
# Only bash, printf and xxd.
set -euo pipefail
cd "$(dirname "$0")"

bin() { xxd -r -p > "$1"; }       # hex on stdin -> binary file
rep() { local i; for ((i = 0; i < $2; i++)); do printf '%s' "$1"; done; }

# rtp_hdr B0 B1 SEQ TS SSRC: the 12-octet fixed header, in hex.
rtp_hdr() { printf '%s%s%04x%08x%08x' "$1" "$2" "$3" "$4" "$5"; }
# pcmu SEQ TS SSRC [PT]: a 20 ms G.711 packet of silence (0xff / 0xd5).
pcmu() { rtp_hdr 80 "$(printf '%02x' "${4:-0}")" "$1" "$2" "$3"; rep ff 160; }
pcma() { rtp_hdr 80 08 "$1" "$2" "$3"; rep d5 160; }
# event SEQ TS SSRC MARKER EVENT FLAGS DURATION: PT 101 telephone-event.
event() { rtp_hdr 80 "$(printf '%02x' $((101 | ($4 << 7))))" "$1" "$2" "$3"; printf '%02x%02x%04x' "$5" "$6" "$7"; }
# rec GAP HEX: one stream record.
rec() { printf '%02x%02x%s' "$1" $((${#2} / 2)) "$2"; }

# RTCP pieces (RFC 3550 §6.4.1, §6.5): sender info (NTP, RTP timestamp,
# packets, octets: 20 octets), a report block about B's stream (24 octets),
# an SDES chunk with CNAME "fuzz@host" (16 octets) and its packet.
SENDER_INFO=e9a1b2c3000000000000200000000003000001e0
BLOCK=556677881000000500010064000000201234567800010000
CHUNK=11223344010966757a7a40686f737400
SDES=81ca0004$CHUNK

# ---- single RTP packets ----
pcmu 1 160 0x11223344 | bin rtp/pcmu.bin
{ rtp_hdr 80 88 7 1120 0x0badcafe; rep d5 160; } | bin rtp/pcma-marker.bin
# CC=2, X=1 (RFC 8285 one-byte elements: id 1 len 1, id 2 len 2, padding), P=1 (4 octets).
{ rtp_hdr b2 00 300 48000 0x11223344; printf 'aaaaaaaabbbbbbbb'; printf 'bede0002' ; printf '10cc21dddd000000'; rep ff 20; printf '00000004'; } | bin rtp/csrc-ext-padding.bin
# X=1 with the RFC 8285 two-byte profile: id 7 len 3.
{ rtp_hdr 90 6f 9 960 0x01020304; printf '10000002'; printf '0703abcdef000000'; printf 'f8fffe'; } | bin rtp/ext-two-byte-opus.bin
# X=1 with a non-RFC 8285 profile: one word of extension data.
{ rtp_hdr 90 00 10 1600 0x11223344; printf '12340001cafebabe'; rep ff 80; } | bin rtp/ext-generic.bin
# Opus (PT 111), a short CELT-only frame.
{ rtp_hdr 80 6f 5 4800 0x11223344; printf 'fc'; rep 00 19; } | bin rtp/opus.bin
event 40 8000 0x11223344 1 5 10 160 | bin rtp/event-start.bin
# RTCP on a muxed port (RFC 5761 §4): is_rtcp must say so.
printf '80c9000111223344' | bin rtp/muxed-rtcp-rr.bin
printf '80000001' | bin rtp/too-short.bin

# ---- RTP streams (selector, records) ----
A=0x11223344; B=0x55667788
# Relay PCMU<->PCMU: A and B talk, A's RTCP, hold A, resume.
relay_records() {
  for i in 0 1 2; do rec 12 "$(pcmu $((100 + i)) $((8000 + 160 * i)) $A)"; rec 13 "$(pcmu $((900 + i)) $((1000 + 160 * i)) $B)"; done
  rec 14 "81c8000c11223344$SENDER_INFO$BLOCK"
  rec 128 00
  rec 12 "$(pcmu 103 8480 $A)"
  rec 128 02
  rec 12 "$(pcmu 104 8640 $A)"
}
{ printf '00'; relay_records; } | bin rtp/stream-relay.bin
# The same with leg A SRTP (selector bit 5; the media target seals A's
# even-length records with the phone's keys, RFC 3711).
{ printf '20'; relay_records; } | bin rtp/stream-srtp-relay.bin
# PCMU -> PCMA transcoding with a source change (new SSRC) and a gap.
transcode_records() {
  for i in 0 1 2 3; do rec 12 "$(pcmu $((100 + i)) $((8000 + 160 * i)) $A)"; done
  rec 13 "$(pcma 5 800 $B)"
  rec 60 "$(pcmu 7 99999 0x99999999)"
  rec 12 "$(pcmu 8 100159 0x99999999)"
}
{ printf '01'; transcode_records; } | bin rtp/stream-transcode.bin
# The same with leg A SRTP, suite AES_CM_128_HMAC_SHA1_32 (bits 5 and 6).
{ printf '61'; transcode_records; } | bin rtp/stream-srtp-transcode.bin
# Opus (A) -> PCMU (B).
{ printf '02'
  for i in 0 1 2 3; do rec 12 "$(rtp_hdr 80 6f $((10 + i)) $((960 * i)) $A)fc$(rep 00 19)"; done
  rec 13 "$(pcmu 1 160 $B)"
} | bin rtp/stream-opus.bin
# Before the answer, recording on: early packets wait for the plan.
{ printf '18'
  for i in 0 1 2 3 4; do rec 12 "$(pcmu $((100 + i)) $((8000 + 160 * i)) $A)"; rec 13 "$(pcmu $((50 + i)) $((160 * i)) $B)"; done
} | bin rtp/stream-early-recorded.bin
# A key press (RFC 4733 §2.5.1): start, updates, three ends, then audio.
{ printf '00'
  rec 12 "$(pcmu 100 8000 $A)"
  rec 12 "$(event 101 8160 $A 1 5 10 160)"
  rec 12 "$(event 102 8160 $A 0 5 10 320)"
  for i in 3 4 5; do rec 12 "$(event $((100 + i)) 8160 $A 0 5 138 480)"; done
  rec 12 "$(pcmu 106 8640 $A)"
} | bin rtp/stream-dtmf.bin

# ---- RTCP ----
printf '81c8000c11223344%s%s' "$SENDER_INFO" "$BLOCK" | bin rtcp/sr-1-block.bin
printf '80c9000111223344' | bin rtcp/rr-empty.bin
printf '82c9000d11223344%s%s' "$BLOCK" "99999999ff00001000020010000000ff0000000000000000" | bin rtcp/rr-2-blocks.bin
printf '80c8000611223344%s%s' "$SENDER_INFO" "$SDES" | bin rtcp/compound-sr-sdes.bin
printf '80c9000111223344%s81cb000111223344' "$SDES" | bin rtcp/compound-rr-sdes-bye.bin
printf '80c9000111223344%s80cc00021122334466757a7a' "$SDES" | bin rtcp/compound-rr-sdes-app.bin
printf '80c900011122334481cd00031122334455667788006400ff' | bin rtcp/compound-rr-nack.bin
# SR with profile-specific extensions after the block (RFC 3550 §6.4.1).
printf '81c8000e11223344%s%scafebabedeadbeef' "$SENDER_INFO" "$BLOCK" | bin rtcp/sr-profile-ext.bin
# Padding bit on the last packet of a compound (RFC 3550 §6.1): an RR...
printf '%sa0c900021122334400000004' "$SDES" | bin rtcp/compound-sdes-rr-padded.bin
# ...and an SDES, which rtc-rtcp 0.21 reads as one more chunk and refuses:
# parse_reports decodes only the SRs and RRs, so the RR still counts.
printf '80c9000111223344a1ca0005%s00000004' "$CHUNK" | bin rtcp/compound-rr-sdes-padded-last.bin

# ---- RFC 4733 ----
printf '050a00a0' | bin rfc4733/digit5-start.bin
printf '058a0320' | bin rfc4733/digit5-end.bin
printf '0b8a0640' | bin rfc4733/hash-end-redundant-block.bin; printf '0b8a0640' | xxd -r -p >> rfc4733/hash-end-redundant-block.bin
printf '0f3fffff' | bin rfc4733/d-longest.bin
printf '10000000' | bin rfc4733/not-a-digit.bin
# event-seq: selector, then (ctl, gap_ms, payload[4]): digit 1 pressed,
# updated, ended three times, audio, then '#' whose ends are lost.
{ printf '00'
  printf '0114010a00a0' ; printf '0014010a0140'; printf '0014018a0320'; printf '0014018a0320'; printf '0014018a0320'
  printf '411400000000'; printf '05140b0a00a0'; printf '00140b0a0140'; printf '41ff00000000'; printf '41ff00000000'
} | bin rfc4733/event-seq-1.bin
# To PCMA with 48 kHz event durations (selector 0x08), and to a leg without events.
{ printf '08'; printf '0114020a00a0'; printf '0014028a0320'; printf '0014028a0320'; printf '0014028a0320'; } | bin rfc4733/event-seq-48k.bin
{ printf '01'; printf '01140c0a00a0'; printf '00140c8a0320'; } | bin rfc4733/event-seq-no-event-pt.bin

# ---- SIP over WebSocket (RFC 7118) ----
# wsframe FIN_OPCODE TEXT: one client frame (mask bit, key 00000000) with TEXT.
wsframe() {
    local hex n
    hex=$(printf '%s' "$2" | xxd -p | tr -d '\n')
    n=$(( ${#hex} / 2 ))
    if [ "$n" -lt 126 ]; then printf '%s%02x00000000%s' "$1" $((0x80 | n)) "$hex"
    else printf '%sfe%04x00000000%s' "$1" "$n" "$hex"; fi
}
CRLF=$'\r\n'
WS_OPTIONS="OPTIONS sip:127.0.0.1:5060 SIP/2.0${CRLF}Via: SIP/2.0/WS df7jal23ls0d.invalid;branch=z9hG4bKhjhs8ass877${CRLF}Max-Forwards: 70${CRLF}To: <sip:127.0.0.1:5060>${CRLF}From: <sip:probe@127.0.0.1>;tag=1928301774${CRLF}Call-ID: a84b4c76e66710${CRLF}CSeq: 63104 OPTIONS${CRLF}Content-Length: 0${CRLF}${CRLF}"
WS_REGISTER="REGISTER sip:127.0.0.1:5060 SIP/2.0${CRLF}Via: SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bKasudf${CRLF}Max-Forwards: 69${CRLF}To: <sip:1002@127.0.0.1:5060>${CRLF}From: <sip:1002@127.0.0.1:5060>;tag=65bnmj.34asd${CRLF}Call-ID: aiuy7k9njasd${CRLF}CSeq: 1 REGISTER${CRLF}Contact: <sip:abc@xyz.invalid;transport=ws>;expires=600${CRLF}Expires: 600${CRLF}Content-Length: 0${CRLF}${CRLF}"
# A text OPTIONS, a ping, a binary REGISTER, a close (1000).
{ printf '00'; wsframe 81 "$WS_OPTIONS"; printf '8982000000006862'
  wsframe 82 "$WS_REGISTER"; printf '88820000000003e8'
} | bin ws/frames-options-register.bin
# The OPTIONS in two fragments (RFC 6455 §5.4).
{ printf '00'; wsframe 01 "${WS_OPTIONS:0:100}"; wsframe 80 "${WS_OPTIONS:100}"; } | bin ws/frames-fragmented.bin
WS_UPGRADE="GET / HTTP/1.1${CRLF}Host: 127.0.0.1:5066${CRLF}Upgrade: websocket${CRLF}Connection: Upgrade${CRLF}Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==${CRLF}Sec-WebSocket-Version: 13${CRLF}Sec-WebSocket-Protocol: sip${CRLF}Origin: https://desk.example.com${CRLF}${CRLF}"
{ printf '03'; printf '%s' "$WS_UPGRADE" | xxd -p; } | bin ws/handshake-sip.bin
{ printf '03'; printf '%s' "${WS_UPGRADE/desk.example.com/evil.example}" | xxd -p; } | bin ws/handshake-evil-origin.bin
