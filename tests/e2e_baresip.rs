//! End-to-end with a real softphone: two baresip 1.0.0 instances register
//! to the switch's internal profile with digest auth (the default MD5
//! challenge), one calls the other through the B2BUA, and both see the
//! call established and closed.

mod common;

use common::baresip::{Account, Baresip};
use common::*;
use std::time::Duration;

const T: Duration = Duration::from_secs(10);

#[test]
fn baresip_registers_and_calls_through_the_switch() {
    let sw = Switch::start();
    let a = Baresip::with_account(Account::demo(1003, sw.internal_addr()));
    a.wait_registered(T)
        .expect("baresip 1003 registers with the default config");
    let b = Baresip::with_account(Account::demo(1004, sw.internal_addr()));
    b.wait_registered(T)
        .expect("baresip 1004 registers with the default config");
    a.call_and_hang_up(&b, "1004", T);
    let cdrs = sw.wait_for_cdrs(1, T);
    assert_eq!(cdrs[0]["caller"], "1003");
    assert_eq!(cdrs[0]["callee"], "1004");
    assert_eq!(cdrs[0]["end_cause"], "caller_hangup");
}
