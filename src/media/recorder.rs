//! Call recorder file writer (issue 3 item 5; spec CALL-REC-1): the I/O part
//! of recording. The signalling engine decides *whether* a call is recorded
//! (the queue says so), keeps the pause timing (auto-resume after the
//! admin-set duration, refusal during consult or conference per CALL-REC-2,
//! pause spans for the CDR); the media session only tells a [`Recorder`]
//! whether it is paused and hands it 20 ms of audio per side every 20 ms.
//!
//! What this module guarantees:
//!
//! - **Layout.** 8 kHz 16-bit PCM WAV, either [`RecordingLayout::Stereo`]
//!   (customer left, the other side right) or [`RecordingLayout::Mixed`]
//!   (one channel, both sides summed with saturation).
//! - **Paused audio is never written (CALL-REC-1).** While paused, silence is
//!   written in place of both sides, so the recording keeps the call's
//!   timeline (a pause span in the CDR is the same span in the file) and the
//!   paused samples never reach the disk, not even in a buffer.
//! - **Temp name, rename when complete.** A recording is written to
//!   `<dir>/<name>.wav.part`; [`Recorder::finish`] completes the header,
//!   fsyncs, renames it to `<dir>/<name>.wav` and fsyncs the directory. A
//!   finished `.wav` is never overwritten: [`Recorder::create`] refuses a
//!   name whose `.wav` or `.wav.part` already exists
//!   ([`RecorderError::Exists`]) rather than inventing a suffix, because the
//!   name is the caller's handle on the call (the CDR points at it) and a
//!   clash means a reused id, which must be loud.
//! - **A crash leaves a playable file.** Every [`CHECKPOINT_FRAMES`] frames
//!   (1 s) the WAV header sizes are rewritten and the buffer is handed to the
//!   OS (hound's `WavWriter::flush`), so if the process dies the `.part` is
//!   already a valid WAV of everything up to the last checkpoint. No fsync is
//!   done per checkpoint (that would cost a disk flush per call per second):
//!   a *process* crash loses at most the last second; a *power* loss may
//!   lose what the kernel had not written back, and [`recover_partials`]
//!   repairs whatever is left. Durability against power loss starts at
//!   [`Recorder::finish`].
//! - **Drop without finish** makes the `.part` valid for everything written
//!   (a checkpoint) but does **not** rename it: only a recording that was
//!   completed on purpose becomes a `.wav`; an abandoned one stays `.part`
//!   until [`recover_partials`] runs at the next startup, exactly like one
//!   left by a crash. One code path for "not completed" keeps the meaning of
//!   `.wav` simple.
//! - **Recovery.** [`recover_partials`] (at startup, before any recorder
//!   runs in that directory) fixes each `.wav.part`'s header sizes from the
//!   file length, truncating a torn last sample frame, and renames it to
//!   `.wav`.
//! - **No allocation per frame.** The file buffer (one checkpoint's worth of
//!   audio) and hound's sample buffer are allocated in [`Recorder::create`].
//!
//! All methods do blocking file I/O (short writes into the page cache per
//! frame; fsyncs only in `finish` and recovery); a caller on an async runtime
//! may move `create`/`finish`/`recover_partials` to a blocking thread.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Sample rate of every recording (G.711 narrowband), in Hz.
pub const SAMPLE_RATE: u32 = 8000;
/// Samples per side in one 20 ms frame at [`SAMPLE_RATE`].
pub const FRAME_SAMPLES: usize = 160;
/// Frames between two checkpoints (header rewritten, buffer handed to the
/// OS): 50 frames of 20 ms = 1 s of audio at most lost to a process crash.
pub const CHECKPOINT_FRAMES: u32 = 50;
/// Longest accepted recording name, in bytes (leaves room for `.wav.part`
/// under the usual 255-byte file name limit).
pub const MAX_NAME_LEN: usize = 200;

/// Suffix of a finished recording.
const WAV_SUFFIX: &str = ".wav";
/// Suffix of a recording being written (or left by a crash).
const PART_SUFFIX: &str = ".wav.part";
/// Bytes per sample (16-bit PCM).
const BYTES_PER_SAMPLE: u64 = 2;
/// Largest data chunk a WAV can describe: the RIFF size field (data + 36
/// header bytes for our 44-byte header) is a `u32`.
const MAX_DATA_BYTES: u64 = u32::MAX as u64 - 36;
/// Silence written in place of both sides while paused (CALL-REC-1).
static SILENCE: [i16; FRAME_SAMPLES] = [0; FRAME_SAMPLES];

/// How the two sides of a call are laid out in the file (CALL-REC-1; chosen
/// by config). Stereo: customer left, other side right. Mixed: one channel,
/// both summed with saturation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RecordingLayout {
    /// Two channels: the customer on the left, the other side (agent,
    /// consultee, conference) on the right.
    Stereo,
    /// One channel: customer + other side, saturating at the i16 range.
    Mixed,
}

impl RecordingLayout {
    /// Channels in the file for this layout (2 for stereo, 1 for mixed).
    pub fn channels(self) -> u16 {
        match self {
            RecordingLayout::Stereo => 2,
            RecordingLayout::Mixed => 1,
        }
    }
}

/// What went wrong while recording (CALL-REC-1) or recovering a recording.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecorderError {
    /// The recording name is not a safe file stem: it must be 1 to
    /// [`MAX_NAME_LEN`] bytes of ASCII letters, digits, `-`, `_` or `.`,
    /// and must not start with `.` (so no `..`, no hidden files, no path
    /// separators).
    #[error("invalid recording name {name:?}: {reason}")]
    InvalidName {
        /// The name as given.
        name: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// A recording with this name already exists (finished `.wav`) or is
    /// being written or awaiting recovery (`.wav.part`); it is never
    /// overwritten.
    #[error("recording {} already exists", .path.display())]
    Exists {
        /// The existing file.
        path: PathBuf,
    },
    /// A file system operation failed.
    #[error("{op} {}: {source}", .path.display())]
    Io {
        /// What was being done ("create directory", "rename", ...).
        op: &'static str,
        /// The file or directory concerned.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Writing WAV data or its header failed (hound).
    #[error("writing WAV {}: {source}", .path.display())]
    Wav {
        /// The `.wav.part` file.
        path: PathBuf,
        /// hound's error (usually an I/O error).
        source: hound::Error,
    },
    /// The recording reached the largest size a WAV file can describe
    /// (about 37 h stereo, 74 h mixed); no more frames are accepted.
    #[error("recording {} reached the WAV size limit", .path.display())]
    Full {
        /// The `.wav.part` file.
        path: PathBuf,
    },
    /// An earlier write failed, so the file's timeline can no longer be
    /// trusted to match the call's; no more frames are accepted (finish or
    /// drop the recorder).
    #[error("recording {} failed earlier; no more frames accepted", .path.display())]
    Failed {
        /// The `.wav.part` file.
        path: PathBuf,
    },
    /// A `.wav.part` file could not be recovered: its RIFF/WAVE structure
    /// is not one this module writes.
    #[error("cannot recover {}: {reason}", .path.display())]
    NotWav {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: &'static str,
    },
}

type Writer = hound::WavWriter<BufWriter<File>>;

/// Writes one call's recording (CALL-REC-1): 20 ms per side per
/// [`write_frame`](Recorder::write_frame), silence while paused, a valid
/// `.wav.part` at every checkpoint, a `.wav` after [`finish`](Recorder::finish).
///
/// Dropping it without `finish` checkpoints what was written and leaves the
/// `.part` for [`recover_partials`] (see the module docs).
pub struct Recorder {
    /// `None` only after `finish` took it.
    writer: Option<Writer>,
    /// A second handle on the `.part` file, for fsync (hound owns the first).
    file: File,
    layout: RecordingLayout,
    part: PathBuf,
    wav: PathBuf,
    paused: bool,
    /// Sample frames (one sample per channel) written.
    frames: u64,
    since_checkpoint: u32,
    failed: bool,
}

impl Recorder {
    /// Creates `<dir>/<name>.wav.part` (creating `dir` if missing), 8 kHz
    /// 16-bit PCM in `layout`, and checkpoints it at once, so even an empty
    /// recording is a valid WAV. The final file will be `<dir>/<name>.wav`.
    ///
    /// Errors: [`RecorderError::InvalidName`] unless `name` is a safe file
    /// stem; [`RecorderError::Exists`] if `<name>.wav` or `<name>.wav.part`
    /// already exists (nothing is overwritten); I/O errors.
    pub fn create(dir: &Path, name: &str, layout: RecordingLayout) -> Result<Recorder, RecorderError> {
        check_name(name)?;
        std::fs::create_dir_all(dir).map_err(|source| RecorderError::Io {
            op: "create directory",
            path: dir.to_path_buf(),
            source,
        })?;
        let wav = dir.join(format!("{name}{WAV_SUFFIX}"));
        let part = dir.join(format!("{name}{PART_SUFFIX}"));
        refuse_existing(&wav)?;
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&part)
            .map_err(|source| match source.kind() {
                std::io::ErrorKind::AlreadyExists => RecorderError::Exists { path: part.clone() },
                _ => RecorderError::Io {
                    op: "create",
                    path: part.clone(),
                    source,
                },
            })?;
        let sync = file.try_clone().map_err(|source| RecorderError::Io {
            op: "duplicate handle of",
            path: part.clone(),
            source,
        })?;
        let spec = hound::WavSpec {
            channels: layout.channels(),
            sample_rate: SAMPLE_RATE,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        // One checkpoint's worth of audio (plus the header): between
        // checkpoints nothing is written, so the file on disk only ever
        // changes at a checkpoint.
        let capacity = CHECKPOINT_FRAMES as usize * FRAME_SAMPLES * usize::from(layout.channels()) * 2 + 64;
        let wav_err = |source| RecorderError::Wav {
            path: part.clone(),
            source,
        };
        let mut writer = hound::WavWriter::new(BufWriter::with_capacity(capacity, file), spec).map_err(wav_err)?;
        // Preallocate hound's sample buffer: it is sized by the first
        // `get_i16_writer` call and reused by later ones of the same size;
        // a sample writer left unflushed writes nothing.
        {
            let _unflushed = writer.get_i16_writer(frame_samples(layout));
        }
        writer.flush().map_err(wav_err)?;
        Ok(Recorder {
            writer: Some(writer),
            file: sync,
            layout,
            part,
            wav,
            paused: false,
            frames: 0,
            since_checkpoint: 0,
            failed: false,
        })
    }

    /// Appends 20 ms: `customer` and `other` are 160 samples each at 8 kHz.
    /// While paused, silence is written instead (CALL-REC-1: paused audio
    /// never reaches the disk, and the timeline keeps its length). Every
    /// [`CHECKPOINT_FRAMES`] frames the `.part` is made a valid WAV.
    /// Allocates nothing.
    ///
    /// Errors: [`RecorderError::Full`] at the WAV size limit (nothing
    /// written); [`RecorderError::Wav`] if writing fails, after which the
    /// recorder refuses further frames ([`RecorderError::Failed`]) so the
    /// file never silently drifts from the call's timeline.
    pub fn write_frame(
        &mut self,
        customer: &[i16; FRAME_SAMPLES],
        other: &[i16; FRAME_SAMPLES],
    ) -> Result<(), RecorderError> {
        if self.failed {
            return Err(RecorderError::Failed {
                path: self.part.clone(),
            });
        }
        let block = u64::from(self.layout.channels()) * BYTES_PER_SAMPLE;
        if (self.frames + FRAME_SAMPLES as u64) * block > MAX_DATA_BYTES {
            return Err(RecorderError::Full {
                path: self.part.clone(),
            });
        }
        let Some(writer) = self.writer.as_mut() else {
            return Err(RecorderError::Failed {
                path: self.part.clone(),
            });
        };
        let (customer, other) = if self.paused {
            (&SILENCE, &SILENCE)
        } else {
            (customer, other)
        };
        let mut w = writer.get_i16_writer(frame_samples(self.layout));
        match self.layout {
            RecordingLayout::Stereo => {
                for (&left, &right) in customer.iter().zip(other.iter()) {
                    w.write_sample(left);
                    w.write_sample(right);
                }
            }
            RecordingLayout::Mixed => {
                for (&a, &b) in customer.iter().zip(other.iter()) {
                    w.write_sample(a.saturating_add(b));
                }
            }
        }
        // The whole frame goes to the buffer in one `write_all`, which is
        // smaller than the buffer: it is written entirely or not at all.
        if let Err(source) = w.flush() {
            self.failed = true;
            return Err(RecorderError::Wav {
                path: self.part.clone(),
                source,
            });
        }
        self.frames += FRAME_SAMPLES as u64;
        self.since_checkpoint += 1;
        if self.since_checkpoint >= CHECKPOINT_FRAMES {
            self.checkpoint()?;
        }
        Ok(())
    }

    /// Makes the `.part` a valid WAV of everything written so far: header
    /// sizes rewritten, buffer handed to the OS (no fsync). Done every
    /// [`CHECKPOINT_FRAMES`] frames by [`write_frame`](Self::write_frame);
    /// a caller may add one (e.g. when a pause starts). A failure marks the
    /// recorder failed.
    pub fn checkpoint(&mut self) -> Result<(), RecorderError> {
        self.since_checkpoint = 0;
        let Some(writer) = self.writer.as_mut() else {
            return Ok(());
        };
        writer.flush().map_err(|source| {
            self.failed = true;
            RecorderError::Wav {
                path: self.part.clone(),
                source,
            }
        })
    }

    /// Pauses (`true`) or resumes (`false`) recording (CALL-REC-1). The
    /// engine owns when: it refuses pauses during consult or conference
    /// (CALL-REC-2) and resumes by itself after the configured time.
    pub fn set_paused(&mut self, paused: bool) {
        self.paused = paused;
    }

    /// Whether frames are currently replaced by silence (CALL-REC-1).
    pub fn is_paused(&self) -> bool {
        self.paused
    }

    /// Sample frames (samples per channel) written so far, paused ones
    /// included: divide by [`SAMPLE_RATE`] for seconds.
    pub fn frames_written(&self) -> u64 {
        self.frames
    }

    /// Duration written so far (paused spans included).
    pub fn duration(&self) -> std::time::Duration {
        std::time::Duration::from_micros(self.frames * 1_000_000 / u64::from(SAMPLE_RATE))
    }

    /// The layout this recording was created with.
    pub fn layout(&self) -> RecordingLayout {
        self.layout
    }

    /// The temporary file being written (`<dir>/<name>.wav.part`).
    pub fn part_path(&self) -> &Path {
        &self.part
    }

    /// The file [`finish`](Self::finish) will produce (`<dir>/<name>.wav`).
    pub fn final_path(&self) -> &Path {
        &self.wav
    }

    /// Completes the recording: final header, fsync, rename `.wav.part` ->
    /// `.wav` (refused with [`RecorderError::Exists`] if a `.wav` appeared
    /// meanwhile: it is never overwritten), fsync of the directory. Returns
    /// the final path. On error the `.part` is left, valid up to what was
    /// written, for [`recover_partials`].
    pub fn finish(mut self) -> Result<PathBuf, RecorderError> {
        if let Some(writer) = self.writer.take() {
            writer.finalize().map_err(|source| RecorderError::Wav {
                path: self.part.clone(),
                source,
            })?;
        }
        self.file.sync_all().map_err(|source| RecorderError::Io {
            op: "fsync",
            path: self.part.clone(),
            source,
        })?;
        rename_no_clobber(&self.part, &self.wav)?;
        Ok(self.wav.clone())
    }
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("part", &self.part)
            .field("layout", &self.layout)
            .field("paused", &self.paused)
            .field("frames", &self.frames)
            .field("failed", &self.failed)
            .finish_non_exhaustive()
    }
}

impl Drop for Recorder {
    /// Not finished: checkpoint what was written (best effort, the `.part`
    /// stays a valid WAV) and leave the `.part` for [`recover_partials`].
    fn drop(&mut self) {
        if let Some(mut writer) = self.writer.take() {
            if let Err(e) = writer.flush() {
                tracing::warn!(path = %self.part.display(), error = %e, "unfinished recording could not be flushed");
            } else {
                tracing::warn!(path = %self.part.display(), "recording dropped unfinished; left as .part");
            }
        }
    }
}

/// Interleaved samples per frame for `layout`.
fn frame_samples(layout: RecordingLayout) -> u32 {
    FRAME_SAMPLES as u32 * u32::from(layout.channels())
}

/// A name is a safe file stem: 1..=MAX_NAME_LEN bytes of `[A-Za-z0-9._-]`,
/// not starting with `.`.
fn check_name(name: &str) -> Result<(), RecorderError> {
    let reason = if name.is_empty() {
        Some("empty")
    } else if name.len() > MAX_NAME_LEN {
        Some("too long")
    } else if name.starts_with('.') {
        Some("starts with '.'")
    } else if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        Some("only ASCII letters, digits, '-', '_' and '.' are allowed")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(RecorderError::InvalidName {
            name: name.to_owned(),
            reason,
        }),
        None => Ok(()),
    }
}

/// `Exists` if `path` exists (or cannot be checked: then an I/O error).
fn refuse_existing(path: &Path) -> Result<(), RecorderError> {
    match path.try_exists() {
        Ok(false) => Ok(()),
        Ok(true) => Err(RecorderError::Exists {
            path: path.to_path_buf(),
        }),
        Err(source) => Err(RecorderError::Io {
            op: "check",
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Renames `from` to `to` unless `to` exists, then fsyncs the directory.
/// (Check-then-rename: recordings in one directory have one writer each,
/// the process that named them.)
fn rename_no_clobber(from: &Path, to: &Path) -> Result<(), RecorderError> {
    refuse_existing(to)?;
    std::fs::rename(from, to).map_err(|source| RecorderError::Io {
        op: "rename",
        path: from.to_path_buf(),
        source,
    })?;
    sync_dir(to.parent().unwrap_or(Path::new(".")))
}

/// Makes a rename in `dir` durable (Unix; elsewhere a directory cannot be
/// opened for fsync and this does nothing).
fn sync_dir(dir: &Path) -> Result<(), RecorderError> {
    #[cfg(unix)]
    {
        let io = |source| RecorderError::Io {
            op: "fsync directory",
            path: dir.to_path_buf(),
            source,
        };
        File::open(dir).map_err(io)?.sync_all().map_err(io)?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// At startup, before any [`Recorder`] runs in `dir`: every `*.wav.part`
/// left by a crash (or a dropped recorder) is made valid — header sizes set
/// from the file length, a torn last sample frame truncated — and renamed to
/// `.wav` (never over an existing `.wav`). Returns the recovered paths.
///
/// A file that cannot be recovered (not a WAV this module writes, or its
/// `.wav` already exists) is left as it is and logged, so one bad file does
/// not stop startup; only an unreadable directory is an error. A missing
/// directory has nothing to recover.
pub fn recover_partials(dir: &Path) -> Result<Vec<PathBuf>, RecorderError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(RecorderError::Io {
                op: "read directory",
                path: dir.to_path_buf(),
                source,
            })
        }
    };
    let mut recovered = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| RecorderError::Io {
            op: "read directory",
            path: dir.to_path_buf(),
            source,
        })?;
        let path = entry.path();
        let is_part = entry.file_name().to_str().is_some_and(|n| n.ends_with(PART_SUFFIX));
        if !is_part || !entry.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        match recover_partial(&path) {
            Ok(wav) => {
                tracing::info!(path = %wav.display(), "recovered unfinished recording");
                recovered.push(wav);
            }
            Err(e) => tracing::warn!(path = %path.display(), error = %e, "unfinished recording left as is"),
        }
    }
    recovered.sort();
    Ok(recovered)
}

/// Recovers one `<name>.wav.part` (see [`recover_partials`]) into
/// `<name>.wav`, returning that path. The data chunk is taken to run to the
/// end of the file (a recorder writes nothing after it), so audio written
/// after the last checkpoint is kept.
pub fn recover_partial(part: &Path) -> Result<PathBuf, RecorderError> {
    let wav = part
        .to_str()
        .and_then(|p| p.strip_suffix(".part"))
        .filter(|p| p.ends_with(WAV_SUFFIX))
        .map(PathBuf::from)
        .ok_or_else(|| RecorderError::NotWav {
            path: part.to_path_buf(),
            reason: "name does not end in .wav.part",
        })?;
    refuse_existing(&wav)?;
    let io = |op| {
        move |source| RecorderError::Io {
            op,
            path: part.to_path_buf(),
            source,
        }
    };
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(part)
        .map_err(io("open"))?;
    let len = file.metadata().map_err(io("stat"))?.len();
    let layout = read_layout(&mut file, len).map_err(|e| match e {
        Parse::Io(source) => RecorderError::Io {
            op: "read",
            path: part.to_path_buf(),
            source,
        },
        Parse::Bad(reason) => RecorderError::NotWav {
            path: part.to_path_buf(),
            reason,
        },
    })?;
    // The RIFF size (data_start - 8 + data) must fit in a u32.
    let limit = (u64::from(u32::MAX) + 8).saturating_sub(layout.data_start);
    let avail = (len - layout.data_start).min(limit);
    let data_len = avail - avail % layout.block_align;
    // Both fit in u32: data_len <= u32::MAX - (data_start - 8).
    let riff_size = u32::try_from(layout.data_start - 8 + data_len).unwrap_or(u32::MAX);
    let data_size = u32::try_from(data_len).unwrap_or(u32::MAX);
    file.set_len(layout.data_start + data_len).map_err(io("truncate"))?;
    file.seek(SeekFrom::Start(4)).map_err(io("seek"))?;
    file.write_all(&riff_size.to_le_bytes())
        .map_err(io("write header of"))?;
    file.seek(SeekFrom::Start(layout.data_start - 4)).map_err(io("seek"))?;
    file.write_all(&data_size.to_le_bytes())
        .map_err(io("write header of"))?;
    file.sync_all().map_err(io("fsync"))?;
    drop(file);
    rename_no_clobber(part, &wav)?;
    Ok(wav)
}

/// Where the audio starts and how big one sample frame is.
struct DataLayout {
    data_start: u64,
    block_align: u64,
}

enum Parse {
    Io(std::io::Error),
    Bad(&'static str),
}

impl From<std::io::Error> for Parse {
    fn from(e: std::io::Error) -> Parse {
        Parse::Io(e)
    }
}

/// Walks the RIFF chunks to the `data` chunk (its declared size is ignored),
/// reading the `fmt ` chunk on the way: PCM (or extensible) with 1..=8
/// channels of 8/16/24/32-bit samples.
fn read_layout(file: &mut File, len: u64) -> Result<DataLayout, Parse> {
    let mut head = [0u8; 12];
    if len < 12 {
        return Err(Parse::Bad("shorter than a RIFF header"));
    }
    file.seek(SeekFrom::Start(0))?;
    file.read_exact(&mut head)?;
    if &head[0..4] != b"RIFF" || &head[8..12] != b"WAVE" {
        return Err(Parse::Bad("no RIFF/WAVE header"));
    }
    let mut pos = 12u64;
    let mut block_align = None;
    while pos + 8 <= len {
        let mut chunk = [0u8; 8];
        file.seek(SeekFrom::Start(pos))?;
        file.read_exact(&mut chunk)?;
        let size = u64::from(u32::from_le_bytes([chunk[4], chunk[5], chunk[6], chunk[7]]));
        let body = pos + 8;
        match &chunk[0..4] {
            b"fmt " => {
                if size < 16 || body + 16 > len {
                    return Err(Parse::Bad("fmt chunk too short"));
                }
                let mut fmt = [0u8; 16];
                file.read_exact(&mut fmt)?;
                let tag = u16::from_le_bytes([fmt[0], fmt[1]]);
                let channels = u16::from_le_bytes([fmt[2], fmt[3]]);
                let bits = u16::from_le_bytes([fmt[14], fmt[15]]);
                if tag != 1 && tag != 0xFFFE {
                    return Err(Parse::Bad("not PCM"));
                }
                if !(1..=8).contains(&channels) || !matches!(bits, 8 | 16 | 24 | 32) {
                    return Err(Parse::Bad("unsupported channel count or sample size"));
                }
                block_align = Some(u64::from(channels) * u64::from(bits / 8));
            }
            b"data" => {
                return match block_align {
                    Some(block_align) => Ok(DataLayout {
                        data_start: body,
                        block_align,
                    }),
                    None => Err(Parse::Bad("data chunk before fmt chunk")),
                };
            }
            _ => {}
        }
        // Chunks are padded to an even size.
        pos = body + size + (size & 1);
    }
    Err(Parse::Bad("no data chunk"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The size limit is checked before anything is written.
    #[test]
    fn full_at_wav_limit() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut rec = Recorder::create(dir.path(), "full", RecordingLayout::Stereo).expect("create");
        rec.frames = MAX_DATA_BYTES / 4 - 10;
        let frame = [1i16; FRAME_SAMPLES];
        assert!(matches!(
            rec.write_frame(&frame, &frame),
            Err(RecorderError::Full { .. })
        ));
        rec.frames = 0;
        rec.write_frame(&frame, &frame).expect("write after reset");
    }
}
