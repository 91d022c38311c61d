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
    const MIN: i64;
    /// The largest value the type holds, or `i64::MAX` when it holds more.
    const MAX: i64;
    /// The value as an `i64`; `None` past `i64::MAX`.
    fn to_i64(self) -> Option<i64>;
    /// The `i64` as this type; `None` outside its range.
    fn from_i64(value: i64) -> Option<Self>;
}

macro_rules! counters {
    ($($ty:ty),*) => {$(
        impl Counter for $ty {
            const MIN: i64 = if (<$ty>::MIN as i128) < (i64::MIN as i128) {
                i64::MIN
            } else {
                <$ty>::MIN as i64
            };
            const MAX: i64 = if (<$ty>::MAX as i128) > (i64::MAX as i128) {
                i64::MAX
            } else {
                <$ty>::MAX as i64
            };
            fn to_i64(self) -> Option<i64> {
                i64::try_from(self).ok()
            }
            fn from_i64(value: i64) -> Option<Self> {
                <$ty>::try_from(value).ok()
            }
        }
    )*};
}

counters!(i8, i16, i32, i64, isize, u8, u16, u32, u64, usize);
