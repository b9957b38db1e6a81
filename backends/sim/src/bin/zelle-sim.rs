//! `zelle-sim`: bring up, inspect and check a simulated FreeBSD machine.
//!
//! The machine lives in a state file (`--state`, or `$ZELLE_SIM_STATE`), so the command sees
//! what a shim or a test left there.

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use zelle_core::kernel::{
    HostFacts, JailFlags, JailKey, JailParams, Jails, PfAction, PfRule, SysctlValue, VnetMode,
};
use zelle_core::network::{
    AttachRequest, Dns, MemoryStore, NetworkConfig, Networks, PortProtocol, PublishedPort,
};
use zelle_sim::{Release, SimConfig, SimKernel, STATE_ENV};

#[derive(Parser)]
#[command(version, about = "Inspect and drive a simulated FreeBSD machine")]
struct Cli {
    /// The machine's state file [default: $ZELLE_SIM_STATE]
    #[arg(long, global = true)]
    state: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the machine as ifconfig -a, netstat -rn, jls, pfctl, mount and ps would; exit 1
    /// if an invariant does not hold.
    Show,
    /// Check the invariants only; exit 1 with one line per violation.
    Check,
    /// Print the last kernel calls the machine answered.
    Trace {
        #[arg(long, default_value_t = 50)]
        last: usize,
    },
    /// Start the machine afresh.
    Reset {
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// The FreeBSD release the machine behaves like.
        #[arg(long, value_enum, default_value_t = ReleaseArg::V14_1)]
        release: ReleaseArg,
    },
    /// Walk through zelle's main job on a fresh machine: the default network (a bridge with
    /// NAT in a pf anchor), a container's VNET jail attached to it through an epair with a
    /// published port; show the machine; tear everything down and check nothing is left.
    Demo {
        /// Stop after showing the machine, leaving it up for `zelle-sim show`.
        #[arg(long)]
        keep: bool,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum ReleaseArg {
    /// FreeBSD 13.0 before the vhid fix (a vhid without carp panics the kernel)
    #[value(name = "13.0-prefix")]
    V13_0PreFix,
    #[value(name = "13")]
    V13,
    #[value(name = "14.0")]
    V14_0,
    #[value(name = "14.1")]
    V14_1,
    #[value(name = "14.3")]
    V14_3,
    #[value(name = "15.0")]
    V15_0,
}

impl From<ReleaseArg> for Release {
    fn from(arg: ReleaseArg) -> Release {
        match arg {
            ReleaseArg::V13_0PreFix => Release::V13_0PreFix,
            ReleaseArg::V13 => Release::V13,
            ReleaseArg::V14_0 => Release::V14_0,
            ReleaseArg::V14_1 => Release::V14_1,
            ReleaseArg::V14_3 => Release::V14_3,
            ReleaseArg::V15_0 => Release::V15_0,
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let state = cli
        .state
        .or_else(|| std::env::var_os(STATE_ENV).map(PathBuf::from));
    // The demo needs no machine of the user's: it brings up its own.
    let temporary = state.is_none();
    let state = match (state, &cli.command) {
        (Some(state), _) => state,
        (None, Command::Demo { keep: false }) => {
            std::env::temp_dir().join(format!("zelle-demo-{}.json", std::process::id()))
        }
        (None, _) => {
            eprintln!("zelle-sim: no state file: pass --state PATH or set {STATE_ENV}");
            return ExitCode::from(2);
        }
    };
    let result = run(cli.command, state.clone());
    if temporary {
        for suffix in ["", ".lock"] {
            let mut path = state.clone().into_os_string();
            path.push(suffix);
            let _ = std::fs::remove_file(path);
        }
    }
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("zelle-sim: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command, state: PathBuf) -> Result<ExitCode, Box<dyn std::error::Error>> {
    let kernel = Arc::new(SimKernel::shared(&state, SimConfig::default()));
    match command {
        Command::Show => {
            let machine = kernel.snapshot();
            print!("{}", machine.dump());
            Ok(report(&machine.check_invariants()))
        }
        Command::Check => Ok(report(&kernel.snapshot().check_invariants())),
        Command::Trace { last } => {
            let machine = kernel.snapshot();
            let skip = machine.trace.len().saturating_sub(last);
            for entry in machine.trace.iter().skip(skip) {
                println!("{entry}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Reset { seed, release } => {
            let release = Release::from(release);
            let config = SimConfig {
                seed,
                release,
                ..SimConfig::default()
            };
            SimKernel::reset_shared(&state, &config)?;
            println!(
                "{}: a fresh {} machine",
                state.display(),
                release.osrelease()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo { keep } => {
            SimKernel::reset_shared(&state, &SimConfig::default())?;
            let root = std::env::temp_dir().join(format!("zelle-demo-{}", std::process::id()));
            std::fs::create_dir_all(&root)?;
            let result = demo(&kernel, &root.to_string_lossy(), keep);
            if !keep {
                std::fs::remove_dir_all(&root)?;
            }
            result?;
            Ok(report(&kernel.snapshot().check_invariants()))
        }
    }
}

fn report(problems: &[String]) -> ExitCode {
    if problems.is_empty() {
        return ExitCode::SUCCESS;
    }
    eprintln!("invariants violated:");
    for problem in problems {
        eprintln!("  {problem}");
    }
    ExitCode::FAILURE
}

/// zelle's main job on the simulated machine, through zelle-core's own network logic: the
/// operator's host set-up, the default network, one VNET jail attached with a published port;
/// then everything taken down in reverse.
fn demo(k: &Arc<SimKernel>, jail_root: &str, keep: bool) -> Result<(), Box<dyn std::error::Error>> {
    let networks = Networks::new(Arc::clone(k), MemoryStore::default());

    // What the operator does once, in pf.conf and sysctl.conf: zelle never edits the main
    // ruleset. `check_host` says exactly this when it is missing.
    let calls = [PfAction::Nat, PfAction::Rdr, PfAction::Pass]
        .map(|action| PfRule::anchor_call(action, "zelle/*"));
    k.with_machine(|m| m.load_main_ruleset(&calls))??;
    k.set_sysctl("net.inet.ip.forwarding", &SysctlValue::Int(1))?;
    networks.check_host()?;

    let network = NetworkConfig::default_network();
    networks.create(&network)?;
    let params = JailParams {
        name: Some("demo".into()),
        path: Some(jail_root.into()),
        hostname: Some("demo".into()),
        persist: Some(true),
        vnet: Some(VnetMode::New),
        ..JailParams::default()
    };
    let jid = k.jail_set(&params, JailFlags::CREATE)?;
    let attachment = networks.attach(&AttachRequest {
        container_id: "demo".into(),
        network: network.name.clone(),
        jid,
        hostname: "demo".into(),
        ports: vec![PublishedPort {
            proto: PortProtocol::Tcp,
            host_port: 8080,
            container_port: 80,
        }],
        dns: Dns::default(),
    })?;

    println!(
        "=== network {:?} ({}), container \"demo\" in VNET jail {jid}: {} via {}, tcp 8080 -> 80 ===\n",
        network.name, network.subnet, attachment.address, attachment.gateway
    );
    println!("# the container's /etc/hosts\n{}", attachment.hosts);
    print!("{}", k.snapshot().dump());
    if keep {
        return Ok(());
    }

    networks.detach("demo")?;
    k.jail_remove(jid)?;
    networks.remove(&network.name)?;
    let gone = k.jail_get(&JailKey::Jid(jid), JailFlags::DYING).is_err();
    println!("=== after teardown (jail {jid} gone: {gone}) ===\n");
    print!("{}", k.snapshot().dump());
    Ok(())
}
