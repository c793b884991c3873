//! Our offers toward one leg (RFC 3264 §5, re-offers and hold §8) and the
//! check of their answers (§7).

use std::net::SocketAddr;

use super::*;

fn offer_audio(policy: &LegPolicy, local: SocketAddr, direction: Direction, state: &SessionState) -> Media {
    let webrtc = state.webrtc.as_ref().filter(|w| w.offer);
    // WebRTC is keyed by DTLS: never SDES (RFC 8827 §5.5).
    let key = state.srtp.usable_key().filter(|_| webrtc.is_none());
    let proto = match (webrtc, state.srtp.policy, key) {
        (Some(_), _, _) => Proto::UdpTlsRtpSavpf,
        (None, SrtpPolicy::Mandatory, Some(_)) => Proto::RtpSavp,
        _ => Proto::RtpAvp,
    };
    let mut m = audio_media(local.port(), proto);
    if let Some(w) = webrtc {
        m.lines
            .extend(webrtc::media_lines(w, Some(WEBRTC_MID), "actpass", true, local));
    }
    let opus_fmtp = match webrtc {
        Some(_) => Some(WEBRTC_OPUS_FMTP.to_owned()),
        None => policy.opus_fmtp.clone(),
    };
    for kind in &preference(policy, webrtc.is_some()) {
        match kind {
            CodecKind::Pcmu => push_format(&mut m, 0, &Codec::Pcmu, None),
            CodecKind::Pcma => push_format(&mut m, 8, &Codec::Pcma, None),
            CodecKind::Opus => push_format(&mut m, policy.opus_pt, &Codec::Opus, opus_fmtp.clone()),
            CodecKind::TelephoneEvent => {
                let te = Codec::TelephoneEvent { clock_rate: 8000 };
                push_format(
                    &mut m,
                    policy.telephone_event_pt,
                    &te,
                    Some(policy.dtmf_events.to_string()),
                );
                if policy.codecs.contains(&CodecKind::Opus) {
                    let te48 = Codec::TelephoneEvent { clock_rate: 48_000 };
                    push_format(
                        &mut m,
                        policy.telephone_event_48k_pt,
                        &te48,
                        Some(policy.dtmf_events.to_string()),
                    );
                }
            }
        }
    }
    if let Some(p) = policy.ptime {
        m.lines.push(Line::Attribute(Attribute::Ptime(p)));
    }
    m.lines.push(Line::Attribute(Attribute::Direction(direction)));
    if let Some(key) = key {
        // One line per suite, in order of preference (RFC 4568 §7.1.1);
        // only the suite answered is ever keyed with it.
        for (tag, suite) in (1..).zip(SrtpSuite::ALL) {
            m.lines
                .push(Line::Attribute(Attribute::Crypto(SdesCrypto::line(tag, suite, key))));
        }
    }
    if let Some(w) = webrtc {
        m.lines.extend(webrtc::stream_lines(w));
    }
    m
}

/// Builds our offer toward this leg (RFC 3264 §5) with media at `local`, or a
/// re-offer (§8): same `o=` session id, version +1 if anything changed, the
/// previous `m=` lines kept in order with only the audio stream live.
/// `direction` is `SendRecv` normally, `SendOnly` or `Inactive` to hold
/// (§8.4), `SendRecv` again to resume. The offer stays pending until
/// [`accept_answer`] or [`SessionState::cancel_offer`].
pub fn offer(policy: &LegPolicy, local: SocketAddr, direction: Direction, state: &mut SessionState) -> Sdp {
    let mut sdp = skeleton(policy, state, local.ip());
    if state.webrtc.as_ref().is_some_and(|w| w.offer) {
        sdp.lines.extend(webrtc::session_lines(Some(WEBRTC_MID)));
    }
    let audio = offer_audio(policy, local, direction, state);
    let audio_index = match &state.last_sent {
        Some(prev) if !prev.media.is_empty() => {
            let idx = state
                .negotiated
                .as_ref()
                .map(|n| n.media_index)
                .filter(|i| *i < prev.media.len())
                .or_else(|| {
                    prev.media
                        .iter()
                        .position(|m| m.kind == MediaKind::Audio && m.port != 0)
                })
                .unwrap_or(prev.media.len());
            sdp.media.extend(prev.media.iter().map(disabled));
            if idx < sdp.media.len() {
                sdp.media[idx] = audio;
            } else {
                sdp.media.push(audio);
            }
            idx
        }
        _ => {
            sdp.media.push(audio);
            0
        }
    };
    let previous_direction = state.local_direction;
    state.local_direction = direction;
    let sdp = state.emit(sdp);
    state.pending = Some(PendingOffer {
        sdp: sdp.clone(),
        audio_index,
        direction,
        previous_direction,
    });
    sdp
}

/// Checks one answered format against the offered stream: the same payload
/// type with the same codec, or an offered codec under another number (§6.1).
fn offered_pt_for(offered: &[PayloadFormat], pt: u8, answered: &Media) -> Option<u8> {
    let codec = match answered.rtpmap(pt) {
        Some(r) => Some(r.codec()),
        None => Codec::from_static(pt),
    };
    match (offered.iter().find(|f| f.pt == pt), codec) {
        (Some(f), Some(c)) if f.codec == c => Some(pt),
        (Some(f), None) => Some(f.pt),
        (_, Some(c)) => offered.iter().find(|f| f.codec == c).map(|f| f.pt),
        _ => None,
    }
}

/// Processes the answer to our pending offer (RFC 3264 §7): the `m=` lines
/// must mirror the offer and use only offered formats, with a direction the
/// offer allows. On success the offer is no longer pending and the negotiated
/// media are recorded; on error the offer stays pending.
pub fn accept_answer(answer: &Sdp, state: &mut SessionState) -> Result<Negotiated, AnswerError> {
    let pending = state.pending.as_ref().ok_or(AnswerError::NoPendingOffer)?;
    let offer = &pending.sdp;
    if answer.media.len() != offer.media.len() {
        return Err(AnswerError::MediaCount {
            offered: offer.media.len(),
            answered: answer.media.len(),
        });
    }
    for (index, (o, a)) in offer.media.iter().zip(&answer.media).enumerate() {
        if o.kind != a.kind {
            return Err(AnswerError::MediaKind { index });
        }
        if a.port == 0 {
            continue;
        }
        if o.port == 0 {
            return Err(AnswerError::StreamWasDisabled { index });
        }
        let offered = o.payload_formats();
        for pt in a.payload_types() {
            offered_pt_for(&offered, pt, a).ok_or(AnswerError::UnofferedFormat { index, pt })?;
        }
    }
    let index = pending.audio_index;
    let (Some(o), Some(a)) = (offer.media.get(index), answer.media.get(index)) else {
        return Err(AnswerError::AudioRejected);
    };
    if a.port == 0 {
        return Err(AnswerError::AudioRejected);
    }
    let offered = o.payload_formats();
    let answered = a.payload_formats();
    let codec = answered
        .iter()
        .find(|f| matches!(f.codec, Codec::Pcmu | Codec::Pcma | Codec::Opus))
        .ok_or(AnswerError::NoCommonCodec)?;
    let recv_pt = offered_pt_for(&offered, codec.pt, a).unwrap_or(codec.pt);
    let is_te = |f: &&PayloadFormat| matches!(f.codec, Codec::TelephoneEvent { .. });
    let telephone_event = answered
        .iter()
        .filter(is_te)
        .find(|f| f.codec.clock_rate() == codec.codec.clock_rate())
        .or_else(|| answered.iter().find(is_te))
        .map(|f| {
            let ours = offered.iter().find(|o| o.codec == f.codec);
            let ours_ev = offered_events(ours.and_then(|o| o.fmtp.as_deref()));
            TelephoneEvents {
                send_pt: f.pt,
                recv_pt: ours.map_or(f.pt, |o| o.pt),
                clock_rate: f.codec.clock_rate(),
                events: offered_events(f.fmtp.as_deref()).intersect(&ours_ev),
            }
        });
    let answered_dir = remote_direction(answer, index);
    let allowed = pending.direction.reversed();
    if answered_dir.intersect(allowed) != answered_dir {
        return Err(AnswerError::Direction {
            offered: pending.direction,
            answered: answered_dir,
        });
    }
    let srtp = answered_srtp(o, a, &state.srtp)?;
    let webrtc = if webrtc::is_webrtc_proto(&o.proto) {
        Some(webrtc::read_answer(answer, a).ok_or(AnswerError::WebrtcIncomplete)?)
    } else {
        None
    };
    let (remote_rtp, remote_rtcp) = remote_addrs(answer, index);
    let negotiated = Negotiated {
        media_index: index,
        codec: codec.codec.clone(),
        send_pt: codec.pt,
        recv_pt,
        telephone_event,
        ptime: answer.media_ptime(index),
        direction: answered_dir.reversed(),
        remote_rtp,
        remote_rtcp,
        srtp,
        webrtc,
    };
    state.pending = None;
    state.remote_origin = Some((answer.origin.session_id.clone(), answer.origin.session_version));
    state.negotiated = Some(negotiated.clone());
    Ok(negotiated)
}

/// The SRTP keys an answer agrees to (RFC 4568 §7.1.2, §7.1.3): its first
/// usable `a=crypto` line, if its tag and suite are one we offered; none
/// when we offered no key. A `RTP/SAVP` offer answered without one fails.
fn answered_srtp(offered: &Media, answered: &Media, srtp: &LocalSrtp) -> Result<Option<SrtpKeys>, AnswerError> {
    let Some(key) = srtp.usable_key() else {
        return Ok(None);
    };
    let ours: Vec<SdesCrypto> = offered.crypto().filter_map(SdesCrypto::read).collect();
    if ours.is_empty() {
        return Ok(None);
    }
    let agreed = SdesCrypto::first_usable(answered)
        .filter(|theirs| ours.iter().any(|o| o.tag == theirs.tag && o.suite == theirs.suite))
        .map(|theirs| theirs.keys(key));
    if agreed.is_none() && offered.proto == Proto::RtpSavp {
        return Err(AnswerError::NoCrypto);
    }
    Ok(agreed)
}
