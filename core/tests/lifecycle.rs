//! The container lifecycle on the simulated machine: create → start → exit → delete, pause and
//! resume, exec, kill, and every bad input refused with an error naming its field and nothing
//! left behind.

mod runtime_support;

use runtime_support::*;
use serde_json::json;
use zelle_core::kernel::process::RunState;
use zelle_core::kernel::{
    ExitStatus, JailFlags, JailKey, Jails, Mounts, Pid, Processes, Signal, Stdio,
};
use zelle_core::runtime::{ContainerStore, ProcessPlan, RuntimeError, Status};
use zelle_sim::SimConfig;

fn stdio() -> Stdio {
    Stdio::default()
}

#[test]
fn a_container_runs_its_init_and_delete_leaves_the_machine_as_it_was() {
    let host = Host::new(1);
    let before = host.dump();
    let request = host.bundle("web", config(&["sh", "-c", "exit 3"]));
    let created = host.runtime.create(&request).unwrap();
    let after_create = host.dump();
    let root = format!("{}/rootfs", request.bundle);
    // The root, then the config's devfs and fdescfs, then the default procfs.
    for line in [
        format!("on {root} (nullfs"),
        format!("devfs on {root}/dev (devfs"),
        format!("fdescfs on {root}/dev/fd (fdescfs"),
        format!("procfs on {root}/proc (procfs"),
    ] {
        assert!(after_create.contains(&line), "{line}\n{after_create}");
    }
    let info = host
        .sim()
        .jail_get(&JailKey::Name("web".into()), JailFlags::default())
        .unwrap();
    assert_eq!(info.jid, created.jid);
    assert_eq!(info.path, root);
    assert_eq!(info.hostname, "web");
    assert!(info.vnet && info.persist);
    assert_eq!(info.devfs_ruleset, 77);
    assert_eq!(host.runtime.state("web").unwrap().status, "created");

    let pid = host.runtime.start("web", stdio()).unwrap().pid;
    let exits = host.runtime.reap().unwrap();
    assert_eq!(exits.len(), 1, "{exits:?}");
    assert_eq!(
        (exits[0].pid, exits[0].status),
        (pid, ExitStatus::Exited(3))
    );
    assert_eq!(exits[0].exec_id, None);
    let state = host.runtime.state("web").unwrap();
    assert_eq!((state.status.as_str(), state.pid), ("stopped", None));

    assert_eq!(
        host.runtime.delete("web").unwrap(),
        Some(ExitStatus::Exited(3))
    );
    assert_eq!(host.problems(), Vec::<String>::new());
    assert_eq!(host.dump(), before);
    assert!(host.containers.ids().unwrap().is_empty());
}

#[test]
fn the_init_is_found_along_path_inside_the_root_and_runs_in_the_jail() {
    let host = Host::new(2);
    let request = host.bundle("svc", config(&["server", "--port", "80"]));
    let created = host.runtime.create(&request).unwrap();
    let pid = host.runtime.start("svc", stdio()).unwrap().pid;
    let snapshot = host.sim().snapshot();
    let proc = &snapshot.procs.procs[&pid];
    assert_eq!(proc.jail, created.jid);
    assert_eq!(proc.args, vec![SERVER, "--port", "80"]);
    assert_eq!(host.runtime.state("svc").unwrap().pid, Some(pid.0));
    assert!(host.runtime.reap().unwrap().is_empty());

    // A running init blocks delete; containerd kills first.
    let err = host.runtime.delete("svc").unwrap_err();
    assert!(matches!(err, RuntimeError::WrongState { .. }), "{err}");
    host.runtime
        .kill("svc", None, Signal::SIGTERM, false)
        .unwrap();
    let exits = host.runtime.reap().unwrap();
    assert_eq!(exits[0].status, ExitStatus::Signaled(Signal::SIGTERM));
    host.runtime.delete("svc").unwrap();
    assert_eq!(host.problems(), Vec::<String>::new());
}

#[test]
fn pause_stops_every_process_and_resume_continues_them() {
    let host = Host::new(3);
    let request = host.bundle("p", config(&[SERVER]));
    let created = host.runtime.create(&request).unwrap();
    let init = host.runtime.start("p", stdio()).unwrap().pid;
    let (plan, _) = ProcessPlan::parse(
        json!({"args": ["server"], "cwd": "/", "env": ["PATH=/usr/local/bin"]})
            .to_string()
            .as_bytes(),
    )
    .unwrap();
    let exec = host.runtime.exec("p", "e1", &plan, stdio()).unwrap().pid;
    let states = || -> Vec<(Pid, RunState)> {
        host.runtime
            .processes("p")
            .unwrap()
            .into_iter()
            .map(|p| (p.pid, p.state))
            .collect()
    };
    assert_eq!(
        states(),
        [(init, RunState::Sleeping), (exec, RunState::Sleeping)]
    );

    host.runtime.pause("p").unwrap();
    assert_eq!(host.runtime.state("p").unwrap().status, "paused");
    assert_eq!(
        states(),
        [(init, RunState::Stopped), (exec, RunState::Stopped)]
    );
    host.runtime.resume("p").unwrap();
    assert_eq!(
        states(),
        [(init, RunState::Sleeping), (exec, RunState::Sleeping)]
    );
    assert_eq!(host.runtime.state("p").unwrap().status, "running");

    // Kill with `all` reaches the exec too.
    host.runtime.kill("p", None, Signal::SIGKILL, true).unwrap();
    let mut exits = host.runtime.reap().unwrap();
    exits.sort_by_key(|e| e.pid);
    assert_eq!(exits.len(), 2);
    assert_eq!(exits[1].exec_id.as_deref(), Some("e1"));
    assert!(host.sim().jail_processes(created.jid).unwrap().is_empty());
    host.runtime.delete("p").unwrap();
    assert_eq!(host.problems(), Vec::<String>::new());
}

/// Create must fail with an error naming `field`, and leave the machine and the state
/// directory as they were.
fn refused(host: &Host, request: &zelle_core::runtime::CreateRequest, field: &str) {
    let before = host.dump();
    let err = host.runtime.create(request).unwrap_err();
    let text = err.to_string();
    assert!(
        !matches!(err, RuntimeError::UndoIncomplete { .. }),
        "{text}"
    );
    assert!(text.contains(field), "{field:?} not named in: {text}");
    assert_eq!(host.dump(), before, "after: {text}");
    assert!(host.containers.ids().unwrap().is_empty(), "{text}");
}

#[test]
fn a_destination_escaping_the_root_is_refused_naming_the_mount() {
    let host = Host::new(4);
    // By "..": refused as the bundle is read.
    let mut escape = config(&["sh"]);
    escape["mounts"] =
        json!([{"destination": "/tmp/../../etc", "type": "tmpfs", "source": "tmpfs"}]);
    refused(
        &host,
        &host.bundle("dotdot", escape),
        "mounts[0].destination",
    );

    // By an absolute link, and by a chain of relative links that climbs out.
    for (id, link, target) in [("abs", "data", "/etc"), ("chain", "data", "hop/../../..")] {
        let mut cfg = config(&["sh"]);
        cfg["mounts"] = json!([{"destination": "/data/x", "type": "tmpfs", "source": "tmpfs"}]);
        let request = host.bundle(id, cfg);
        let snapshot = &request.rootfs[0].source;
        std::fs::create_dir_all(format!("{snapshot}/hop")).unwrap();
        std::os::unix::fs::symlink(target, format!("{snapshot}/{link}")).unwrap();
        refused(&host, &request, "mounts[0]");
    }
}

#[test]
fn bad_inputs_are_refused_by_field_and_leave_nothing() {
    let host = Host::new(5);
    let mut unknown = config(&["sh"]);
    unknown["mounts"] = json!([{"destination": "/x", "type": "overlay", "source": "o"}]);
    refused(&host, &host.bundle("unknown", unknown), "mounts[0].type");

    let mut no_args = config(&["sh"]);
    no_args["process"]["args"] = json!([]);
    refused(&host, &host.bundle("noargs", no_args), "process.args");

    refused(
        &host,
        &host.bundle("missing", config(&["/usr/bin/nonesuch"])),
        "process.args[0]",
    );
    refused(
        &host,
        &host.bundle("missing2", config(&["nonesuch"])),
        "process.args[0]",
    );

    let mut slash = host.bundle("slash", config(&["sh"]));
    slash.id = "a/b".into();
    refused(&host, &slash, "\"a/b\"");
    let mut long = host.bundle("long", config(&["sh"]));
    long.id = "x".repeat(300);
    refused(&host, &long, "at most 255");

    let mut overlay = host.bundle("overlay", config(&["sh"]));
    overlay.rootfs[0].kind = "overlay".into();
    refused(&host, &overlay, "rootfs[0].type");
}

#[test]
fn a_duplicate_id_is_refused_and_the_first_container_stays() {
    let host = Host::new(6);
    let request = host.bundle("dup", config(&["sh"]));
    host.runtime.create(&request).unwrap();
    let before = host.dump();
    let err = host.runtime.create(&request).unwrap_err();
    assert!(err.to_string().contains("\"dup\" already exists"), "{err}");
    assert_eq!(host.dump(), before);
    assert_eq!(host.runtime.state("dup").unwrap().status, "created");
    host.runtime.delete("dup").unwrap();
}

#[test]
fn a_memory_limit_with_racct_off_names_the_field_and_the_fix() {
    let host = Host::new(7);
    let mut cfg = config(&["sh"]);
    cfg["annotations"]["org.zelle.rctl"] = json!("memoryuse=512m");
    let request = host.bundle("limited", cfg);
    refused(&host, &request, "annotations[\"org.zelle.rctl\"]");
    let err = host.runtime.create(&request).unwrap_err().to_string();
    assert!(err.contains("kern.racct.enable=1"), "{err}");
}

#[test]
fn limits_become_rctl_rules_of_the_jail_and_go_with_it() {
    let host = Host::with_config(SimConfig {
        seed: 8,
        racct_enable: true,
        ..SimConfig::default()
    });
    let before = host.dump();
    let mut cfg = config(&["sh"]);
    cfg["annotations"]["org.zelle.rctl"] = json!("memoryuse=512m,maxproc=100");
    host.runtime.create(&host.bundle("lim", cfg)).unwrap();
    let dump = host.dump();
    for rule in [
        "jail:lim:memoryuse:deny=536870912",
        "jail:lim:maxproc:deny=100",
    ] {
        assert!(dump.contains(rule), "{rule}\n{dump}");
    }
    host.runtime.delete("lim").unwrap();
    assert_eq!(host.dump(), before);
}

#[test]
fn a_read_only_root_still_gets_its_mount_points() {
    let host = Host::new(9);
    let mut cfg = config(&["sh"]);
    cfg["mounts"] = json!([{"destination": "/new/dir", "type": "tmpfs", "source": "tmpfs"}]);
    let mut request = host.bundle("ro", cfg.clone());
    let mut value: serde_json::Value = serde_json::from_slice(&request.config).unwrap();
    value["root"]["readonly"] = json!(true);
    request.config = value.to_string().into_bytes();
    host.runtime.create(&request).unwrap();
    let dump = host.dump();
    let root = format!("{}/rootfs", request.bundle);
    assert!(
        dump.contains(&format!("on {root} (nullfs, local, read-only)")),
        "{dump}"
    );
    assert!(dump.contains(&format!("tmpfs on {root}/new/dir")), "{dump}");
    host.runtime.delete("ro").unwrap();
    assert_eq!(host.problems(), Vec::<String>::new());
}

#[test]
fn state_follows_the_life_and_unknown_containers_are_named() {
    let host = Host::new(10);
    assert!(matches!(
        host.runtime.state("ghost"),
        Err(RuntimeError::NotFound(id)) if id == "ghost"
    ));
    let mut cfg = config(&["sh"]);
    cfg["annotations"]["com.example/team"] = json!("infra");
    host.runtime.create(&host.bundle("s", cfg)).unwrap();
    let state = host.runtime.state("s").unwrap();
    let json = serde_json::to_value(&state).unwrap();
    assert_eq!(json["ociVersion"], "1.1.0");
    assert_eq!(json["status"], "created");
    assert_eq!(json["annotations"]["com.example/team"], "infra");
    assert!(json.get("pid").is_none());
    assert_eq!(
        host.containers.load("s").unwrap().unwrap().status,
        Status::Created
    );
    host.runtime.delete("s").unwrap();
}

/// TIOCGWINSZ on the host's pty (the simulated machine's terminals are real ones).
fn terminal_size(master: std::os::fd::BorrowedFd<'_>) -> (u16, u16) {
    use std::os::fd::AsRawFd;
    let mut ws = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one winsize into `ws`.
    let rc = unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCGWINSZ, &mut ws) };
    assert_eq!(rc, 0, "TIOCGWINSZ: {}", std::io::Error::last_os_error());
    (ws.ws_row, ws.ws_col)
}

#[test]
fn a_terminal_init_hands_back_the_master_with_its_size_and_resizes() {
    use std::io::Read;
    use std::os::fd::AsFd;
    let host = Host::new(11);
    let mut cfg = config(&["echo", "hello"]);
    cfg["process"]["terminal"] = json!(true);
    cfg["process"]["consoleSize"] = json!({"height": 40, "width": 120});
    host.runtime.create(&host.bundle("tty", cfg)).unwrap();
    let started = host.runtime.start("tty", stdio()).unwrap();
    let master = started.terminal.expect("a pty master");
    assert_eq!(terminal_size(master.as_fd()), (40, 120));
    host.runtime
        .resize(
            "tty",
            master.as_fd(),
            zelle_core::kernel::WindowSize {
                rows: 50,
                cols: 100,
            },
        )
        .unwrap();
    assert_eq!(terminal_size(master.as_fd()), (50, 100));
    let mut output = Vec::new();
    let mut file = std::fs::File::from(master);
    let mut buf = [0u8; 256];
    loop {
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => output.extend_from_slice(&buf[..n]),
            // Linux answers EIO once no slave is open; FreeBSD gives end of file.
            Err(e) if e.raw_os_error() == Some(libc::EIO) => break,
            Err(e) => panic!("reading the master: {e}"),
        }
    }
    assert_eq!(String::from_utf8_lossy(&output), "hello\r\n");
    host.runtime.reap().unwrap();
    host.runtime.delete("tty").unwrap();
    assert_eq!(host.problems(), Vec::<String>::new());
}

#[test]
fn the_runtime_as_reaper_collects_a_containers_orphans() {
    use zelle_sim::process::{Program, Script};
    let host = Host::new(12);
    // An init that starts a server in the background and exits at once.
    host.sim()
        .with_machine(|m| {
            let mut forker = Script::exits(0);
            forker.forks = vec![vec![SERVER.to_string()]];
            m.procs
                .programs
                .insert("/usr/local/bin/forker".into(), Program::Script(forker));
        })
        .unwrap();
    host.runtime.become_reaper().unwrap();
    let request = host.bundle("orph", config(&["forker"]));
    std::fs::write(
        format!("{}/usr/local/bin/forker", request.rootfs[0].source),
        b"",
    )
    .unwrap();
    let jid = host.runtime.create(&request).unwrap().jid;
    host.runtime.start("orph", stdio()).unwrap();
    let exits = host.runtime.reap().unwrap();
    assert_eq!(exits.len(), 1, "the init exited");
    // The server was orphaned to us; killed, it is a zombie that only we can reap.
    let orphan = host.sim().jail_processes(jid).unwrap();
    assert_eq!(orphan.len(), 1);
    host.runtime
        .kill("orph", None, Signal::SIGKILL, true)
        .unwrap();
    assert_eq!(
        host.sim().jail_processes(jid).unwrap()[0].state,
        RunState::Zombie
    );
    host.runtime.reap().unwrap();
    assert!(host.sim().jail_processes(jid).unwrap().is_empty());
    host.runtime.delete("orph").unwrap();
    assert_eq!(host.problems(), Vec::<String>::new());
}

#[test]
fn a_fresh_runtime_deletes_a_container_whose_shim_died_while_it_ran() {
    let host = Host::new(13);
    let before = host.dump();
    host.runtime
        .create(&host.bundle("alive", config(&[SERVER])))
        .unwrap();
    host.runtime.start("alive", stdio()).unwrap();
    // The shim is gone; containerd's `shim delete` runs in a new process.
    let fresh = host.fresh_runtime();
    // Its kill finds the init in the jail, so it may signal it.
    fresh.kill("alive", None, Signal::SIGTERM, false).unwrap();
    assert!(fresh.delete("alive").unwrap().is_some());
    // The dead shim's runtime is this test's too: let it see the end it missed.
    host.runtime.reap().unwrap();
    assert_eq!(host.problems(), Vec::<String>::new());
    assert_eq!(host.dump(), before);
}

#[test]
fn a_jail_below_a_parent_gets_its_limits_under_its_full_name() {
    let host = Host::with_config(SimConfig {
        seed: 14,
        racct_enable: true,
        ..SimConfig::default()
    });
    let parent = zelle_core::kernel::JailParams {
        name: Some("pods".into()),
        path: Some("/".into()),
        persist: Some(true),
        children_max: Some(10),
        ..Default::default()
    };
    host.sim().jail_set(&parent, JailFlags::CREATE).unwrap();
    let before = host.dump();
    let mut cfg = config(&["sh"]);
    cfg["freebsd"] = json!({"jail": {"parent": "pods"}});
    cfg["annotations"] = json!({"org.zelle.rctl": "maxproc=20"});
    host.runtime.create(&host.bundle("web", cfg)).unwrap();
    let dump = host.dump();
    assert!(dump.contains("jail:pods.web:maxproc:deny=20"), "{dump}");
    assert!(host
        .sim()
        .jail_get(&JailKey::Name("pods.web".into()), JailFlags::default())
        .is_ok());
    host.runtime.delete("web").unwrap();
    assert_eq!(host.dump(), before);
}

#[test]
fn a_mount_point_the_container_turned_into_a_link_out_is_not_unmounted_through_it() {
    use zelle_core::runtime::state::MountRecord;
    let host = Host::new(15);
    let request = host.bundle("evil", config(&["sh"]));
    host.runtime.create(&request).unwrap();
    // A host mount the link will point at.
    let victim = host.host_dir("victim");
    host.sim()
        .nmount(&zelle_core::kernel::MountRequest::new(
            "tmpfs",
            &victim,
            Some("tmpfs"),
        ))
        .unwrap();
    // On FreeBSD a mount moves with its renamed directory, and the container can put a link
    // where the directory was. The simulated machine keeps mounts by path, so the record is
    // given such a mount point by hand: a link inside the root to the host's path.
    let root = format!("{}/rootfs", request.bundle);
    let snapshot = &request.rootfs[0].source;
    std::os::unix::fs::symlink(&victim, format!("{snapshot}/data")).unwrap();
    let mut record = host.containers.load("evil").unwrap().unwrap();
    record.mounts.push(MountRecord {
        fstype: "tmpfs".into(),
        on: format!("{root}/data"),
    });
    host.containers.save(&record).unwrap();
    let err = host.runtime.delete("evil").unwrap_err().to_string();
    assert!(err.contains("made its mount point a link"), "{err}");
    let mounts = host.sim().list_mounts().unwrap();
    assert!(
        mounts.iter().any(|m| m.on == victim),
        "the host's mount went"
    );
}

#[test]
fn two_starts_of_one_container_at_once_start_one_init() {
    let host = Host::new(16);
    host.runtime
        .create(&host.bundle("race", config(&[SERVER])))
        .unwrap();
    let results: Vec<bool> = std::thread::scope(|s| {
        let starts: Vec<_> = (0..2)
            .map(|_| s.spawn(|| host.runtime.start("race", stdio()).is_ok()))
            .collect();
        starts.into_iter().map(|t| t.join().unwrap()).collect()
    });
    assert_eq!(results.iter().filter(|ok| **ok).count(), 1, "{results:?}");
    let record = host.runtime.state("race").unwrap();
    let processes = host.runtime.processes("race").unwrap();
    assert_eq!(processes.len(), 1);
    assert_eq!(record.pid, Some(processes[0].pid.0));
    host.runtime
        .kill("race", None, Signal::SIGKILL, false)
        .unwrap();
    host.runtime.reap().unwrap();
    host.runtime.delete("race").unwrap();
}

#[test]
fn a_containers_dev_shows_what_zelles_ruleset_unhides() {
    // A machine with a disk and pf's device, and no ruleset installed before the first create.
    let host = Host::new(17);
    host.sim()
        .with_machine(|m| {
            m.devfs.rulesets.clear();
            m.make_dev("ada0", 0o640, 0, 5);
            m.make_dev("pf", 0o600, 0, 0);
        })
        .unwrap();
    let request = host.bundle("devs", config(&["sh"]));
    host.runtime.create(&request).unwrap();
    let dev = format!("{}/rootfs/dev", request.bundle);
    let visible: Vec<String> = host
        .sim()
        .with_machine(|m| m.devfs_nodes(&dev))
        .unwrap()
        .expect("a devfs on the container's /dev")
        .into_iter()
        .map(|n| n.path)
        .collect();
    for hidden in ["ada0", "pf", "mem"] {
        assert!(
            !visible.iter().any(|p| p == hidden),
            "{hidden}: {visible:?}"
        );
    }
    for shown in ["null", "zero", "random", "fd", "pts"] {
        assert!(visible.iter().any(|p| p == shown), "{shown}: {visible:?}");
    }
    host.runtime.delete("devs").unwrap();
    // The ruleset stays installed for the next container, as the operator's do.
    assert!(host.dump().contains("ruleset 77"));
}
