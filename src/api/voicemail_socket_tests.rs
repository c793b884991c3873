//! The voicemail audio route over real loopback sockets with a scripted
//! engine task (issue 14 item 5): what the real switch only shows in a race
//! — a message whose WAV the media thread has not completed yet — is
//! checked here: 409 "still being written" while only the `.wav.part`
//! exists (and the message is not marked heard), then the WAV with
//! `audio/wav` and its Content-Length once it exists (and only then
//! `heard`); `?token=` is accepted on this route; a missing file is 404.

use super::guard::{ApiGuard, Holder, Limits, TokenTable};
use super::listener::ApiListener;
use super::{serve, ApiCommand, ApiReply, ApiRequest};
use crate::engine::desk::DeskEvent;
use crate::engine::{Requester, VoicemailCommand, VoicemailReply};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc};

const ALICE: &str = "alice-token-0123";

/// Answers where each message's audio is (`<dir>/<id>.wav`) and reports
/// each `Heard` on `heard`.
async fn scripted_engine(mut rx: mpsc::Receiver<ApiRequest>, dir: PathBuf, heard: mpsc::UnboundedSender<String>) {
    while let Some((cmd, reply)) = rx.recv().await {
        let ApiCommand::Voicemails { who, cmd } = cmd else {
            continue;
        };
        assert_eq!(who, Requester::Agent("alice".into()));
        let answer = match cmd {
            VoicemailCommand::Audio { id } => Ok(VoicemailReply::Audio {
                path: dir.join(format!("{id}.wav")),
                id,
            }),
            VoicemailCommand::Heard { id } => {
                let _ = heard.send(id);
                Ok(VoicemailReply::List(Vec::new()))
            }
            _ => Ok(VoicemailReply::List(Vec::new())),
        };
        let _ = reply.send(ApiReply::Voicemails(answer));
    }
}

async fn start(dir: PathBuf, heard: mpsc::UnboundedSender<String>) -> (SocketAddr, broadcast::Sender<DeskEvent>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = mpsc::channel(16);
    tokio::spawn(scripted_engine(rx, dir, heard));
    let guard = ApiGuard::new(
        TokenTable::from_pairs([(ALICE, Holder::Agent("alice".into()))]),
        Limits {
            requests_per_second: 1000,
            streams_per_token: 10,
            allowed_origins: Vec::new(),
            tls: false,
        },
    );
    let (events, _) = broadcast::channel::<DeskEvent>(4);
    let listener = ApiListener::start(listener, None, 64).expect("listener");
    tokio::spawn(serve(listener, tx, events.clone(), guard));
    (addr, events)
}

/// One blocking GET: (status, headers and body as text, body bytes).
fn get(addr: SocketAddr, path: &str, bearer: Option<&str>) -> (u16, String, Vec<u8>) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    let auth = bearer.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{auth}\r\n").expect("write");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read");
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("a head") + 4;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status = head.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (status, head, raw[split..].to_vec())
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.expect("blocking task")
}

#[tokio::test]
async fn audio_is_409_until_the_wav_is_complete_then_served_and_heard() {
    let dir = tempfile::tempdir().expect("dir");
    let (heard_tx, mut heard) = mpsc::unbounded_channel();
    let (addr, _events) = start(dir.path().to_path_buf(), heard_tx).await;
    let part = dir.path().join("voicemail-1-2.wav.part");
    std::fs::write(&part, b"RIFF....").expect("part");
    let (status, _, body) = blocking(move || get(addr, "/voicemails/voicemail-1-2/audio", Some(ALICE))).await;
    let text = String::from_utf8_lossy(&body).into_owned();
    assert_eq!(status, 409, "{text}");
    assert!(text.contains("still being written"), "{text}");
    assert!(heard.try_recv().is_err(), "not heard before it was served");

    let wav = b"RIFF\x24\x00\x00\x00WAVEfmt ".to_vec();
    std::fs::write(dir.path().join("voicemail-1-2.wav"), &wav).expect("wav");
    std::fs::remove_file(&part).expect("rename");
    let (status, head, body) =
        blocking(move || get(addr, &format!("/voicemails/voicemail-1-2/audio?token={ALICE}"), None)).await;
    assert_eq!(status, 200, "{head}");
    let head = head.to_ascii_lowercase();
    assert!(head.contains("content-type: audio/wav"), "{head}");
    assert!(head.contains(&format!("content-length: {}", wav.len())), "{head}");
    assert_eq!(body, wav);
    assert_eq!(heard.recv().await.as_deref(), Some("voicemail-1-2"));

    let (status, _, body) = blocking(move || get(addr, "/voicemails/voicemail-9-9/audio", Some(ALICE))).await;
    let v: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
    assert_eq!((status, v["field"].as_str()), (404, Some("id")), "{v}");
    // `?token=` is for the audio only: the list needs the header.
    let (status, _, _) = blocking(move || get(addr, &format!("/voicemails?token={ALICE}"), None)).await;
    assert_eq!(status, 401);
    assert!(heard.try_recv().is_err());
}
