// rope: rotary position embedding on interleaved pairs (2j, 2j+1) of each head, as llama.cpp's
// "normal" mode, or with p.neox on the halves' pairs (j, j+half), its NEOX mode (qwen2); row t
// is at position pos + t.
//   p.heads, p.half, p.pos  heads in a row, head_dim/2, position of row 0; p.neox 0 or 1
//   x    (T, heads*2*half) f32
//   cs   (context, half) vec2<f32> — (cos, sin)
//   y    (T, heads*2*half) f32, written
// Dispatch: (ceil(heads*half/64), T, 1) workgroups of 64; one invocation per pair.
struct Params { heads: u32, half: u32, pos: u32, neox: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> cs: array<vec2<f32>>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(64)
fn rope(@builtin(global_invocation_id) g: vec3<u32>) {
    let pairs = p.heads * p.half;
    if (g.x >= pairs) {
        return;
    }
    let t = g.y;
    let j = g.x % p.half;
    // The pair's two elements: adjacent, or half a head apart.
    var i = (t * pairs + g.x) * 2u;
    var k = i + 1u;
    if (p.neox != 0u) {
        i = (t * pairs + g.x - j) * 2u + j;
        k = i + p.half;
    }
    let c = cs[(p.pos + t) * p.half + j].x;
    let s = cs[(p.pos + t) * p.half + j].y;
    let a = x[i];
    let b = x[k];
    y[i] = a * c - b * s;
    y[k] = a * s + b * c;
}
