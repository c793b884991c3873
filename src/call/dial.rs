//! Dial numbers typed by agents for a consult or a transfer (CALL-DIAL-1):
//! normalised and validated before anything is dialled.
//!
//! The rule: keep only digits and `+ # * :`, strip every other character
//! (spaces, dashes, dots, brackets, letters); after stripping the number
//! must have 3 to 18 digits; E.164, US and IDD forms are accepted.
//!
//! Details the rule leaves open, decided as an agent would expect:
//! - `+` is only meaningful as the first character (E.164); anywhere else
//!   the number is refused rather than silently rewritten.
//! - E.164 (`+` then a country code that does not start with 0, at most 15
//!   digits, ITU-T E.164 §6) and IDD (`011` then an E.164 number without its
//!   `+`, the North American international prefix) are checked as such.
//! - US (`+1` then a 10-digit NANP number): the area code and the exchange
//!   both start with 2–9 (NANP numbering plan); `+1` with any other length
//!   is refused, since it cannot be a US number.
//! - Anything else with 3 to 18 digits is a local form (an extension, a
//!   national number, a feature code with `*` or `#`), routed by the dial
//!   plan like a number dialled from a phone.
//! - `:` separates the number from digits to send after the far end
//!   answers (post-dial DTMF, e.g. an extension behind an IVR); only the
//!   part before the first `:` is routed, and it alone must hold 3 to 18
//!   digits.

use std::fmt;

/// The most digits a dial number may have (CALL-DIAL-1).
pub const MAX_DIGITS: usize = 18;
/// The fewest digits a dial number may have (CALL-DIAL-1).
pub const MIN_DIGITS: usize = 3;
/// E.164's maximum length of an international number, country code included.
const E164_MAX: usize = 15;

/// Which form a dial number has (CALL-DIAL-1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DialForm {
    /// `+` country code and number (ITU-T E.164).
    E164,
    /// `+1`, a 3-digit area code and a 7-digit number (NANP).
    Us,
    /// `011`, then country code and number (international dialling from NANP).
    Idd,
    /// An extension, national number or feature code, routed by the dial plan.
    Local,
}

impl DialForm {
    /// The name the API uses (`e164`, `us`, `idd`, `local`).
    pub fn name(self) -> &'static str {
        match self {
            DialForm::E164 => "e164",
            DialForm::Us => "us",
            DialForm::Idd => "idd",
            DialForm::Local => "local",
        }
    }
}

/// A normalised, valid dial number (CALL-DIAL-1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DialNumber {
    /// What is dialled: the normalised number before any `:`.
    pub number: String,
    /// Digits sent after the far end answers (after the first `:`), if any.
    pub post_dial: Option<String>,
    /// Its form.
    pub form: DialForm,
}

impl fmt::Display for DialNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.post_dial {
            Some(p) => write!(f, "{}:{p}", self.number),
            None => f.write_str(&self.number),
        }
    }
}

/// Why a dial number was refused (CALL-DIAL-1); the message is for the agent.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DialError {
    /// Fewer than 3 or more than 18 digits once stripped.
    #[error("a dial number needs 3 to 18 digits; {typed:?} has {digits} (CALL-DIAL-1)")]
    DigitCount {
        /// What the agent typed.
        typed: String,
        /// Digits it has after stripping.
        digits: usize,
    },
    /// A `+` elsewhere than at the start.
    #[error("{typed:?}: '+' is only allowed at the start of a number (CALL-DIAL-1)")]
    MisplacedPlus {
        /// What the agent typed.
        typed: String,
    },
    /// A `+` or `011` number that is not a valid E.164 number.
    #[error("{typed:?} is not a valid international number: {why} (CALL-DIAL-1)")]
    International {
        /// What the agent typed.
        typed: String,
        /// What is wrong.
        why: &'static str,
    },
    /// A `+1` number that is not a valid US number.
    #[error("{typed:?} is not a valid US number: {why} (CALL-DIAL-1)")]
    Us {
        /// What the agent typed.
        typed: String,
        /// What is wrong.
        why: &'static str,
    },
}

impl DialNumber {
    /// Normalises and validates what an agent typed (CALL-DIAL-1).
    pub fn parse(typed: &str) -> Result<DialNumber, DialError> {
        let kept: String = typed
            .chars()
            .filter(|c| c.is_ascii_digit() || matches!(c, '+' | '#' | '*' | ':'))
            .collect();
        let (number, post_dial) = match kept.split_once(':') {
            Some((n, p)) => (n.to_owned(), Some(p.to_owned()).filter(|p| !p.is_empty())),
            None => (kept, None),
        };
        if number.char_indices().any(|(i, c)| c == '+' && i > 0)
            || post_dial.as_deref().is_some_and(|p| p.contains('+'))
        {
            return Err(DialError::MisplacedPlus { typed: typed.into() });
        }
        let digits = number.chars().filter(char::is_ascii_digit).count();
        if !(MIN_DIGITS..=MAX_DIGITS).contains(&digits) {
            return Err(DialError::DigitCount {
                typed: typed.into(),
                digits,
            });
        }
        let form = classify(typed, &number)?;
        Ok(DialNumber {
            number,
            post_dial,
            form,
        })
    }
}

fn classify(typed: &str, number: &str) -> Result<DialForm, DialError> {
    let intl = |why| DialError::International {
        typed: typed.into(),
        why,
    };
    if let Some(rest) = number.strip_prefix('+') {
        check_e164(rest).map_err(intl)?;
        if let Some(national) = rest.strip_prefix('1') {
            check_nanp(national).map_err(|why| DialError::Us {
                typed: typed.into(),
                why,
            })?;
            return Ok(DialForm::Us);
        }
        return Ok(DialForm::E164);
    }
    if let Some(rest) = number.strip_prefix("011") {
        check_e164(rest).map_err(intl)?;
        return Ok(DialForm::Idd);
    }
    Ok(DialForm::Local)
}

/// Country code and number: digits only, not starting with 0, at most 15.
fn check_e164(rest: &str) -> Result<(), &'static str> {
    if !rest.chars().all(|c| c.is_ascii_digit()) {
        return Err("only digits may follow the international prefix");
    }
    if rest.starts_with('0') {
        return Err("a country code never starts with 0");
    }
    if rest.len() > E164_MAX {
        return Err("more than 15 digits");
    }
    if rest.len() < MIN_DIGITS {
        return Err("too short");
    }
    Ok(())
}

/// A NANP number after `+1`: area code and exchange start with 2–9.
fn check_nanp(national: &str) -> Result<(), &'static str> {
    let d = national.as_bytes();
    if d.len() != 10 {
        return Err("+1 is followed by a 3-digit area code and a 7-digit number");
    }
    if !(b'2'..=b'9').contains(&d[0]) {
        return Err("an area code starts with 2 to 9");
    }
    if !(b'2'..=b'9').contains(&d[3]) {
        return Err("a local number starts with 2 to 9");
    }
    Ok(())
}
