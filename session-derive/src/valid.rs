//! Every check of meaning, in one place. Each finds all of its mistakes rather than the
//! first, so a user fixes a struct in one round instead of one error per compilation.

use std::collections::HashMap;

use quote::quote;
use syn::ext::IdentExt;

use crate::ast::{Accessor, Field, Input, Shape};
use crate::attr::{key_name, Attrs};
use crate::errors::Errors;

/// Names reachable as methods on `Session<T>` itself, or on a `&Session<T>` a helper
/// takes, found before the generated accessors that `Session<T>` dereferences to, with
/// what each is.
const SESSION_METHODS: &[(&str, &str)] = &[
    ("is_new", "`Session::is_new`"),
    ("renew", "`Session::renew`"),
    ("purge", "`Session::purge`"),
    ("read", "`Session::read`"),
    ("modify", "`Session::modify`"),
    ("into", "`Into::into`, which every type has"),
    ("try_into", "`TryInto::try_into`, which every type has"),
    (
        "clone",
        "`Clone::clone` on a `&Session<T>`, which every reference has",
    ),
    (
        "clone_from",
        "`Clone::clone_from` on a `&Session<T>`, which every reference has",
    ),
    (
        "to_owned",
        "`ToOwned::to_owned` on a `&Session<T>`, which every reference has",
    ),
    (
        "clone_into",
        "`ToOwned::clone_into` on a `&Session<T>`, which every reference has",
    ),
];

/// Names `Session<T>` has as methods only when `T` has an `index` field (it is then
/// `IndexedSession`), so only such a struct must keep its fields off them.
const INDEXED_SESSION_METHODS: &[(&str, &str)] = &[
    (
        "sessions",
        "`Session::sessions`, which exists for a struct with an `index` field",
    ),
    (
        "end_other_sessions",
        "`Session::end_other_sessions`, which exists for a struct with an `index` field",
    ),
    (
        "end_all_sessions",
        "`Session::end_all_sessions`, which exists for a struct with an `index` field",
    ),
];

pub fn check(input: &Input, errors: &mut Errors) {
    if !check_shape(input, errors) {
        return;
    }
    check_generics(input, errors);
    check_struct_attrs(input, errors);
    let indexed = input.index_field().is_some();
    for field in input.fields() {
        check_field_attrs(field, errors);
        check_storage_name(input, field, errors);
        check_session_methods(field, indexed, errors);
    }
    check_unique_storage_names(input.fields(), errors);
    check_index(input.fields(), errors);
    check_unique_methods(input.fields(), errors);
}

/// Whether the input is a struct with named fields; the other checks only make sense then.
fn check_shape(input: &Input, errors: &mut Errors) -> bool {
    const MESSAGE: &str = "SessionData can only be derived for structs with named fields";
    let ident = input.ident();
    match &input.shape {
        Shape::Named(_) => return true,
        Shape::Tuple(fields) => errors.spanned(quote!(#ident #fields), MESSAGE),
        Shape::Unit => errors.spanned(ident, MESSAGE),
        Shape::Enum(data) => {
            let keyword = data.enum_token;
            errors.spanned(quote!(#keyword #ident), MESSAGE);
        }
        Shape::Union(data) => {
            let keyword = data.union_token;
            errors.spanned(quote!(#keyword #ident), MESSAGE);
        }
    }
    false
}

fn check_generics(input: &Input, errors: &mut Errors) {
    if input.is_generic() {
        let generics = &input.original.generics;
        let where_clause = &generics.where_clause;
        errors.spanned(
            quote!(#generics #where_clause),
            "SessionData cannot be derived for generic structs yet: \
             give the session its own struct with concrete field types",
        );
    }
}

fn check_struct_attrs(input: &Input, errors: &mut Errors) {
    let attrs = &input.attrs;
    check_unknown_keys(
        attrs,
        "on a struct, `crate = \"...\"` and `prefix = \"...\"` are supported",
        errors,
    );
    if let Some(rename) = &attrs.rename {
        errors.spanned(
            &rename.key,
            "`rename` goes on a field, to change the name it is stored under",
        );
    }
    if let Some(default) = &attrs.default {
        errors.spanned(
            &default.key,
            "`default` goes on a field, to choose the value it takes when the store has none",
        );
    }
    if let Some(skip) = &attrs.skip {
        errors.spanned(skip, "`skip` goes on a field, to keep it out of the store");
    }
    if let Some(index) = &attrs.index {
        errors.spanned(
            index,
            "`index` goes on a field, to group sessions by its value (the user id, say)",
        );
    }
    if let Some(counter) = &attrs.counter {
        errors.spanned(
            counter,
            "`counter` goes on an integer field, to change it on the server with `increment_<field>`",
        );
    }
    if let Some(prefix) = &attrs.prefix {
        if prefix.value.value().starts_with("__") {
            errors.push(syn::Error::new(
                prefix.value.span(),
                "a prefix that starts with `__` would put every field in the names reserved \
                 for the session's own metadata",
            ));
        }
    }
}

fn check_field_attrs(field: &Field, errors: &mut Errors) {
    let attrs = &field.attrs;
    check_unknown_keys(
        attrs,
        "on a field, `rename = \"...\"`, `default`, `default = \"...\"`, `skip`, `index` and \
         `counter` are supported",
        errors,
    );
    if let Some(krate) = &attrs.krate {
        errors.spanned(&krate.key, "`crate` goes on the struct, not on a field");
    }
    if let Some(prefix) = &attrs.prefix {
        errors.spanned(&prefix.key, "`prefix` goes on the struct, not on a field");
    }
    if let (Some(_), Some(counter)) = (&attrs.skip, &attrs.counter) {
        errors.spanned(
            counter,
            "a `skip` field is never stored, so it cannot be a `counter`, which changes in the store",
        );
    }
    if let (Some(_), Some(counter)) = (&attrs.index, &attrs.counter) {
        errors.spanned(
            counter,
            "the `index` field cannot be a `counter`: it is an `Option`, and its changes move \
             the session between indexes",
        );
    }
    if let (Some(_), Some(rename)) = (&attrs.skip, &attrs.rename) {
        errors.spanned(
            &rename.key,
            "a `skip` field is never stored, so it has no storage name to `rename`",
        );
    }
}

/// Keys this version does not know; `supported` lists the ones that go where they were
/// written.
fn check_unknown_keys(attrs: &Attrs, supported: &str, errors: &mut Errors) {
    for key in &attrs.unknown {
        errors.spanned(
            key,
            format!("unknown session attribute `{}`; {supported}", key_name(key)),
        );
    }
}

/// The index field: at most one, stored, and an `Option` so that `None` (no user yet) keeps
/// the session out of the index instead of grouping every anonymous session together.
fn check_index(fields: &[Field], errors: &mut Errors) {
    let indexed: Vec<&Field> = fields
        .iter()
        .filter(|field| field.attrs.index.is_some())
        .collect();
    for extra in indexed.iter().skip(1) {
        if let Some(index) = &extra.attrs.index {
            errors.spanned(index, "only one field of a struct can be the `index`");
        }
    }
    for field in indexed {
        let Some(index) = &field.attrs.index else {
            continue;
        };
        if field.attrs.skip.is_some() {
            errors.spanned(
                index,
                "a `skip` field is never stored, so it cannot be the `index`",
            );
        } else if field.option_inner().is_none() {
            errors.spanned(
                &field.ty,
                "the `index` field must be an `Option<_>`: `None` keeps a session out of the index",
            );
        }
    }
}

fn check_storage_name(input: &Input, field: &Field, errors: &mut Errors) {
    if !field.is_stored() {
        return;
    }
    let prefix_reserved = input
        .attrs
        .prefix
        .as_ref()
        .is_some_and(|prefix| prefix.value.value().starts_with("__"));
    let name = field.storage_name();
    if field.unprefixed_name().is_empty() {
        errors.push(syn::Error::new(
            field.storage_span(),
            "a field's storage name cannot be empty",
        ));
    } else if name.starts_with("__") && !prefix_reserved {
        errors.push(syn::Error::new(
            field.storage_span(),
            format!(
                "storage name `{name}` starts with `__`, which is reserved for the session's \
                 own metadata; choose another with #[session(rename = \"...\")]"
            ),
        ));
    }
}

/// A field whose getter `Session<T>` would hide: by `SESSION_METHODS` always, by
/// `INDEXED_SESSION_METHODS` when the struct has an `index` field (`indexed`).
fn check_session_methods(field: &Field, indexed: bool, errors: &mut Errors) {
    let getter = field.ident.unraw().to_string();
    let indexed_methods: &[(&str, &str)] = if indexed {
        INDEXED_SESSION_METHODS
    } else {
        &[]
    };
    let mut methods = SESSION_METHODS.iter().chain(indexed_methods);
    if let Some((name, what)) = methods.find(|(name, _)| *name == getter) {
        errors.spanned(
            field.ident,
            format!(
                "a field named `{name}` would have its getter hidden by {what}; rename the \
                 field, and keep its storage name with #[session(rename = \"{name}\")] if needed"
            ),
        );
    }
}

/// Only within the struct: two structs over one session that store a field under the same
/// name share that field, which `prefix` avoids; no macro can see the other structs.
fn check_unique_storage_names(fields: &[Field], errors: &mut Errors) {
    let mut seen: HashMap<String, &Field> = HashMap::new();
    for field in fields.iter().filter(|field| field.is_stored()) {
        let name = field.storage_name();
        if let Some(first) = seen.get(&name) {
            errors.push(syn::Error::new(
                field.storage_span(),
                format!(
                    "field `{}` is stored as `{name}`, like field `{}`; give one of them \
                     another name with #[session(rename = \"...\")]",
                    field.ident, first.ident
                ),
            ));
        } else {
            seen.insert(name, field);
        }
    }
}

/// A field `set_x` next to a field `x` would need two methods named `set_x`; so would a
/// field `r#set_x`, which names the same method.
fn check_unique_methods(fields: &[Field], errors: &mut Errors) {
    let mut seen: HashMap<String, (&Field, Accessor)> = HashMap::new();
    for field in fields {
        for accessor in field.accessors() {
            let method = field.method(accessor).unraw().to_string();
            if let Some((first, first_accessor)) = seen.get(&method) {
                if first.ident != field.ident {
                    errors.spanned(
                        field.ident,
                        format!(
                            "the {} of field `{}` would be named `{method}`, like the {} of \
                             field `{}`; rename one of the fields (#[session(rename = \"...\")] \
                             keeps its storage name)",
                            accessor.describe(),
                            field.ident,
                            first_accessor.describe(),
                            first.ident,
                        ),
                    );
                }
            } else {
                seen.insert(method, (field, accessor));
            }
        }
    }
}
