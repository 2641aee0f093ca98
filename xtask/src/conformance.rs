//! `cargo xtask conformance`: runs the conformance matrix (the `conformance`
//! test of the `conformance` crate, ARCHITECTURE.md "Conformance
//! transcripts"), reads its `CONFORMANCE <kind> <file> <driver> <outcome>`
//! lines and prints the matrix: a row per transcript, a column per driver,
//! `✓` passed, `✗` failed, `–` skipped (with the skip rules and the failures
//! listed below it), then the totals per driver and a final
//! `conformance: N passed, N failed, N skipped` line. Fails on any failed
//! cell, on a cell that never reported (`?`, counted as failed), or when the
//! test itself fails.

use std::collections::BTreeMap;
use std::time::Instant;

use crate::{Tally, stream_cargo};

/// The columns, in order.
pub(crate) const DRIVERS: [&str; 5] = ["core", "tokio", "smol", "async-std", "blocking"];

/// One cell's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    Pass,
    Fail(String),
    Skip(String),
}

/// The cells read so far: (kind, file) → driver → outcome.
#[derive(Debug, Default)]
pub(crate) struct Matrix {
    rows: BTreeMap<(u8, String), BTreeMap<String, Outcome>>,
}

/// What the matrix comes to.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Totals {
    pub(crate) passed: usize,
    pub(crate) failed: usize,
    pub(crate) skipped: usize,
}

impl Matrix {
    /// Takes one line of the test's output; whether it was a cell.
    pub(crate) fn read(&mut self, line: &str) -> bool {
        let Some(rest) = line.strip_prefix("CONFORMANCE ") else {
            return false;
        };
        let mut words = rest.splitn(4, ' ');
        let (Some(kind), Some(file), Some(driver), Some(outcome)) =
            (words.next(), words.next(), words.next(), words.next())
        else {
            return false;
        };
        let outcome = if outcome == "pass" {
            Outcome::Pass
        } else if let Some(why) = outcome.strip_prefix("skip: ") {
            Outcome::Skip(why.to_string())
        } else {
            Outcome::Fail(
                outcome
                    .strip_prefix("fail: ")
                    .unwrap_or(outcome)
                    .to_string(),
            )
        };
        // Server transcripts first, then client ones.
        let order = u8::from(kind != "server");
        self.rows
            .entry((order, format!("{kind}/{file}")))
            .or_default()
            .insert(driver.to_string(), outcome);
        true
    }

    /// The matrix as text, with the skip rules and failures under it, the
    /// totals per driver and the final line; and the totals.
    pub(crate) fn render(&self) -> (String, Totals) {
        let width = self
            .rows
            .keys()
            .map(|(_, name)| name.chars().count())
            .max()
            .unwrap_or(0)
            .max("transcript".len());
        let mut out = format!("{:width$}", "transcript");
        for driver in DRIVERS {
            out.push_str(&format!("  {driver:^9}"));
        }
        out.push('\n');
        let mut per_driver: Vec<Totals> = DRIVERS.iter().map(|_| Totals::default()).collect();
        // Rule → driver → cells.
        let mut skips: BTreeMap<String, BTreeMap<&str, usize>> = BTreeMap::new();
        let mut failures = Vec::new();
        for ((_, name), cells) in &self.rows {
            out.push_str(&format!("{name:width$}"));
            for (driver, totals) in DRIVERS.iter().zip(per_driver.iter_mut()) {
                let mark = match cells.get(*driver) {
                    Some(Outcome::Pass) => {
                        totals.passed += 1;
                        "✓"
                    }
                    Some(Outcome::Skip(why)) => {
                        totals.skipped += 1;
                        *skips
                            .entry(why.clone())
                            .or_default()
                            .entry(driver)
                            .or_default() += 1;
                        "–"
                    }
                    Some(Outcome::Fail(why)) => {
                        totals.failed += 1;
                        failures.push(format!("{name} on {driver}: {why}"));
                        "✗"
                    }
                    None => {
                        totals.failed += 1;
                        failures.push(format!("{name} on {driver}: no result (the test stopped?)"));
                        "?"
                    }
                };
                out.push_str(&format!("  {mark:^9}"));
            }
            out.push('\n');
        }
        if !skips.is_empty() {
            out.push_str("\nskipped (–), by rule: cells per driver\n");
            for (why, drivers) in &skips {
                let counts: Vec<String> = DRIVERS
                    .iter()
                    .filter_map(|d| drivers.get(d).map(|n| format!("{d} {n}")))
                    .collect();
                out.push_str(&format!("  {why}: {}\n", counts.join(", ")));
            }
        }
        if !failures.is_empty() {
            out.push_str("\nfailed (✗ ?):\n");
            for f in &failures {
                out.push_str(&format!("  {f}\n"));
            }
        }
        out.push('\n');
        let mut all = Totals::default();
        for (driver, t) in DRIVERS.iter().zip(&per_driver) {
            out.push_str(&format!(
                "{driver:>9}: {} passed, {} failed, {} skipped\n",
                t.passed, t.failed, t.skipped
            ));
            all.passed += t.passed;
            all.failed += t.failed;
            all.skipped += t.skipped;
        }
        out.push_str(&format!(
            "conformance: {} passed, {} failed, {} skipped\n",
            all.passed, all.failed, all.skipped
        ));
        (out, all)
    }
}

/// Runs the matrix and prints it; adds the test's counts to `tally`.
pub(crate) fn conformance(tally: &mut Tally) -> Result<(), String> {
    let args = [
        "test",
        "-p",
        "conformance",
        "--test",
        "conformance",
        "--",
        "--nocapture",
    ];
    let start = Instant::now();
    let mut matrix = Matrix::default();
    let status = stream_cargo("conformance", &args, tally, |line| matrix.read(line))?;
    let (text, totals) = matrix.render();
    println!("\n{text}");
    println!("<== conformance: {:.1}s", start.elapsed().as_secs_f64());
    if totals.passed + totals.failed == 0 {
        return Err("conformance: no results (did the test build?)".into());
    }
    if totals.failed > 0 {
        return Err(format!("conformance: {} cells failed", totals.failed));
    }
    if !status.success() {
        return Err(format!("conformance: the test failed ({status})"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_matrix_counts_every_cell() {
        let mut m = Matrix::default();
        for line in [
            "CONFORMANCE client b.smtp tokio pass",
            "CONFORMANCE server a.smtp core pass",
            "CONFORMANCE server a.smtp tokio fail: step 3 (line 4): timed out",
            "CONFORMANCE server a.smtp smol skip: T+: the virtual clock",
            "CONFORMANCE server a.smtp async-std pass",
            "CONFORMANCE server a.smtp blocking pass",
            "test server_tokio ... ok",
        ] {
            m.read(line);
        }
        let (text, totals) = m.render();
        // a.smtp: 3 passed, 1 failed, 1 skipped; b.smtp: 1 passed, 4 missing.
        assert_eq!(
            totals,
            Totals {
                passed: 4,
                failed: 5,
                skipped: 1
            }
        );
        assert!(text.contains("server/a.smtp"), "{text}");
        let server = text.find("server/a.smtp").unwrap();
        let client = text.find("client/b.smtp").unwrap();
        assert!(server < client, "server rows come first:\n{text}");
        assert!(
            text.contains("a.smtp on tokio: step 3 (line 4): timed out"),
            "{text}"
        );
        assert!(text.contains("  T+: the virtual clock: smol 1\n"), "{text}");
        assert!(
            text.ends_with("conformance: 4 passed, 5 failed, 1 skipped\n"),
            "{text}"
        );
    }
}
