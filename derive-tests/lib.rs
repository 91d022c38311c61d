//! Holds no code: the cases are in `tests/ui/`, run by `tests/derive_ui.rs`.
