//! What the bundle reader reports: an error that stops the container, or a warning about a
//! setting zelle reads but cannot honour. Both name the field of config.json at fault.

use std::fmt;

/// A config.json zelle refuses to run.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BundleError {
    /// The bytes are not JSON, or not a JSON object.
    #[error("config.json: {0}")]
    Syntax(String),
    /// A field with a value zelle cannot accept.
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
}

impl BundleError {
    pub(crate) fn invalid(field: impl Into<String>, reason: impl fmt::Display) -> Self {
        BundleError::Invalid {
            field: field.into(),
            reason: reason.to_string(),
        }
    }

    /// The field at fault, as a path into config.json (`mounts[2].destination`), or
    /// `config.json` for a syntax error.
    pub fn field(&self) -> &str {
        match self {
            BundleError::Syntax(_) => "config.json",
            BundleError::Invalid { field, .. } => field,
        }
    }
}

/// A setting zelle read and will not (or cannot) carry out: the container runs without it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warning {
    /// A path into config.json, such as `linux.seccomp` or `mounts[4]`.
    pub field: String,
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// The warnings of one reading, in the order the fields were read.
#[derive(Debug, Default)]
pub(crate) struct Warnings(pub(crate) Vec<Warning>);

impl Warnings {
    pub(crate) fn add(&mut self, field: impl Into<String>, message: impl fmt::Display) {
        self.0.push(Warning {
            field: field.into(),
            message: message.to_string(),
        });
    }
}

/// Why a runtime step failed. Each names what the user asked for: the container, and the
/// field of config.json or the step at fault.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("container {id:?}: {source}")]
    Bundle { id: String, source: BundleError },
    #[error(transparent)]
    JailName(#[from] crate::runtime::jail::JailNameError),
    #[error("container {id:?}: {field}: {source}")]
    Mountpoint {
        id: String,
        field: String,
        source: crate::runtime::mountpoint::MountpointError,
    },
    /// A field zelle refuses at this step (a root mount of an unknown type, say).
    #[error("container {id:?}: {reason}")]
    Refused { id: String, reason: String },
    #[error("container {id:?}: {during}: {source}")]
    Kernel {
        id: String,
        during: String,
        source: crate::kernel::KernelError,
    },
    #[error("container {id:?}: network: {source}")]
    Network {
        id: String,
        source: Box<crate::network::NetworkError>,
    },
    #[error(transparent)]
    Store(#[from] crate::runtime::state::StoreError),
    #[error("container {0:?} does not exist")]
    NotFound(String),
    #[error("container {id:?} has no process {exec_id:?}")]
    NoProcess { id: String, exec_id: String },
    #[error("container {id:?} is {status}, and {action} needs it {wanted}")]
    WrongState {
        id: String,
        status: &'static str,
        action: &'static str,
        wanted: &'static str,
    },
    #[error("container {id:?}: {first}; undoing it left behind: {}", leftovers.join("; "))]
    UndoIncomplete {
        id: String,
        first: Box<RuntimeError>,
        leftovers: Vec<String>,
    },
    #[error("container {id:?}: delete left behind: {}", leftovers.join("; "))]
    TeardownIncomplete { id: String, leftovers: Vec<String> },
}
