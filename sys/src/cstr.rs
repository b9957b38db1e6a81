//! Names in fixed C char arrays (`ifr_name[IFNAMSIZ]`, `anchor[MAXPATHLEN]`, ...): a name is its
//! bytes up to the first NUL, and a name that fills the array leaves no room for its NUL.
//!
//! ```
//! use zelle_sys::{c_name, c_name_bytes};
//! let name: [core::ffi::c_char; 16] = c_name("epair0a").unwrap();
//! assert_eq!(c_name_bytes(&name), b"epair0a");
//! assert!(c_name::<16>("a-name-of-16-ch!").is_err());
//! ```

use core::ffi::c_char;

/// A name too long for its char array: it needs `len + 1` bytes with its NUL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NameTooLong {
    pub len: usize,
    pub room: usize,
}

/// `text` in a char array of `N` with its NUL, every byte after it zero; [`NameTooLong`] when it
/// has `N` bytes or more (a kernel reading the array would find no NUL, or a truncated name).
pub fn c_name<const N: usize>(text: &str) -> Result<[c_char; N], NameTooLong> {
    if text.len() >= N {
        return Err(NameTooLong {
            len: text.len(),
            room: N,
        });
    }
    let mut out = [0 as c_char; N];
    for (dst, &src) in out.iter_mut().zip(text.as_bytes()) {
        *dst = src as c_char;
    }
    Ok(out)
}

/// The name in a char array: its bytes up to the first NUL, all of them when there is none.
#[must_use]
pub fn c_name_bytes(field: &[c_char]) -> &[u8] {
    let len = field.iter().position(|&c| c == 0).unwrap_or(field.len());
    // SAFETY: `c_char` is `i8` or `u8`: the same size and alignment as `u8`, any byte valid;
    // the slice borrows `field` and stays within its first `len` elements.
    unsafe { core::slice::from_raw_parts(field.as_ptr().cast::<u8>(), len) }
}
