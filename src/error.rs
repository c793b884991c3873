//! The crate's top-level error: one variant per layer (DESIGN.md convention 6).

/// Any error the library reports; each layer's own enum is wrapped here.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A SIP message could not be parsed (RFC 3261 §7).
    #[error(transparent)]
    Parse(#[from] crate::sip::msg::ParseError),
    /// The configuration is invalid (every error, with file:line:col).
    #[error(transparent)]
    Config(#[from] crate::config::ConfigErrors),
    /// The transaction layer refused a request or response (RFC 3261 §17).
    #[error(transparent)]
    Transaction(#[from] crate::sip::transaction::TxError),
    /// A dialog could not be formed or used (RFC 3261 §12).
    #[error(transparent)]
    Dialog(#[from] crate::sip::dialog::DialogError),
    /// Digest authentication failed to compute or parse (RFC 3261 §22).
    #[error(transparent)]
    Auth(#[from] crate::sip::auth::AuthError),
    /// The registrar could not process a REGISTER (RFC 3261 §10.3).
    #[error(transparent)]
    Register(#[from] crate::sip::registrar::RegisterError),
    /// An SDP body does not parse (RFC 8866).
    #[error(transparent)]
    Sdp(#[from] crate::sdp::ParseError),
    /// An SDP answer does not fit our offer (RFC 3264 §6).
    #[error(transparent)]
    SdpAnswer(#[from] crate::sdp::AnswerError),
    /// A media signal-processing step failed (codec, resampler, mixer).
    #[error(transparent)]
    Dsp(#[from] crate::dsp::DspError),
    /// An RTP/RTCP packet or telephone-event could not be handled (RFC 3550, RFC 4733).
    #[error(transparent)]
    Rtp(#[from] crate::rtp::RtpError),
    /// A media pipeline (transcoding, noise removal, recording tap) could
    /// not be built for a leg's formats.
    #[error(transparent)]
    Pipeline(#[from] crate::media::pipeline::PipelineError),
    /// A call recording could not be created, written or completed (CALL-REC-1).
    #[error(transparent)]
    Recorder(#[from] crate::media::recorder::RecorderError),
    /// A call-control request from the API was refused.
    #[error(transparent)]
    Control(#[from] crate::engine::ControlError),
    /// The ACD refused an event or a configuration (spec AGENT, OFFER, WRAP).
    #[error(transparent)]
    Acd(#[from] crate::acd::AcdError),
    /// The SQLite store or the CDR file failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// The driver could not bind or run.
    #[error(transparent)]
    Driver(#[from] crate::driver::DriverError),
}
