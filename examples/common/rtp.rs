//! RTP and UDP basics of the load generators: 20 ms PCMU packets (RFC 3551
//! §4.5.14, 8 kHz, 160 bytes a packet) and UDP sockets with large buffers.

use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

/// 20 ms of 8 kHz G.711: 160 bytes.
pub const PAYLOAD: usize = 160;
/// An RTP packet of it: 12-byte header (RFC 3550 §5.1) and the payload.
pub const PACKET: usize = 12 + PAYLOAD;
/// One packet every 20 ms (RFC 3551 §4.5.14 default packetisation).
pub const TICK: Duration = Duration::from_millis(20);

/// A UDP socket bound to `addr`, asking for `buffer` bytes of receive and
/// send buffer (best effort: the kernel caps them at net.core.{r,w}mem_max).
pub fn udp_socket(addr: SocketAddr, buffer: Option<usize>) -> std::io::Result<UdpSocket> {
    use socket2::{Domain, Socket, Type};
    let s = Socket::new(Domain::for_address(addr), Type::DGRAM, None)?;
    if let Some(bytes) = buffer {
        let _ = s.set_recv_buffer_size(bytes);
        let _ = s.set_send_buffer_size(bytes);
    }
    s.bind(&addr.into())?;
    Ok(s.into())
}

/// The local port a socket is bound to.
pub fn port_of(s: &UdpSocket) -> Result<u16, String> {
    s.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}

/// Writes an RTP header (RFC 3550 §5.1): version 2, no marker, PCMU (pt 0).
pub fn rtp_header(out: &mut [u8], seq: u16, ts: u32, ssrc: u32) {
    out[0] = 0x80;
    out[1] = 0; // PCMU
    out[2..4].copy_from_slice(&seq.to_be_bytes());
    out[4..8].copy_from_slice(&ts.to_be_bytes());
    out[8..12].copy_from_slice(&ssrc.to_be_bytes());
}

/// Maps an I/O error to a message saying what failed.
pub fn io(what: impl std::fmt::Display) -> impl FnOnce(std::io::Error) -> String {
    move |e| format!("{what}: {e}")
}

/// Percentage of `sent` that did not arrive (`got`).
pub fn pct_lost(sent: u64, got: u64) -> f64 {
    100.0 * sent.saturating_sub(got) as f64 / sent.max(1) as f64
}

/// Fills a payload: direction, call index, packet number, then a fill that
/// depends on all three, so any altered byte is noticed.
pub fn fill(payload: &mut [u8], dir: u8, idx: u32, k: u32) {
    payload[0] = dir;
    payload[1..5].copy_from_slice(&idx.to_be_bytes());
    payload[5..9].copy_from_slice(&k.to_be_bytes());
    let seed = (idx.wrapping_mul(2_654_435_761) ^ k.wrapping_mul(40_503) ^ u32::from(dir)) as u8;
    for (i, b) in payload[9..].iter_mut().enumerate() {
        *b = seed.wrapping_add((i as u8).wrapping_mul(7));
    }
}
