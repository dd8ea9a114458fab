//! Shared test helpers: the binary under test, paths to bundled data and
//! fixtures, and the tolerance policy in [`tol`].
#![allow(dead_code)]

pub mod schema;
pub mod tol;

use std::path::PathBuf;

/// Repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Path of a conformance fixture (made by tests/conformance/make_fixtures.R).
pub fn fixture(name: &str) -> PathBuf {
    root().join("tests/conformance/fixtures").join(name)
}

/// Path of a bundled dataset.
pub fn dataset(name: &str) -> PathBuf {
    root().join("datasets").join(name)
}

/// The `spotmeta` binary, ready to run.
pub fn spotmeta() -> assert_cmd::Command {
    assert_cmd::Command::cargo_bin("spotmeta").expect("binary builds")
}

/// Read a JSON fixture.
pub fn read_json(name: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(fixture(name)).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (regenerate with Rscript tests/conformance/make_fixtures.R)",
            fixture(name).display()
        )
    });
    serde_json::from_str(&text).expect("fixture is valid JSON")
}

/// Checked `rma` options with everything but the estimator and the test at
/// metafor's defaults.
pub fn opts(
    method: spotmeta::model::Method,
    test: spotmeta::model::TestKind,
) -> spotmeta::model::ValidRmaOptions {
    spotmeta::model::RmaOptions {
        method,
        test,
        ..Default::default()
    }
    .check()
    .unwrap()
}

/// A synthetic spot-reduction dataset row: a valid included parallel row
/// (no numbers) with the fields of `extra` merged in.
pub fn spot_row(extra: &serde_json::Value) -> spotmeta::data::SpotRow {
    let mut base = serde_json::json!({
        "study_id": "doe2020", "cohort": "all", "label": "Doe 2020", "authors": "Doe J",
        "year": 2020, "doi": "10.5555/x", "design": "parallel", "intervention_type": "exercise",
        "comparison": "no_exercise", "region": "abdomen", "method": "DEXA",
        "outcome_type": "regional_fat", "primary": "yes", "status": "included",
        "status_reason": "test"
    });
    for (k, v) in extra.as_object().expect("an object of row fields") {
        base[k] = v.clone();
    }
    serde_json::from_value(base).expect("a valid row")
}
