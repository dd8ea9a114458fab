//! Defaults that work wherever spotmeta runs (issue #18): the bundled
//! dataset is found from any folder (the project's copy above the current
//! folder, else the copy compiled in, with a note saying which), `report
//! FILE` writes to `FILE-stem-report/`, and an OS error is printed once.

mod common;

use common::{dataset, root, spotmeta};

#[test]
fn the_bundled_dataset_is_found_from_a_subfolder_of_the_project() {
    let out = spotmeta()
        .current_dir(root().join("src"))
        .arg("check")
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("note: using the bundled dataset") && stderr.contains("datasets"),
        "{stderr}"
    );
}

#[test]
fn outside_any_project_the_built_in_copy_is_used_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let out = spotmeta()
        .current_dir(dir.path())
        .args(["rma", "--format", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("using the copy built into spotmeta"),
        "{stderr}"
    );
}

#[test]
fn add_without_a_file_outside_a_project_refuses_to_edit_the_built_in_copy() {
    let dir = tempfile::tempdir().unwrap();
    let out = spotmeta()
        .current_dir(dir.path())
        .args(["remove", "--study-id", "x", "--dry-run"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("give the FILE to edit"), "{stderr}");
}

#[test]
fn report_of_another_file_writes_to_its_stem_report_folder() {
    let dir = tempfile::tempdir().unwrap();
    let bcg = dir.path().join("bcg.csv");
    std::fs::copy(dataset("colditz1994_bcg.csv"), &bcg).unwrap();
    spotmeta()
        .current_dir(dir.path())
        .args(["report", "bcg.csv"])
        .assert()
        .success();
    assert!(dir.path().join("bcg-report/results.json").is_file());
    assert!(!dir.path().join("reports").exists());
}

#[test]
fn a_missing_file_is_reported_once() {
    let out = spotmeta()
        .args(["rma", "no-such-file.csv"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.matches("no such file").count(), 1, "{stderr}");
}
