//! Why a message could not be framed or validated; the `Display` text is the
//! reason phrase a UAS puts in its `400` (RFC 3261 §21.4.1).

/// A parse or validation fault, named so that the reply says what is wrong (RFC 3261 §21.4.1).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The message exceeds the configured size limit.
    #[error("Message Too Large")]
    TooLarge,
    /// More headers than the configured limit.
    #[error("Too Many Headers")]
    TooManyHeaders,
    /// The start line is not `Method SP URI SP Version` or `Version SP Code SP Reason`.
    #[error("Malformed Start Line")]
    BadStartLine,
    /// The SIP version is not 2.0 (answered with 505).
    #[error("Version Not Supported")]
    BadVersion,
    /// The Request-URI does not parse.
    #[error("Malformed Request-URI")]
    BadRequestUri,
    /// A status code outside 100..=699 or not three digits.
    #[error("Bad Status Code")]
    BadStatusCode,
    /// A header line without a colon or with a bad name.
    #[error("Malformed Header Line")]
    BadHeaderLine,
    /// A required header is missing.
    #[error("Missing {0} Header")]
    MissingHeader(&'static str),
    /// A header that must appear once appears more than once.
    #[error("Multiple {0} Values")]
    DuplicateHeader(&'static str),
    /// A header's value does not parse.
    #[error("Malformed {0} Header")]
    BadHeader(&'static str),
    /// Content-Length is not a non-negative integer.
    #[error("Bad Content-Length")]
    BadContentLength,
    /// Content-Length says more octets than the datagram holds.
    #[error("Content-Length Exceeds Message")]
    ContentLengthTooLarge,
    /// The CSeq method differs from the request method.
    #[error("CSeq Method Mismatch")]
    CSeqMethodMismatch,
}

/// Why [`super::frame_stream`] found no message at the front of a stream
/// buffer (RFC 3261 §18.3).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The bytes end before the message does: read more.
    #[error("Incomplete Message")]
    Incomplete,
    /// The message's length cannot be known (a bad, negative or repeated
    /// Content-Length, or more than the size limit), so the stream cannot be
    /// resynchronised and the connection must close (RFC 4475 §3.1.2.3
    /// `ncl`, §3.3.9 `mcl01`). `head` is the length of its start line and
    /// header section when they arrived whole: enough (Via, From, To,
    /// Call-ID, CSeq) for a UAS to answer `400 <error>` (§8.2, §21.4.1)
    /// before closing.
    #[error("{error}")]
    Unframeable {
        /// What is wrong, the reason phrase of the answer.
        error: ParseError,
        /// Octets of start line and headers, blank line included.
        head: Option<usize>,
    },
}

impl ParseError {
    /// The reason phrase for a 400 (or the message for a dropped response) (RFC 3261 §21.4.1).
    pub fn reason(&self) -> String {
        self.to_string()
    }
}
