//! DBSCAN on points in metres, with a uniform grid of `eps`-sized cells for neighbour queries:
//! each query looks at the 3 × 3 cells around a point, so clustering is O(n · k) for k
//! neighbours on average instead of O(n²).

use std::collections::HashMap;

/// Cluster label of each input point: `Some(cluster)` (0-based) or `None` for noise.
pub type Labels = Vec<Option<usize>>;

/// Clusters `points` (metres, any local plane) with DBSCAN: a point with at least `min_points`
/// points (itself included) within `eps_m` metres is a core point; clusters are the core points
/// reachable from each other plus the border points within `eps_m` of one of them.
///
/// ```
/// use xuncha::analytics::dbscan::dbscan;
/// let mut pts: Vec<[f64; 2]> = (0..10).map(|i| [i as f64, 0.0]).collect();
/// pts.push([500.0, 500.0]);
/// let (labels, n) = dbscan(&pts, 3.0, 4);
/// assert_eq!(n, 1);
/// assert_eq!(labels[0], Some(0));
/// assert_eq!(labels[10], None);
/// ```
pub fn dbscan(points: &[[f64; 2]], eps_m: f64, min_points: usize) -> (Labels, usize) {
    let n = points.len();
    let mut labels: Labels = vec![None; n];
    if n == 0 || eps_m <= 0.0 {
        return (labels, 0);
    }
    let cell = |p: &[f64; 2]| ((p[0] / eps_m).floor() as i64, (p[1] / eps_m).floor() as i64);
    let mut grid: HashMap<(i64, i64), Vec<usize>> = HashMap::new();
    for (i, p) in points.iter().enumerate() {
        grid.entry(cell(p)).or_default().push(i);
    }
    let eps2 = eps_m * eps_m;
    let neighbours = |i: usize, out: &mut Vec<usize>| {
        out.clear();
        let p = points[i];
        let (cx, cy) = cell(&p);
        for dx in -1..=1 {
            for dy in -1..=1 {
                if let Some(v) = grid.get(&(cx + dx, cy + dy)) {
                    for &j in v {
                        let q = points[j];
                        let (ddx, ddy) = (p[0] - q[0], p[1] - q[1]);
                        if ddx * ddx + ddy * ddy <= eps2 {
                            out.push(j);
                        }
                    }
                }
            }
        }
    };
    let mut visited = vec![false; n];
    let mut clusters = 0;
    let mut nb = Vec::new();
    let mut nb2 = Vec::new();
    for i in 0..n {
        if visited[i] {
            continue;
        }
        visited[i] = true;
        neighbours(i, &mut nb);
        if nb.len() < min_points {
            continue;
        }
        let c = clusters;
        clusters += 1;
        labels[i] = Some(c);
        let mut queue: Vec<usize> = nb.clone();
        while let Some(j) = queue.pop() {
            if labels[j].is_none() {
                labels[j] = Some(c);
            }
            if visited[j] {
                continue;
            }
            visited[j] = true;
            neighbours(j, &mut nb2);
            if nb2.len() >= min_points {
                queue.extend(nb2.iter().copied().filter(|&k| !visited[k]));
            }
        }
    }
    (labels, clusters)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The textbook O(n²) DBSCAN, to check the grid version against.
    fn brute(points: &[[f64; 2]], eps: f64, min: usize) -> Vec<bool> {
        let n = points.len();
        let d2 = |a: [f64; 2], b: [f64; 2]| (a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2);
        (0..n)
            .map(|i| {
                let core = |k: usize| {
                    (0..n)
                        .filter(|&j| d2(points[k], points[j]) <= eps * eps)
                        .count()
                        >= min
                };
                core(i) || (0..n).any(|j| core(j) && d2(points[i], points[j]) <= eps * eps)
            })
            .collect()
    }

    #[test]
    fn two_blobs_and_noise_agree_with_brute_force() {
        let mut s = 7u64;
        let mut rnd = || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (s >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut pts = Vec::new();
        for _ in 0..60 {
            pts.push([100.0 + rnd() * 40.0, 100.0 + rnd() * 40.0]);
        }
        for _ in 0..50 {
            pts.push([400.0 + rnd() * 30.0, 50.0 + rnd() * 30.0]);
        }
        for _ in 0..80 {
            pts.push([rnd() * 2000.0, rnd() * 2000.0]);
        }
        let (labels, n) = dbscan(&pts, 15.0, 6);
        assert_eq!(n, 2);
        let expect = brute(&pts, 15.0, 6);
        for (i, l) in labels.iter().enumerate() {
            assert_eq!(l.is_some(), expect[i], "point {i}");
        }
        assert!(labels[..60].iter().all(|l| *l == labels[0]));
        assert!(labels[60..110].iter().all(|l| *l == labels[60]));
    }
}
