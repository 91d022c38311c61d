//! What is emitted when the checks fail: the errors, plus as much of the normal output as
//! is sound, so that `Session<Visit>` and `session.views()` in the user's handlers do not
//! turn into a second wave of errors that hides the real ones.

use std::collections::HashSet;

use proc_macro2::TokenStream;
use quote::quote;
use syn::ext::IdentExt;
use syn::parse_quote;

use crate::accessors;
use crate::ast::{Input, Shape};

/// The errors, then a stub `SessionData` impl and whatever accessors can be generated.
pub fn expand(input: &Input, error: &syn::Error) -> TokenStream {
    let errors = error.to_compile_error();
    let private = input.private();
    let ident = input.ident();

    // The accessors can still be generated for a plain struct, minus any method whose
    // name clashes with an earlier one (`r#x` and `x` are one name); for anything else
    // there is nothing to access.
    let with_accessors = matches!(input.shape, Shape::Named(_)) && !input.is_generic();
    let (fields_assoc, writer_assoc, fields_items) = if with_accessors {
        let mut names = HashSet::new();
        let methods = accessors::methods(input)
            .filter(|(name, _)| names.insert(name.unraw().to_string()))
            .map(|(_, method)| method);
        let fields_ident = input.fields_ident();
        let fields_type = accessors::type_decl(input);
        let accessors = accessors::impl_block(input, methods);
        let writer_ident = input.writer_ident();
        let writer_type = accessors::writer_decl(input);
        let writer = accessors::writer_impl(input);
        (
            quote!(#fields_ident),
            quote!(#writer_ident),
            quote!(#fields_type #accessors #writer_type #writer),
        )
    } else {
        (quote!(()), quote!(()), TokenStream::new())
    };

    // `SessionData` requires `'static`; bounding every parameter keeps the stub from
    // adding lifetime errors to a generic struct.
    let mut generics = input.original.generics.clone();
    for param in &input.original.generics.params {
        let bound: syn::WherePredicate = match param {
            syn::GenericParam::Type(param) => {
                let param = &param.ident;
                parse_quote!(#param: 'static)
            }
            syn::GenericParam::Lifetime(param) => {
                let param = &param.lifetime;
                parse_quote!(#param: 'static)
            }
            syn::GenericParam::Const(_) => continue,
        };
        generics.make_where_clause().predicates.push(bound);
    }
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();

    quote! {
        #errors

        #[automatically_derived]
        impl #impl_generics #private::SessionData for #ident #ty_generics #where_clause {
            type Fields = #fields_assoc;

            type Writer = #writer_assoc;

            const FIELD_NAMES: &'static [&'static ::core::primitive::str] = &[];

            fn decode(_: &#private::StoredFields<'_>) -> Self {
                ::core::unreachable!()
            }

            fn encode_field(
                &self,
                _: ::core::primitive::usize,
            ) -> ::core::option::Option<
                ::core::result::Result<
                    ::std::vec::Vec<::core::primitive::u8>,
                    #private::serde_json::Error,
                >,
            > {
                ::core::option::Option::None
            }

            fn fields(_: #private::TypedRef<Self>) -> Self::Fields {
                ::core::unreachable!()
            }

            fn writer(_: #private::TypedRef<Self>) -> Self::Writer {
                ::core::unreachable!()
            }
        }

        #fields_items
    }
}
