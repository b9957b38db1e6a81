//! Virtual programs: what a spawned path does on the simulated machine, decided from its
//! arguments alone, deterministically.
//!
//! A fresh machine knows a few programs that exist on every FreeBSD system, so that the
//! conformance suite (which also runs on a real kernel) can use them:
//!
//! | path | does |
//! |---|---|
//! | `/usr/bin/true`, `/usr/bin/false` | exit 0, exit 1 |
//! | `/bin/echo [-n] words…` | writes the words to stdout |
//! | `/bin/cat` | copies stdin to stdout: the bytes a spawn feeds it (`StdioFd::Data`), nothing from a descriptor; a file operand is "No such file or directory" (a virtual program reads no file) |
//! | `/bin/sleep N[smhd]…` | runs N seconds of simulated time, then exits 0 |
//! | `/bin/sh -c SCRIPT` | `exit [N]`, `true`, `false`, `:`, `echo …`, or one command found by name in /bin, /usr/bin, /sbin, /usr/sbin (optionally after `exec`); anything else is "not found", 127. Commands before a `&` run in children it forks first (`sleep 100 & exit 0`) |
//!
//! Tests register more (`Program::Script`) by path in `ProcState::programs`.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use zelle_core::kernel::Signal;

/// A scripted behaviour: the same whatever the arguments.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Script {
    pub exit_code: i32,
    pub stdout: String,
    pub stderr: String,
    /// Simulated run time; `None` runs until a signal ends it.
    pub run_ms: Option<u64>,
    /// Signals it ignores (SIGKILL and SIGSTOP cannot be ignored).
    pub ignores: Vec<Signal>,
    /// Children it forks as it starts, each an argv whose argv[0] is found as sh finds a
    /// command (a path, or a name in /bin, /usr/bin, /sbin, /usr/sbin). They share its jail,
    /// working directory and stdio.
    #[serde(default)]
    pub forks: Vec<Vec<String>>,
}

impl Script {
    /// Exits at once with `code`.
    pub fn exits(code: i32) -> Self {
        Script {
            exit_code: code,
            run_ms: Some(0),
            ..Script::default()
        }
    }

    /// Runs until a signal ends it.
    pub fn runs_until_signalled() -> Self {
        Script::default()
    }

    pub fn runs_for(mut self, ms: u64) -> Self {
        self.run_ms = Some(ms);
        self
    }

    pub fn stdout(mut self, text: &str) -> Self {
        self.stdout = text.to_string();
        self
    }

    pub fn stderr(mut self, text: &str) -> Self {
        self.stderr = text.to_string();
        self
    }

    pub fn ignoring(mut self, signal: Signal) -> Self {
        self.ignores.push(signal);
        self
    }

    /// Forks a child running `argv` as it starts.
    pub fn forking(mut self, argv: &[&str]) -> Self {
        self.forks
            .push(argv.iter().map(|a| a.to_string()).collect());
        self
    }
}

/// The program a command names, as sh finds it: a path as given, a bare name in /bin,
/// /usr/bin, /sbin or /usr/sbin.
pub(crate) fn find_command<'a>(
    table: &'a BTreeMap<String, Program>,
    command: &str,
) -> Option<&'a Program> {
    if command.contains('/') {
        table.get(command)
    } else {
        ["/bin/", "/usr/bin/", "/sbin/", "/usr/sbin/"]
            .iter()
            .find_map(|dir| table.get(&format!("{dir}{command}")))
    }
}

/// A program the machine can run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Program {
    Script(Script),
    True,
    False,
    Echo,
    Sleep,
    Sh,
    Cat,
}

/// The programs every fresh machine has.
pub fn default_programs() -> BTreeMap<String, Program> {
    [
        ("/usr/bin/true", Program::True),
        ("/usr/bin/false", Program::False),
        ("/bin/echo", Program::Echo),
        ("/bin/sleep", Program::Sleep),
        ("/bin/sh", Program::Sh),
        ("/bin/cat", Program::Cat),
    ]
    .into_iter()
    .map(|(path, program)| (path.to_string(), program))
    .collect()
}

/// How deep `sh -c` may call programs that call sh again.
const MAX_DEPTH: u8 = 8;

impl Program {
    /// What running it with `args` (argv, argv[0] included) does.
    pub fn run(&self, args: &[String], table: &BTreeMap<String, Program>) -> Script {
        self.run_at(args, table, 0)
    }

    /// As `run`, with the bytes its stdin gives before end of file.
    pub fn run_with_input(
        &self,
        args: &[String],
        table: &BTreeMap<String, Program>,
        stdin: &[u8],
    ) -> Script {
        match self {
            Program::Cat => cat(args.get(1..).unwrap_or_default(), stdin),
            _ => self.run(args, table),
        }
    }

    fn run_at(&self, args: &[String], table: &BTreeMap<String, Program>, depth: u8) -> Script {
        let rest = args.get(1..).unwrap_or_default();
        match self {
            Program::Cat => cat(rest, b""),
            Program::Script(script) => script.clone(),
            Program::True => Script::exits(0),
            Program::False => Script::exits(1),
            Program::Echo => echo(rest),
            Program::Sleep => sleep(rest),
            Program::Sh => sh(rest, table, depth),
        }
    }
}

/// cat(1): stdin ("-" or no operand) to stdout.
fn cat(operands: &[String], stdin: &[u8]) -> Script {
    match operands.iter().find(|o| o.as_str() != "-") {
        Some(file) => Script::exits(1).stderr(&format!("cat: {file}: No such file or directory\n")),
        None => Script::exits(0).stdout(&String::from_utf8_lossy(stdin)),
    }
}

fn echo(words: &[String]) -> Script {
    let (newline, words) = match words.first() {
        Some(flag) if flag == "-n" => (false, &words[1..]),
        _ => (true, words),
    };
    let mut text = words.join(" ");
    if newline {
        text.push('\n');
    }
    Script::exits(0).stdout(&text)
}

/// sleep(1) of 14.x: each operand a number with an optional unit, summed.
fn sleep(operands: &[String]) -> Script {
    if operands.is_empty() {
        return Script::exits(1).stderr("usage: sleep number[unit] [...]\n");
    }
    let mut total_ms = 0f64;
    for operand in operands {
        let (number, scale) = match operand.chars().last() {
            Some('s') => (&operand[..operand.len() - 1], 1e3),
            Some('m') => (&operand[..operand.len() - 1], 60e3),
            Some('h') => (&operand[..operand.len() - 1], 3600e3),
            Some('d') => (&operand[..operand.len() - 1], 86400e3),
            _ => (operand.as_str(), 1e3),
        };
        match number.parse::<f64>() {
            Ok(n) if n.is_finite() && n >= 0.0 => total_ms += n * scale,
            _ => {
                return Script::exits(1)
                    .stderr(&format!("sleep: invalid time interval: {operand}\n"))
            }
        }
    }
    // Saturating: a huge interval is simply longer than any test.
    Script::exits(0).runs_for(total_ms.min(u64::MAX as f64) as u64)
}

/// sh(1) reduced to what the sim runs: each command before a `&` goes to a child sh forks (a
/// simple command: the child execs it), then the last command runs as `sh_command` says.
fn sh(options: &[String], table: &BTreeMap<String, Program>, depth: u8) -> Script {
    match options {
        [flag, script, rest @ ..]
            if flag.starts_with('-')
                && flag.contains('c')
                && script.contains('&')
                && !script.contains("&&") =>
        {
            let mut parts: Vec<&str> = script.split('&').collect();
            let last = parts.pop().unwrap_or_default();
            let mut args = vec![flag.clone(), last.to_string()];
            args.extend(rest.iter().cloned());
            let mut result = sh_command(&args, table, depth);
            let forks = parts
                .iter()
                .map(|part| part.split_whitespace().map(str::to_string).collect())
                .filter(|argv: &Vec<String>| !argv.is_empty());
            result.forks.splice(0..0, forks);
            result
        }
        _ => sh_command(options, table, depth),
    }
}

fn sh_command(options: &[String], table: &BTreeMap<String, Program>, depth: u8) -> Script {
    let Some(first) = options.first() else {
        // Commands from stdin: the sim feeds none, so it is at its end at once.
        return Script::exits(0);
    };
    if !(first.starts_with('-') && first.contains('c')) {
        return Script::exits(2).stderr(&format!(
            "sh: cannot open {first}: No such file or directory\n"
        ));
    }
    let Some(script) = options.get(1) else {
        return Script::exits(2).stderr("sh: -c: option requires an argument\n");
    };
    let script = script.trim();
    let script = script.strip_prefix("exec ").unwrap_or(script).trim();
    let words: Vec<String> = script.split_whitespace().map(str::to_string).collect();
    let Some(command) = words.first() else {
        return Script::exits(0);
    };
    match command.as_str() {
        "exit" => match words.get(1).map(|n| n.parse::<i64>()) {
            None => Script::exits(0),
            Some(Ok(n)) if n >= 0 => Script::exits((n & 0xff) as i32),
            Some(_) => Script::exits(2).stderr(&format!(
                "sh: exit: Illegal number: {}\n",
                words.get(1).map_or("", String::as_str)
            )),
        },
        ":" | "true" => Script::exits(0),
        "false" => Script::exits(1),
        "echo" => echo(&words[1..]),
        _ => match find_command(table, command) {
            Some(program) if depth < MAX_DEPTH => program.run_at(&words, table, depth + 1),
            _ => Script::exits(127).stderr(&format!("sh: {command}: not found\n")),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Script {
        let table = default_programs();
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        table[&args[0]].run(&args, &table)
    }

    #[test]
    fn default_programs_behave_like_freebsds() {
        assert_eq!(run(&["/usr/bin/true"]).exit_code, 0);
        assert_eq!(run(&["/usr/bin/false"]).exit_code, 1);
        assert_eq!(run(&["/bin/echo", "a", "b"]).stdout, "a b\n");
        assert_eq!(run(&["/bin/echo", "-n", "a"]).stdout, "a");
        assert_eq!(run(&["/bin/sleep", "2"]).run_ms, Some(2000));
        assert_eq!(run(&["/bin/sleep", "1m", "0.5"]).run_ms, Some(60_500));
        assert_eq!(run(&["/bin/sleep", "x"]).exit_code, 1);
        assert_eq!(run(&["/bin/sleep"]).exit_code, 1);
        assert_eq!(run(&["/bin/sh", "-c", "exit 3"]).exit_code, 3);
        assert_eq!(run(&["/bin/sh", "-c", "exit 300"]).exit_code, 44);
        assert_eq!(run(&["/bin/sh", "-c", "exit x"]).exit_code, 2);
        assert_eq!(run(&["/bin/sh", "-c", "exec sleep 5"]).run_ms, Some(5000));
        assert_eq!(run(&["/bin/sh", "-c", "echo hi"]).stdout, "hi\n");
        let missing = run(&["/bin/sh", "-c", "nonesuch"]);
        assert_eq!(
            (missing.exit_code, missing.stderr.as_str()),
            (127, "sh: nonesuch: not found\n")
        );
        assert_eq!(run(&["/bin/sh"]).exit_code, 0);
        let table = default_programs();
        let cat = |args: &[&str], input: &[u8]| {
            let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
            Program::Cat.run_with_input(&args, &table, input)
        };
        assert_eq!(cat(&["/bin/cat"], b"{}").stdout, "{}");
        assert_eq!(cat(&["/bin/cat", "-"], b"x").stdout, "x");
        assert_eq!(cat(&["/bin/cat", "/etc/motd"], b"x").exit_code, 1);
        let forking = run(&["/bin/sh", "-c", "sleep 100 & /bin/echo x & exit 4"]);
        assert_eq!(forking.exit_code, 4);
        assert_eq!(
            forking.forks,
            [
                vec!["sleep".to_string(), "100".into()],
                vec!["/bin/echo".into(), "x".into()]
            ]
        );
        assert_eq!(run(&["/bin/sh", "-c", "sleep 100 &"]).exit_code, 0);
    }
}
