//! CALL-DIAL-1: dial numbers typed by agents, normalised and validated.

use switchboard::call::dial::{DialError, DialForm, DialNumber};

fn ok(typed: &str) -> (String, DialForm) {
    let n = DialNumber::parse(typed).unwrap_or_else(|e| panic!("{typed:?} refused: {e}"));
    (n.number, n.form)
}

// spec: CALL-DIAL-1
#[test]
fn every_character_but_digits_and_plus_hash_star_colon_is_stripped() {
    assert_eq!(ok("+1 (415) 555-2671"), ("+14155552671".into(), DialForm::Us));
    assert_eq!(ok("ext. 1001"), ("1001".into(), DialForm::Local));
    assert_eq!(ok("*72#1002"), ("*72#1002".into(), DialForm::Local));
    assert_eq!(ok("+44 20 7946 0958"), ("+442079460958".into(), DialForm::E164));
    assert_eq!(ok("011 44 20 7946 0958"), ("011442079460958".into(), DialForm::Idd));
    // Only ASCII digits count: full-width digits are stripped like letters.
    assert!(matches!(
        DialNumber::parse("０１２3"),
        Err(DialError::DigitCount { digits: 1, .. })
    ));
}

// spec: CALL-DIAL-1
#[test]
fn three_to_eighteen_digits_are_accepted_and_no_more_or_fewer() {
    assert!(DialNumber::parse("100").is_ok());
    assert!(DialNumber::parse("123456789012345678").is_ok());
    assert_eq!(
        DialNumber::parse("1-2"),
        Err(DialError::DigitCount {
            typed: "1-2".into(),
            digits: 2
        })
    );
    assert!(matches!(
        DialNumber::parse("1234567890123456789"),
        Err(DialError::DigitCount { digits: 19, .. })
    ));
    // Symbols are not digits: "*#*" has none.
    assert!(matches!(
        DialNumber::parse("*#*"),
        Err(DialError::DigitCount { digits: 0, .. })
    ));
    assert!(matches!(
        DialNumber::parse("call me"),
        Err(DialError::DigitCount { digits: 0, .. })
    ));
}

// spec: CALL-DIAL-1
#[test]
fn international_and_us_forms_are_checked() {
    // E.164: country code never starts with 0, at most 15 digits.
    assert!(matches!(
        DialNumber::parse("+0441234567"),
        Err(DialError::International { .. })
    ));
    assert!(matches!(
        DialNumber::parse("+4412345678901234"),
        Err(DialError::International { .. })
    ));
    assert!(matches!(
        DialNumber::parse("011 0441234567"),
        Err(DialError::International { .. })
    ));
    // US: +1, area code and exchange start with 2-9, 10 digits after +1.
    assert!(matches!(DialNumber::parse("+1 415 555 267"), Err(DialError::Us { .. })));
    assert!(matches!(
        DialNumber::parse("+1 115 555 2671"),
        Err(DialError::Us { .. })
    ));
    assert!(matches!(
        DialNumber::parse("+1 415 155 2671"),
        Err(DialError::Us { .. })
    ));
    // '+' only at the start.
    assert!(matches!(
        DialNumber::parse("44+1234"),
        Err(DialError::MisplacedPlus { .. })
    ));
}

// spec: CALL-DIAL-1
#[test]
fn digits_after_a_colon_are_sent_after_answer_and_not_routed() {
    let n = DialNumber::parse("+1 415 555 2671 : 1234#").unwrap();
    assert_eq!(n.number, "+14155552671");
    assert_eq!(n.post_dial.as_deref(), Some("1234#"));
    assert_eq!(n.form, DialForm::Us);
    assert_eq!(n.to_string(), "+14155552671:1234#");
    // The routed part alone must have 3 to 18 digits.
    assert!(matches!(
        DialNumber::parse("12:345"),
        Err(DialError::DigitCount { digits: 2, .. })
    ));
}

#[test]
fn refusals_name_what_the_agent_typed_and_the_rule() {
    let e = DialNumber::parse("12").unwrap_err().to_string();
    assert_eq!(e, "a dial number needs 3 to 18 digits; \"12\" has 2 (CALL-DIAL-1)");
}
