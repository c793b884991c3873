//! End to end: the scanners of Debian's `sipvicious` against the real
//! switch (issue 11 item 4). `svwar` finds no extension by REGISTER, INVITE
//! or OPTIONS (every user, real or not, gets the same answer); `svcrack`
//! against demo extension 1001 is tarpitted (5 guesses verified at once,
//! then one after 5 s, 10 s, ...) and gives up without the password, which
//! is in its dictionary; every failure is logged in the fixed line the
//! fail2ban filter in `examples/fail2ban/` matches.

mod common;

use common::*;
use std::process::{Command, Output};

/// Runs a sipvicious tool; a missing tool fails loudly.
fn sipvicious(tool: &str, args: &[String]) -> String {
    let out: Output = Command::new(tool).args(args).output().unwrap_or_else(|e| {
        panic!(
            "\n\n*** `{tool}` could not run ({e}). These tests need Debian's sipvicious: ***\n\
             ***     sudo apt-get install -y sipvicious                            ***\n"
        )
    });
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn target(sw: &Switch) -> Vec<String> {
    let addr = sw.internal_addr();
    vec![
        "-P".into(),
        free_port().to_string(),
        addr.ip().to_string(),
        "-p".into(),
        addr.port().to_string(),
    ]
}

#[test]
fn svwar_finds_no_extension_by_register_invite_or_options() {
    let sw = Switch::start();
    for method in ["REGISTER", "INVITE", "OPTIONS"] {
        // 1000..1003 exist; 995..999 and 1004..1005 do not.
        let mut args: Vec<String> = ["--force", "-e995-1005", "-m", method]
            .iter()
            .map(|s| s.to_string())
            .collect();
        args.extend(target(&sw));
        let out = sipvicious("svwar", &args);
        assert!(
            out.contains("found nothing"),
            "svwar {method} told extensions apart:\n{out}"
        );
        for ext in ["1000", "1001", "1002", "1003"] {
            assert!(
                !out.contains(&format!("| {ext} ")),
                "svwar {method} found {ext}:\n{out}"
            );
        }
    }
}

#[test]
fn svcrack_is_tarpitted_and_every_failure_is_logged_for_fail2ban() {
    let sw = Switch::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let dict = dir.path().join("passwords.txt");
    // 40 wrong guesses, then the right one: unthrottled it is found in
    // well under a second.
    let mut words: Vec<String> = (1..=40).map(|i| format!("guess{i}")).collect();
    words.push("demo-1001".into());
    std::fs::write(&dict, words.join("\n") + "\n").expect("dictionary");
    let mut args = vec!["-u1001".to_string(), "-d".into(), dict.display().to_string()];
    args.extend(target(&sw));
    let out = sipvicious("svcrack", &args);
    assert!(
        !out.contains("demo-1001"),
        "svcrack found the password through the tarpit:\n{out}"
    );
    let log = sw.log();
    let failures: Vec<&str> = log.lines().filter(|l| l.contains("auth failure:")).collect();
    assert!(
        (5..=8).contains(&failures.len()),
        "5 guesses at once, then one per growing delay until svcrack gives up; got {}:\n{log}",
        failures.len()
    );
    assert!(log.contains("auth tarpit: user=\"1001\" source=127.0.0.1"), "{log}");
    // The fail2ban filter's failregex matches each line (grep -E with
    // <HOST> as an IPv4 address), and picks the source.
    let filter = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/fail2ban/switchboard.conf"
    ))
    .expect("the filter");
    let failregex = filter
        .lines()
        .find_map(|l| l.strip_prefix("failregex = "))
        .expect("failregex");
    let ere = failregex
        .replace("<HOST>", "(127\\.0\\.0\\.1)")
        .replace("\\d", "[0-9]")
        .replace("\\S", "[^ ]");
    let log_file = dir.path().join("switchboard.log");
    std::fs::write(&log_file, &log).expect("log copy");
    let grep = Command::new("grep")
        .args(["-cE", &ere])
        .arg(&log_file)
        .output()
        .expect("grep");
    let matched: usize = String::from_utf8_lossy(&grep.stdout).trim().parse().unwrap_or(0);
    assert_eq!(matched, failures.len(), "every failure line matches `{ere}`");
}
