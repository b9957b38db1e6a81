//! devfs rulesets: the DEVFSIO_* ioctls (fs/devfs/devfs.h) on a descriptor of the devfs mount,
//! opened read-only as a directory; the kernel answers them in `devfs_rules_ioctl`
//! (sys/fs/devfs/devfs_rule.c; FACTS-kernel-runtime.md §2).
//!
//! A rule travels as a `struct devfs_rule`, made with `zeroed()` and filled field by field:
//! `dr_magic` is `DEVFS_MAGIC` (else ERPCMISMATCH), `dr_id` the packed id (`mkrid`), a pattern
//! sets `DRC_PATHPTRN` in `dr_icond`, and each action its `DRA_*` bit in `dr_iacts`. The
//! ruleset requests take a bare `devfs_rsnum`, DEVFSIO_RDEL a bare `devfs_rid`.
//!
//! A pattern that does not fit `dr_pathptrn` with its NUL is ENAMETOOLONG and one holding a NUL
//! EINVAL, both before any call (the kernel would read a different pattern). A rule read back by
//! RGETNEXT that the contract cannot say (a `DRC_DSWFLAGS` condition, which devfs(8)'s `type`
//! keyword sets, or bits devfs.h does not define) is EIO rather than a rule that matches more
//! than the stored one.

use crate::{fail, Descriptor, FreeBsd, Syscalls};
use core::ffi::c_int;
use std::ffi::CString;
use zelle_core::kernel::{
    DevfsRule, DevfsRuleId, DevfsRules, DevfsVisibility, Errno, KResult, KernelError, Op,
};
use zelle_sys::ioctl::{self, Request};
use zelle_sys::{
    c_name_bytes, devfs_rule, zeroed, Zeroed, DEVFS_MAGIC, DRA_BACTS, DRA_GID, DRA_INCSET,
    DRA_MODE, DRA_UID, DRB_HIDE, DRB_UNHIDE, DRC_PATHPTRN, O_DIRECTORY, O_RDONLY,
};

/// The `struct devfs_rule` of `rule`, every field from it (the rest zero).
fn rule_struct(rule: &DevfsRule) -> Result<devfs_rule, Errno> {
    let mut dr: devfs_rule = zeroed();
    dr.dr_magic = DEVFS_MAGIC;
    dr.dr_id = rule.id.packed();
    if let Some(pattern) = &rule.pattern {
        if pattern.contains('\0') {
            return Err(Errno::EINVAL);
        }
        crate::put_cstr(&mut dr.dr_pathptrn, pattern)?;
        dr.dr_icond |= DRC_PATHPTRN as c_int;
    }
    if let Some(v) = rule.visibility {
        dr.dr_iacts |= DRA_BACTS as c_int;
        dr.dr_bacts = match v {
            DevfsVisibility::Hide => DRB_HIDE,
            DevfsVisibility::Unhide => DRB_UNHIDE,
        } as c_int;
    }
    if let Some(uid) = rule.uid {
        dr.dr_iacts |= DRA_UID as c_int;
        dr.dr_uid = uid;
    }
    if let Some(gid) = rule.gid {
        dr.dr_iacts |= DRA_GID as c_int;
        dr.dr_gid = gid;
    }
    if let Some(mode) = rule.mode {
        dr.dr_iacts |= DRA_MODE as c_int;
        dr.dr_mode = mode;
    }
    if let Some(set) = rule.include {
        dr.dr_iacts |= DRA_INCSET as c_int;
        dr.dr_incset = set;
    }
    Ok(dr)
}

/// The contract's rule from the kernel's (RGETNEXT copies the stored rule out whole); `None`
/// when it holds a condition or action the contract has no field for.
fn rule_of(dr: &devfs_rule) -> Option<DevfsRule> {
    let known_acts = DRA_BACTS | DRA_UID | DRA_GID | DRA_MODE | DRA_INCSET;
    let (icond, iacts) = (dr.dr_icond as u32, dr.dr_iacts as u32);
    if icond & !DRC_PATHPTRN != 0 || iacts & !known_acts != 0 {
        return None;
    }
    let has = |bit: u32| iacts & bit != 0;
    let pattern = match icond & DRC_PATHPTRN != 0 {
        true => Some(String::from_utf8(c_name_bytes(&dr.dr_pathptrn).to_vec()).ok()?),
        false => None,
    };
    let visibility = match (has(DRA_BACTS), dr.dr_bacts as u32) {
        (false, _) => None,
        (true, DRB_HIDE) => Some(DevfsVisibility::Hide),
        (true, DRB_UNHIDE) => Some(DevfsVisibility::Unhide),
        (true, _) => return None,
    };
    Some(DevfsRule {
        id: DevfsRuleId::from_packed(dr.dr_id),
        pattern,
        visibility,
        uid: has(DRA_UID).then_some(dr.dr_uid),
        gid: has(DRA_GID).then_some(dr.dr_gid),
        mode: has(DRA_MODE).then_some(dr.dr_mode),
        include: has(DRA_INCSET).then_some(dr.dr_incset),
    })
}

impl<S: Syscalls> FreeBsd<S> {
    /// One DEVFSIO request on a descriptor of `mount` (open(2) with O_RDONLY | O_DIRECTORY;
    /// its errors are the request's, as namei's are the caller's).
    fn devfs_ioctl<T: Zeroed>(
        &self,
        op: Op,
        mount: &str,
        request: Request<T>,
        arg: &mut T,
    ) -> KResult<()> {
        let path = CString::new(mount).map_err(|_| fail(op, Errno::EINVAL))?;
        let dir = Descriptor::open(&self.sys, &path, (O_RDONLY | O_DIRECTORY) as c_int)
            .map_err(|e| fail(op, e))?;
        // SAFETY: a devfs_rule, devfs_rid and devfs_rsnum hold no pointers.
        unsafe { dir.ioctl(request, arg) }
            .map(drop)
            .map_err(|e| fail(op, e))
    }

    fn devfs_rule_request(
        &self,
        op: Op,
        mount: &str,
        request: Request<devfs_rule>,
        rule: &DevfsRule,
    ) -> KResult<()> {
        let mut dr = rule_struct(rule).map_err(|e| fail(op, e))?;
        self.devfs_ioctl(op, mount, request, &mut dr)
    }

    fn devfs_ruleset_request(
        &self,
        op: Op,
        mount: &str,
        request: Request<u16>,
        ruleset: u16,
    ) -> KResult<u16> {
        let mut rsnum: u16 = ruleset;
        self.devfs_ioctl(op, mount, request, &mut rsnum)?;
        Ok(rsnum)
    }
}

impl<S: Syscalls> DevfsRules for FreeBsd<S> {
    /// devfs_rules_ioctl DEVFSIO_RADD → devfs_rule_insert (devfs_rule_autonumber for rule 0).
    fn devfs_add_rule(&self, mount: &str, rule: &DevfsRule) -> KResult<()> {
        self.devfs_rule_request(Op::DevfsAddRule, mount, ioctl::DEVFSIO_RADD, rule)
    }

    /// devfs_rules_ioctl DEVFSIO_RDEL → devfs_rid_input, devfs_rule_delete.
    fn devfs_delete_rule(&self, mount: &str, id: DevfsRuleId) -> KResult<()> {
        let mut rid: u32 = id.packed();
        self.devfs_ioctl(Op::DevfsDeleteRule, mount, ioctl::DEVFSIO_RDEL, &mut rid)
    }

    /// devfs_rules_ioctl DEVFSIO_RAPPLY → devfs_rule_applydm.
    fn devfs_apply_rule(&self, mount: &str, rule: &DevfsRule) -> KResult<()> {
        self.devfs_rule_request(Op::DevfsApplyRule, mount, ioctl::DEVFSIO_RAPPLY, rule)
    }

    /// devfs_rules_ioctl DEVFSIO_RGETNEXT: the id in, the next stored rule copied out whole.
    fn devfs_next_rule(&self, mount: &str, after: DevfsRuleId) -> KResult<DevfsRule> {
        let op = Op::DevfsNextRule;
        let mut dr: devfs_rule = zeroed();
        dr.dr_magic = DEVFS_MAGIC;
        dr.dr_id = after.packed();
        self.devfs_ioctl(op, mount, ioctl::DEVFSIO_RGETNEXT, &mut dr)?;
        rule_of(&dr).ok_or_else(|| {
            KernelError::with_message(
                op,
                Errno::EIO,
                format!(
                    "devfs rule {} has a condition or action zelle cannot represent \
                     (dr_icond {:#x}, dr_iacts {:#x}, dr_bacts {:#x})",
                    DevfsRuleId::from_packed(dr.dr_id),
                    dr.dr_icond,
                    dr.dr_iacts,
                    dr.dr_bacts
                ),
            )
        })
    }

    /// devfs_rules_ioctl DEVFSIO_SUSE → devfs_ruleset_use.
    fn devfs_use_ruleset(&self, mount: &str, ruleset: u16) -> KResult<()> {
        self.devfs_ruleset_request(Op::DevfsUseRuleset, mount, ioctl::DEVFSIO_SUSE, ruleset)
            .map(drop)
    }

    /// devfs_rules_ioctl DEVFSIO_SAPPLY → devfs_ruleset_applydm.
    fn devfs_apply_ruleset(&self, mount: &str, ruleset: u16) -> KResult<()> {
        self.devfs_ruleset_request(Op::DevfsApplyRuleset, mount, ioctl::DEVFSIO_SAPPLY, ruleset)
            .map(drop)
    }

    /// devfs_rules_ioctl DEVFSIO_SGETNEXT: the number in, the next ruleset's copied out.
    fn devfs_next_ruleset(&self, mount: &str, after: u16) -> KResult<u16> {
        self.devfs_ruleset_request(Op::DevfsNextRuleset, mount, ioctl::DEVFSIO_SGETNEXT, after)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syscalls::consts::O_CLOEXEC;
    use crate::syscalls::MockSyscalls;
    use crate::test_support::{backend, chars, expect_ioctl, FD};
    use zelle_sys::DRC_DSWFLAGS;

    /// Expect `mount` opened as a directory once, and closed again.
    fn expect_mount(mock: &mut MockSyscalls, mount: &'static str) {
        mock.expect_open()
            .withf(move |path, &flags| {
                path.to_bytes() == mount.as_bytes()
                    && flags == (O_RDONLY | O_DIRECTORY) as c_int | O_CLOEXEC
            })
            .times(1)
            .returning(|_, _| Ok(FD));
        mock.expect_close()
            .withf(|&fd| fd == FD)
            .times(1)
            .returning(|_| Ok(()));
    }

    fn one<T: Zeroed>(
        request: Request<T>,
        want: T,
        reply: Result<T, Errno>,
    ) -> FreeBsd<MockSyscalls> {
        let mut mock = MockSyscalls::new();
        expect_mount(&mut mock, "/jails/a/dev");
        expect_ioctl(&mut mock, request, want, reply);
        backend(mock)
    }

    /// The kernel's struct for a rule, spelled out field by field.
    fn kernel_rule(rid: u32, pattern: &str, icond: u32, iacts: u32, bacts: u32) -> devfs_rule {
        let mut dr: devfs_rule = zeroed();
        dr.dr_magic = 0xdb0a_087a;
        dr.dr_id = rid;
        dr.dr_icond = icond as c_int;
        dr.dr_pathptrn = chars(pattern);
        dr.dr_iacts = iacts as c_int;
        dr.dr_bacts = bacts as c_int;
        dr
    }

    const M: &str = "/jails/a/dev";

    #[test]
    fn add_sends_magic_packed_id_pattern_and_each_action_bit() {
        let mut want = kernel_rule(0x0004_012c, "zero", 0x2, 0x1 | 0x2 | 0x4 | 0x8, 0x2);
        (want.dr_uid, want.dr_gid, want.dr_mode) = (0, 5, 0o666);
        let k = one(ioctl::DEVFSIO_RADD, want, Ok(want));
        let rule = DevfsRule {
            uid: Some(0),
            gid: Some(5),
            mode: Some(0o666),
            ..DevfsRule::visibility(
                DevfsRuleId::new(4, 300),
                Some("zero"),
                DevfsVisibility::Unhide,
            )
        };
        k.devfs_add_rule(M, &rule).unwrap();
        // The numbers: _IOWR('D', 0, struct devfs_rule) of 236 bytes.
        assert_eq!(ioctl::DEVFSIO_RADD.number(), 0xc0ec_4400);
    }

    #[test]
    fn hide_all_has_no_condition_and_an_include_only_its_action() {
        let k = one(
            ioctl::DEVFSIO_RADD,
            kernel_rule(0x0001_0064, "", 0, 0x1, 0x1),
            Err(Errno::EEXIST),
        );
        let hide = DevfsRule::visibility(DevfsRuleId::new(1, 100), None, DevfsVisibility::Hide);
        let err = k.devfs_add_rule(M, &hide).unwrap_err();
        assert!(err.is(Op::DevfsAddRule, Errno::EEXIST), "{err}");

        let mut want = kernel_rule(0x0005_0000, "", 0, 0x10, 0);
        want.dr_incset = 4;
        let k = one(ioctl::DEVFSIO_RAPPLY, want, Err(Errno::ESRCH));
        let include = DevfsRule {
            id: DevfsRuleId::new(5, 0),
            include: Some(4),
            ..DevfsRule::default()
        };
        let err = k.devfs_apply_rule(M, &include).unwrap_err();
        assert!(err.is(Op::DevfsApplyRule, Errno::ESRCH), "{err}");
    }

    #[test]
    fn a_pattern_that_does_not_fit_or_holds_a_nul_makes_no_call() {
        // No expectations: any system call would panic.
        let k = backend(MockSyscalls::new());
        let long = "p".repeat(200);
        let rule =
            DevfsRule::visibility(DevfsRuleId::new(9, 1), Some(&long), DevfsVisibility::Hide);
        let err = k.devfs_add_rule(M, &rule).unwrap_err();
        assert!(err.is(Op::DevfsAddRule, Errno::ENAMETOOLONG), "{err}");
        let rule =
            DevfsRule::visibility(DevfsRuleId::new(9, 1), Some("a\0b"), DevfsVisibility::Hide);
        let err = k.devfs_apply_rule(M, &rule).unwrap_err();
        assert!(err.is(Op::DevfsApplyRule, Errno::EINVAL), "{err}");
        // 199 bytes fit with the NUL.
        let fits = "p".repeat(199);
        let want = kernel_rule(0x0009_0001, &fits, 0x2, 0x1, 0x1);
        let k = one(ioctl::DEVFSIO_RAPPLY, want, Ok(want));
        let rule =
            DevfsRule::visibility(DevfsRuleId::new(9, 1), Some(&fits), DevfsVisibility::Hide);
        k.devfs_apply_rule(M, &rule).unwrap();
    }

    #[test]
    fn delete_sends_the_packed_rid() {
        let k = one(ioctl::DEVFSIO_RDEL, 0x0004_00c8u32, Err(Errno::ENOENT));
        let err = k
            .devfs_delete_rule(M, DevfsRuleId::new(4, 200))
            .unwrap_err();
        assert!(err.is(Op::DevfsDeleteRule, Errno::ENOENT), "{err}");
        assert_eq!(ioctl::DEVFSIO_RDEL.number(), 0x8004_4401);
    }

    #[test]
    fn next_rule_sends_the_id_and_reads_the_stored_rule_back() {
        let mut stored = kernel_rule(0x0004_0190, "pts/*", 0x2, 0x1 | 0x8, 0x2);
        stored.dr_mode = 0o620;
        let k = one(
            ioctl::DEVFSIO_RGETNEXT,
            kernel_rule(0x0004_012c, "", 0, 0, 0),
            Ok(stored),
        );
        let rule = k.devfs_next_rule(M, DevfsRuleId::new(4, 300)).unwrap();
        assert_eq!(
            rule,
            DevfsRule {
                mode: Some(0o620),
                ..DevfsRule::visibility(
                    DevfsRuleId::new(4, 400),
                    Some("pts/*"),
                    DevfsVisibility::Unhide
                )
            }
        );
    }

    #[test]
    fn next_rule_passes_enoent_and_refuses_what_the_contract_cannot_say() {
        let k = one(
            ioctl::DEVFSIO_RGETNEXT,
            kernel_rule(0x0004_0000, "", 0, 0, 0),
            Err(Errno::ENOENT),
        );
        let err = k.devfs_next_rule(M, DevfsRuleId::new(4, 0)).unwrap_err();
        assert!(err.is(Op::DevfsNextRule, Errno::ENOENT), "{err}");

        // devfs(8) `add type disk hide`: a cdevsw-flags condition.
        let mut typed = kernel_rule(0x0004_0064, "", DRC_DSWFLAGS, 0x1, 0x1);
        typed.dr_dswflags = 0x2;
        let k = one(
            ioctl::DEVFSIO_RGETNEXT,
            kernel_rule(0x0004_0000, "", 0, 0, 0),
            Ok(typed),
        );
        let err = k.devfs_next_rule(M, DevfsRuleId::new(4, 0)).unwrap_err();
        assert!(err.is(Op::DevfsNextRule, Errno::EIO), "{err}");
        assert!(err.to_string().contains("4:100"), "{err}");
    }

    #[test]
    fn ruleset_requests_carry_a_bare_rsnum() {
        let k = one(ioctl::DEVFSIO_SUSE, 7u16, Ok(7));
        k.devfs_use_ruleset(M, 7).unwrap();
        let k = one(ioctl::DEVFSIO_SAPPLY, 0u16, Err(Errno::ESRCH));
        let err = k.devfs_apply_ruleset(M, 0).unwrap_err();
        assert!(err.is(Op::DevfsApplyRuleset, Errno::ESRCH), "{err}");
        let k = one(ioctl::DEVFSIO_SGETNEXT, 4u16, Ok(5));
        assert_eq!(k.devfs_next_ruleset(M, 4), Ok(5));
        assert_eq!(
            (
                ioctl::DEVFSIO_SUSE.number(),
                ioctl::DEVFSIO_SAPPLY.number(),
                ioctl::DEVFSIO_SGETNEXT.number()
            ),
            (0x8002_440a, 0x8002_440b, 0xc002_440c)
        );
    }

    #[test]
    fn a_mount_that_cannot_be_opened_is_the_requests_error() {
        let mut mock = MockSyscalls::new();
        mock.expect_open()
            .times(1)
            .returning(|_, _| Err(Errno::ENOENT));
        let k = backend(mock);
        let err = k.devfs_use_ruleset("/nowhere", 4).unwrap_err();
        assert!(err.is(Op::DevfsUseRuleset, Errno::ENOENT), "{err}");
        let k = backend(MockSyscalls::new());
        let err = k.devfs_next_ruleset("/de\0v", 0).unwrap_err();
        assert!(err.is(Op::DevfsNextRuleset, Errno::EINVAL), "{err}");
    }
}
