//! Host facts: modfind(2) and sysctl(3) (`sys/kern/kern_module.c`, `sys/kern/kern_sysctl.c`).
//!
//! A sysctl's kind comes from the kernel itself: `sysctl.name2oid` (0.3) then `sysctl.oidfmt`
//! (0.4), as sysctl(8) does; the value is read and written with `__sysctlbyname(2)`, which also
//! checks the name as the contract wants it (empty or too long: EINVAL).

use crate::syscalls::consts::{
    CTLFLAG_WR, CTLTYPE, CTLTYPE_INT, CTLTYPE_LONG, CTLTYPE_S16, CTLTYPE_S32, CTLTYPE_S64,
    CTLTYPE_S8, CTLTYPE_STRING, CTLTYPE_U16, CTLTYPE_U32, CTLTYPE_U64, CTLTYPE_U8, CTLTYPE_UINT,
    CTLTYPE_ULONG, CTL_MAXNAME, CTL_SYSCTL, CTL_SYSCTL_NAME2OID, CTL_SYSCTL_OIDFMT,
};
use crate::{cstr_bytes, fail, FreeBsd, Syscalls};
use core::ffi::{c_int, CStr};
use std::ffi::CString;
use zelle_core::kernel::Op;
use zelle_core::kernel::{Errno, HostFacts, KResult, SysctlValue};

/// The kind word `oidfmt` reports for a name: `CTLTYPE_*` and `CTLFLAG_*` bits.
fn oid_kind<S: Syscalls>(sys: &S, name: &CStr) -> Result<u32, Errno> {
    let mut mib = [0u8; CTL_MAXNAME * 4];
    let len = sys.sysctl(
        &[CTL_SYSCTL, CTL_SYSCTL_NAME2OID],
        &mut mib,
        name.to_bytes(),
    )?;
    let mut query = vec![CTL_SYSCTL, CTL_SYSCTL_OIDFMT];
    query.extend(
        mib[..len.min(mib.len())]
            .chunks_exact(4)
            .map(|c| c_int::from_ne_bytes([c[0], c[1], c[2], c[3]])),
    );
    let mut fmt = [0u8; 64];
    let len = sys.sysctl(&query, &mut fmt, &[])?;
    if len < 4 {
        return Err(Errno::EINVAL);
    }
    Ok(u32::from_ne_bytes([fmt[0], fmt[1], fmt[2], fmt[3]]))
}

/// An integer kind's width and signedness; `None` for anything else.
fn int_kind(kind: u32) -> Option<(usize, bool)> {
    Some(match kind & CTLTYPE {
        CTLTYPE_INT | CTLTYPE_S32 => (4, true),
        CTLTYPE_UINT | CTLTYPE_U32 => (4, false),
        CTLTYPE_LONG | CTLTYPE_S64 => (8, true),
        CTLTYPE_ULONG | CTLTYPE_U64 => (8, false),
        CTLTYPE_S16 => (2, true),
        CTLTYPE_U16 => (2, false),
        CTLTYPE_S8 => (1, true),
        CTLTYPE_U8 => (1, false),
        _ => return None,
    })
}

/// A C integer of 1, 2, 4 or 8 bytes, in the machine's byte order.
fn decode_int(bytes: &[u8], signed: bool) -> Option<i64> {
    Some(match (bytes.len(), signed) {
        (1, true) => i64::from(i8::from_ne_bytes(bytes.try_into().ok()?)),
        (1, false) => i64::from(u8::from_ne_bytes(bytes.try_into().ok()?)),
        (2, true) => i64::from(i16::from_ne_bytes(bytes.try_into().ok()?)),
        (2, false) => i64::from(u16::from_ne_bytes(bytes.try_into().ok()?)),
        (4, true) => i64::from(i32::from_ne_bytes(bytes.try_into().ok()?)),
        (4, false) => i64::from(u32::from_ne_bytes(bytes.try_into().ok()?)),
        (8, true) => i64::from_ne_bytes(bytes.try_into().ok()?),
        // A u64 above i64::MAX has no place in the contract's i64.
        (8, false) => i64::try_from(u64::from_ne_bytes(bytes.try_into().ok()?)).ok()?,
        _ => return None,
    })
}

/// `value` as a C integer of `width` bytes; `None` when it does not fit.
fn encode_int(value: i64, width: usize, signed: bool) -> Option<Vec<u8>> {
    Some(match (width, signed) {
        (1, true) => i8::try_from(value).ok()?.to_ne_bytes().to_vec(),
        (1, false) => u8::try_from(value).ok()?.to_ne_bytes().to_vec(),
        (2, true) => i16::try_from(value).ok()?.to_ne_bytes().to_vec(),
        (2, false) => u16::try_from(value).ok()?.to_ne_bytes().to_vec(),
        (4, true) => i32::try_from(value).ok()?.to_ne_bytes().to_vec(),
        (4, false) => u32::try_from(value).ok()?.to_ne_bytes().to_vec(),
        (8, true) => value.to_ne_bytes().to_vec(),
        (8, false) => u64::try_from(value).ok()?.to_ne_bytes().to_vec(),
        _ => return None,
    })
}

fn read<S: Syscalls>(sys: &S, name: &CStr) -> Result<SysctlValue, Errno> {
    let size = sys.sysctlbyname(name, &mut [], &[])?;
    let kind = oid_kind(sys, name)?;
    let mut buf = vec![0u8; size + 64];
    let len = sys.sysctlbyname(name, &mut buf, &[])?;
    let value = &buf[..len.min(buf.len())];
    match (kind & CTLTYPE, int_kind(kind)) {
        (_, Some((_, signed))) => decode_int(value, signed)
            .map(SysctlValue::Int)
            .ok_or(Errno::EINVAL),
        (CTLTYPE_STRING, None) => Ok(SysctlValue::String(
            String::from_utf8_lossy(cstr_bytes(value)).into_owned(),
        )),
        // Opaque and node values are no kind the contract has.
        _ => Err(Errno::EOPNOTSUPP),
    }
}

/// A write: the kind first (name2oid finds an unknown name: ENOENT), then the value.
fn write<S: Syscalls>(sys: &S, name: &CStr, value: &SysctlValue) -> Result<(), Errno> {
    let kind = oid_kind(sys, name)?;
    let bytes = match (value, int_kind(kind)) {
        (SysctlValue::Int(v), Some((width, signed))) => {
            encode_int(*v, width, signed).ok_or(Errno::EINVAL)?
        }
        // An int into a string would be taken as its bytes: refuse it as the kernel refuses a
        // string too short for an int (a read-only sysctl is EPERM first, as sysctl_root has it).
        (SysctlValue::Int(_), None) if kind & CTLFLAG_WR == 0 => return Err(Errno::EPERM),
        (SysctlValue::Int(_), None) => return Err(Errno::EINVAL),
        (SysctlValue::String(s), _) => s.as_bytes().to_vec(),
    };
    sys.sysctlbyname(name, &mut [], &bytes)?;
    Ok(())
}

impl<S: Syscalls> HostFacts for FreeBsd<S> {
    fn module_loaded(&self, name: &str) -> KResult<bool> {
        let op = Op::ModuleLoaded;
        let name = CString::new(name).map_err(|_| fail(op, Errno::EINVAL))?;
        match self.sys.modfind(&name) {
            Ok(_) => Ok(true),
            Err(Errno::ENOENT) => Ok(false),
            Err(e) => Err(fail(op, e)),
        }
    }

    fn sysctl(&self, name: &str) -> KResult<SysctlValue> {
        let op = Op::Sysctl;
        let name = CString::new(name).map_err(|_| fail(op, Errno::EINVAL))?;
        read(&self.sys, &name).map_err(|e| fail(op, e))
    }

    fn set_sysctl(&self, name: &str, value: &SysctlValue) -> KResult<()> {
        let op = Op::SetSysctl;
        let name = CString::new(name).map_err(|_| fail(op, Errno::EINVAL))?;
        write(&self.sys, &name, value).map_err(|e| fail(op, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_round_trip_by_width_and_sign() {
        for (value, width, signed) in [
            (-1, 4, true),
            (7, 1, false),
            (-3, 8, true),
            (65535, 2, false),
        ] {
            let bytes = encode_int(value, width, signed).unwrap();
            assert_eq!(decode_int(&bytes, signed), Some(value));
        }
        assert_eq!(encode_int(1 << 31, 4, true), None);
        assert_eq!(encode_int(-1, 4, false), None);
    }
}

#[cfg(test)]
mod mock_tests {
    use super::*;
    use crate::syscalls::MockSyscalls;
    use crate::test_support::{backend, with_sysctl};
    use zelle_core::kernel::KernelError;

    #[test]
    fn sysctls_read_by_their_kind() {
        let mut mock = MockSyscalls::new();
        with_sysctl(
            &mut mock,
            "kern.securelevel",
            CTLTYPE_INT | 0xc000_0000,
            (-1i32).to_ne_bytes().to_vec(),
        );
        let k = backend(mock);
        assert_eq!(k.sysctl("kern.securelevel").unwrap(), SysctlValue::Int(-1));

        let mut mock = MockSyscalls::new();
        with_sysctl(
            &mut mock,
            "kern.ostype",
            CTLTYPE_STRING | 0x8000_0000,
            b"FreeBSD\0".to_vec(),
        );
        assert_eq!(
            backend(mock).sysctl("kern.ostype").unwrap(),
            SysctlValue::String("FreeBSD".into())
        );
    }

    #[test]
    fn an_unknown_name_is_the_size_querys_error() {
        let mut mock = MockSyscalls::new();
        mock.expect_sysctlbyname()
            .returning(|_, _, _| Err(Errno::ENOENT));
        let err = backend(mock).sysctl("zelle.nothing").unwrap_err();
        assert_eq!(err, KernelError::errno(Op::Sysctl, Errno::ENOENT));
    }

    #[test]
    fn writes_take_the_sysctls_width() {
        let mut mock = MockSyscalls::new();
        mock.expect_sysctl()
            .withf(|mib, _, _| mib == [0, 3])
            .returning(|_, old, _| {
                old[..8].copy_from_slice(&[1, 0, 0, 0, 2, 0, 0, 0]);
                Ok(8)
            });
        mock.expect_sysctl()
            .withf(|mib, _, _| mib == [0, 4, 1, 2])
            .returning(|_, old, _| {
                old[..4].copy_from_slice(&(CTLTYPE_INT | 0xc000_0000).to_ne_bytes());
                Ok(6)
            });
        mock.expect_sysctlbyname()
            .withf(|n, old, new| {
                n.to_bytes() == b"net.inet.ip.forwarding"
                    && old.is_empty()
                    && new == 1i32.to_ne_bytes()
            })
            .times(1)
            .returning(|_, _, _| Ok(0));
        let k = backend(mock);
        k.set_sysctl("net.inet.ip.forwarding", &SysctlValue::Int(1))
            .unwrap();
        assert_eq!(
            k.set_sysctl("net.inet.ip.forwarding", &SysctlValue::Int(1 << 40))
                .unwrap_err()
                .code(),
            Some(Errno::EINVAL)
        );
    }

    #[test]
    fn an_int_into_a_read_only_string_is_eperm_without_a_write() {
        let mut mock = MockSyscalls::new();
        mock.expect_sysctl()
            .withf(|mib, _, _| mib == [0, 3])
            .returning(|_, old, _| {
                old[..8].copy_from_slice(&[1, 0, 0, 0, 2, 0, 0, 0]);
                Ok(8)
            });
        mock.expect_sysctl()
            .withf(|mib, _, _| mib == [0, 4, 1, 2])
            .returning(|_, old, _| {
                old[..4].copy_from_slice(&(CTLTYPE_STRING | 0x8000_0000).to_ne_bytes());
                Ok(6)
            });
        let err = backend(mock)
            .set_sysctl("kern.ostype", &SysctlValue::Int(1))
            .unwrap_err();
        assert_eq!(err.code(), Some(Errno::EPERM));
    }

    #[test]
    fn modfind_enoent_is_not_loaded() {
        let mut mock = MockSyscalls::new();
        mock.expect_modfind()
            .withf(|n| n.to_bytes() == b"carp")
            .returning(|_| Err(Errno::ENOENT));
        mock.expect_modfind()
            .withf(|n| n.to_bytes() == b"pf")
            .returning(|_| Ok(3));
        mock.expect_modfind()
            .withf(|n| n.to_bytes().len() == 32)
            .returning(|_| Err(Errno::ENAMETOOLONG));
        let k = backend(mock);
        assert!(!k.module_loaded("carp").unwrap());
        assert!(k.module_loaded("pf").unwrap());
        assert_eq!(
            k.module_loaded(&"m".repeat(32)).unwrap_err(),
            KernelError::errno(Op::ModuleLoaded, Errno::ENAMETOOLONG)
        );
    }
}
