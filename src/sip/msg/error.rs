//! Why a message could not be framed or validated; the `Display` text is the
//! reason phrase a UAS puts in its `400` (RFC 3261 §21.4.1).

/// A parse or validation fault, named so that the reply says what is wrong (RFC 3261 §21.4.1).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The bytes end before the message does (stream framing: read more).
    #[error("Incomplete Message")]
    Incomplete,
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

impl ParseError {
    /// The reason phrase for a 400 (or the message for a dropped response) (RFC 3261 §21.4.1).
    pub fn reason(&self) -> String {
        self.to_string()
    }
}
