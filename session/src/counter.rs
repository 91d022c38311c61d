//! The integer types a `#[session(counter)]` field may have. The derive generates
//! `increment_<field>(by)` on both `Session<T>` and `SessionWriter<T>`; the typed half of
//! an increment is `TypedRef::increment` (`data.rs`), the store half `increment.rs`.

/// An integer type a `#[session(counter)]` field may have: one of 64 bits or fewer, whose
/// JSON text is the decimal number that Redis' `HINCRBY` adds to.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`#[session(counter)]` needs an integer field, and `{Self}` is not one",
    label = "not an integer type of 64 bits or fewer",
    note = "a counter is changed on the server, which adds to a stored integer: use one of \
            i8, i16, i32, i64, isize, u8, u16, u32, u64 or usize"
)]
pub trait Counter: Copy + 'static {
    /// The least value the type holds.
    const MIN: i128;
    /// The largest value the type holds.
    const MAX: i128;
    /// The value, widened.
    fn to_i128(self) -> i128;
    /// The value as this type; `None` outside its range.
    fn from_i128(value: i128) -> Option<Self>;
}

macro_rules! counters {
    ($($ty:ty),*) => {$(
        impl Counter for $ty {
            // Widening: every counter type fits in an `i128`.
            const MIN: i128 = <$ty>::MIN as i128;
            const MAX: i128 = <$ty>::MAX as i128;
            fn to_i128(self) -> i128 {
                self as i128
            }
            fn from_i128(value: i128) -> Option<Self> {
                <$ty>::try_from(value).ok()
            }
        }
    )*};
}

counters!(i8, i16, i32, i64, isize, u8, u16, u32, u64, usize);
