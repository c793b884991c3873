//! The receiving side: one thread sweeps every party socket with
//! `recvmmsg`, reads each packet's kernel arrival time (`SO_TIMESTAMPNS`)
//! and keeps, per party, what the judge needs.

use crate::common::rtp::{PACKET, PAYLOAD};
use crate::{pack, tone_hz, Shared, CHECK_EVERY, RECV_BUF, VLEN};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use switchboard::dsp::g711::ULAW_DECODE;

/// What one party received during the hold.
#[derive(Default)]
pub(crate) struct Stream {
    /// (extended sequence number, arrival in µs from the hold's start).
    pub(crate) arrivals: Vec<(u32, i64)>,
    /// Tone amplitudes (fraction of full scale) of the checked packets,
    /// `parties` values per packet: party 0's tone first.
    pub(crate) levels: Vec<f32>,
    pub(crate) ssrc: Option<u32>,
    pub(crate) ssrc_changes: u32,
    pub(crate) highest: Option<u32>,
    /// Not a 172-byte PCMU RTP packet.
    pub(crate) bad_format: u64,
    /// Not from the switch's port for this party.
    pub(crate) from_elsewhere: u64,
    /// Packets received, all the run long (warm-up included).
    pub(crate) total: u64,
}

impl Stream {
    /// The sequence number extended past 16 bits (RFC 3550 §A.1): the
    /// value nearest the highest seen; starts at 2^16 so it never goes
    /// below zero.
    fn extend(&mut self, seq: u16) -> u32 {
        let Some(high) = self.highest else {
            let e = (1 << 16) | u32::from(seq);
            self.highest = Some(e);
            return e;
        };
        let mut e = (high & !0xffff) | u32::from(seq);
        if e + 0x8000 < high {
            e += 1 << 16;
        } else if e > high + 0x8000 && e >= 1 << 16 {
            e -= 1 << 16;
        }
        if e > high {
            self.highest = Some(e);
        }
        e
    }
}

/// `recvmmsg` buffers for [`VLEN`] datagrams with their source and
/// control (timestamp) data. The headers point into the boxed arrays.
struct Batch {
    bufs: Box<[[u8; RECV_BUF]; VLEN]>,
    names: Box<[libc::sockaddr_in; VLEN]>,
    ctrl: Box<[[u64; 8]; VLEN]>,
    iovs: Box<[libc::iovec; VLEN]>,
    hdrs: Box<[libc::mmsghdr; VLEN]>,
}

impl Batch {
    fn new() -> Batch {
        // SAFETY: all-zero is a valid value of these plain C structs.
        let zero_name: libc::sockaddr_in = unsafe { std::mem::zeroed() };
        let zero_hdr: libc::mmsghdr = unsafe { std::mem::zeroed() };
        let mut b = Batch {
            bufs: Box::new([[0u8; RECV_BUF]; VLEN]),
            names: Box::new([zero_name; VLEN]),
            ctrl: Box::new([[0u64; 8]; VLEN]),
            iovs: Box::new(
                [libc::iovec {
                    iov_base: std::ptr::null_mut(),
                    iov_len: 0,
                }; VLEN],
            ),
            hdrs: Box::new([zero_hdr; VLEN]),
        };
        for m in 0..VLEN {
            b.iovs[m] = libc::iovec {
                iov_base: b.bufs[m].as_mut_ptr().cast(),
                iov_len: RECV_BUF,
            };
            let h = &mut b.hdrs[m].msg_hdr;
            h.msg_name = (&mut b.names[m] as *mut libc::sockaddr_in).cast();
            h.msg_iov = &mut b.iovs[m];
            h.msg_iovlen = 1;
            h.msg_control = b.ctrl[m].as_mut_ptr().cast();
        }
        b
    }

    /// Takes up to [`VLEN`] waiting datagrams from `fd` without blocking;
    /// returns how many.
    fn recv(&mut self, fd: libc::c_int) -> usize {
        for h in self.hdrs.iter_mut() {
            h.msg_hdr.msg_namelen = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
            h.msg_hdr.msg_controllen = std::mem::size_of::<[u64; 8]>() as _;
            h.msg_hdr.msg_flags = 0;
            h.msg_len = 0;
        }
        // SAFETY: every header points at live buffers of the sizes it
        // states (set up in `new`, boxed so they never move).
        let r = unsafe {
            libc::recvmmsg(
                fd,
                self.hdrs.as_mut_ptr(),
                VLEN as libc::c_uint,
                libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
            )
        };
        usize::try_from(r).unwrap_or(0)
    }

    /// Datagram `m`: payload, source, arrival ([`realtime_ns`] clock) and
    /// whether it was cut short.
    fn datagram(&self, m: usize) -> (&[u8], SocketAddr, Option<i64>, bool) {
        let h = &self.hdrs[m];
        let len = (h.msg_len as usize).min(RECV_BUF);
        let name = &self.names[m];
        let src = SocketAddr::new(
            IpAddr::V4(Ipv4Addr::from(u32::from_be(name.sin_addr.s_addr))),
            u16::from_be(name.sin_port),
        );
        let mut at = None;
        // SAFETY: the kernel filled msg_control up to msg_controllen; the
        // CMSG macros stay within it.
        unsafe {
            let mut c = libc::CMSG_FIRSTHDR(&h.msg_hdr);
            while !c.is_null() {
                if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_TIMESTAMPNS {
                    let ts = std::ptr::read_unaligned(libc::CMSG_DATA(c).cast::<libc::timespec>());
                    at = Some(ts.tv_sec as i64 * 1_000_000_000 + ts.tv_nsec as i64);
                }
                c = libc::CMSG_NXTHDR(&h.msg_hdr, c);
            }
        }
        let truncated = h.msg_hdr.msg_flags & libc::MSG_TRUNC != 0;
        (&self.bufs[m][..len], src, at, truncated)
    }
}

/// Sweeps every party socket every `sweep_ms` until told to stop (then
/// once more), keeping what arrived during the hold.
pub(crate) fn receiver(socks: &[UdpSocket], shared: &Shared, parties: usize, sweep_ms: u64) -> Vec<Stream> {
    let mut streams: Vec<Stream> = (0..socks.len()).map(|_| Stream::default()).collect();
    let mut batch = Batch::new();
    let mut pcm = [0i16; PAYLOAD];
    let every = Duration::from_millis(sweep_ms.max(1));
    let start = Instant::now();
    for k in 1u32.. {
        let last = shared.stop_rx.load(Ordering::Relaxed);
        let t0 = shared.t0_ns.load(Ordering::Relaxed);
        // Mixes are checked only while every party is still sending.
        let check = shared.phase.load(Ordering::Relaxed) == 1;
        for (i, sock) in socks.iter().enumerate() {
            let st = &mut streams[i];
            let expect_from = shared.dest[i].load(Ordering::Relaxed);
            loop {
                let got = batch.recv(sock.as_raw_fd());
                for m in 0..got {
                    let (pkt, src, at, truncated) = batch.datagram(m);
                    st.total += 1;
                    let (Some(at), true) = (at, t0 != 0) else { continue };
                    if at < t0 {
                        continue;
                    }
                    if truncated || pkt.len() != PACKET || pkt[0] >> 6 != 2 || pkt[1] & 0x7f != 0 {
                        st.bad_format += 1;
                        continue;
                    }
                    if pack(src) != expect_from {
                        st.from_elsewhere += 1;
                        continue;
                    }
                    let ssrc = u32::from_be_bytes([pkt[8], pkt[9], pkt[10], pkt[11]]);
                    match st.ssrc {
                        Some(s) if s != ssrc => {
                            st.ssrc_changes += 1;
                            st.ssrc = Some(ssrc);
                        }
                        Some(_) => {}
                        None => st.ssrc = Some(ssrc),
                    }
                    let seq = st.extend(u16::from_be_bytes([pkt[2], pkt[3]]));
                    st.arrivals.push((seq, (at - t0) / 1000));
                    if check && st.arrivals.len() % CHECK_EVERY as usize == 1 {
                        for (o, &b) in pcm.iter_mut().zip(&pkt[12..]) {
                            *o = ULAW_DECODE[usize::from(b)];
                        }
                        st.levels
                            .extend((0..parties).map(|p| tone_amplitude(&pcm, tone_hz(p)) as f32));
                    }
                }
                if got < VLEN {
                    break;
                }
            }
        }
        if last {
            break;
        }
        if let Some(d) = (start + every * k).checked_duration_since(Instant::now()) {
            std::thread::sleep(d);
        }
    }
    streams
}

/// Amplitude (fraction of full scale) of the `hz` component of one 8 kHz
/// frame: the DFT bin of a tone with a whole number of cycles in the frame
/// (Goertzel), exact for the parties' tones, which are orthogonal.
fn tone_amplitude(frame: &[i16], hz: f64) -> f64 {
    let w = 2.0 * std::f64::consts::PI * hz / 8000.0;
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &x in frame {
        let s0 = f64::from(x) + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    2.0 * power.max(0.0).sqrt() / frame.len() as f64 / 32768.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TONE_DBFS;
    use switchboard::dsp::tone::{dbfs_to_amplitude, sine};

    #[test]
    fn sequence_numbers_extend_across_the_wrap() {
        let mut st = Stream::default();
        let got: Vec<u32> = [65534u16, 65535, 0, 1, 65535, 2]
            .iter()
            .map(|&s| st.extend(s))
            .collect();
        assert_eq!(got, vec![131070, 131071, 131072, 131073, 131071, 131074]);
    }

    #[test]
    fn the_tones_of_a_mix_are_measured_apart() {
        let mut mix = vec![0i32; PAYLOAD];
        for k in [0usize, 2, 7] {
            for (m, s) in mix.iter_mut().zip(sine(tone_hz(k), TONE_DBFS, 8000, PAYLOAD)) {
                *m += i32::from(s);
            }
        }
        let frame: Vec<i16> = mix.iter().map(|&s| s as i16).collect();
        let level = dbfs_to_amplitude(TONE_DBFS) / 32768.0;
        for k in 0..8 {
            let a = tone_amplitude(&frame, tone_hz(k));
            if [0, 2, 7].contains(&k) {
                assert!((a - level).abs() < 0.01 * level, "tone {k}: {a}");
            } else {
                assert!(a < 0.01 * level, "tone {k}: {a}");
            }
        }
    }
}
