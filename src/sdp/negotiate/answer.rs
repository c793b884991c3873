//! Answering a remote offer on one leg (RFC 3264 §6): one answered `m=`
//! line per offered one; the first usable audio stream gets one codec and
//! telephone-event, every other stream port 0.

use std::net::SocketAddr;

use super::*;

/// Answers a remote offer on this leg (RFC 3264 §6), with our media at `local`
/// (the address and RTP port the caller allocated). On success the state
/// records the answer as sent and the negotiated media; on rejection it is
/// untouched. Glare (an offer of ours still pending) is the engine's to
/// refuse with 491 (RFC 3261 §14.2) before calling; a pending offer is left as is.
pub fn answer(
    offer: &Sdp,
    policy: &LegPolicy,
    local: SocketAddr,
    state: &mut SessionState,
) -> Result<Answer, Rejection> {
    let (mut saw_audio, mut saw_usable) = (false, false);
    let mut refusal = Rejection::IncompatibleTransport;
    let our_key = state.srtp.usable_key().cloned();
    let mut chosen = None;
    for (i, m) in offer.media.iter().enumerate() {
        if m.kind != MediaKind::Audio || m.port == 0 {
            continue;
        }
        saw_audio = true;
        if webrtc::is_webrtc_proto(&m.proto) {
            let remote = state.webrtc.as_ref().and_then(|_| webrtc::read_offer(offer, m));
            if let Some(remote) = remote {
                saw_usable = true;
                if let Some(c) = choose(m, policy, true) {
                    chosen = Some((i, c, None, Some(remote)));
                    break;
                }
            }
            continue;
        }
        let sdes = our_key.as_ref().and_then(|_| SdesCrypto::first_usable(m));
        let secure = matches!(m.proto, Proto::RtpSavp | Proto::RtpSavpf);
        let usable = match (m.proto.is_plain_rtp(), secure, state.srtp.policy) {
            (true, _, SrtpPolicy::Mandatory) if sdes.is_none() => {
                refusal = Rejection::SrtpRequired;
                false
            }
            (true, _, _) => true,
            (_, true, SrtpPolicy::Off) => false,
            (_, true, _) if sdes.is_none() => {
                refusal = Rejection::NoUsableCrypto;
                false
            }
            (_, true, _) => true,
            _ => false,
        };
        if !usable {
            continue;
        }
        saw_usable = true;
        if let Some(c) = choose(m, policy, false) {
            chosen = Some((i, c, sdes, None));
            break;
        }
    }
    let Some((index, choice, sdes, remote_webrtc)) = chosen else {
        return Err(match (saw_audio, saw_usable) {
            (false, _) => Rejection::NoAudio,
            (true, false) => refusal,
            (true, true) => Rejection::NoCommonCodec,
        });
    };
    let srtp = match (&sdes, &our_key) {
        (Some(c), Some(k)) => Some((c.line_for_answer(k), c.keys(k))),
        _ => None,
    };
    let direction = remote_direction(offer, index)
        .reversed()
        .intersect(state.local_direction);
    let ptime = offer.media_ptime(index);
    let maxptime = offer.media_maxptime(index);

    let mut sdp = skeleton(policy, state, local.ip());
    // RFC 8839 §4.4.1.1.1: new ice-ufrag/ice-pwd in a re-offer restart
    // ICE; the answer then carries new credentials of ours (§4.4.1.1.2).
    let ice_restart = match (
        state.negotiated.as_ref().and_then(|n| n.webrtc.as_ref()),
        &remote_webrtc,
    ) {
        (Some(before), Some(now)) => before.ice_ufrag != now.ice_ufrag || before.ice_pwd != now.ice_pwd,
        _ => false,
    };
    let local_webrtc = state.webrtc.as_ref().filter(|_| remote_webrtc.is_some()).map(|w| {
        if ice_restart {
            w.restarted()
        } else {
            w.clone()
        }
    });
    if let Some(m) = local_webrtc.as_ref().and(offer.media.get(index)) {
        let mid = webrtc::mid(m).filter(|mid| webrtc::bundles(offer, mid));
        sdp.lines.extend(webrtc::session_lines(mid));
    }
    for (i, m) in offer.media.iter().enumerate() {
        if i != index {
            sdp.media.push(disabled(m));
            continue;
        }
        let mut a = audio_media(local.port(), m.proto.clone());
        if let (Some(lw), Some(rw)) = (&local_webrtc, &remote_webrtc) {
            let setup = match rw.setup {
                DtlsSetup::Passive => "passive",
                DtlsSetup::Active => "active",
            };
            let rsize = webrtc::has_flag(m, "rtcp-rsize");
            a.lines
                .extend(webrtc::media_lines(lw, webrtc::mid(m), setup, rsize, local));
        }
        let fmtp = match choice.codec.codec {
            Codec::Opus if local_webrtc.is_some() => Some(WEBRTC_OPUS_FMTP.to_owned()),
            Codec::Opus => policy.opus_fmtp.clone(),
            _ => None,
        };
        push_format(&mut a, choice.codec.pt, &choice.codec.codec, fmtp);
        if let Some((te, ev)) = &choice.te {
            push_format(&mut a, te.pt, &te.codec, Some(ev.to_string()));
        }
        if let Some(p) = ptime {
            a.lines.push(Line::Attribute(Attribute::Ptime(p)));
        }
        if let Some(p) = maxptime {
            a.lines.push(Line::Attribute(Attribute::MaxPtime(p)));
        }
        a.lines.push(Line::Attribute(Attribute::Direction(direction)));
        if let Some((line, _)) = &srtp {
            a.lines.push(Line::Attribute(Attribute::Crypto(line.clone())));
        }
        if let Some(lw) = &local_webrtc {
            a.lines.extend(webrtc::stream_lines(lw));
        }
        sdp.media.push(a);
    }

    let (remote_rtp, remote_rtcp) = remote_addrs(offer, index);
    let negotiated = Negotiated {
        media_index: index,
        codec: choice.codec.codec.clone(),
        send_pt: choice.codec.pt,
        recv_pt: choice.codec.pt,
        telephone_event: choice.te.map(|(f, events)| TelephoneEvents {
            send_pt: f.pt,
            recv_pt: f.pt,
            clock_rate: f.codec.clock_rate(),
            events,
        }),
        ptime,
        direction,
        remote_rtp,
        remote_rtcp,
        srtp: srtp.map(|(_, keys)| keys),
        webrtc: remote_webrtc,
    };
    let origin = (offer.origin.session_id.clone(), offer.origin.session_version);
    let unchanged = state.remote_origin.as_ref() == Some(&origin);
    state.remote_origin = Some(origin);
    state.negotiated = Some(negotiated.clone());
    if ice_restart {
        state.webrtc = local_webrtc;
    }
    let sdp = state.emit(sdp);
    Ok(Answer {
        sdp,
        negotiated,
        unchanged,
    })
}
