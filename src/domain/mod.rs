//! The rules of custodian's world: Logto's user object and customData. Pure: no storage, no
//! screen, no I/O.

pub mod counts;
pub mod custom_data;
pub mod diff;
pub mod filter;
pub mod fold;
pub mod history;
pub mod import;
pub mod json_string;
pub mod layout_compact;
pub mod logto_row;
pub mod patch;
pub mod scan;
pub mod seal;
pub mod secrets;
pub mod shape;
pub mod synthetic;
pub mod time;
pub mod undo_plan;
pub mod user;
pub mod user_json;
pub mod user_ref;
pub(crate) mod value_path;

pub use custom_data::{CustomData, Limits, ValidationError, group_digits, human_bytes, human_bytes_apart};
pub use user::{LogtoFields, User, UserFieldError};
