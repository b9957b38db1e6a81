//! The bytes between the backend and its children in a jail: not kernel ABI but the backend's
//! own, written and read on every host (the simulator's door runs its answers through here).
//!
//! A child answers each piece of work with a tag byte and a payload: [`DONE`] and the work's
//! result, [`FAILED`] and the work's errno, or [`NOT_ATTACHED`] and the errno of the steps before
//! the work (jail_attach and what precedes it). On a session's socketpair every answer and
//! every request travels as a frame: its length in 4 bytes (native order), then its bytes.

use zelle_core::kernel::Errno;

/// The work succeeded; its result follows.
pub const DONE: u8 = 0;
/// The work failed; its errno follows.
pub const FAILED: u8 = 1;
/// The child could not enter the jail; that errno follows.
pub const NOT_ATTACHED: u8 = 2;

fn tagged(tag: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + payload.len());
    out.push(tag);
    out.extend_from_slice(payload);
    out
}

/// The answer for the work's result.
pub fn answer(result: &Result<Vec<u8>, Errno>) -> Vec<u8> {
    match result {
        Ok(bytes) => tagged(DONE, bytes),
        Err(e) => tagged(FAILED, &e.0.to_ne_bytes()),
    }
}

/// The answer of a child that could not enter the jail.
pub fn not_attached(errno: Errno) -> Vec<u8> {
    tagged(NOT_ATTACHED, &errno.0.to_ne_bytes())
}

/// An answer read back: the outer error is the child's failure to enter the jail, the inner
/// result the work's. Anything else (nothing at all: the child died first) is EIO.
pub fn parse_answer(answer: &[u8]) -> Result<Result<Vec<u8>, Errno>, Errno> {
    let errno = |rest: &[u8]| {
        <[u8; 4]>::try_from(rest)
            .map(|b| Errno(i32::from_ne_bytes(b)))
            .unwrap_or(Errno::EIO)
    };
    match answer.split_first() {
        Some((&DONE, rest)) => Ok(Ok(rest.to_vec())),
        Some((&FAILED, rest)) => Ok(Err(errno(rest))),
        Some((&NOT_ATTACHED, rest)) => Err(errno(rest)),
        _ => Err(Errno::EIO),
    }
}

/// The bytes of one frame: length, then payload. E2BIG past 4 GiB.
pub fn frame(payload: &[u8]) -> Result<Vec<u8>, Errno> {
    let len = u32::try_from(payload.len()).map_err(|_| Errno::E2BIG)?;
    let mut out = Vec::with_capacity(4 + payload.len());
    out.extend_from_slice(&len.to_ne_bytes());
    out.extend_from_slice(payload);
    Ok(out)
}

/// The payload length a frame's header announces.
pub fn frame_len(header: [u8; 4]) -> usize {
    u32::from_ne_bytes(header) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_travel_as_tag_and_payload() {
        assert_eq!(answer(&Ok(b"[1]".to_vec())), b"\x00[1]");
        let failed = answer(&Err(Errno::EEXIST));
        assert_eq!(failed[0], FAILED);
        assert_eq!(parse_answer(&failed), Ok(Err(Errno::EEXIST)));
        assert_eq!(parse_answer(b"\x00[1]"), Ok(Ok(b"[1]".to_vec())));
        assert_eq!(
            parse_answer(&not_attached(Errno::EINVAL)),
            Err(Errno::EINVAL)
        );
        // A child that died before answering, or answered garbage.
        assert_eq!(parse_answer(b""), Err(Errno::EIO));
        assert_eq!(parse_answer(b"\x07"), Err(Errno::EIO));
        assert_eq!(parse_answer(b"\x01\x02"), Ok(Err(Errno::EIO)));
    }

    #[test]
    fn a_frame_is_its_length_then_its_bytes() {
        let f = frame(b"abc").unwrap();
        assert_eq!(f.len(), 7);
        assert_eq!(frame_len(f[..4].try_into().unwrap()), 3);
        assert_eq!(&f[4..], b"abc");
        assert_eq!(frame(b"").unwrap(), 0u32.to_ne_bytes());
    }
}
