//! Call-associated data of queue interactions (CAD-1..4): the variables
//! every interaction has, their values at arrival, and the desktop's error
//! for a refused save.

use super::Engine;
use crate::config::VariableDef;
use crate::sip::msg::{HeaderName, Message};
use bytes::Bytes;

/// The desktop's error for a refused data save (CAD-1..3).
pub(crate) fn cad_error(e: crate::acd::CadError) -> super::desk::DeskError {
    use super::desk::DeskError;
    use crate::acd::CadError;
    match e {
        CadError::Conflict {
            current_version,
            overwritten,
        } => DeskError::DataConflict {
            base: 0,
            current: current_version,
            overwritten: overwritten
                .into_iter()
                .map(|(n, v)| (n, v.unwrap_or_default()))
                .collect(),
        },
        CadError::FutureVersion { .. } => DeskError::Invalid {
            field: "version".into(),
            message: e.to_string(),
        },
        CadError::Unknown { ref name }
        | CadError::NotEditable { ref name }
        | CadError::Invalid { ref name, .. }
        | CadError::TooLong { ref name, .. }
        | CadError::DuplicateChange { ref name }
        | CadError::DuplicateVariable { ref name } => DeskError::Invalid {
            field: format!("values.{name}"),
            message: e.to_string(),
        },
    }
}

/// The CAD core's spec of a configured variable.
fn spec_of(def: &VariableDef) -> crate::acd::VariableSpec {
    crate::acd::VariableSpec {
        name: def.name.clone(),
        ty: def.var_type,
        editable: def.editable,
        secure: def.secure,
    }
}

impl Engine {
    /// CAD-1: the variables of every interaction: the built-ins (read-only
    /// strings) then the configured ones. `queue` is the queue the caller
    /// entered and stays so after an overflow (the agent sees where the
    /// call came from; the interaction's current queue is in its view).
    /// Call data of an interaction no INVITE brought (a callback, a
    /// voicemail work item): the built-ins given, the others' defaults.
    pub(super) fn builtin_data(
        &self,
        caller_number: &str,
        caller_name: &str,
        dnis: &str,
        queue: &str,
    ) -> crate::acd::InteractionData {
        let initial = [
            ("caller_number", caller_number),
            ("caller_name", caller_name),
            ("dnis", dnis),
            ("queue", queue),
        ];
        crate::acd::InteractionData::new(self.variable_specs(), &initial)
            .unwrap_or_else(|_| crate::acd::InteractionData::empty())
    }

    pub(super) fn variable_specs(&self) -> Vec<crate::acd::VariableSpec> {
        let builtin = |name: &str| crate::acd::VariableSpec {
            name: name.into(),
            ty: crate::acd::VarType::String,
            editable: false,
            secure: false,
        };
        let mut specs: Vec<_> = ["caller_number", "caller_name", "dnis", "queue"]
            .into_iter()
            .map(builtin)
            .collect();
        specs.extend(self.cfg.acd().variables.iter().map(spec_of));
        specs
    }

    /// The interaction's values at arrival (CAD-1): the built-ins, then
    /// each configured variable from its source or default. Without a
    /// queue (a caller entering an entry point), `dnis` is the number
    /// dialled and `queue` is not set yet.
    pub(super) fn initial_variables(
        &self,
        invite: &Message,
        q: Option<&crate::config::QueueSettings>,
        caller_number: &str,
        caller_name: &str,
    ) -> Vec<(String, String)> {
        use crate::config::VarSource;
        let dialled = || invite.uri().and_then(|u| u.user_unescaped()).unwrap_or_default();
        let mut vars = vec![
            ("caller_number".to_owned(), caller_number.to_owned()),
            ("caller_name".to_owned(), caller_name.to_owned()),
            ("dnis".to_owned(), q.map_or_else(dialled, |q| q.number.clone())),
        ];
        if let Some(q) = q {
            vars.push(("queue".to_owned(), q.name.clone()));
        }
        for def in &self.cfg.acd().variables {
            let from_source = def.source.as_ref().and_then(|s| match s {
                VarSource::CallerNumber => Some(caller_number.to_owned()),
                VarSource::CallerName => Some(caller_name.to_owned()),
                VarSource::Dialled => invite.uri().and_then(|u| u.user_unescaped()),
                VarSource::Queue => q.map(|q| q.name.clone()),
                VarSource::Header(h) => invite
                    .headers
                    .get(&HeaderName::from_bytes(Bytes::copy_from_slice(h.as_bytes())))
                    .map(|v| String::from_utf8_lossy(v).into_owned()),
            });
            // A value from the call that does not fit the type (CAD-1) or
            // is too long (CAD-2) is not taken: the default stands.
            let spec = spec_of(def);
            if let Some(v) = from_source
                .filter(|v| spec.validate(v).is_ok())
                .or_else(|| def.default.clone())
            {
                vars.push((def.name.clone(), v));
            }
        }
        vars
    }
}
