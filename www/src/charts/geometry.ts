//! The geometry of the emotion vectors, in plain TypeScript: cosine similarities, PCA and
//! spherical k-means over a small row-major matrix (171 × 576 here). Pure functions, no DOM;
//! everything seeded, so the map draws the same picture on every load.
//!
//! PCA diagonalises whichever of the covariance (d × d) or the Gram matrix (n × n) is smaller
//! with cyclic Jacobi rotations: exact to rounding, every eigenvalue at once (so the variance
//! shares need no separate trace), and no random start vector as power iteration would need.

/** A row-major (rows, cols) matrix. */
export interface Matrix {
  data: Float32Array | Float64Array;
  rows: number;
  cols: number;
}

/** A small, fast, seeded generator (mulberry32): uniform in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function dot(a: ArrayLike<number>, ai: number, b: ArrayLike<number>, bi: number, n: number): number {
  let s = 0;
  for (let k = 0; k < n; k++) s += a[ai + k]! * b[bi + k]!;
  return s;
}

/** Rows scaled to unit length (a zero row stays zero): (rows, cols) → (rows, cols). */
export function normalizeRows(m: Matrix): Matrix {
  const out = new Float64Array(m.rows * m.cols);
  for (let i = 0; i < m.rows; i++) {
    const norm = Math.sqrt(dot(m.data, i * m.cols, m.data, i * m.cols, m.cols));
    for (let k = 0; k < m.cols; k++) out[i * m.cols + k] = norm > 0 ? m.data[i * m.cols + k]! / norm : 0;
  }
  return { data: out, rows: m.rows, cols: m.cols };
}

/** Cosine similarity of every pair of rows: (n, d) → (n, n), symmetric, 1 on the diagonal
 * (for non-zero rows). */
export function cosineMatrix(m: Matrix): Float64Array {
  const u = normalizeRows(m);
  const n = m.rows;
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    out[i * n + i] = dot(u.data, i * m.cols, u.data, i * m.cols, m.cols) > 0 ? 1 : 0;
    for (let j = i + 1; j < n; j++) {
      const c = dot(u.data, i * m.cols, u.data, j * m.cols, m.cols);
      out[i * n + j] = c;
      out[j * n + i] = c;
    }
  }
  return out;
}

/** Eigen-decomposition of a symmetric (n, n) matrix by cyclic Jacobi rotations: eigenvalues
 * (n), highest first, and eigenvectors as the rows of an (n, n) matrix in the same order. */
export function symmetricEigen(a: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  const m = Float64Array.from(a);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  let scale = 0;
  for (let i = 0; i < n * n; i++) scale += m[i]! * m[i]!;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += m[p * n + q]! * m[p * n + q]!;
    if (off <= 1e-26 * scale || off === 0) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = m[p * n + q]!;
        if (apq === 0) continue;
        const theta = (m[q * n + q]! - m[p * n + p]!) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        // m ← Jᵀ m J, touching rows and columns p and q only.
        for (let k = 0; k < n; k++) {
          const mkp = m[k * n + p]!;
          const mkq = m[k * n + q]!;
          m[k * n + p] = c * mkp - s * mkq;
          m[k * n + q] = s * mkp + c * mkq;
        }
        for (let k = 0; k < n; k++) {
          const mpk = m[p * n + k]!;
          const mqk = m[q * n + k]!;
          m[p * n + k] = c * mpk - s * mqk;
          m[q * n + k] = s * mpk + c * mqk;
        }
        // Eigenvectors accumulate as rows: v ← Jᵀ v.
        for (let k = 0; k < n; k++) {
          const vpk = v[p * n + k]!;
          const vqk = v[q * n + k]!;
          v[p * n + k] = c * vpk - s * vqk;
          v[q * n + k] = s * vpk + c * vqk;
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => m[j * n + j]! - m[i * n + i]!);
  const values = Float64Array.from(order, (i) => m[i * n + i]!);
  const vectors = new Float64Array(n * n);
  order.forEach((src, dst) => vectors.set(v.subarray(src * n, (src + 1) * n), dst * n));
  return { values, vectors };
}

export interface Pca {
  /** Principal axes as rows: (k, d), unit length; each sign chosen so that its largest
   * entry by magnitude is positive (a PC's sign is arbitrary; this makes it stable). */
  components: Float64Array;
  /** Share of the total variance each axis explains: (k), highest first. */
  shares: number[];
  /** Each row's coordinates on the axes: (n, k) row-major. */
  scores: Float64Array;
  k: number;
}

/** PCA of the rows of `m` (centred on their mean): the top `k` axes. */
export function pca(m: Matrix, k: number): Pca {
  const { rows: n, cols: d } = m;
  k = Math.min(k, n, d);
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] = mean[j]! + m.data[i * d + j]! / n;
  const x = new Float64Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) x[i * d + j] = m.data[i * d + j]! - mean[j]!;
  const components = new Float64Array(k * d);
  let values: Float64Array;
  if (d <= n) {
    // Covariance (d, d) = xᵀx: its eigenvectors are the axes.
    const cov = new Float64Array(d * d);
    for (let a = 0; a < d; a++) {
      for (let b = a; b < d; b++) {
        let s = 0;
        for (let i = 0; i < n; i++) s += x[i * d + a]! * x[i * d + b]!;
        cov[a * d + b] = s;
        cov[b * d + a] = s;
      }
    }
    const e = symmetricEigen(cov, d);
    values = e.values;
    components.set(e.vectors.subarray(0, k * d));
  } else {
    // Gram (n, n) = x xᵀ has the same non-zero eigenvalues; axis = xᵀu / ‖xᵀu‖.
    const gram = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      for (let j = i; j < n; j++) {
        const s = dot(x, i * d, x, j * d, d);
        gram[i * n + j] = s;
        gram[j * n + i] = s;
      }
    }
    const e = symmetricEigen(gram, n);
    values = e.values;
    for (let c = 0; c < k; c++) {
      let norm = 0;
      for (let j = 0; j < d; j++) {
        let s = 0;
        for (let i = 0; i < n; i++) s += x[i * d + j]! * e.vectors[c * n + i]!;
        components[c * d + j] = s;
        norm += s * s;
      }
      norm = Math.sqrt(norm);
      for (let j = 0; j < d; j++) components[c * d + j] = norm > 0 ? components[c * d + j]! / norm : 0;
    }
  }
  let total = 0;
  for (const v of values) total += Math.max(0, v);
  const shares = Array.from(values.subarray(0, k), (v) => (total > 0 ? Math.max(0, v) / total : 0));
  for (let c = 0; c < k; c++) {
    let big = 0;
    for (let j = 0; j < d; j++) if (Math.abs(components[c * d + j]!) > Math.abs(big)) big = components[c * d + j]!;
    if (big < 0) for (let j = 0; j < d; j++) components[c * d + j] = -components[c * d + j]!;
  }
  const scores = new Float64Array(n * k);
  for (let i = 0; i < n; i++) for (let c = 0; c < k; c++) scores[i * k + c] = dot(x, i * d, components, c * d, d);
  return { components, shares, scores, k };
}

export interface Clusters {
  /** Cluster of each row: (n), in 0..k. */
  assign: Int32Array;
  /** Unit centroid directions as rows: (k, d). */
  centroids: Float64Array;
  k: number;
  /** Sum over rows of 1 − cos(row, its centroid): lower is tighter. */
  spread: number;
}

/** Spherical k-means (cosine) of the rows of `m` into `k` clusters: k-means++ seeding from
 * `seed`, `restarts` runs, the tightest kept. Clusters are numbered by their first member,
 * so the same data always gives the same numbers. */
export function kmeans(m: Matrix, k: number, seed: number, restarts = 8, maxIter = 100): Clusters {
  const u = normalizeRows(m);
  const { rows: n, cols: d } = u;
  k = Math.max(1, Math.min(k, n));
  const rand = seededRandom(seed);
  let best: Clusters | null = null;
  for (let r = 0; r < restarts; r++) {
    const run = kmeansOnce(u.data as Float64Array, n, d, k, rand, maxIter);
    if (!best || run.spread < best.spread - 1e-12) best = run;
  }
  return renumber(best!, n, d);
}

function kmeansOnce(u: Float64Array, n: number, d: number, k: number, rand: () => number, maxIter: number): Clusters {
  // k-means++: each next centre drawn with probability ∝ its distance (1 − cos) to the nearest.
  const centroids = new Float64Array(k * d);
  const first = Math.floor(rand() * n);
  centroids.set(u.subarray(first * d, (first + 1) * d), 0);
  const near = new Float64Array(n).fill(Infinity);
  for (let c = 1; c < k; c++) {
    let total = 0;
    for (let i = 0; i < n; i++) {
      near[i] = Math.min(near[i]!, Math.max(0, 1 - dot(u, i * d, centroids, (c - 1) * d, d)));
      total += near[i]!;
    }
    let pick = n - 1;
    let target = rand() * total;
    for (let i = 0; i < n; i++) {
      target -= near[i]!;
      if (target < 0) { pick = i; break; }
    }
    centroids.set(u.subarray(pick * d, (pick + 1) * d), c * d);
  }
  const assign = new Int32Array(n).fill(-1);
  let spread = 0;
  for (let iter = 0; iter < maxIter; iter++) {
    let changed = false;
    spread = 0;
    for (let i = 0; i < n; i++) {
      let bestC = 0;
      let bestCos = -Infinity;
      for (let c = 0; c < k; c++) {
        const cos = dot(u, i * d, centroids, c * d, d);
        if (cos > bestCos) { bestCos = cos; bestC = c; }
      }
      spread += 1 - bestCos;
      if (assign[i] !== bestC) { assign[i] = bestC; changed = true; }
    }
    if (!changed) break;
    centroids.fill(0);
    const counts = new Int32Array(k);
    for (let i = 0; i < n; i++) {
      const c = assign[i]!;
      counts[c] = counts[c]! + 1;
      for (let j = 0; j < d; j++) centroids[c * d + j] = centroids[c * d + j]! + u[i * d + j]!;
    }
    for (let c = 0; c < k; c++) {
      // An emptied cluster takes the row farthest from its own centre.
      if (counts[c] === 0) {
        let far = 0;
        let farCos = Infinity;
        for (let i = 0; i < n; i++) {
          const cos = dot(u, i * d, centroids, assign[i]! * d, d);
          if (cos < farCos) { farCos = cos; far = i; }
        }
        centroids.set(u.subarray(far * d, (far + 1) * d), c * d);
        continue;
      }
      let norm = 0;
      for (let j = 0; j < d; j++) norm += centroids[c * d + j]! ** 2;
      norm = Math.sqrt(norm);
      for (let j = 0; j < d; j++) centroids[c * d + j] = norm > 0 ? centroids[c * d + j]! / norm : 0;
    }
  }
  return { assign, centroids, k, spread };
}

function renumber(c: Clusters, n: number, d: number): Clusters {
  const map = new Map<number, number>();
  for (let i = 0; i < n; i++) if (!map.has(c.assign[i]!)) map.set(c.assign[i]!, map.size);
  for (let old = 0; old < c.k; old++) if (!map.has(old)) map.set(old, map.size);
  const assign = Int32Array.from(c.assign, (a) => map.get(a)!);
  const centroids = new Float64Array(c.k * d);
  for (const [old, now] of map) centroids.set(c.centroids.subarray(old * d, (old + 1) * d), now * d);
  return { assign, centroids, k: c.k, spread: c.spread };
}

/** Cosine of each row of `m` with its cluster's centroid: (n). */
export function centrality(m: Matrix, c: Clusters): Float64Array {
  const u = normalizeRows(m);
  return Float64Array.from({ length: m.rows }, (_, i) => dot(u.data, i * m.cols, c.centroids, c.assign[i]! * m.cols, m.cols));
}

/** Row order that keeps each cluster together (clusters by number), most central member
 * first within a cluster, so the similarity heatmap shows its blocks. */
export function clusterOrder(c: Clusters, central: ArrayLike<number>): number[] {
  return Array.from(c.assign, (_, i) => i).sort((i, j) => c.assign[i]! - c.assign[j]! || central[j]! - central[i]! || i - j);
}

/** Each cluster's most central member (its name on the map): (k) row indices, −1 when empty. */
export function clusterCentres(c: Clusters, central: ArrayLike<number>): number[] {
  const best = new Array<number>(c.k).fill(-1);
  for (let i = 0; i < c.assign.length; i++) {
    const a = c.assign[i]!;
    if (best[a] === -1 || central[i]! > central[best[a]!]!) best[a] = i;
  }
  return best;
}

/** The `count` rows most similar to row `i` (itself left out): [row, cosine], highest first. */
export function nearest(cos: Float64Array, n: number, i: number, count: number): [number, number][] {
  const out: [number, number][] = [];
  for (let j = 0; j < n; j++) if (j !== i) out.push([j, cos[i * n + j]!]);
  out.sort((a, b) => b[1] - a[1] || a[0] - b[0]);
  return out.slice(0, count);
}
