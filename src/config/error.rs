//! Configuration errors located at `file:line:column`.
//!
//! Every problem found while loading the `sip-profiles/` TOML files (syntax,
//! schema, semantic cross-checks) becomes one [`ConfigError`] that names the
//! file and the 1-based line and column of the offending TOML item, so an admin
//! can jump straight to it. Loading collects all of them into
//! [`ConfigErrors`] instead of stopping at the first (DESIGN.md convention 6:
//! structured thiserror types in the library).

use std::fmt;
use std::ops::Range;

/// What class of problem a [`ConfigError`] reports; lets callers and tests
/// tell errors apart without matching on message text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The file is not valid TOML.
    Syntax,
    /// The TOML is valid but does not fit the schema: unknown field, missing
    /// field, wrong type, unknown enum value.
    Schema,
    /// A value has the right type but is out of range or malformed (bad
    /// address, bad regex, empty port range, reject code outside 400..=699).
    InvalidValue,
    /// A name or address defined twice (extension, trunk, profile, overlapping
    /// listen addresses).
    Duplicate,
    /// A reference to something not defined (trunk, user, context, profile,
    /// environment variable).
    UnknownReference,
    /// A required file is missing or unreadable.
    Io,
    /// The configuration is valid but unsafe to run as is (demo passwords on
    /// a non-loopback address).
    Unsafe,
}

/// Where a configuration item came from: file plus 1-based line and column.
///
/// Items set from the command line use a pseudo file such as `--listen` and
/// line/column 0.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Origin {
    /// File name as given to the loader (a path for [`super::load_dir`]).
    pub file: String,
    /// 1-based line (0 when unknown).
    pub line: usize,
    /// 1-based column in characters (0 when unknown).
    pub column: usize,
}

impl Origin {
    /// Origin of byte offset `offset` in `text`, a file named `file`.
    pub fn at(file: &str, text: &str, offset: usize) -> Self {
        let (line, column) = line_col(text, offset);
        Self {
            file: file.to_owned(),
            line,
            column,
        }
    }

    /// Origin for a value given on the command line (`flag` like `--listen`).
    pub fn command_line(flag: &str) -> Self {
        Self {
            file: flag.to_owned(),
            line: 0,
            column: 0,
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// One configuration problem, displayed as `file:line:col: message`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}:{column}: {message}")]
pub struct ConfigError {
    /// File name as given to the loader.
    pub file: String,
    /// 1-based line (0 when the problem concerns the whole file or the
    /// command line).
    pub line: usize,
    /// 1-based column in characters (0 as for `line`).
    pub column: usize,
    /// Class of problem.
    pub kind: ErrorKind,
    /// Human readable explanation.
    pub message: String,
}

impl ConfigError {
    /// An error of `kind` located at `origin`.
    pub fn new(origin: &Origin, kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            file: origin.file.clone(),
            line: origin.line,
            column: origin.column,
            kind,
            message: message.into(),
        }
    }

    /// Where the error points.
    pub fn origin(&self) -> Origin {
        Origin {
            file: self.file.clone(),
            line: self.line,
            column: self.column,
        }
    }
}

/// All problems found in one load, sorted by file then position; never empty
/// when returned as an `Err`.
#[derive(Debug, Clone, PartialEq, Eq, Default, thiserror::Error)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl ConfigErrors {
    /// The individual errors.
    pub fn errors(&self) -> &[ConfigError] {
        &self.0
    }

    /// Number of errors.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there are no errors.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Sorts by file, line, column and removes exact duplicates.
    pub(crate) fn normalize(&mut self) {
        self.0
            .sort_by(|a, b| (a.file.as_str(), a.line, a.column).cmp(&(b.file.as_str(), b.line, b.column)));
        self.0.dedup();
    }
}

impl From<ConfigError> for ConfigErrors {
    fn from(e: ConfigError) -> Self {
        Self(vec![e])
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

/// 1-based (line, column) of byte `offset` in `text`; the column counts
/// characters. Offsets past the end or inside a character are clamped.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// Collects errors for one file, turning byte spans into [`Origin`]s.
pub(crate) struct Sink<'a> {
    /// File name as shown in errors.
    pub file: &'a str,
    /// Full text of the file.
    pub text: &'a str,
    /// Errors collected so far (shared across files).
    pub errors: &'a mut Vec<ConfigError>,
}

impl Sink<'_> {
    /// Origin of a byte span.
    pub fn origin(&self, span: &Range<usize>) -> Origin {
        Origin::at(self.file, self.text, span.start)
    }

    /// Records an error at `span`.
    pub fn push(&mut self, span: &Range<usize>, kind: ErrorKind, message: impl Into<String>) {
        let origin = self.origin(span);
        self.errors.push(ConfigError::new(&origin, kind, message));
    }

    /// Records an error at an already computed origin.
    pub fn push_at(&mut self, origin: &Origin, kind: ErrorKind, message: impl Into<String>) {
        self.errors.push(ConfigError::new(origin, kind, message));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_is_one_based_and_counts_chars() {
        let t = "ab\ncé d\n";
        assert_eq!(line_col(t, 0), (1, 1));
        assert_eq!(line_col(t, 3), (2, 1));
        // 'é' is two bytes; ' ' after it is column 3.
        assert_eq!(line_col(t, 6), (2, 3));
        assert_eq!(line_col(t, 999), (3, 1));
    }

    #[test]
    fn display_is_file_line_col_message() {
        let e = ConfigError::new(&Origin::at("x.toml", "a\nbc", 3), ErrorKind::Schema, "bad");
        assert_eq!(e.to_string(), "x.toml:2:2: bad");
    }
}
