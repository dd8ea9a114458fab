//! Build a meta-regression design matrix from named columns, as R's
//! `model.matrix(~ a + b)` does: an intercept, numeric columns as they are,
//! and text columns as treatment-coded dummies (levels sorted, the first is
//! the reference — R's `factor()` default).

use super::mods::Design;
use crate::error::{Error, Result};

/// One moderator column: numbers, or text levels.
#[derive(Debug, Clone, PartialEq)]
pub enum ModColumn {
    /// A numeric moderator.
    Numeric(Vec<f64>),
    /// A categorical moderator.
    Categorical(Vec<String>),
}

/// The design matrix for `cols` (name, values), with an intercept.
pub fn design_matrix(cols: &[(String, ModColumn)]) -> Result<Design> {
    let k = match cols.first() {
        Some((_, ModColumn::Numeric(v))) => v.len(),
        Some((_, ModColumn::Categorical(v))) => v.len(),
        None => return Err(Error::Unsupported("no moderators given".into())),
    };
    let mut names = vec!["intrcpt".to_string()];
    let mut columns: Vec<Vec<f64>> = Vec::new();
    for (name, col) in cols {
        match col {
            ModColumn::Numeric(v) => {
                names.push(name.clone());
                columns.push(v.clone());
            }
            ModColumn::Categorical(v) => {
                let mut levels: Vec<&String> = v.iter().collect();
                levels.sort();
                levels.dedup();
                if levels.len() < 2 {
                    return Err(Error::Unsupported(format!(
                        "moderator `{name}` has a single level ({}); it cannot explain differences",
                        levels.first().map(|s| s.as_str()).unwrap_or("")
                    )));
                }
                for level in &levels[1..] {
                    names.push(format!("{name}{level}"));
                    columns.push(
                        v.iter()
                            .map(|x| if x == *level { 1.0 } else { 0.0 })
                            .collect(),
                    );
                }
            }
        }
    }
    let p = names.len();
    let mut x = Vec::with_capacity(k * p);
    for i in 0..k {
        x.push(1.0);
        for c in &columns {
            x.push(c[i]);
        }
    }
    Ok(Design { k, p, x, names })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// R: model.matrix(~ factor(c("b","a","c","a")) + c(1,2,3,4)) → columns
    /// intercept, factorb, factorc, numeric.
    #[test]
    fn factors_are_treatment_coded_with_the_first_sorted_level_as_reference() {
        let d = design_matrix(&[
            (
                "g".into(),
                ModColumn::Categorical(vec!["b".into(), "a".into(), "c".into(), "a".into()]),
            ),
            ("x".into(), ModColumn::Numeric(vec![1.0, 2.0, 3.0, 4.0])),
        ])
        .unwrap();
        assert_eq!(d.names, ["intrcpt", "gb", "gc", "x"]);
        assert_eq!(&d.x[..4], &[1.0, 1.0, 0.0, 1.0]);
        assert_eq!(&d.x[4..8], &[1.0, 0.0, 0.0, 2.0]);
        assert_eq!(&d.x[8..12], &[1.0, 0.0, 1.0, 3.0]);
    }
}
