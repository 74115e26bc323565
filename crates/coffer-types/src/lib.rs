//! Shared vocabulary of every coffer layer: account ids, regions, ARNs and the wrapper that every
//! secret byte travels in.
//!
//! Nothing here does I/O. The types are small and strict so that a value which exists is a value
//! which is valid (an [`AccountId`] is always 12 digits).

mod arn;
mod ids;
mod secret;

pub use arn::{Arn, ArnError};
pub use ids::{AccountId, IdError, Region};
pub use secret::SecretBytes;
