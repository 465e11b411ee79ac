//! The trading platform port and its simulated adapter.
