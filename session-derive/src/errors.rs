//! The collector of everything wrong with one derive input. The model, the attribute parser
//! and the checks all push to it, so the user sees every mistake in one compilation rather
//! than one per round.

use std::fmt::Display;

use quote::ToTokens;

/// The errors found so far, reported together at the end.
#[derive(Default)]
pub struct Errors {
    combined: Option<syn::Error>,
}

impl Errors {
    pub fn push(&mut self, error: syn::Error) {
        match &mut self.combined {
            Some(combined) => combined.combine(error),
            None => self.combined = Some(error),
        }
    }

    /// An error spanning `tokens`, from their first token to their last.
    pub fn spanned(&mut self, tokens: impl ToTokens, message: impl Display) {
        self.push(syn::Error::new_spanned(tokens, message));
    }

    pub fn finish(self) -> syn::Result<()> {
        self.combined.map_or(Ok(()), Err)
    }
}
