//! Parsing of `#[session(...)]` attributes, on the struct and on its fields.
//!
//! Only the syntax is judged here (a malformed list, a value of the wrong kind, a key given
//! twice). Whether a key belongs where it was written is for `valid.rs`, so every such
//! mistake is collected and reported together.

use syn::meta::ParseNestedMeta;
use syn::parse::Parse;
use syn::{Attribute, ExprPath, LitStr, Path, Token};

use crate::errors::Errors;

/// What the `#[session(...)]` attributes on one item say.
#[derive(Default)]
pub struct Attrs {
    /// `crate = "path"`: the root through which the generated code reaches the runtime.
    pub krate: Option<Setting<Path>>,
    /// `prefix = "ns."`: put before the storage name of every field of a struct, so that
    /// several structs can share one session.
    pub prefix: Option<Setting<LitStr>>,
    /// `rename = "name"`: the storage name of a field.
    pub rename: Option<Setting<LitStr>>,
    /// `default` or `default = "path"`: what a field holds when the store has no usable
    /// value for it.
    pub default: Option<Setting<DefaultValue>>,
    /// `skip`: a field kept for the request only, never loaded or stored.
    pub skip: Option<Path>,
    /// `index`: the field whose value groups sessions in the per-user index.
    pub index: Option<Path>,
    /// `counter`: an integer field that gets `increment_<field>`, changed on the server.
    pub counter: Option<Path>,
    /// Keys this version does not know, kept for `valid.rs` to report.
    pub unknown: Vec<Path>,
}

/// Where a field's default comes from.
pub enum DefaultValue {
    /// `default`: `Default::default()`, as without the attribute.
    Trait,
    /// `default = "path"`: a function called without arguments; the string keeps the span.
    Path(ExprPath, LitStr),
}

/// One `key = value` setting, with its key kept for error spans.
pub struct Setting<T> {
    pub key: Path,
    pub value: T,
}

/// Parses every `#[session(...)]` in `attrs`, pushing syntax errors to `errors`.
pub fn parse(attrs: &[Attribute], errors: &mut Errors) -> Attrs {
    let mut parsed = Attrs::default();
    for attr in attrs.iter().filter(|attr| attr.path().is_ident("session")) {
        let result = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("crate") {
                let value = string(&meta)?;
                let path = parse_string(
                    &value,
                    "expected a path to the runtime crate, like `crate = \"my_app::session\"`",
                )?;
                set(&mut parsed.krate, &meta, path, errors);
            } else if meta.path.is_ident("prefix") {
                let value = string(&meta)?;
                set(&mut parsed.prefix, &meta, value, errors);
            } else if meta.path.is_ident("rename") {
                let value = string(&meta)?;
                set(&mut parsed.rename, &meta, value, errors);
            } else if meta.path.is_ident("default") {
                let value = if meta.input.peek(Token![=]) {
                    let value = string(&meta)?;
                    let path = parse_string(
                        &value,
                        "expected a path to a function, like `default = \"default_views\"`",
                    )?;
                    DefaultValue::Path(path, value)
                } else {
                    DefaultValue::Trait
                };
                set(&mut parsed.default, &meta, value, errors);
            } else if meta.path.is_ident("skip") {
                if parsed.skip.is_some() {
                    errors.push(syn::Error::new_spanned(&meta.path, "duplicate `skip`"));
                }
                parsed.skip = Some(meta.path);
            } else if meta.path.is_ident("index") {
                if parsed.index.is_some() {
                    errors.push(syn::Error::new_spanned(&meta.path, "duplicate `index`"));
                }
                parsed.index = Some(meta.path);
            } else if meta.path.is_ident("counter") {
                if parsed.counter.is_some() {
                    errors.push(syn::Error::new_spanned(&meta.path, "duplicate `counter`"));
                }
                parsed.counter = Some(meta.path);
            } else {
                // Kept before its value is read, so an unknown key with a malformed value
                // is reported as unknown too.
                parsed.unknown.push(meta.path.clone());
                skip_value(&meta)?;
            }
            Ok(())
        });
        if let Err(error) = result {
            errors.push(error);
        }
    }
    parsed
}

/// The string literal after `key =`.
fn string(meta: &ParseNestedMeta) -> syn::Result<LitStr> {
    meta.value()?.parse::<LitStr>().map_err(|error| {
        syn::Error::new(
            error.span(),
            format!(
                "expected a string literal, like `{} = \"...\"`",
                key_name(&meta.path)
            ),
        )
    })
}

/// The contents of a string value parsed as Rust syntax (a path, say); `expected` is the
/// message when they are not, reported at the string.
fn parse_string<T: Parse>(value: &LitStr, expected: &str) -> syn::Result<T> {
    value
        .parse::<T>()
        .map_err(|_| syn::Error::new(value.span(), expected))
}

fn set<T>(slot: &mut Option<Setting<T>>, meta: &ParseNestedMeta, value: T, errors: &mut Errors) {
    if slot.is_some() {
        let key = key_name(&meta.path);
        errors.push(syn::Error::new_spanned(
            &meta.path,
            format!("duplicate `{key}`"),
        ));
        return;
    }
    *slot = Some(Setting {
        key: meta.path.clone(),
        value,
    });
}

/// Consumes whatever follows an unknown key (`= expr` or `(...)`), so the keys after it
/// are still read and their mistakes reported in the same compilation.
fn skip_value(meta: &ParseNestedMeta) -> syn::Result<()> {
    if meta.input.peek(Token![=]) {
        meta.value()?.parse::<syn::Expr>()?;
    } else if meta.input.peek(syn::token::Paren) {
        meta.parse_nested_meta(|nested| skip_value(&nested))?;
    }
    Ok(())
}

/// A key as the user wrote it, for messages.
pub fn key_name(path: &Path) -> String {
    let segments: Vec<String> = path
        .segments
        .iter()
        .map(|segment| segment.ident.to_string())
        .collect();
    segments.join("::")
}
