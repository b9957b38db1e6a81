//! Names in C char arrays.

use core::ffi::c_char;
use zelle_sys::{c_name, c_name_bytes, NameTooLong, IFNAMSIZ};

#[test]
fn a_name_fits_with_its_nul_and_nothing_after_it() {
    let name: [c_char; IFNAMSIZ as usize] = c_name("bridge0").unwrap();
    assert_eq!(name[..7], b"bridge0".map(|b| b as c_char));
    assert!(name[7..].iter().all(|&c| c == 0));
    // 15 bytes and the NUL: the most IFNAMSIZ holds.
    let longest = "a".repeat(15);
    assert_eq!(
        c_name_bytes(&c_name::<16>(&longest).unwrap()),
        longest.as_bytes()
    );
    assert_eq!(
        c_name::<16>(&"a".repeat(16)),
        Err(NameTooLong { len: 16, room: 16 })
    );
    assert_eq!(c_name::<1>(""), Ok([0]));
    assert!(c_name::<0>("").is_err());
}

#[test]
fn a_name_ends_at_its_first_nul_or_at_the_end_of_the_array() {
    let mut field = [0 as c_char; 8];
    assert_eq!(c_name_bytes(&field), b"");
    field[..3].copy_from_slice(&b"lo0".map(|b| b as c_char));
    field[4] = b'x' as c_char;
    assert_eq!(c_name_bytes(&field), b"lo0");
    let full = [b'z' as c_char; 8];
    assert_eq!(c_name_bytes(&full), b"zzzzzzzz");
    // Bytes above 0x7f come back as they went in, whatever the sign of c_char.
    let high: [c_char; 4] = c_name("\u{e9}").unwrap();
    assert_eq!(c_name_bytes(&high), "\u{e9}".as_bytes());
}
