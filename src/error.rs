//! The crate's top-level error: one variant per layer (DESIGN.md convention 6).

/// Any error the library reports; each layer's own enum is wrapped here.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A SIP message could not be parsed.
    #[error(transparent)]
    Parse(#[from] crate::sip::msg::ParseError),
}
