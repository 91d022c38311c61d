//! Generation: the `SessionData` impl, and the accessor type that `Session<T>`
//! dereferences to.

use proc_macro2::{Ident, Literal, TokenStream, TokenTree};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::DeriveInput;

use crate::ast::{Accessor, Field, Input};
use crate::attr::{DefaultValue, Setting};
use crate::fallback;
use crate::valid::{self, Errors};

pub fn derive(input: &DeriveInput) -> TokenStream {
    let mut errors = Errors::default();
    let input = Input::from_syn(input, &mut errors);
    valid::check(&input, &mut errors);
    match errors.finish() {
        Ok(()) => {
            let session_data = impl_session_data(&input);
            let fields_type = fields_type(&input);
            let accessors = impl_accessors(&input, accessors(&input).map(|(_, method)| method));
            quote! {
                #session_data
                #fields_type
                #accessors
            }
        }
        Err(error) => fallback::expand(&input, &error),
    }
}

fn impl_session_data(input: &Input) -> TokenStream {
    let private = input.private();
    let ident = input.ident();
    let fields_ident = input.fields_ident();
    let fields = input.fields();
    let stored: Vec<&Field> = fields.iter().filter(|field| field.is_stored()).collect();
    let names = stored.iter().map(|field| field.storage_name());

    // Without stored fields, nothing is read or encoded: `_` keeps the parameters from
    // being unused.
    let decode_param = if stored.is_empty() {
        quote!(_)
    } else {
        quote!(stored)
    };
    // The field's type spans the calls that need its traits, so a type that is not
    // `DeserializeOwned + Default` or `Serialize` is reported at the field; a `default`
    // path spans its call, so a missing or mistyped function is reported at the path, as
    // a plain type mismatch (`identity` pins the expected type).
    let decoded = fields.iter().map(|field| {
        let member = field.ident;
        let ty = field.ty;
        let default = match &field.attrs.default {
            Some(Setting {
                value: DefaultValue::Path(path, literal),
                ..
            }) => quote_spanned!(literal.span()=> ::core::convert::identity::<#ty>(#path())),
            _ => quote_spanned!(ty.span()=> <#ty as ::core::default::Default>::default()),
        };
        if !field.is_stored() {
            return quote!(#member: #default);
        }
        let name = field.storage_name();
        let decode = quote_spanned!(ty.span()=> #private::StoredFields::decode::<#ty>);
        quote! {
            #member: match #decode(stored, #name) {
                ::core::option::Option::Some(value) => value,
                ::core::option::Option::None => #default,
            }
        }
    });

    let encode_field = if stored.is_empty() {
        quote!(::core::option::Option::None)
    } else {
        let arms = stored.iter().filter_map(|field| {
            let index = Literal::usize_unsuffixed(field.slot?);
            let member = field.ident;
            let ty = field.ty;
            let encode = quote_spanned!(ty.span()=> #private::encode_value::<#ty>);
            Some(quote!(#index => ::core::option::Option::Some(#encode(&self.#member))))
        });
        quote! {
            match index {
                #(#arms,)*
                _ => ::core::option::Option::None,
            }
        }
    };
    // The index field's slot; `check_index` made sure it is stored.
    let index_slot = fields
        .iter()
        .find(|field| field.attrs.index.is_some())
        .and_then(|field| field.slot);
    let index_field = match index_slot {
        Some(slot) => {
            let slot = Literal::usize_unsuffixed(slot);
            quote!(::core::option::Option::Some(#slot))
        }
        None => quote!(::core::option::Option::None),
    };
    let indexed = index_slot.map(|_| {
        quote! {
            #[automatically_derived]
            impl #private::IndexedSession for #ident {}
        }
    });
    let index_param = if stored.is_empty() {
        quote!(_)
    } else {
        quote!(index)
    };

    quote! {
        #[automatically_derived]
        impl #private::SessionData for #ident {
            type Fields = #fields_ident;

            const FIELD_NAMES: &'static [&'static ::core::primitive::str] = &[#(#names),*];

            const INDEX_FIELD: ::core::option::Option<::core::primitive::usize> = #index_field;

            fn decode(#decode_param: &#private::StoredFields<'_>) -> Self {
                Self {
                    #(#decoded,)*
                }
            }

            fn encode_field(
                &self,
                #index_param: ::core::primitive::usize,
            ) -> ::core::option::Option<
                ::core::result::Result<
                    ::std::vec::Vec<::core::primitive::u8>,
                    #private::serde_json::Error,
                >,
            > {
                #encode_field
            }

            fn fields(typed: #private::TypedRef<Self>) -> Self::Fields {
                #fields_ident(typed)
            }
        }

        #indexed
    }
}

/// The accessor type, declared with the visibility of the struct.
pub fn fields_type(input: &Input) -> TokenStream {
    let private = input.private();
    let ident = input.ident();
    let vis = &input.original.vis;
    let fields_ident = input.fields_ident();
    let doc = format!(
        " Typed access to the fields of `{ident}`, which `Session<{ident}>` dereferences to: \
         per field, a getter that borrows it, a `set_` method that replaces it and an \
         `update_` method that changes it in place.\n\n Only the fields changed through \
         `set_` and `update_` methods (or `Session::modify`) are written back to the store. \
         Generated by `#[derive(SessionData)]`."
    );
    quote! {
        #[doc = #doc]
        #vis struct #fields_ident(#private::TypedRef<#ident>);
    }
}

/// Every accessor method, with its name. The fallback drops the ones whose names clash,
/// which is why they are produced one by one.
pub fn accessors<'a>(input: &'a Input) -> impl Iterator<Item = (Ident, TokenStream)> + 'a {
    let private = input.private();
    let vis = &input.original.vis;
    let output = output_param(input);
    input.fields().iter().flat_map(move |field| {
        let member = field.ident;
        let name = member.unraw();
        let ty = field.ty;
        // A `skip` field changes in memory only: nothing is marked, nothing is written.
        let update = move |change: TokenStream| match field.slot {
            Some(slot) => {
                let index = Literal::usize_unsuffixed(slot);
                quote!(self.0.update(#index, #change))
            }
            None => quote!(self.0.update_unstored(#change)),
        };
        let saved = if field.is_stored() {
            "saved when the response is sent"
        } else {
            "kept for this request only (`skip`)"
        };
        Accessor::ALL.map(|accessor| {
            let method = field.method(accessor);
            let tokens = match accessor {
                Accessor::Getter => {
                    let doc = format!(" Borrows `{name}`, without copying it.");
                    let mut field_docs = field.docs().peekable();
                    let separator = field_docs.peek().map(|_| quote!(#[doc = ""]));
                    quote! {
                        #[doc = #doc]
                        #separator
                        #(#field_docs)*
                        #[must_use]
                        #vis fn #method(&self) -> #private::Ref<'_, #ty> {
                            self.0.get(|data| &data.#member)
                        }
                    }
                }
                Accessor::Setter => {
                    let body = update(quote!(move |data| data.#member = value));
                    let doc = format!(" Replaces `{name}`; the new value is {saved}.");
                    quote! {
                        #[doc = #doc]
                        #vis fn #method(&mut self, value: #ty) {
                            #body;
                        }
                    }
                }
                Accessor::Updater => {
                    let body = update(quote!(move |data| change(&mut data.#member)));
                    let doc = format!(
                        " Changes `{name}` in place and returns what `change` returns; the \
                         field is {saved}."
                    );
                    quote! {
                        #[doc = #doc]
                        #vis fn #method<#output>(
                            &mut self,
                            change: impl ::core::ops::FnOnce(&mut #ty) -> #output,
                        ) -> #output {
                            #body
                        }
                    }
                }
            };
            (method, tokens)
        })
    })
}

/// The `impl` block holding `methods`, if there are any.
pub fn impl_accessors(input: &Input, methods: impl Iterator<Item = TokenStream>) -> TokenStream {
    let mut methods = methods.peekable();
    if methods.peek().is_none() {
        return TokenStream::new();
    }
    let fields_ident = input.fields_ident();
    // A program rarely uses every generated method; the ones it leaves unused are not
    // the user's dead code.
    quote! {
        #[automatically_derived]
        #[allow(dead_code)]
        impl #fields_ident {
            #(#methods)*
        }
    }
}

/// The name of the updaters' return type parameter: `R`, unless a field's type names an
/// `R` of the user's that the parameter would shadow.
fn output_param(input: &Input) -> Ident {
    let shadows = input
        .fields()
        .iter()
        .any(|field| mentions(field.ty.to_token_stream(), "R"));
    if shadows {
        format_ident!("__R")
    } else {
        format_ident!("R")
    }
}

fn mentions(tokens: TokenStream, name: &str) -> bool {
    tokens.into_iter().any(|tree| match tree {
        TokenTree::Ident(ident) => ident == name,
        TokenTree::Group(group) => mentions(group.stream(), name),
        TokenTree::Punct(_) | TokenTree::Literal(_) => false,
    })
}
