//! The README's examples are run (issue #18), so README and behaviour
//! cannot drift. Convention: a ```` ```text ```` block whose first line is
//! `$ spotmeta ARGS [# comment]` is an example; ARGS are split on
//! whitespace (quotes group words) and run from the repository root; every
//! other non-empty line of the block must appear in the output (stdout,
//! then stderr), in order. A
//! line containing `…` (or `...`) stands for elided output and is not compared. A block
//! preceded by `<!-- readme-test: skip REASON -->` is not run (it writes
//! files, or runs too long for a test).

mod common;

use common::{root, spotmeta};

/// `(line of the command, args, expected lines)` of every example.
fn examples(readme: &str) -> Vec<(usize, Vec<String>, Vec<String>)> {
    let lines: Vec<&str> = readme.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let skip = i > 0 && lines[i - 1].starts_with("<!-- readme-test: skip");
        if lines[i] == "```text"
            && !skip
            && let Some(cmd) = lines.get(i + 1).and_then(|l| l.strip_prefix("$ spotmeta "))
        {
            {
                let cmd = cmd.split(" #").next().unwrap_or(cmd);
                let mut expected = Vec::new();
                let mut j = i + 2;
                while j < lines.len() && lines[j] != "```" {
                    let l = lines[j].trim_end();
                    if l.starts_with("$ ") {
                        break; // a second command: compare the first only
                    }
                    if !l.trim().is_empty() && !l.contains('…') && !l.contains("...") {
                        expected.push(l.to_string());
                    }
                    j += 1;
                }
                out.push((i + 2, split(cmd), expected));
            }
        }
        i += 1;
    }
    out
}

/// Shell-like word splitting with "double" and 'single' quotes.
fn split(s: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut quote = None;
    let mut any = false;
    for c in s.chars() {
        match (quote, c) {
            (None, '"' | '\'') => {
                quote = Some(c);
                any = true;
            }
            (Some(q), c) if c == q => quote = None,
            (None, c) if c.is_whitespace() => {
                if any {
                    words.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            (_, c) => {
                cur.push(c);
                any = true;
            }
        }
    }
    if any {
        words.push(cur);
    }
    words
}

#[test]
fn every_readme_example_prints_what_the_readme_shows() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let examples = examples(&readme);
    assert!(examples.len() >= 5, "found {} examples", examples.len());
    let mut failures = Vec::new();
    // Examples run in the project root (they name its files), but what they
    // write (`--out X`) goes to a temporary folder, never into the checkout.
    let scratch = tempfile::tempdir().unwrap();
    for (line, args, expected) in &examples {
        let args: Vec<String> = args
            .iter()
            .enumerate()
            .map(|(i, a)| {
                if i > 0 && args[i - 1] == "--out" && !std::path::Path::new(a).is_absolute() {
                    scratch.path().join(a).to_string_lossy().into_owned()
                } else {
                    a.clone()
                }
            })
            .collect();
        let out = spotmeta().current_dir(root()).args(&args).output().unwrap();
        // An example may show an error: stdout, then stderr.
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        let got: Vec<&str> = stdout.lines().map(str::trim_end).collect();
        let mut at = 0;
        for want in expected {
            match got[at..].iter().position(|g| g == want) {
                Some(p) => at += p + 1,
                None => {
                    failures.push(format!(
                        "README.md:{line}: `spotmeta {}`: missing (in order) `{want}`\n--- stderr:\n{}",
                        args.join(" "),
                        String::from_utf8_lossy(&out.stderr)
                    ));
                    break;
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
