import { describe, expect, it } from "vitest";
import {
  centrality, clusterCentres, clusterOrder, cosineMatrix, kmeans, nearest, pca, seededRandom, symmetricEigen, type Matrix,
} from "./geometry";

/** A standard normal draw from a seeded uniform (Box–Muller). */
function gauss(rand: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

/** `n` points with independent spreads `sd` along the orthonormal `axes` (rows), plus `offset`. */
function cloud(n: number, axes: number[][], sd: number[], offset: number[], seed: number): Matrix {
  const d = offset.length;
  const rand = seededRandom(seed);
  const data = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) data[i * d + j] = offset[j]!;
    axes.forEach((axis, a) => {
      const t = gauss(rand) * sd[a]!;
      for (let j = 0; j < d; j++) data[i * d + j] = data[i * d + j]! + t * axis[j]!;
    });
  }
  return { data, rows: n, cols: d };
}

const s = Math.SQRT1_2;
// A rotated frame in 3-d: the principal axes are not the coordinate axes.
const AXES = [[s, s, 0], [-s, s, 0], [0, 0, 1]];

describe("symmetricEigen", () => {
  it("diagonalises a small symmetric matrix", () => {
    const e = symmetricEigen(Float64Array.from([2, 1, 1, 2]), 2);
    expect(e.values[0]).toBeCloseTo(3, 10);
    expect(e.values[1]).toBeCloseTo(1, 10);
    expect(Math.abs(e.vectors[0]!)).toBeCloseTo(s, 10);
    expect(e.vectors[0]! * e.vectors[1]!).toBeGreaterThan(0);
  });
});

describe("pca", () => {
  it("recovers known principal axes and their variance shares (covariance path, d < n)", () => {
    const m = cloud(4000, AXES, [3, 2, 1], [5, -2, 7], 1);
    const p = pca(m, 3);
    // Variances 9 : 4 : 1 → shares 9/14, 4/14, 1/14 (up to sampling noise).
    expect(p.shares[0]).toBeCloseTo(9 / 14, 1);
    expect(p.shares[1]).toBeCloseTo(4 / 14, 1);
    expect(p.shares[2]).toBeCloseTo(1 / 14, 1);
    expect(p.shares.reduce((a, b) => a + b)).toBeCloseTo(1, 10);
    AXES.forEach((axis, c) => {
      const cos = axis.reduce((acc, v, j) => acc + v * p.components[c * 3 + j]!, 0);
      expect(Math.abs(cos)).toBeGreaterThan(0.995);
    });
  });

  it("gives the same axes and shares through the Gram matrix (d > n)", () => {
    // 12 points in 40 dimensions: the axes live in a 2-d plane spanned by e0 + e1 and e2.
    const d = 40;
    const a0 = new Array(d).fill(0); a0[0] = s; a0[1] = s;
    const a1 = new Array(d).fill(0); a1[2] = 1;
    const ts = [[-3, 1], [-2, -1], [-1, 1], [0, -1], [1, 1], [2, -1], [3, 1], [-3, -1], [3, -1], [0, 1], [1, -1], [-1, -1]];
    const data = new Float64Array(ts.length * d);
    ts.forEach(([t0, t1], i) => { for (let j = 0; j < d; j++) data[i * d + j] = 10 + t0! * a0[j] + t1! * a1[j]; });
    const p = pca({ data, rows: ts.length, cols: d }, 3);
    const mean1 = ts.reduce((acc, t) => acc + t[1]!, 0) / ts.length;
    const v0 = ts.reduce((acc, t) => acc + t[0]! ** 2, 0);
    const v1 = ts.reduce((acc, t) => acc + (t[1]! - mean1) ** 2, 0);
    expect(p.shares[0]).toBeCloseTo(v0 / (v0 + v1), 10);
    expect(p.shares[1]).toBeCloseTo(v1 / (v0 + v1), 10);
    expect(p.shares[2]).toBeCloseTo(0, 10);
    expect(p.components[0]).toBeCloseTo(s, 8);
    expect(p.components[1]).toBeCloseTo(s, 8);
    expect(Math.abs(p.components[d + 2]!)).toBeCloseTo(1, 8);
    // Scores are the centred coordinates along each axis (sign fixed by the component).
    expect(p.scores[0]! / p.scores[1 * p.k]!).toBeCloseTo(-3 / -2, 8);
  });

  it("fixes each axis's sign: its largest entry is positive", () => {
    const p = pca(cloud(500, AXES, [3, 2, 1], [0, 0, 0], 7), 3);
    for (let c = 0; c < 3; c++) {
      const row = Array.from(p.components.subarray(c * 3, c * 3 + 3));
      const big = row.reduce((a, b) => (Math.abs(b) > Math.abs(a) ? b : a));
      expect(big).toBeGreaterThan(0);
    }
  });
});

describe("cosineMatrix", () => {
  it("is symmetric with a unit diagonal and matches hand-computed cosines", () => {
    const m: Matrix = { data: Float32Array.from([1, 0, 0, 2, 2, 0, 0, 0, 3, -1, 0, 0]), rows: 4, cols: 3 };
    const c = cosineMatrix(m);
    for (let i = 0; i < 4; i++) {
      expect(c[i * 4 + i]).toBe(1);
      for (let j = 0; j < 4; j++) expect(c[i * 4 + j]).toBe(c[j * 4 + i]);
    }
    expect(c[0 * 4 + 1]).toBeCloseTo(s, 6);
    expect(c[0 * 4 + 2]).toBeCloseTo(0, 6);
    expect(c[0 * 4 + 3]).toBeCloseTo(-1, 6);
  });

  it("nearest lists the most similar rows first, without the row itself", () => {
    const m: Matrix = { data: Float32Array.from([1, 0, 0.9, 0.1, 0, 1, -1, 0]), rows: 4, cols: 2 };
    const c = cosineMatrix(m);
    const near = nearest(c, 4, 0, 3);
    expect(near.map(([j]) => j)).toEqual([1, 2, 3]);
    expect(near[0]![1]).toBeCloseTo(0.9 / Math.hypot(0.9, 0.1), 6);
    expect(near[2]![1]).toBeCloseTo(-1, 6);
  });
});

describe("kmeans", () => {
  // Three tight bundles of directions around orthogonal axes in 6-d, interleaved in the rows.
  function bundles(seed: number): { m: Matrix; truth: number[] } {
    const d = 6;
    const rand = seededRandom(seed);
    const truth: number[] = [];
    const data = new Float64Array(60 * d);
    for (let i = 0; i < 60; i++) {
      const g = i % 3;
      truth.push(g);
      for (let j = 0; j < d; j++) data[i * d + j] = (j === 2 * g ? 1 : 0) + 0.1 * gauss(rand);
    }
    return { m: { data, rows: 60, cols: d }, truth };
  }

  it("separates obvious clusters", () => {
    const { m, truth } = bundles(3);
    const c = kmeans(m, 3, 42);
    // Same partition as the truth (numbers may differ): rows share a cluster iff they share a bundle.
    for (let i = 0; i < 60; i++) for (let j = 0; j < 60; j++) {
      expect(c.assign[i] === c.assign[j]).toBe(truth[i] === truth[j]);
    }
    // Numbered by first member: rows 0, 1, 2 open clusters 0, 1, 2.
    expect(Array.from(c.assign.subarray(0, 3))).toEqual([0, 1, 2]);
  });

  it("is deterministic for a seed", () => {
    const { m } = bundles(5);
    const a = kmeans(m, 4, 7);
    const b = kmeans(m, 4, 7);
    expect(Array.from(a.assign)).toEqual(Array.from(b.assign));
    expect(Array.from(a.centroids)).toEqual(Array.from(b.centroids));
    expect(a.spread).toBe(b.spread);
  });

  it("orders rows cluster by cluster, most central first, and names each cluster by its centre", () => {
    const { m } = bundles(9);
    const c = kmeans(m, 3, 1);
    const central = centrality(m, c);
    const order = clusterOrder(c, central);
    expect([...order].sort((a, b) => a - b)).toEqual(Array.from({ length: 60 }, (_, i) => i));
    for (let i = 1; i < order.length; i++) {
      const [p, q] = [order[i - 1]!, order[i]!];
      expect(c.assign[p]! <= c.assign[q]!).toBe(true);
      if (c.assign[p] === c.assign[q]) expect(central[p]!).toBeGreaterThanOrEqual(central[q]!);
    }
    const centres = clusterCentres(c, central);
    centres.forEach((row, k) => expect(order.find((i) => c.assign[i] === k)).toBe(row));
  });
});
