//! The derive input as this macro sees it: the struct's shape, its parsed attributes and,
//! per field, the storage name and the generated method names. The original syn nodes are
//! kept so errors and generated code carry the user's spans.

use proc_macro2::{Group, Span, TokenStream, TokenTree};
use quote::{format_ident, quote, ToTokens};
use syn::ext::IdentExt;
use syn::{Data, DeriveInput, Fields, Ident, Type};

use crate::attr::{self, Attrs};
use crate::errors::Errors;

pub struct Input<'a> {
    pub original: &'a DeriveInput,
    pub attrs: Attrs,
    pub shape: Shape<'a>,
}

/// What was derived on. Everything but `Named` is refused by `valid.rs`.
pub enum Shape<'a> {
    Named(Vec<Field<'a>>),
    Tuple(&'a syn::FieldsUnnamed),
    Unit,
    Enum(&'a syn::DataEnum),
    Union(&'a syn::DataUnion),
}

pub struct Field<'a> {
    pub original: &'a syn::Field,
    pub ident: &'a Ident,
    /// The field's type with `Self` written as the struct's name (see `naming_struct`).
    pub ty: Type,
    pub attrs: Attrs,
    /// Position among the stored fields: the index `encode_field` and the dirty marks use.
    /// `None` for a `skip` field, which is never stored.
    pub slot: Option<usize>,
    /// The struct's `prefix`, put before the storage name.
    pub prefix: String,
}

/// Which generated accessor a method name belongs to.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Accessor {
    Getter,
    Setter,
    Updater,
    /// `increment_<field>`, for a `counter` field only.
    Incrementer,
}

impl Accessor {
    pub const ALL: [Accessor; 3] = [Accessor::Getter, Accessor::Setter, Accessor::Updater];

    pub fn describe(self) -> &'static str {
        match self {
            Accessor::Getter => "getter",
            Accessor::Setter => "setter",
            Accessor::Updater => "updater",
            Accessor::Incrementer => "incrementer",
        }
    }
}

impl<'a> Input<'a> {
    /// Builds the model, collecting attribute syntax errors; never fails, so the checks
    /// and the fallback always have something to work with.
    pub fn from_syn(original: &'a DeriveInput, errors: &mut Errors) -> Self {
        let attrs = attr::parse(&original.attrs, errors);
        let prefix = attrs
            .prefix
            .as_ref()
            .map(|prefix| prefix.value.value())
            .unwrap_or_default();
        let shape = match &original.data {
            Data::Struct(data) => match &data.fields {
                Fields::Named(named) => {
                    let mut fields: Vec<Field> = named
                        .named
                        .iter()
                        .filter_map(|field| {
                            Field::from_syn(field, &original.ident, &prefix, errors)
                        })
                        .collect();
                    // Stored fields are numbered without gaps; `skip` fields take no slot.
                    let mut slots = 0..;
                    for field in fields.iter_mut().filter(|field| field.attrs.skip.is_none()) {
                        field.slot = slots.next();
                    }
                    Shape::Named(fields)
                }
                Fields::Unnamed(unnamed) => Shape::Tuple(unnamed),
                Fields::Unit => Shape::Unit,
            },
            Data::Enum(data) => Shape::Enum(data),
            Data::Union(data) => Shape::Union(data),
        };
        Input {
            original,
            attrs,
            shape,
        }
    }

    pub fn ident(&self) -> &'a Ident {
        &self.original.ident
    }

    /// The named fields; empty for any other shape.
    pub fn fields(&self) -> &[Field<'a>] {
        match &self.shape {
            Shape::Named(fields) => fields,
            _ => &[],
        }
    }

    /// The field marked `#[session(index)]`: the first, if several are (which `valid.rs`
    /// refuses).
    pub fn index_field(&self) -> Option<&Field<'a>> {
        self.fields()
            .iter()
            .find(|field| field.attrs.index.is_some())
    }

    pub fn is_generic(&self) -> bool {
        let generics = &self.original.generics;
        !generics.params.is_empty() || generics.where_clause.is_some()
    }

    /// The hidden module of the runtime: `::actix_typed_session::__private`, or under the
    /// root given by `#[session(crate = "...")]`.
    pub fn private(&self) -> TokenStream {
        if let Some(krate) = &self.attrs.krate {
            let root = &krate.value;
            quote!(#root::__private)
        } else {
            quote!(::actix_typed_session::__private)
        }
    }

    /// The generated accessor type: `VisitFields` for `Visit`.
    pub fn fields_ident(&self) -> Ident {
        format_ident!("{}Fields", self.ident())
    }

    /// The generated writer type: `VisitWriter` for `Visit`.
    pub fn writer_ident(&self) -> Ident {
        format_ident!("{}Writer", self.ident())
    }
}

impl<'a> Field<'a> {
    /// `X` when the field's type is written `Option<X>` (also `std::option::Option<X>`):
    /// the type of the values an index field holds, `None` being in no index. A syntactic
    /// check, as a derive sees no types.
    pub fn option_inner(&self) -> Option<&Type> {
        let Type::Path(path) = &self.ty else {
            return None;
        };
        let last = path.path.segments.last()?;
        if path.qself.is_some() || last.ident != "Option" {
            return None;
        }
        let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
            return None;
        };
        match args.args.iter().collect::<Vec<_>>().as_slice() {
            [syn::GenericArgument::Type(inner)] => Some(inner),
            _ => None,
        }
    }

    /// `None` only for a field without a name, which a struct with named fields has not.
    fn from_syn(
        original: &'a syn::Field,
        struct_ident: &Ident,
        prefix: &str,
        errors: &mut Errors,
    ) -> Option<Self> {
        Some(Field {
            original,
            ident: original.ident.as_ref()?,
            ty: naming_struct(&original.ty, struct_ident),
            attrs: attr::parse(&original.attrs, errors),
            slot: None,
            prefix: prefix.to_owned(),
        })
    }

    /// The name of the field in the store: the struct's `prefix`, then the `rename` or the
    /// Rust name without `r#`.
    pub fn storage_name(&self) -> String {
        format!("{}{}", self.prefix, self.unprefixed_name())
    }

    /// The storage name without the struct's `prefix`.
    pub fn unprefixed_name(&self) -> String {
        match &self.attrs.rename {
            Some(rename) => rename.value.value(),
            None => self.ident.unraw().to_string(),
        }
    }

    /// Whether the field is stored: not `skip`.
    pub fn is_stored(&self) -> bool {
        self.slot.is_some()
    }

    /// Where a problem with the storage name is reported: the `rename` string, or the
    /// field name when it is not renamed.
    pub fn storage_span(&self) -> Span {
        match &self.attrs.rename {
            Some(rename) => rename.value.span(),
            None => self.ident.span(),
        }
    }

    pub fn method(&self, accessor: Accessor) -> Ident {
        match accessor {
            Accessor::Getter => self.ident.clone(),
            Accessor::Setter => format_ident!("set_{}", self.ident, span = self.ident.span()),
            Accessor::Updater => format_ident!("update_{}", self.ident, span = self.ident.span()),
            Accessor::Incrementer => {
                format_ident!("increment_{}", self.ident, span = self.ident.span())
            }
        }
    }

    /// The accessors the field has: every field a getter, a setter and an updater, and a
    /// stored `counter` field an incrementer too.
    pub fn accessors(&self) -> Vec<Accessor> {
        let mut accessors = Accessor::ALL.to_vec();
        if self.is_counter() {
            accessors.push(Accessor::Incrementer);
        }
        accessors
    }

    /// Whether the field is a stored `counter` (not the `index`, which `valid.rs` refuses
    /// as one: the fallback then generates no incrementer to fail again).
    pub fn is_counter(&self) -> bool {
        self.attrs.counter.is_some() && self.is_stored() && self.attrs.index.is_none()
    }

    /// Whether `SessionWriter` can set the field: stored, and not the `index` (whose
    /// change moves the session between indexes, which needs the stored value).
    pub fn is_writable_blind(&self) -> bool {
        self.is_stored() && self.attrs.index.is_none()
    }

    /// The field's own `///` lines, carried over to its getter.
    pub fn docs(&self) -> impl Iterator<Item = &'a syn::Attribute> {
        self.original
            .attrs
            .iter()
            .filter(|attr| attr.path().is_ident("doc"))
    }
}

/// `ty` with every `Self` replaced by `struct_ident`, at the `Self`'s span: the generated
/// methods that mention a field's type are on the accessor and writer types, where `Self`
/// would name those instead of the struct.
fn naming_struct(ty: &Type, struct_ident: &Ident) -> Type {
    let tokens = replace_self(ty.to_token_stream(), struct_ident);
    // Cannot fail, as an ident in place of `Self` leaves a type a type; if it ever did,
    // the type as written beats a panic.
    syn::parse2(tokens).unwrap_or_else(|_| ty.clone())
}

fn replace_self(tokens: TokenStream, struct_ident: &Ident) -> TokenStream {
    tokens
        .into_iter()
        .map(|tree| match tree {
            TokenTree::Ident(ident) if ident == "Self" => {
                let mut named = struct_ident.clone();
                named.set_span(ident.span());
                TokenTree::Ident(named)
            }
            TokenTree::Group(group) => {
                let stream = replace_self(group.stream(), struct_ident);
                let mut replaced = Group::new(group.delimiter(), stream);
                replaced.set_span(group.span());
                TokenTree::Group(replaced)
            }
            other => other,
        })
        .collect()
}
