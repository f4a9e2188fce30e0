// place: a part's product (rows row0 .. row0 + n of a matrix split in parts, see parts.rs) put
// in its columns of the whole product: y[t, row0 + j] = part[t, j].
//   p.t, p.n, p.total, p.row0  tokens, the part's rows, the whole matrix's rows, its first row
//   part  (T, n) f32
//   y     (T, total) f32, those columns written
// Dispatch: (gx, gy, 1) workgroups of 64 covering T·n (value i = (wg.y·gx + wg.x)·64 + li).
struct Params { t: u32, n: u32, total: u32, row0: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> part: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(64)
fn place(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>,
         @builtin(local_invocation_index) li: u32) {
    let i = (wg.y * nw.x + wg.x) * 64u + li;
    if (i >= p.t * p.n) {
        return;
    }
    y[(i / p.n) * p.total + p.row0 + i % p.n] = part[i];
}
