//! The request limits every route shares. A leaf module: the extractors, the status mapping and
//! the router all read it, and it imports none of them.

/// Bodies larger than this are refused with 413.
pub const MAX_BODY_BYTES: usize = 256 * 1024;
