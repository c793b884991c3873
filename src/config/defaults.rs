//! The default configuration embedded in the binary (`sip-profiles/`), so
//! `switchboard run` works with no files present (a demo contact center
//! included: `acd.toml`), and the load-test set (`sip-profiles/loadtest/`,
//! no `acd.toml`) for tests.

/// The files of `sip-profiles/`, as `(name, text)`.
pub const EMBEDDED: [(&str, &str); 8] = [
    (
        "sip-profiles/switchboard.toml",
        include_str!("../../sip-profiles/switchboard.toml"),
    ),
    (
        "sip-profiles/internal.toml",
        include_str!("../../sip-profiles/internal.toml"),
    ),
    (
        "sip-profiles/external.toml",
        include_str!("../../sip-profiles/external.toml"),
    ),
    (
        "sip-profiles/directory.toml",
        include_str!("../../sip-profiles/directory.toml"),
    ),
    (
        "sip-profiles/trunks.toml",
        include_str!("../../sip-profiles/trunks.toml"),
    ),
    (
        "sip-profiles/dialplan.toml",
        include_str!("../../sip-profiles/dialplan.toml"),
    ),
    ("sip-profiles/acd.toml", include_str!("../../sip-profiles/acd.toml")),
    (
        "sip-profiles/entrypoints.toml",
        include_str!("../../sip-profiles/entrypoints.toml"),
    ),
];

/// The files of `sip-profiles/loadtest/`, for tests (the binary loads them
/// from disk with `--config sip-profiles/loadtest`).
#[cfg(test)]
pub const LOADTEST: [(&str, &str); 6] = [
    (
        "sip-profiles/loadtest/switchboard.toml",
        include_str!("../../sip-profiles/loadtest/switchboard.toml"),
    ),
    (
        "sip-profiles/loadtest/internal.toml",
        include_str!("../../sip-profiles/loadtest/internal.toml"),
    ),
    (
        "sip-profiles/loadtest/external.toml",
        include_str!("../../sip-profiles/loadtest/external.toml"),
    ),
    (
        "sip-profiles/loadtest/directory.toml",
        include_str!("../../sip-profiles/loadtest/directory.toml"),
    ),
    (
        "sip-profiles/loadtest/trunks.toml",
        include_str!("../../sip-profiles/loadtest/trunks.toml"),
    ),
    (
        "sip-profiles/loadtest/dialplan.toml",
        include_str!("../../sip-profiles/loadtest/dialplan.toml"),
    ),
];
