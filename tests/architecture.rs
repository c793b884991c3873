//! DESIGN.md convention 1, as a test: the pure modules never name the
//! clock, sockets, files, the database, tokio or the store, and no lower
//! layer imports a higher one. It reads `src/` as text (comments left out),
//! so a violation fails CI with the file, line and what it named.
//!
//! One deliberate refinement of the convention's list: `std::net` address
//! *values* (`SocketAddr`, `IpAddr`) are data that SIP and SDP carry, so
//! only the socket types (`UdpSocket`, `TcpStream`, `TcpListener`) are
//! forbidden. Unit-test files inside a pure module (`tests.rs`,
//! `*_tests.rs`, `tests/` directories) may use temp files.

use std::fs;
use std::path::{Path, PathBuf};

/// Directories (under `src/`) of pure, sans-IO modules.
const PURE: &[&str] = &[
    "sip",
    "sdp",
    "rtp",
    "webrtc",
    "dsp",
    "call",
    "acd",
    "flow",
    "engine",
    "records",
    "ids.rs",
    "time.rs",
    "media/mixer",
    "media/session/core.rs",
    "media/session/conference.rs",
    "media/session/leg.rs",
    "media/session/reports.rs",
    "media/session/transmit.rs",
    "media/session/webrtc.rs",
];

/// Names a pure module must not use.
const FORBIDDEN: &[&str] = &[
    "Instant::now",
    "SystemTime::now",
    "tokio",
    "std::fs",
    "UdpSocket",
    "TcpStream",
    "TcpListener",
    "rusqlite",
    "crate::store",
    "crate::driver",
    "crate::api",
];

/// Layer rules: files under the first path must not import the modules listed.
const LAYERS: &[(&str, &[&str])] = &[
    ("sip", &["crate::call", "crate::acd", "crate::engine", "crate::media"]),
    ("sdp", &["crate::call", "crate::acd", "crate::engine", "crate::media"]),
    ("rtp", &["crate::call", "crate::acd", "crate::engine", "crate::media"]),
    (
        "webrtc",
        &[
            "crate::call",
            "crate::acd",
            "crate::engine",
            "crate::media",
            "crate::sip",
        ],
    ),
    (
        "dsp",
        &[
            "crate::call",
            "crate::acd",
            "crate::engine",
            "crate::media",
            "crate::sip",
        ],
    ),
    (
        "records",
        &["crate::call", "crate::acd", "crate::engine", "crate::media"],
    ),
    ("acd", &["crate::call", "crate::engine", "crate::media", "crate::sip"]),
    ("flow", &["crate::call", "crate::engine", "crate::media", "crate::sip"]),
    ("call", &["crate::engine", "crate::acd"]),
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

fn is_test_file(p: &Path) -> bool {
    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name == "tests.rs" || name.ends_with("_tests.rs") || p.components().any(|c| c.as_os_str() == "tests")
}

/// The file's code lines (1-based numbers), comments and everything from
/// the first `#[cfg(test)]` on left out.
fn code_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let t = line.trim_start();
        if t.starts_with("#[cfg(test)]") {
            break;
        }
        if t.starts_with("//") {
            continue;
        }
        let code = match line.find("//") {
            Some(i) if !line[..i].contains('"') => &line[..i],
            _ => line,
        };
        out.push((n + 1, code.to_owned()));
    }
    out
}

fn pure_files() -> Vec<(String, PathBuf)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    for m in PURE {
        let p = src.join(m);
        let mut found = Vec::new();
        if p.is_dir() {
            rust_files(&p, &mut found);
        } else {
            found.push(p);
        }
        files.extend(
            found
                .into_iter()
                .filter(|f| !is_test_file(f))
                .map(|f| (m.to_string(), f)),
        );
    }
    files
}

#[test]
fn pure_modules_name_no_clock_socket_file_database_or_store() {
    let mut found = Vec::new();
    let files = pure_files();
    assert!(
        files.len() > 50,
        "src/ not found or nearly empty: {} files",
        files.len()
    );
    for (_, f) in &files {
        let text = fs::read_to_string(f).expect("readable source");
        for (n, line) in code_lines(&text) {
            for bad in FORBIDDEN {
                if line.contains(bad) {
                    found.push(format!("{}:{n}: names `{bad}`", f.display()));
                }
            }
        }
    }
    assert!(found.is_empty(), "DESIGN.md convention 1:\n{}", found.join("\n"));
}

#[test]
fn no_lower_layer_imports_a_higher_one() {
    let mut found = Vec::new();
    for (module, f) in pure_files() {
        let Some((_, banned)) = LAYERS.iter().find(|(m, _)| *m == module) else {
            continue;
        };
        let text = fs::read_to_string(&f).expect("readable source");
        for (n, line) in code_lines(&text) {
            for bad in *banned {
                if line.contains(bad) {
                    found.push(format!("{}:{n}: `{module}` names `{bad}`", f.display()));
                }
            }
        }
    }
    assert!(found.is_empty(), "layering (DESIGN.md):\n{}", found.join("\n"));
}

/// The check itself works: a line naming the clock is caught, a comment is not.
#[test]
fn the_scanner_sees_code_and_skips_comments() {
    let text = "// Instant::now in a comment\nlet t = Instant::now(); // now\n#[cfg(test)]\nInstant::now();";
    let lines = code_lines(text);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0].0, 2);
    assert!(lines[0].1.contains("Instant::now"));
}
