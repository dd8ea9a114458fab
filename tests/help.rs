//! One flag vocabulary (issue #18): every subcommand's `--help` is read and
//! each shared flag must have one meaning everywhere: the same value name
//! and the same help line (`--out` names a FILE or, for commands that write
//! several files, a DIR). Renamed flags keep their old spelling as an alias
//! that prints a deprecation note on stderr.

mod common;

use common::spotmeta;
use std::collections::BTreeMap;

const SUBCOMMANDS: [&str; 20] = [
    "rma",
    "bayes",
    "escalc",
    "check",
    "forest",
    "report",
    "add",
    "remove",
    "vote",
    "albatross",
    "flags",
    "sensitivity",
    "leave1out",
    "influence",
    "cumul",
    "regtest",
    "trimfill",
    "batch",
    "gosh",
    "simulate",
];

/// Flags whose meaning is shared by every command that has them.
const SHARED: [&str; 12] = [
    "--method",
    "--test",
    "--level",
    "--yi",
    "--vi",
    "--sei",
    "--slab",
    "--measure",
    "--format",
    "--seed",
    "--wait",
    "--by",
];

/// A flag's value name and help line.
type Meaning = (String, String);

/// `(value name, first help line)` of every long flag in `help`.
fn flags(help: &str) -> BTreeMap<String, Meaning> {
    let lines: Vec<&str> = help.lines().collect();
    let mut out = BTreeMap::new();
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim_start();
        let t = if t.len() > 4 && t.starts_with('-') && t.as_bytes()[2] == b',' {
            t[4..].trim_start()
        } else {
            t
        };
        if !t.starts_with("--") || line.len() - line.trim_start().len() > 6 {
            continue;
        }
        let (head, rest) = t.split_once("  ").unwrap_or((t, ""));
        let mut parts = head.split_whitespace();
        let name = parts.next().unwrap().to_string();
        let value = parts.next().unwrap_or("").to_string();
        let text = if rest.trim().is_empty() {
            lines.get(i + 1).map_or("", |l| l.trim()).to_string()
        } else {
            rest.trim().to_string()
        };
        out.insert(name, (value, text));
    }
    out
}

fn help(command: &str) -> String {
    let out = spotmeta().args([command, "--help"]).output().unwrap();
    assert!(out.status.success(), "{command} --help");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn every_subcommand_has_help_and_shared_flags_have_one_meaning() {
    let mut seen: BTreeMap<&str, Vec<(&str, Meaning)>> = BTreeMap::new();
    for command in SUBCOMMANDS {
        let f = flags(&help(command));
        assert!(f.contains_key("--help"), "{command}: no --help line parsed");
        for flag in SHARED {
            if let Some((value, text)) = f.get(flag) {
                // The meaning is the help line up to a parenthesis (where a
                // command adds its own detail) or the `[default: …]` clap
                // appends; `--format` lists csv only where a table is
                // written, so its meaning is the part before the list;
                // `--by` says after a colon what each command does with
                // the subgroups (a diamond in `forest`, a fit in `rma`).
                let text = match flag {
                    "--format" | "--by" => text.split(':').next().unwrap_or(""),
                    _ => text.split(" (").next().unwrap_or(""),
                };
                let text = text
                    .split(" [default")
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_string();
                seen.entry(flag)
                    .or_default()
                    .push((command, (value.clone(), text)));
            }
        }
        if let Some((value, text)) = f.get("--out") {
            let ok = match value.as_str() {
                "<FILE>" => text.to_lowercase().contains("file"),
                "<DIR>" => text.to_lowercase().contains("director"),
                _ => false,
            };
            assert!(ok, "{command} --out {value}: {text}");
        }
    }
    let mut differ = Vec::new();
    for (flag, uses) in &seen {
        let (first_cmd, first) = &uses[0];
        for (cmd, v) in uses {
            if v != first {
                differ.push(format!(
                    "{flag}: `{cmd}` {v:?} differs from `{first_cmd}` {first:?}"
                ));
            }
        }
    }
    assert!(differ.is_empty(), "{}", differ.join("\n"));
    assert!(seen["--method"].len() >= 10, "--method is shared widely");
    assert!(
        seen["--by"].len() >= 3,
        "--by is shared by rma, forest and report"
    );
}

#[test]
fn format_csv_is_offered_only_where_it_is_written() {
    for command in SUBCOMMANDS {
        let h = help(command);
        if h.contains("csv:") || h.contains("[possible values: text, json, csv]") {
            let out = spotmeta()
                .args([command, "--format", "csv"])
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                !stderr.contains("not available"),
                "{command} offers --format csv but refuses it: {stderr}"
            );
        }
    }
}

#[test]
fn renamed_flags_still_work_with_a_deprecation_note() {
    let out = spotmeta()
        .args([
            "simulate", "--k", "3", "--tau2", "0.1", "--vi", "0.01,0.1", "--reps", "5",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("`spotmeta simulate --vi` is deprecated; use --vi-range"),
        "{stderr}"
    );
}
