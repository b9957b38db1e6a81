//! `zelle-sim`: bring up, inspect and check a simulated FreeBSD machine.
//!
//! The machine lives in a state file (`--state`, or `$ZELLE_SIM_STATE`), so the command sees
//! what a shim or a test left there.

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;
use zelle_core::kernel::pf::{redirect_to, PfAddr, PfEndpoint, PfRedirect};
use zelle_core::kernel::{
    IfFlags, InetAlias, JailFlags, JailKey, JailParams, Jails, KResult, NetworkInterfaces,
    PacketFilter, PfAction, PfRule, PfRuleset, Route, Routes, Vnet, VnetMode,
};
use zelle_sim::{Profile, SimConfig, SimKernel, STATE_ENV};

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
        #[arg(long, value_enum, default_value_t = ProfileArg::Fixed)]
        profile: ProfileArg,
    },
    /// Walk through zelle's main job on a fresh machine: a bridge, an epair with one end in a
    /// VNET jail, a pf anchor; show the machine; tear everything down and check nothing is left.
    Demo {
        /// Stop after showing the machine, leaving it up for `zelle-sim show`.
        #[arg(long)]
        keep: bool,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum ProfileArg {
    /// FreeBSD 13.0 before the vhid fix (a vhid without carp panics the kernel)
    Prefix13,
    /// FreeBSD 13.1 and later
    Fixed,
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
    let kernel = SimKernel::shared(&state, SimConfig::default());
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
        Command::Reset { seed, profile } => {
            let profile = match profile {
                ProfileArg::Prefix13 => Profile::PreFix13,
                ProfileArg::Fixed => Profile::Fixed,
            };
            let config = SimConfig {
                seed,
                profile,
                ..SimConfig::default()
            };
            SimKernel::reset_shared(&state, &config)?;
            println!(
                "{}: a fresh {} machine",
                state.display(),
                profile.osrelease()
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

/// Bring an interface up the way ifconfig does: read its flags and add IFF_UP, since
/// SIOCSIFFLAGS replaces every flag the caller may change (IFF_LOOPBACK among them).
fn up(k: &SimKernel, vnet: Vnet, name: &str) -> KResult<()> {
    let flags = k.interface_flags(vnet, name)?;
    k.set_interface_flags(vnet, name, flags.with(IfFlags::UP))
}

fn demo(k: &SimKernel, jail_root: &str, keep: bool) -> KResult<()> {
    let host = Vnet::Host;
    let bridge = k.create_interface(host, "bridge")?;
    k.add_inet_alias(host, &bridge, &InetAlias::new([10, 77, 0, 1].into(), 24))?;
    up(k, host, &bridge)?;
    let epair_a = k.create_interface(host, "epair")?;
    let epair_b = format!("{}b", epair_a.trim_end_matches('a'));
    k.bridge_add_member(host, &bridge, &epair_a)?;
    up(k, host, &epair_a)?;

    let params = JailParams {
        name: Some("demo".into()),
        path: Some(jail_root.into()),
        hostname: Some("demo.zelle".into()),
        persist: Some(true),
        vnet: Some(VnetMode::New),
        ..JailParams::default()
    };
    let jid = k.jail_set(&params, JailFlags::CREATE)?;
    k.move_to_jail(host, &epair_b, jid)?;
    let inside = Vnet::Jail(jid);
    k.rename_interface(inside, &epair_b, "eth0")?;
    k.add_inet_alias(inside, "eth0", &InetAlias::new([10, 77, 0, 2].into(), 24))?;
    up(k, inside, "eth0")?;
    k.add_inet_alias(inside, "lo0", &InetAlias::new([127, 0, 0, 1].into(), 8))?;
    up(k, inside, "lo0")?;
    k.add_route(inside, &Route::default_via([10, 77, 0, 1].into()))?;

    // The operator's pf.conf calls zelle's anchors (zelle never edits the main ruleset).
    let calls = [PfAction::Nat, PfAction::Rdr, PfAction::Pass]
        .map(|action| PfRule::anchor_call(action, "zelle/*"));
    k.with_machine(|m| m.load_main_ruleset(&calls))
        .expect("simulated machine state")?;

    let anchor = "zelle/demo";
    let tx = k.pf_begin(anchor, &[PfRuleset::Nat, PfRuleset::Rdr])?;
    let subnet = "10.77.0.0/24".parse().expect("literal subnet");
    k.pf_add_rule(
        &tx,
        &PfRule {
            interface: Some("em0".into()),
            src: PfEndpoint {
                addr: PfAddr::Net(subnet),
                ..PfEndpoint::any()
            },
            redirect: Some(PfRedirect {
                addr: PfAddr::Interface("em0".into()),
                ports: None,
            }),
            ..PfRule::new(PfAction::Nat)
        },
    )?;
    k.pf_add_rule(
        &tx,
        &PfRule {
            interface: Some("em0".into()),
            proto: Some(zelle_core::kernel::pf::Protocol::Tcp),
            dst: PfEndpoint {
                ports: Some(zelle_core::kernel::pf::PortRange::single(8080)),
                ..PfEndpoint::any()
            },
            redirect: Some(redirect_to(
                [10, 77, 0, 2].into(),
                Some(zelle_core::kernel::pf::PortRange::single(80)),
            )),
            ..PfRule::new(PfAction::Rdr)
        },
    )?;
    k.pf_commit(&tx)?;

    println!("=== the machine with a bridge, an epair, a VNET jail and a pf anchor ===\n");
    print!("{}", k.snapshot().dump());
    if keep {
        return Ok(());
    }

    // Tear down in reverse: the anchor, the jail (which hands epair_b back to the host), the
    // epair (both ends go), the bridge.
    let tx = k.pf_begin(anchor, &[PfRuleset::Nat, PfRuleset::Rdr])?;
    k.pf_commit(&tx)?;
    k.jail_remove(jid)?;
    k.destroy_interface(host, &epair_a)?;
    k.destroy_interface(host, &bridge)?;
    let gone = k.jail_get(&JailKey::Jid(jid), JailFlags::DYING).is_err();
    println!("=== after teardown (jail {jid} gone: {gone}) ===\n");
    print!("{}", k.snapshot().dump());
    Ok(())
}
