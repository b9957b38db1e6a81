//! The kernel conformance suite of `zelle-core`, run against the real FreeBSD backend over the
//! simulator's ABI door: `FreeBsd<SimSyscalls>` marshals every request into the bytes the
//! FreeBSD kernel takes, and the door decodes them into the simulated machine.
//!
//! Every area of the contract is instantiated: network interfaces and routes, jails, pf,
//! mounts, processes, host facts, rctl and devfs rulesets. After the suite come the door's own
//! rules: the PR #530 vhid panic reproduced through the real backend's bytes, traces and fault
//! plans that read as through the typed door, and malformed requests answered as the kernel
//! answers them.

mod common;

use core::ffi::{c_int, c_void};
use std::net::Ipv4Addr;
use zelle_core::kernel::net::InetAlias;
use zelle_core::kernel::pf::{PfAction, PfRuleset};
use zelle_core::kernel::{
    Errno, HostFacts, JailFlags, JailParams, KernelError, Mounts, NetworkInterfaces, PfRule, Vnet,
};
use zelle_freebsd::syscalls::consts::{O_RDWR, SOCK_DGRAM, SOCK_RAW};
use zelle_freebsd::{FreeBsd, Syscalls};
use zelle_sim::abi::SimSyscalls;
use zelle_sim::{FaultPlan, Op, Release, SimConfig, SimKernel};
use zelle_sys::ioctl;
use zelle_sys::{iovec, pfioc_trans, rt_msghdr, zeroed, AF_INET, PF_ROUTE};

fn door() -> FreeBsd<SimSyscalls> {
    FreeBsd::new(SimSyscalls::new(SimKernel::seeded(1)))
}

zelle_core::conformance_tests!(door, common::TempScratch::new);

/// The rctl rules that need kern.racct.enable=1, through the real backend's rctl(2) calls.
fn racct_door() -> FreeBsd<SimSyscalls> {
    door_with(SimConfig {
        seed: 1,
        racct_enable: true,
        ..SimConfig::default()
    })
}

zelle_core::rctl_conformance_tests!(racct_door, common::TempScratch::new);

// devfs rulesets: the DEVFSIO_* ioctls on a descriptor of the mount (src/abi/devfs.rs).
zelle_core::devfs_conformance_tests!(door, common::TempScratch::new);

fn door_with(config: SimConfig) -> FreeBsd<SimSyscalls> {
    FreeBsd::new(SimSyscalls::new(SimKernel::new(config)))
}

/// A door to a machine with the Linux ABI loaded (linux64 brings linux_common and the linux*
/// jail parameters): the real backend then asks jail_get for them too.
fn linux_door() -> FreeBsd<SimSyscalls> {
    let k = SimKernel::seeded(1);
    k.with_machine(|m| m.load_module("linux64")).unwrap();
    FreeBsd::new(SimSyscalls::new(k))
}

/// The jail parameter rules again where linux* exist.
mod with_linux {
    use super::*;
    zelle_core::jail_params_conformance_tests!(linux_door, common::TempScratch::new);
}

/// The mount type rules again on a 13.x machine (no nullfs file mounts).
mod release_13 {
    use super::*;
    fn door_13() -> FreeBsd<SimSyscalls> {
        release(Release::V13)
    }
    zelle_core::mount_types_conformance_tests!(door_13, common::TempScratch::new);
}

fn release(release: Release) -> FreeBsd<SimSyscalls> {
    door_with(SimConfig {
        release,
        ..SimConfig::default()
    })
}

/// PROC_NO_NEW_PRIVS_CTL through the real backend on a 13.x machine: the spawn fails in that
/// step with EINVAL (the default machine, 14.1, runs the rule's other branch).
#[test]
fn no_new_privileges_on_13_is_einval_through_the_door() {
    zelle_core::conformance::process::no_new_privileges_follows_the_release(
        &release(Release::V13),
        &common::TempScratch::new(),
    );
}

fn vhid(vhid: i32) -> InetAlias {
    InetAlias {
        vhid,
        ..InetAlias::new(Ipv4Addr::new(10, 250, 0, 1), 24)
    }
}

/// PR #530 through the real backend's bytes: an in_aliasreq whose `ifra_vhid` bytes are
/// non-zero (-1) with carp(4) not loaded makes the pre-fix 13.0 kernel call a NULL carp_attach_p.
/// The machine records the panic and answers nothing afterwards.
#[test]
fn negative_vhid_panics_the_pre_fix_kernel_through_the_door() {
    let k = release(Release::V13_0PreFix);
    k.create_interface(Vnet::Host, "epair250").unwrap();
    let err = k
        .add_inet_alias(Vnet::Host, "epair250a", &vhid(-1))
        .unwrap_err();
    // A panic leaves userland no errno of its own: the door answers EIO.
    assert_eq!(err.code(), Some(Errno::EIO));
    let machine = k.syscalls().kernel().snapshot();
    let why = machine.panicked.as_deref().unwrap_or_default();
    assert!(
        why.starts_with("SIOCAIFADDR") && why.contains("vhid -1"),
        "{why:?}"
    );
    assert_eq!(machine.trace.back().unwrap().result, "PANIC");
    assert_eq!(
        k.list_interfaces(Vnet::Host).unwrap_err().code(),
        Some(Errno::EIO)
    );
    assert!(k
        .syscalls()
        .socket(AF_INET as c_int, SOCK_DGRAM, 0)
        .is_err());
}

/// The fixed kernel refuses any non-zero vhid without carp: EPROTONOSUPPORT, nothing added.
#[test]
fn vhid_without_carp_is_eprotonosupport_on_the_fixed_kernel() {
    for (kernel, vhids) in [
        (Release::V14_1, &[-1, 1][..]),
        (Release::V13_0PreFix, &[1][..]),
    ] {
        let k = release(kernel);
        k.create_interface(Vnet::Host, "epair251").unwrap();
        for &v in vhids {
            let err = k
                .add_inet_alias(Vnet::Host, "epair251a", &vhid(v))
                .unwrap_err();
            assert_eq!(
                err.code(),
                Some(Errno::EPROTONOSUPPORT),
                "{kernel:?} vhid {v}"
            );
        }
        let iface = k.list_interfaces(Vnet::Host).unwrap();
        let epair = iface.iter().find(|i| i.name == "epair251a").unwrap();
        assert!(epair.inet.is_empty());
        assert!(k.syscalls().kernel().snapshot().panicked.is_none());
    }
}

/// The same calls through the typed door and through the ABI door leave the same trace of
/// operations and results, and the same machine.
#[test]
fn both_doors_trace_the_same_operations() {
    let scratch = common::TempScratch::new();
    let path = zelle_core::conformance::Scratch::dir(&scratch, "jail");
    fn run<K: zelle_core::kernel::Kernel>(k: &K, path: &str) {
        let host = Vnet::Host;
        let a = k.create_interface(host, "epair").unwrap();
        k.create_interface(host, "bridge").unwrap();
        k.set_mtu(host, &a, 9000).unwrap();
        let _ = k.bridge_add_member(host, "bridge0", &a);
        k.add_inet_alias(
            host,
            "bridge0",
            &InetAlias::new(Ipv4Addr::new(10, 7, 0, 1), 24),
        )
        .unwrap();
        let params = JailParams {
            name: Some("traced".into()),
            path: Some(path.into()),
            persist: Some(true),
            ..JailParams::default()
        };
        let jid = k.jail_set(&params, JailFlags::CREATE).unwrap();
        let _ = k.jail_set(&params, JailFlags::CREATE);
        let tx = k.pf_begin("zelle/traced", &[PfRuleset::Filter]).unwrap();
        k.pf_add_rule(&tx, &PfRule::new(PfAction::Pass)).unwrap();
        k.pf_commit(&tx).unwrap();
        let _ = k.destroy_interface(host, "nothing0");
        k.jail_remove(jid).unwrap();
        let _ = k.module_loaded("carp");
    }
    let typed = SimKernel::seeded(3);
    run(&typed, &path);
    let door = FreeBsd::new(SimSyscalls::new(SimKernel::seeded(3)));
    run(&door, &path);
    let (typed, via_door) = (typed.snapshot(), door.syscalls().kernel().snapshot());
    let ops = |m: &zelle_sim::Machine| {
        m.trace
            .iter()
            .map(|t| format!("{} = {}", t.op, t.result))
            .collect::<Vec<_>>()
    };
    assert_eq!(ops(&via_door), ops(&typed));
    assert_eq!(via_door.dump(), typed.dump());
}

/// Process calls read the same in both doors' traces: spawn (with a pty), resize, signal,
/// wait and wait_any are one traced call each (signal_jail is not: the real backend makes it
/// of kern.proc and kills).
#[test]
fn both_doors_trace_process_calls_the_same() {
    use std::os::fd::AsFd;
    use zelle_core::kernel::{ProcessSpec, Signal, Wait, WindowSize};
    fn run<K: zelle_core::kernel::Kernel>(k: &K) {
        let mut spec = ProcessSpec::command(None, &["/bin/sleep", "100"]);
        spec.terminal = Some(WindowSize { rows: 24, cols: 80 });
        let spawned = k.spawn(&spec).unwrap();
        let master = spawned.terminal.expect("master");
        k.resize_terminal(master.as_fd(), WindowSize { rows: 30, cols: 90 })
            .unwrap();
        let quick = k
            .spawn(&ProcessSpec::command(None, &["/usr/bin/true"]))
            .unwrap();
        assert_eq!(k.wait_any(Wait::Block).unwrap().unwrap().0, quick.pid);
        k.signal(spawned.pid, Signal::SIGTERM).unwrap();
        k.wait(spawned.pid, Wait::Block).unwrap();
        let _ = k.spawn(&ProcessSpec::command(None, &["/nonexistent"]));
    }
    let typed = SimKernel::seeded(3);
    run(&typed);
    let door = FreeBsd::new(SimSyscalls::new(SimKernel::seeded(3)));
    run(&door);
    let ops = |m: &zelle_sim::Machine| m.trace.iter().map(|t| t.op).collect::<Vec<_>>();
    let (typed, via_door) = (typed.snapshot(), door.syscalls().kernel().snapshot());
    assert_eq!(ops(&via_door), ops(&typed));
    assert_eq!(
        ops(&typed),
        [
            Op::Spawn,
            Op::ResizeTerminal,
            Op::Spawn,
            Op::WaitAny,
            Op::Signal,
            Op::Wait,
            Op::Spawn
        ]
    );
    assert_eq!(via_door.dump(), typed.dump());
}

/// A fault injected on a spawn or a wait_any fails it through the door with the spawn's and
/// the wait's own Op, as through the typed door.
#[test]
fn process_faults_apply_through_the_door() {
    use zelle_core::kernel::{ProcessSpec, Processes, Wait};
    let k = door_with(SimConfig {
        faults: FaultPlan::default().nth(Op::Spawn, 1, Errno::EAGAIN).nth(
            Op::WaitAny,
            1,
            Errno::EINTR,
        ),
        ..SimConfig::default()
    });
    let spec = ProcessSpec::command(None, &["/usr/bin/true"]);
    let err = k.spawn(&spec).unwrap_err();
    assert_eq!(err, KernelError::errno(Op::Spawn, Errno::EAGAIN));
    let pid = k.spawn(&spec).unwrap().pid;
    let err = k.wait_any(Wait::Block).unwrap_err();
    assert_eq!(err, KernelError::errno(Op::WaitAny, Errno::EINTR));
    assert_eq!(
        k.wait_any(Wait::Block).unwrap(),
        Some((pid, zelle_core::kernel::ExitStatus::Exited(0)))
    );
}

/// A fault plan hits the ABI door's calls as it hits the typed door's: the Nth call of an
/// operation fails with the planned errno and changes nothing.
#[test]
fn fault_plans_apply_through_the_door() {
    let k = door_with(SimConfig {
        faults: FaultPlan::default().nth(Op::CreateInterface, 2, Errno::ENOMEM),
        ..SimConfig::default()
    });
    k.create_interface(Vnet::Host, "bridge").unwrap();
    let err = k.create_interface(Vnet::Host, "bridge").unwrap_err();
    assert_eq!(err.code(), Some(Errno::ENOMEM));
    assert_eq!(k.create_interface(Vnet::Host, "bridge").unwrap(), "bridge1");
    let trace = k.syscalls().kernel().snapshot().trace;
    assert!(trace.iter().any(|t| t.result == "ENOMEM (injected)"));
}

/// Requests the kernel cannot take: an unknown ioctl (ENOTTY), a null argument (EFAULT), an
/// unknown descriptor (EBADF).
#[test]
fn unknown_requests_null_arguments_and_bad_descriptors() {
    let sys = SimSyscalls::new(SimKernel::seeded(1));
    let fd = sys.socket(AF_INET as c_int, SOCK_DGRAM, 0).unwrap();
    let mut req: zelle_sys::ifreq = zeroed();
    let arg = (&mut req as *mut zelle_sys::ifreq).cast::<c_void>();
    // SAFETY: `arg` is a live ifreq, the size _IOWR('i', 200, ifreq) names.
    let unknown =
        unsafe { sys.ioctl(fd, ioctl::iowr::<zelle_sys::ifreq>(b'i', 200).number(), arg) };
    assert_eq!(unknown, Err(Errno::ENOTTY));
    // SAFETY: a null argument is never read.
    let null = unsafe { sys.ioctl(fd, ioctl::SIOCIFCREATE2.number(), core::ptr::null_mut()) };
    assert_eq!(null, Err(Errno::EFAULT));
    sys.close(fd).unwrap();
    assert_eq!(sys.close(fd), Err(Errno::EBADF));
    // SAFETY: as above.
    assert_eq!(
        unsafe { sys.ioctl(fd, ioctl::SIOCIFCREATE2.number(), arg) },
        Err(Errno::EBADF)
    );
}

/// route_output: a message shorter than its header or than rtm_msglen says is EINVAL; a
/// version other than RTM_VERSION is EPROTONOSUPPORT; a message without a destination EINVAL.
#[test]
fn malformed_routing_messages() {
    let sys = SimSyscalls::new(SimKernel::seeded(1));
    let fd = sys.socket(PF_ROUTE as c_int, SOCK_RAW, 0).unwrap();
    let mut rtm: rt_msghdr = zeroed();
    rtm.rtm_msglen = core::mem::size_of::<rt_msghdr>() as u16;
    rtm.rtm_version = 5;
    rtm.rtm_type = 1;
    let bytes = zelle_sys::as_bytes(&rtm).to_vec();
    assert_eq!(sys.write(fd, &bytes[..100]), Err(Errno::EINVAL));
    let mut long = bytes.clone();
    long.push(0);
    assert_eq!(sys.write(fd, &long), Err(Errno::EINVAL));
    assert_eq!(sys.write(fd, &bytes), Err(Errno::EINVAL), "no destination");
    rtm.rtm_version = 4;
    assert_eq!(
        sys.write(fd, zelle_sys::as_bytes(&rtm)),
        Err(Errno::EPROTONOSUPPORT)
    );
    // The kernel echoes what it could read back to the socket, with the errno.
    let mut echo = [0u8; 256];
    let n = sys.read(fd, &mut echo).unwrap();
    let back: rt_msghdr = zelle_sys::from_bytes(&echo[..n]).unwrap();
    assert_eq!(back.rtm_errno, Errno::EINVAL.0);
}

/// DIOCXBEGIN: an element size other than `pfioc_trans_e`'s is ENODEV, a negative count EINVAL;
/// a modifying request on /dev/pf opened read-only is EACCES.
#[test]
fn malformed_pf_transactions() {
    let sys = SimSyscalls::new(SimKernel::seeded(1));
    let fd = sys.open(c"/dev/pf", O_RDWR).unwrap();
    let begin = |fd, esize, size| {
        let mut trans: pfioc_trans = zeroed();
        trans.esize = esize;
        trans.size = size;
        // SAFETY: a live pfioc_trans; its null array is never read past the checks.
        unsafe {
            sys.ioctl(
                fd,
                ioctl::DIOCXBEGIN.number(),
                (&mut trans as *mut pfioc_trans).cast(),
            )
        }
    };
    assert_eq!(begin(fd, 1000, 0), Err(Errno::ENODEV));
    assert_eq!(begin(fd, 1032, -1), Err(Errno::EINVAL));
    assert_eq!(begin(fd, 1032, 1), Err(Errno::EFAULT));
    let read_only = sys.open(c"/dev/pf", 0).unwrap();
    assert_eq!(begin(read_only, 1032, 0), Err(Errno::EACCES));
    sys.kernel()
        .with_machine(|m| m.unload_module("pf"))
        .unwrap();
    assert_eq!(sys.open(c"/dev/pf", O_RDWR), Err(Errno::ENOENT));
}

/// jail_set with a parameter the kernel does not know: EINVAL, and the text in errmsg; an odd
/// number of iovecs or a name without its NUL: EINVAL (`vfs_buildopts`).
#[test]
fn jail_set_iovecs_are_read_as_vfs_buildopts_reads_them() {
    let sys = SimSyscalls::new(SimKernel::seeded(1));
    let mut name = *b"zelle.bogus\0";
    let mut errmsg = [0u8; 64];
    let mut iov = [zeroed::<iovec>(), zeroed(), zeroed(), zeroed()];
    iov[0].iov_base = name.as_mut_ptr().cast();
    iov[0].iov_len = name.len();
    let mut errname = *b"errmsg\0";
    iov[2].iov_base = errname.as_mut_ptr().cast();
    iov[2].iov_len = errname.len();
    iov[3].iov_base = errmsg.as_mut_ptr().cast();
    iov[3].iov_len = errmsg.len();
    // SAFETY: every iovec points at a live buffer of its length.
    let result = unsafe { sys.jail_set(&mut iov, JailFlags::CREATE.0 as c_int) };
    assert_eq!(result, Err(Errno::EINVAL));
    let text = errmsg.split(|&b| b == 0).next().unwrap();
    assert_eq!(text, b"unknown parameter: zelle.bogus");
    // SAFETY: as above.
    assert_eq!(
        unsafe { sys.jail_set(&mut iov[..3], 1) },
        Err(Errno::EINVAL)
    );
    iov[0].iov_len = name.len() - 1;
    // SAFETY: as above.
    assert_eq!(unsafe { sys.jail_set(&mut iov, 1) }, Err(Errno::EINVAL));
}

/// The jailsys and int parameters as the door reads them: a C int of exactly sizeof(int)
/// (`vfs_copyopt`), sysvmsg 0–2 (`msg_prison_check`), linux 1 or 2 (`linux_prison_check`);
/// anything else is EINVAL before the machine changes.
#[test]
fn jail_ints_must_be_c_ints_of_their_range() {
    let sys = SimSyscalls::new(SimKernel::seeded(1));
    sys.kernel()
        .with_machine(|m| m.load_module("linux64"))
        .unwrap();
    let cases: [(&[u8], Vec<u8>); 5] = [
        (b"securelevel\0", 1i64.to_ne_bytes().to_vec()),
        (b"sysvmsg\0", 3i32.to_ne_bytes().to_vec()),
        (b"sysvshm\0", (-1i32).to_ne_bytes().to_vec()),
        (b"linux\0", 0i32.to_ne_bytes().to_vec()),
        (b"linux\0", 3i32.to_ne_bytes().to_vec()),
    ];
    for (name, value) in cases {
        let mut name = name.to_vec();
        let mut value = value;
        let mut persist = *b"persist\0";
        let mut iov = [zeroed::<iovec>(), zeroed(), zeroed(), zeroed()];
        iov[0].iov_base = name.as_mut_ptr().cast();
        iov[0].iov_len = name.len();
        iov[1].iov_base = value.as_mut_ptr().cast();
        iov[1].iov_len = value.len();
        iov[2].iov_base = persist.as_mut_ptr().cast();
        iov[2].iov_len = persist.len();
        // SAFETY: every iovec points at a live buffer of its length (or none).
        let result = unsafe { sys.jail_set(&mut iov, JailFlags::CREATE.0 as c_int) };
        assert_eq!(
            result,
            Err(Errno::EINVAL),
            "{:?}",
            String::from_utf8_lossy(&name)
        );
    }
    assert!(sys.kernel().snapshot().jails.jails.is_empty());
}

/// nmount without an fstype option: EINVAL, "Invalid fstype" in errmsg (UNCONFIRMED text;
/// `vfs_donmount`). An empty fstype is a name no file system has, as through the typed door.
#[test]
fn nmount_without_fstype_is_einval() {
    let sys = SimSyscalls::new(SimKernel::seeded(1));
    let mut path_name = *b"fspath\0";
    let mut path = *b"/tmp\0";
    let mut err_name = *b"errmsg\0";
    let mut errmsg = [0u8; 32];
    let mut iov = [zeroed::<iovec>(), zeroed(), zeroed(), zeroed()];
    for (slot, buf) in
        iov.iter_mut()
            .zip([&mut path_name[..], &mut path, &mut err_name, &mut errmsg])
    {
        slot.iov_base = buf.as_mut_ptr().cast();
        slot.iov_len = buf.len();
    }
    // SAFETY: every iovec points at a live buffer of its length.
    assert_eq!(unsafe { sys.nmount(&mut iov, 0) }, Err(Errno::EINVAL));
    assert_eq!(errmsg.split(|&b| b == 0).next().unwrap(), b"Invalid fstype");
    let request = zelle_core::kernel::MountRequest {
        fstype: String::new(),
        fspath: "/tmp".into(),
        from: None,
        options: vec![],
        flags: Default::default(),
    };
    let typed = SimKernel::seeded(1).nmount(&request).unwrap_err();
    assert_eq!(door().nmount(&request).unwrap_err(), typed);
}

/// A network request for a jail that is gone fails at jail_attach(2): EINVAL; sockets made
/// inside a VNET jail's task belong to its vnet.
#[test]
fn in_jail_attaches_or_fails_as_jail_attach() {
    let k = door();
    let err = k
        .list_interfaces(Vnet::Jail(zelle_core::kernel::Jid(4242)))
        .unwrap_err();
    assert_eq!(err, KernelError::errno(Op::JailAttach, Errno::EINVAL));
    let scratch = common::TempScratch::new();
    let params = JailParams {
        name: Some("inside".into()),
        path: Some(zelle_core::conformance::Scratch::dir(&scratch, "inside")),
        persist: Some(true),
        vnet: Some(zelle_core::kernel::VnetMode::New),
        ..JailParams::default()
    };
    let jid = zelle_core::kernel::Jails::jail_set(&k, &params, JailFlags::CREATE).unwrap();
    let made = k.create_interface(Vnet::Jail(jid), "bridge").unwrap();
    let inside = k.list_interfaces(Vnet::Jail(jid)).unwrap();
    assert!(inside.iter().any(|i| i.name == made));
    let host = k.list_interfaces(Vnet::Host).unwrap();
    assert!(!host.iter().any(|i| i.name == made), "{host:?}");
}

/// A sysctl read over the door: one traced call, whatever the backend asks around it.
#[test]
fn a_sysctl_read_is_one_traced_call() {
    let k = door();
    let before = k.syscalls().kernel().snapshot().trace.len();
    k.sysctl("kern.ostype").unwrap();
    let trace = k.syscalls().kernel().snapshot().trace;
    assert_eq!(trace.len(), before + 1);
    assert_eq!(trace.back().unwrap().op, Op::Sysctl);
}

/// A write whose rename fails (an injected fault on renameat, the call that stands for the
/// contract's write) leaves the old file as it was and no temporary beside it.
#[test]
fn a_failed_write_beneath_leaves_the_old_file_and_no_temporary() {
    use zelle_core::conformance::Scratch;
    use zelle_core::kernel::Files;
    let scratch = common::TempScratch::new();
    let root = scratch.dir("root/etc");
    let root = root.trim_end_matches("/etc").to_string();
    let k = door_with(SimConfig {
        faults: FaultPlan::default().nth(Op::WriteBeneath, 1, Errno::EIO),
        ..SimConfig::default()
    });
    k.create_beneath(
        &root,
        "etc/hosts",
        zelle_core::kernel::FileType::Regular,
        0o644,
    )
    .unwrap();
    let err = k
        .write_beneath(&root, "etc/hosts", b"new\n", 0o644)
        .unwrap_err();
    assert!(err.is(Op::WriteBeneath, Errno::EIO), "{err}");
    assert_eq!(scratch.read("root/etc/hosts"), b"");
    let names: Vec<_> = std::fs::read_dir(format!("{root}/etc"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, ["hosts"]);
    k.write_beneath(&root, "etc/hosts", b"new\n", 0o644)
        .unwrap();
    assert_eq!(scratch.read("root/etc/hosts"), b"new\n");
}

/// devfs rule requests through the typed door and through the real backend's DEVFSIO_* ioctls
/// leave the same trace — operations, arguments and results — and the same machine.
#[test]
fn devfs_requests_trace_the_same_through_both_doors() {
    use zelle_core::kernel::{DevfsRule, DevfsRuleId, DevfsVisibility, MountRequest};
    let scratch = common::TempScratch::new();
    let on = zelle_core::conformance::Scratch::dir(&scratch, "dev");
    fn run<K: zelle_core::kernel::Kernel>(k: &K, on: &str) {
        k.nmount(&MountRequest::new("devfs", on, Some("devfs")))
            .unwrap();
        let id = DevfsRuleId::new(60_000, 0);
        let hide = DevfsRule::visibility(id, None, DevfsVisibility::Hide);
        let null = DevfsRule {
            mode: Some(0o666),
            ..DevfsRule::visibility(id, Some("null"), DevfsVisibility::Unhide)
        };
        k.devfs_add_rule(on, &hide).unwrap();
        k.devfs_add_rule(on, &null).unwrap();
        let _ = k.devfs_add_rule(on, &DevfsRule::default());
        k.devfs_next_rule(on, id).unwrap();
        let _ = k.devfs_next_rule(on, DevfsRuleId::new(60_000, 200));
        k.devfs_use_ruleset(on, 60_000).unwrap();
        k.devfs_apply_ruleset(on, 0).unwrap();
        k.devfs_apply_rule(on, &null).unwrap();
        assert_eq!(k.devfs_next_ruleset(on, 59_999), Ok(60_000));
        k.devfs_delete_rule(on, DevfsRuleId::new(0, 100)).unwrap();
        let _ = k.devfs_delete_rule(on, DevfsRuleId::new(0, 100));
    }
    let typed = SimKernel::seeded(5);
    run(&typed, &on);
    let door = FreeBsd::new(SimSyscalls::new(SimKernel::seeded(5)));
    run(&door, &on);
    let (typed, via_door) = (typed.snapshot(), door.syscalls().kernel().snapshot());
    let devfs = |m: &zelle_sim::Machine| {
        m.trace
            .iter()
            .filter(|t| t.op.to_string().starts_with("DEVFSIO_"))
            .map(|t| format!("{}{} = {}", t.op, t.args, t.result))
            .collect::<Vec<_>>()
    };
    assert_eq!(devfs(&via_door).len(), 11, "{:#?}", devfs(&via_door));
    assert_eq!(devfs(&via_door), devfs(&typed));
    assert_eq!(via_door.dump(), typed.dump());
}

/// DEVFSIO_* as `devfs_rules_ioctl` reads them: a wrong `dr_magic` is ERPCMISMATCH; RADD
/// copies `dr_id` back with ruleset 0 made the mount's and the rule number as sent; a
/// directory on another file system, or an unknown command, is ENOTTY; a null argument EFAULT.
/// What the machine cannot hold (a DRC_DSWFLAGS condition, RAPPLYID) is the door's EOPNOTSUPP.
#[test]
fn devfs_ioctls_as_devfs_rules_ioctl_reads_them() {
    use zelle_core::kernel::{DevfsRules, MountRequest};
    use zelle_sys::devfs_rule;
    let scratch = common::TempScratch::new();
    let on = zelle_core::conformance::Scratch::dir(&scratch, "dev");
    let plain = zelle_core::conformance::Scratch::dir(&scratch, "plain");
    let k = door();
    k.nmount(&MountRequest::new("devfs", &on, Some("devfs")))
        .unwrap();
    k.devfs_use_ruleset(&on, 61_000).unwrap();
    let sys = k.syscalls();
    let open = |path: &str| {
        let path = std::ffi::CString::new(path).unwrap();
        sys.open(&path, zelle_sys::O_DIRECTORY as c_int).unwrap()
    };
    let dev = open(&on);
    let rule = |magic: u32, rid: u32| {
        let mut dr: devfs_rule = zeroed();
        dr.dr_magic = magic;
        dr.dr_id = rid;
        dr.dr_iacts = zelle_sys::DRA_BACTS as c_int;
        dr.dr_bacts = zelle_sys::DRB_HIDE as c_int;
        dr
    };
    let send = |fd, request: ioctl::Request<devfs_rule>, dr: &mut devfs_rule| {
        // SAFETY: a live devfs_rule, the struct the request carries.
        unsafe { sys.ioctl(fd, request.number(), (dr as *mut devfs_rule).cast()) }
    };
    let mut dr = rule(0x1234, 7);
    assert_eq!(
        send(dev, ioctl::DEVFSIO_RADD, &mut dr),
        Err(Errno::ERPCMISMATCH)
    );
    let mut dr = rule(zelle_sys::DEVFS_MAGIC, 0);
    assert_eq!(send(dev, ioctl::DEVFSIO_RADD, &mut dr), Ok(0));
    assert_eq!(dr.dr_id, 61_000 << 16, "the ruleset half only");
    let mut dr = rule(zelle_sys::DEVFS_MAGIC, 61_000 << 16);
    assert_eq!(send(dev, ioctl::DEVFSIO_RGETNEXT, &mut dr), Ok(0));
    assert_eq!(dr.dr_id, (61_000 << 16) | 100, "auto-numbered 100");
    assert_eq!(dr.dr_bacts, zelle_sys::DRB_HIDE as c_int);
    let mut dr = rule(zelle_sys::DEVFS_MAGIC, 61_000 << 16);
    dr.dr_icond = zelle_sys::DRC_DSWFLAGS as c_int;
    assert_eq!(
        send(dev, ioctl::DEVFSIO_RAPPLY, &mut dr),
        Err(Errno::EOPNOTSUPP)
    );
    let mut rid: u32 = (61_000 << 16) | 100;
    // SAFETY: a live devfs_rid.
    let applyid = unsafe {
        sys.ioctl(
            dev,
            ioctl::DEVFSIO_RAPPLYID.number(),
            (&mut rid as *mut u32).cast(),
        )
    };
    assert_eq!(applyid, Err(Errno::EOPNOTSUPP));
    let mut dr = rule(zelle_sys::DEVFS_MAGIC, 61_000 << 16);
    let unknown = ioctl::iowr::<devfs_rule>(b'D', 5);
    assert_eq!(send(dev, unknown, &mut dr), Err(Errno::ENOTTY));
    // SAFETY: a null argument is never read.
    let null = unsafe { sys.ioctl(dev, ioctl::DEVFSIO_SUSE.number(), core::ptr::null_mut()) };
    assert_eq!(null, Err(Errno::EFAULT));
    let elsewhere = open(&plain);
    let mut set: u16 = 0;
    // SAFETY: a live devfs_rsnum.
    let sgetnext = unsafe {
        sys.ioctl(
            elsewhere,
            ioctl::DEVFSIO_SGETNEXT.number(),
            (&mut set as *mut u16).cast(),
        )
    };
    assert_eq!(sgetnext, Err(Errno::ENOTTY));
    // SAFETY: as above.
    let sgetnext = unsafe {
        sys.ioctl(
            dev,
            ioctl::DEVFSIO_SGETNEXT.number(),
            (&mut set as *mut u16).cast(),
        )
    };
    assert_eq!((sgetnext, set), (Ok(0), 61_000));
    sys.close(dev).unwrap();
    sys.close(elsewhere).unwrap();
}
