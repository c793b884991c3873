//! Call control from the control API (issue 3 items 4, 5 and 7): the
//! engine finds the call and hands the request to the call core
//! (`src/call/control.rs`, where the rules are: hold and music,
//! recording with pauses, CALL-HOLD-1, CALL-REC-1).

use super::{Engine, Now};
use crate::call::{CallControl, ControlError};
use crate::ids::CallRef;

impl Engine {
    /// Applies a control request to live call `call` at `now`; the call's
    /// summary after the change.
    pub fn control(&mut self, now: Now, call: u64, cmd: CallControl) -> Result<super::CallSummary, ControlError> {
        let id = CallRef(call);
        self.with_call(now, id, |c, ctx| c.control(ctx, cmd))
            .ok_or(ControlError::NoSuchCall(call))??;
        self.last_now = Some(now);
        self.calls_snapshot()
            .into_iter()
            .find(|c| c.id == call)
            .ok_or(ControlError::NoSuchCall(call))
    }
}
