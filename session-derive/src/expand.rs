//! The output for a struct that passed every check: its `SessionData` impl (how each field
//! is decoded, encoded and numbered), then the accessor type from `accessors.rs`.

use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use crate::accessors;
use crate::ast::{Field, Input};
use crate::attr::{DefaultValue, Setting};

/// Everything the derive emits for a valid struct.
pub fn expand(input: &Input) -> TokenStream {
    let session_data = impl_session_data(input);
    let fields_type = accessors::type_decl(input);
    let methods = accessors::methods(input).map(|(_, method)| method);
    let accessors = accessors::impl_block(input, methods);
    let writer_type = accessors::writer_decl(input);
    let writer = accessors::writer_impl(input);
    quote! {
        #session_data
        #fields_type
        #accessors
        #writer_type
        #writer
    }
}

fn impl_session_data(input: &Input) -> TokenStream {
    let private = input.private();
    let ident = input.ident();
    let fields_ident = input.fields_ident();
    let writer_ident = input.writer_ident();
    let fields = input.fields();
    let stored: Vec<&Field> = fields.iter().filter(|field| field.is_stored()).collect();
    let names = stored.iter().map(|field| field.storage_name());

    // Mixed-site hygiene keeps the parameter from shadowing a user's function of the same
    // name, which a `default = "stored"` calls inside `decode`.
    let stored_param = Ident::new("stored", Span::mixed_site());
    // Without stored fields, nothing is read or encoded: `_` keeps the parameters from
    // being unused.
    let decode_param = if stored.is_empty() {
        quote!(_)
    } else {
        quote!(#stored_param)
    };
    // The field's type spans the calls that need its traits, so a type that is not
    // `DeserializeOwned + Default` or `Serialize` is reported at the field; a `default`
    // path spans its call, so a missing or mistyped function is reported at the path, as
    // a plain type mismatch (`identity` pins the expected type).
    let decoded = fields.iter().map(|field| {
        let member = field.ident;
        let ty = &field.ty;
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
            #member: match #decode(#stored_param, #name) {
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
            let ty = &field.ty;
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
    let index_slot = input.index_field().and_then(|field| field.slot);
    let index_field = match index_slot {
        Some(slot) => {
            let slot = Literal::usize_unsuffixed(slot);
            quote!(::core::option::Option::Some(#slot))
        }
        None => quote!(::core::option::Option::None),
    };
    let indexed = input
        .index_field()
        .filter(|_| index_slot.is_some())
        .map(|field| {
            let index_type = field.option_inner().unwrap_or(&field.ty);
            quote! {
                #[automatically_derived]
                impl #private::IndexedSession for #ident {
                    type Index = #index_type;
                }
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

            type Writer = #writer_ident;

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

            fn writer(typed: #private::TypedRef<Self>) -> Self::Writer {
                #writer_ident(typed)
            }
        }

        #indexed
    }
}
