//! `spotmeta gosh` (issue #7): every subset's fit equals `rma` on that subset,
//! the with/without summary equals a brute-force computation, the PNG decodes.

mod common;

use common::spotmeta;
use common::tol::{IDENTITY, close};
use spotmeta::gosh::{GoshOptions, gosh};
use spotmeta::{RmaOptions, rma};

/// The first five trials of dat.bcg (metadat; escalc RR), as in metafor's
/// `gosh()` example size.
const YI: [f64; 5] = [
    -0.8893113339202054,
    -1.5853886572014306,
    -1.3480731482996933,
    -1.4415511900213054,
    -0.21754732221129558,
];
const VI: [f64; 5] = [
    0.32558476500396133,
    0.19458112139814385,
    0.4153679653679654,
    0.020010031902247573,
    0.05121017216963086,
];

fn subset(mask: usize) -> (Vec<f64>, Vec<f64>) {
    (0..5)
        .filter(|i| mask >> i & 1 == 1)
        .map(|i| (YI[i], VI[i]))
        .unzip()
}

#[test]
fn five_studies_give_31_subsets_each_equal_to_rma_on_it() {
    let opts = GoshOptions::default();
    let g = gosh(&YI, &VI, &opts).unwrap();
    assert_eq!(g.subsets.len(), 31);
    assert_eq!(g.failed, 0);
    for mask in 1..32usize {
        let (y, v) = subset(mask);
        let fit = rma(&y, &v, &opts.rma).unwrap();
        // Stored in single precision: exactly the f64 fit rounded once.
        let got = g.subsets[mask - 1];
        assert_eq!(got[0], fit.estimate as f32, "subset {mask:05b} estimate");
        assert_eq!(got[1], fit.i2.unwrap_or(0.0) as f32, "subset {mask:05b} I2");
        assert_eq!(got[2], fit.tau2 as f32, "subset {mask:05b} tau2");
    }
}

#[test]
fn with_and_without_means_match_brute_force() {
    let opts = GoshOptions {
        rma: RmaOptions {
            method: spotmeta::Method::DL,
            ..Default::default()
        }
        .check()
        .unwrap(),
        ..Default::default()
    };
    let g = gosh(&YI, &VI, &opts).unwrap();
    let fits: Vec<(usize, [f64; 3])> = (1..32usize)
        .map(|m| {
            let (y, v) = subset(m);
            let f = rma(&y, &v, &opts.rma).unwrap();
            (m, [f.estimate, f.i2.unwrap_or(0.0), f.tau2])
        })
        .collect();
    for (i, s) in g.studies.iter().enumerate() {
        let mean = |with: bool, j: usize| {
            let xs: Vec<f64> = fits
                .iter()
                .filter(|(m, _)| (m >> i & 1 == 1) == with)
                .map(|(_, r)| r[j])
                .collect();
            (xs.iter().sum::<f64>() / xs.len() as f64, xs.len() as u64)
        };
        assert_eq!(s.study, i + 1);
        assert_eq!(s.n_with, 16);
        assert_eq!(s.n_without, 15);
        for (j, (w, wo)) in [
            (s.estimate_with, s.estimate_without),
            (s.i2_with, s.i2_without),
            (s.tau2_with, s.tau2_without),
        ]
        .into_iter()
        .enumerate()
        {
            assert!(
                close(w, mean(true, j).0, IDENTITY, 1e-12),
                "study {i} quantity {j} with"
            );
            assert!(
                close(wo, mean(false, j).0, IDENTITY, 1e-12),
                "study {i} quantity {j} without"
            );
        }
    }
    let all_mean = fits.iter().map(|(_, r)| r[0]).sum::<f64>() / 31.0;
    assert!(close(g.mean[0], all_mean, IDENTITY, 1e-12));
}

#[test]
fn the_command_writes_a_decodable_plot_a_summary_and_the_subsets() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("five.csv");
    let mut s = String::from("slab,yi,vi\n");
    for (i, (y, v)) in YI.iter().zip(VI).enumerate() {
        s += &format!("trial {},{y:?},{v:?}\n", i + 1);
    }
    std::fs::write(&input, s).unwrap();
    let out = dir.path().join("g");
    spotmeta()
        .args(["gosh", input.to_str().unwrap(), "--write-subsets", "--out"])
        .arg(&out)
        .assert()
        .success()
        .stdout(predicates::str::contains("all 31 subsets of k = 5"))
        .stdout(predicates::str::contains("trial 4"));
    let png = std::fs::read(out.join("gosh.png")).unwrap();
    let mut reader = png::Decoder::new(std::io::Cursor::new(png))
        .read_info()
        .unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!((info.width, info.height), (980, 780));
    assert!(buf.iter().any(|&b| b < 128), "the plot is not blank");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("gosh.json")).unwrap()).unwrap();
    assert_eq!(json["subsets"], 31);
    assert_eq!(json["studies"].as_array().unwrap().len(), 5);
    let table = spotmeta::batch::read_table(&out.join("gosh_subsets.parquet")).unwrap();
    assert_eq!(table.height(), 31);
}

#[test]
fn more_studies_than_max_k_are_refused_with_the_fix() {
    spotmeta()
        .args(["gosh", "datasets/colditz1994_bcg.csv", "--max-k", "12"])
        .current_dir(common::root())
        .assert()
        .failure()
        .stderr(predicates::str::contains("k = 13"))
        .stderr(predicates::str::contains("--max-k"));
}
