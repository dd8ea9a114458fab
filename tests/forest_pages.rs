//! Issue #19: a forest plot of 100,000 studies is drawn as pages with
//! memory bounded by the page, not by k.
//!
//! A counting global allocator ([`peak_alloc`]) measures the peak of live
//! heap bytes while the paged plot of k studies is planned, every page is
//! laid out and the first and last pages are drawn as PNG, and while the
//! report's one-page cut ([`largest_weights`]) is taken. The input rows
//! (O(k)) are built before the measurement starts; what is measured must
//! not grow with k: the peak at k = 100,000 is compared with the peak at
//! k = 10,000 and with a fixed bound. Measured (debug build): about 11 MB
//! at both k. Laying out all rows at once as well (what `forest` did
//! before) raises the peak at k = 100,000 to about 41 MB and fails both
//! checks.
//!
//! One `#[test]` in this file: the allocator's counters are process-wide,
//! so no other test may run beside it.

use peak_alloc::PeakAlloc;
use spotmeta::output::forest::{ForestSpec, forest_data, forest_png, largest_weights};
use spotmeta::output::layout::{
    ForestData, ForestPages, ForestStudy, ForestStyle, Mark, PAGE_ROWS, RowRef,
};
use spotmeta::{RmaOptions, rma};

#[global_allocator]
static PEAK: PeakAlloc = PeakAlloc;

/// Most heap bytes the paged plot may hold at once above its input rows,
/// whatever k: one page's layout, two 2 MB pixel bands, one page's PNG
/// bytes (about 1 MB at 600 px wide) and the report cut's candidates: 11 MB
/// measured, with room to spare; laying out every row at once at k =
/// 100,000 takes 41 MB.
const PAGE_BOUND_BYTES: usize = 16 << 20;

/// How much the peak may grow from k = 10,000 to k = 100,000 (ten times
/// the rows): allocator and page-to-page noise, not a share of the rows.
const GROWTH_SLACK_BYTES: usize = 2 << 20;

/// A plain yi/vi table of `k` studies (a fixed linear congruential
/// sequence: yi in [−0.7, 1.3], vi in [0.01, 0.31]) as forest-plot data,
/// pooled by REML with weights from the fit.
fn table(k: usize) -> ForestData {
    let mut state: u64 = 0x5eed_0019;
    let mut unit = || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let (mut yi, mut vi) = (Vec::with_capacity(k), Vec::with_capacity(k));
    for _ in 0..k {
        yi.push(unit() * 2.0 - 0.7);
        vi.push(0.01 + unit() * 0.3);
    }
    let opts = RmaOptions::default().check().unwrap();
    let fit = rma(&yi, &vi, &opts).unwrap();
    let studies = (0..k)
        .map(|i| ForestStudy::new(format!("Study {}", i + 1), None, yi[i], vi[i]))
        .collect();
    forest_data(studies, None, &fit, &opts, &ForestSpec::default()).unwrap()
}

/// Plan, lay out and draw the paged plot of `data`, checking the plan, and
/// return the peak heap bytes above what was live before.
fn paged_peak(data: ForestData) -> usize {
    let k = data.studies().count();
    let rows = data.row_refs().count();
    PEAK.reset_peak_usage();
    let base = PEAK.current_usage();

    let pages = ForestPages::new(&data, &ForestStyle { width: 600 }, PAGE_ROWS);
    let n = pages.len();
    assert_eq!(n, rows.div_ceil(PAGE_ROWS), "k = {k}: pages of {PAGE_ROWS}");
    // The plan covers every row and every study exactly once, in order.
    let plan = pages.plan();
    assert_eq!((plan[0].rows.start, plan[0].studies.start), (0, 0));
    for w in plan.windows(2) {
        assert_eq!(w[0].rows.end, w[1].rows.start);
        assert_eq!(w[0].studies.end, w[1].studies.start);
    }
    let last = &plan[n - 1];
    assert_eq!((last.rows.end, last.studies.end), (rows, k));
    assert!(plan.iter().all(|p| p.rows.len() <= PAGE_ROWS));
    // Every page draws its own studies, then the overall diamond and the
    // prediction interval; the studies of all pages are the k studies.
    let mut drawn = 0;
    for (i, p) in plan.iter().enumerate() {
        let l = pages.layout(i);
        let studies = l
            .rows
            .iter()
            .filter(|r| matches!(r.mark, Mark::Study { .. }))
            .count();
        assert_eq!(studies, p.studies.len(), "page {}", i + 1);
        assert_eq!(l.rows.len(), p.rows.len() + 2, "page {}", i + 1);
        assert!(l.header[0].text.contains(&format!("page {} of {n}", i + 1)));
        drawn += studies;
    }
    assert_eq!(drawn, k);
    for i in [0, n - 1] {
        let png = forest_png(&pages.layout(i)).unwrap();
        assert_eq!(&png[1..4], b"PNG");
    }
    drop(pages);

    // The report's cut: one page of the largest weights and a "+N more" row.
    let cut = largest_weights(data, PAGE_ROWS);
    let refs: Vec<RowRef> = cut.row_refs().collect();
    assert_eq!(refs.len(), PAGE_ROWS);
    assert_eq!(refs.last(), Some(&RowRef::More));
    let more = cut.more.as_deref().unwrap();
    assert!(
        more.starts_with(&format!("+{} more studies", k - (PAGE_ROWS - 1))),
        "{more}"
    );
    PEAK.peak_usage().saturating_sub(base)
}

#[test]
fn forest_of_100000_studies_is_paged_with_memory_bounded_by_the_page() {
    let small = paged_peak(table(10_000));
    let large = paged_peak(table(100_000));
    eprintln!("peak above the input rows: k = 10,000: {small} B; k = 100,000: {large} B");
    assert!(
        large <= PAGE_BOUND_BYTES,
        "k = 100,000: peak {large} B above the input rows exceeds {PAGE_BOUND_BYTES} B"
    );
    assert!(
        large <= small + GROWTH_SLACK_BYTES,
        "peak grows with k: {small} B at k = 10,000, {large} B at k = 100,000"
    );
}
