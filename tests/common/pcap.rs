//! A tiny reader for classic libpcap capture files (the format of SIPp's
//! `play_pcap_audio` captures in `/usr/share/sip-tester/`), so the media
//! tests can compare what arrives through the switch with what was played,
//! without a pcap crate.
//!
//! Format (pcap-savefile(5)): a 24-byte global header (magic `a1b2c3d4`
//! for microsecond or `a1b23c4d` for nanosecond timestamps, in the writer's
//! byte order; version; zone; sigfigs; snaplen; link type), then records of
//! a 16-byte header (seconds, sub-second, captured length, original length)
//! and the captured bytes. Link types read: Ethernet (1, with 802.1Q/ad
//! tags), BSD loopback (0), raw IP (101, 12), Linux cooked v1 (113) and
//! v2 (276). IPv4 and IPv6 (no extension headers) carrying UDP; other
//! packets, fragments and truncated records are skipped.

use std::path::Path;
use std::time::Duration;

/// One UDP datagram from a capture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PcapUdp {
    /// Capture time, from the record header.
    pub time: Duration,
    pub src_port: u16,
    pub dst_port: u16,
    /// The UDP payload (an RTP packet for SIPp's captures).
    pub payload: Vec<u8>,
}

/// Every UDP datagram in the capture at `path`, in file order. Panics with
/// the reason if the file is not a classic pcap.
pub fn read_udp(path: impl AsRef<Path>) -> Vec<PcapUdp> {
    let path = path.as_ref();
    let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    parse_udp(&data).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// [`read_udp`] on bytes.
pub fn parse_udp(data: &[u8]) -> Result<Vec<PcapUdp>, String> {
    if data.len() < 24 {
        return Err("shorter than a pcap global header".into());
    }
    let magic = [data[0], data[1], data[2], data[3]];
    let (big_endian, nanos) = match magic {
        [0xd4, 0xc3, 0xb2, 0xa1] => (false, false),
        [0xa1, 0xb2, 0xc3, 0xd4] => (true, false),
        [0x4d, 0x3c, 0xb2, 0xa1] => (false, true),
        [0xa1, 0xb2, 0x3c, 0x4d] => (true, true),
        _ => return Err(format!("not a classic pcap (magic {magic:02x?}; pcapng is not read)")),
    };
    let u32_at = |b: &[u8], at: usize| {
        let w = [b[at], b[at + 1], b[at + 2], b[at + 3]];
        if big_endian {
            u32::from_be_bytes(w)
        } else {
            u32::from_le_bytes(w)
        }
    };
    let link = u32_at(data, 20) & 0x0fff_ffff; // high bits: FCS info
    let mut out = Vec::new();
    let mut off = 24;
    while off + 16 <= data.len() {
        let secs = u32_at(data, off);
        let frac = u32_at(data, off + 4);
        let incl = u32_at(data, off + 8) as usize;
        off += 16;
        let Some(frame) = data.get(off..off + incl) else {
            break; // truncated last record
        };
        off += incl;
        let time = Duration::from_secs(u64::from(secs))
            + if nanos {
                Duration::from_nanos(u64::from(frac))
            } else {
                Duration::from_micros(u64::from(frac))
            };
        if let Some((src_port, dst_port, payload)) = link_to_udp(link, frame) {
            out.push(PcapUdp {
                time,
                src_port,
                dst_port,
                payload: payload.to_vec(),
            });
        }
    }
    Ok(out)
}

/// The UDP ports and payload of one captured frame, if it is UDP.
fn link_to_udp(link: u32, frame: &[u8]) -> Option<(u16, u16, &[u8])> {
    let be16 = |b: &[u8], at: usize| -> Option<u16> { Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?])) };
    let ip = match link {
        // Ethernet: skip MACs and any VLAN tags to the EtherType.
        1 => {
            let mut at = 12;
            let mut ethertype = be16(frame, at)?;
            while ethertype == 0x8100 || ethertype == 0x88a8 {
                at += 4;
                ethertype = be16(frame, at)?;
            }
            if ethertype != 0x0800 && ethertype != 0x86dd {
                return None;
            }
            frame.get(at + 2..)?
        }
        // BSD loopback: a 4-byte address family in host order.
        0 => frame.get(4..)?,
        // Raw IP.
        101 | 12 => frame,
        // Linux cooked capture v1: protocol at 14, header 16 bytes.
        113 => frame.get(16..)?,
        // Linux cooked capture v2: protocol at 0, header 20 bytes.
        276 => frame.get(20..)?,
        _ => return None,
    };
    let udp = match ip.first()? >> 4 {
        4 => {
            let ihl = usize::from(ip[0] & 0x0f) * 4;
            let total = usize::from(be16(ip, 2)?);
            let frag = be16(ip, 6)? & 0x3fff; // MF flag or an offset
            if *ip.get(9)? != 17 || frag != 0 || ihl < 20 {
                return None;
            }
            ip.get(ihl..total.min(ip.len()))?
        }
        6 => {
            let len = usize::from(be16(ip, 4)?);
            if *ip.get(6)? != 17 {
                return None;
            }
            ip.get(40..(40 + len).min(ip.len()))?
        }
        _ => return None,
    };
    let src = be16(udp, 0)?;
    let dst = be16(udp, 2)?;
    let len = usize::from(be16(udp, 4)?);
    if len < 8 {
        return None;
    }
    Some((src, dst, udp.get(8..len.min(udp.len()))?))
}
