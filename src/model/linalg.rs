//! Small dense linear algebra for the model code: row-major matrices,
//! products, Cholesky, the inverse of a symmetric positive-definite matrix and
//! symmetric matrix powers through a Jacobi eigen-decomposition. Sizes here are
//! a meta-analysis' k (tens to hundreds) and p (a handful), so clarity beats
//! blocking tricks.

/// A row-major matrix.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Mat {
    pub r: usize,
    pub c: usize,
    pub d: Vec<f64>,
}

impl Mat {
    pub fn zeros(r: usize, c: usize) -> Mat {
        Mat {
            r,
            c,
            d: vec![0.0; r * c],
        }
    }

    pub fn identity(n: usize) -> Mat {
        let mut m = Mat::zeros(n, n);
        for i in 0..n {
            m.d[i * n + i] = 1.0;
        }
        m
    }

    pub fn from_rows(r: usize, c: usize, d: Vec<f64>) -> Mat {
        debug_assert_eq!(d.len(), r * c);
        Mat { r, c, d }
    }

    #[inline]
    pub fn at(&self, i: usize, j: usize) -> f64 {
        self.d[i * self.c + j]
    }

    #[inline]
    pub fn set(&mut self, i: usize, j: usize, v: f64) {
        self.d[i * self.c + j] = v;
    }

    pub fn t(&self) -> Mat {
        let mut m = Mat::zeros(self.c, self.r);
        for i in 0..self.r {
            for j in 0..self.c {
                m.d[j * self.r + i] = self.at(i, j);
            }
        }
        m
    }

    pub fn mul(&self, o: &Mat) -> Mat {
        debug_assert_eq!(self.c, o.r);
        let mut m = Mat::zeros(self.r, o.c);
        for i in 0..self.r {
            for l in 0..self.c {
                let a = self.at(i, l);
                if a == 0.0 {
                    continue;
                }
                for j in 0..o.c {
                    m.d[i * o.c + j] += a * o.d[l * o.c + j];
                }
            }
        }
        m
    }

    pub fn mul_vec(&self, v: &[f64]) -> Vec<f64> {
        (0..self.r)
            .map(|i| (0..self.c).map(|j| self.at(i, j) * v[j]).sum())
            .collect()
    }

    pub fn sub(&self, o: &Mat) -> Mat {
        Mat {
            r: self.r,
            c: self.c,
            d: self.d.iter().zip(&o.d).map(|(a, b)| a - b).collect(),
        }
    }

    /// The sub-matrix of rows `rows` and columns `cols`.
    pub fn select(&self, rows: &[usize], cols: &[usize]) -> Mat {
        let mut m = Mat::zeros(rows.len(), cols.len());
        for (a, &i) in rows.iter().enumerate() {
            for (b, &j) in cols.iter().enumerate() {
                m.d[a * cols.len() + b] = self.at(i, j);
            }
        }
        m
    }

    pub fn trace(&self) -> f64 {
        (0..self.r.min(self.c)).map(|i| self.at(i, i)).sum()
    }
}

/// Upper-triangular R with A = RᵀR (R's `chol`); `None` if A is not positive definite.
pub(crate) fn chol_upper(a: &Mat) -> Option<Mat> {
    let n = a.r;
    let mut l = Mat::zeros(n, n);
    for i in 0..n {
        for j in 0..=i {
            let mut s = a.at(i, j);
            for m in 0..j {
                s -= l.at(i, m) * l.at(j, m);
            }
            if i == j {
                if s <= 0.0 || !s.is_finite() {
                    return None;
                }
                l.set(i, i, s.sqrt());
            } else {
                l.set(i, j, s / l.at(j, j));
            }
        }
    }
    Some(l.t())
}

/// Inverse of a symmetric positive-definite matrix (Cholesky).
pub(crate) fn spd_inverse(a: &Mat) -> Option<Mat> {
    let n = a.r;
    let u = chol_upper(a)?;
    // inv(U) (upper triangular), then inv(A) = inv(U) inv(U)ᵀ.
    let mut ui = Mat::zeros(n, n);
    for i in (0..n).rev() {
        ui.set(i, i, 1.0 / u.at(i, i));
        for j in (i + 1)..n {
            let mut s = 0.0;
            for m in i + 1..=j {
                s -= u.at(i, m) * ui.at(m, j);
            }
            ui.set(i, j, s / u.at(i, i));
        }
    }
    Some(ui.mul(&ui.t()))
}

/// Eigen-decomposition of a symmetric matrix by cyclic Jacobi rotations:
/// eigenvalues and eigenvectors (as the columns of the returned matrix).
pub(crate) fn sym_eigen(a: &Mat) -> (Vec<f64>, Mat) {
    let n = a.r;
    let mut m = a.clone();
    let mut v = Mat::identity(n);
    for _sweep in 0..100 {
        let off: f64 = (0..n)
            .flat_map(|i| (0..n).map(move |j| (i, j)))
            .filter(|(i, j)| i != j)
            .map(|(i, j)| m.at(i, j).powi(2))
            .sum();
        if off < 1e-30 * (1.0 + m.d.iter().map(|x| x * x).sum::<f64>()) {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = m.at(p, q);
                if apq.abs() < 1e-300 {
                    continue;
                }
                let theta = (m.at(q, q) - m.at(p, p)) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    let (mkp, mkq) = (m.at(k, p), m.at(k, q));
                    m.set(k, p, c * mkp - s * mkq);
                    m.set(k, q, s * mkp + c * mkq);
                }
                for k in 0..n {
                    let (mpk, mqk) = (m.at(p, k), m.at(q, k));
                    m.set(p, k, c * mpk - s * mqk);
                    m.set(q, k, s * mpk + c * mqk);
                }
                for k in 0..n {
                    let (vkp, vkq) = (v.at(k, p), v.at(k, q));
                    v.set(k, p, c * vkp - s * vkq);
                    v.set(k, q, s * vkp + c * vkq);
                }
            }
        }
    }
    ((0..n).map(|i| m.at(i, i)).collect(), v)
}

/// A^power for symmetric A (clubSandwich's `matrix_power`): eigenvalues below
/// `tol`·max are treated as zero (a pseudo-inverse power for negative powers).
pub(crate) fn sym_power(a: &Mat, power: f64) -> Mat {
    let n = a.r;
    let (vals, vecs) = sym_eigen(a);
    let max = vals.iter().cloned().fold(0.0, f64::max);
    let tol = max * 1e-12;
    let mut out = Mat::zeros(n, n);
    for (e, &lambda) in vals.iter().enumerate() {
        if lambda <= tol {
            continue;
        }
        let f = lambda.powf(power);
        for i in 0..n {
            for j in 0..n {
                out.d[i * n + j] += f * vecs.at(i, e) * vecs.at(j, e);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const IDENTITY: f64 = 1e-10;

    fn spd() -> Mat {
        Mat::from_rows(3, 3, vec![4.0, 1.0, 0.5, 1.0, 3.0, 0.2, 0.5, 0.2, 2.0])
    }

    #[test]
    fn inverse_times_matrix_is_identity() {
        let a = spd();
        let p = a.mul(&spd_inverse(&a).unwrap());
        for i in 0..3 {
            for j in 0..3 {
                assert!((p.at(i, j) - if i == j { 1.0 } else { 0.0 }).abs() < IDENTITY);
            }
        }
        let u = chol_upper(&a).unwrap();
        assert!(u.t().mul(&u).sub(&a).d.iter().all(|x| x.abs() < IDENTITY));
    }

    #[test]
    fn inverse_square_root_squares_to_the_inverse() {
        let a = spd();
        let h = sym_power(&a, -0.5);
        let back = h.mul(&h).mul(&a);
        for i in 0..3 {
            for j in 0..3 {
                assert!((back.at(i, j) - if i == j { 1.0 } else { 0.0 }).abs() < IDENTITY);
            }
        }
    }
}
