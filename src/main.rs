//! `switchboard`: run the switch, or check its configuration.

use anyhow::{anyhow, Context};
use clap::{Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use switchboard::driver::{self, RunOptions};

/// mimalloc instead of glibc malloc: under load the switch allocates and
/// frees many small objects across threads, and glibc kept the peak of
/// short-lived transaction state as resident memory (measured: 5.2 KB of
/// RSS per held dialog with glibc against 2.7 KB of live heap; see the
/// README's performance table for the figure with mimalloc).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "switchboard", version, about = "SIP/RTP softswitch with a built-in ACD")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Human,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Run the switch (on the embedded default config unless --config is given).
    Run {
        /// Config directory (like sip-profiles/).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Override a profile's listen address: PROFILE=IP:PORT (repeatable).
        #[arg(long = "sip-listen", value_parser = parse_listen)]
        sip_listen: Vec<(String, SocketAddr)>,
        /// Override the RTP port range: LO-HI.
        #[arg(long = "rtp-ports", value_parser = parse_range)]
        rtp_ports: Option<(u16, u16)>,
        /// Override the API's address (non-loopback needs TLS and no demo tokens).
        #[arg(long = "api-listen")]
        api_listen: Option<SocketAddr>,
        /// Directory for the SQLite store and cdr.jsonl.
        #[arg(long = "data-dir", default_value = "data")]
        data_dir: PathBuf,
        /// Log format.
        #[arg(long = "log-format", value_enum, default_value = "human")]
        log_format: LogFormat,
    },
    /// Validate the config; prints file:line:col: message per error.
    Check {
        /// Config directory (like sip-profiles/).
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Read an API token on stdin and print its `sha256:…` form, to store
    /// in [api] admin_tokens or acd.toml instead of the token itself.
    HashToken,
}

fn parse_listen(s: &str) -> Result<(String, SocketAddr), String> {
    let (name, addr) = s.split_once('=').ok_or("expected PROFILE=IP:PORT")?;
    let addr: SocketAddr = addr.parse().map_err(|e| format!("{addr}: {e}"))?;
    Ok((name.to_string(), addr))
}

fn parse_range(s: &str) -> Result<(u16, u16), String> {
    let (lo, hi) = s.split_once('-').ok_or("expected LO-HI")?;
    let lo: u16 = lo.parse().map_err(|e| format!("{lo}: {e}"))?;
    let hi: u16 = hi.parse().map_err(|e| format!("{hi}: {e}"))?;
    Ok((lo, hi))
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colours only on a terminal: a log file or journal gets plain lines
    // (fail2ban's filter and operators' greps read them).
    use std::io::IsTerminal;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Human => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::HashToken => hash_token(),
        Command::Check { config } => {
            let opts = RunOptions {
                config_dir: config,
                listen_overrides: Vec::new(),
                rtp_ports: None,
                api_listen: None,
                data_dir: PathBuf::from("."),
            };
            match driver::load_config(&opts) {
                Ok(_) => {
                    println!("config ok");
                    ExitCode::SUCCESS
                }
                Err(errors) => {
                    for e in errors.errors() {
                        eprintln!("{e}");
                    }
                    ExitCode::FAILURE
                }
            }
        }
        Command::Run {
            config,
            sip_listen,
            rtp_ports,
            api_listen,
            data_dir,
            log_format,
        } => {
            init_logging(log_format);
            transparent_huge_pages_off();
            let opts = RunOptions {
                config_dir: config,
                listen_overrides: sip_listen,
                rtp_ports,
                api_listen,
                data_dir,
            };
            match run(opts) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("switchboard: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

/// Turns transparent huge pages off for the switch's process (Linux
/// `prctl(PR_SET_THP_DISABLE)`; the system setting is left alone).
///
/// Measured in the 1-hour soak (issue 11 item 7, 625 calls/s): mimalloc asks
/// for huge pages on its arena, and 88 MiB of its 115 MiB resident were huge
/// pages. The kernel's khugepaged collapses partly used 2 MiB ranges into
/// whole huge pages as it passes over the process (about every 11 minutes
/// there), so RSS jumped by up to 9 MiB within one second with no
/// allocation at all, and fell back when the allocator returned parts of a
/// huge page: ±8 % of RSS that was not the switch's data, and a source of
/// stalls while pages are collapsed. Databases and caches that hold memory
/// for weeks (Redis, MongoDB) advise the same. The relay's working set is
/// small, so the TLB gains little from huge pages.
fn transparent_huge_pages_off() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: prctl(PR_SET_THP_DISABLE) takes integers only and touches
        // no memory of this process; it sets a flag on its address space.
        let rc = unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) };
        if rc != 0 {
            tracing::warn!(
                error = %std::io::Error::last_os_error(),
                "transparent huge pages could not be turned off: resident memory may jump as the kernel collapses pages"
            );
        }
    }
}

fn run(opts: RunOptions) -> anyhow::Result<()> {
    let cfg = driver::load_config(&opts).map_err(|errors| {
        let text: Vec<String> = errors.errors().iter().map(|e| e.to_string()).collect();
        anyhow!("invalid configuration:\n{}", text.join("\n"))
    })?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("tokio runtime")?;
    rt.block_on(driver::run(cfg, opts)).context("driver")
}

/// `switchboard hash-token`: one line of stdin (the token) to its
/// `sha256:<hex>` config form; refuses tokens shorter than the minimum.
fn hash_token() -> ExitCode {
    let mut line = String::new();
    if let Err(e) = std::io::stdin().read_line(&mut line) {
        eprintln!("switchboard: cannot read the token from stdin: {e}");
        return ExitCode::FAILURE;
    }
    let token = line.trim_end_matches(['\r', '\n']);
    let chars = token.chars().count();
    if chars < switchboard::config::MIN_TOKEN_CHARS {
        eprintln!(
            "switchboard: the token has {chars} characters; at least {} are needed",
            switchboard::config::MIN_TOKEN_CHARS
        );
        return ExitCode::FAILURE;
    }
    println!("{}", switchboard::config::hashed_text(token));
    ExitCode::SUCCESS
}
