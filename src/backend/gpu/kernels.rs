//! The compute pipelines, one per `shaders/*.wgsl` file, each in a field named like its file
//! (declared once, by the `kernels!` list below). Every kernel binds a uniform parameter slot (dynamic offset) at binding 0,
//! its inputs read-only after it, and its outputs last.

use crate::error::{Error, Result};

/// A kernel's WGSL: the shared helpers (`shaders/lib/quant.wgsl`), those of the fused
/// single-token kernels (`shaders/lib/rows.wgsl`) where it is one, then its own file.
macro_rules! source {
    ($name:ident) => {
        concat!(
            include_str!("shaders/lib/quant.wgsl"),
            include_str!(concat!("shaders/", stringify!($name), ".wgsl"))
        )
    };
    ($name:ident, $lib:ident) => {
        concat!(
            include_str!("shaders/lib/quant.wgsl"),
            include_str!("shaders/lib/rows.wgsl"),
            include_str!(concat!("shaders/", stringify!($name), ".wgsl"))
        )
    };
}

/// Declares every kernel once, as `field: inputs in, outputs out` (`, rows` for the fused
/// single-token kernels built on `shaders/lib/rows.wgsl` whose wide pipeline splits a row over
/// 32 lanes; `, per_head` for attn, whose wide pipeline keeps a row per invocation in a wider
/// workgroup and takes one query head a workgroup). The field's name is the kernel's name
/// three times over: the file `shaders/{name}.wgsl`, its entry point and the
/// pipeline's label, so a kernel cannot be bound to another's field. Inputs are bound
/// read-only from 1, after the parameters; the outputs after them.
macro_rules! kernels {
    ($($name:ident: $inputs:literal in, $outputs:literal out $(, $lib:ident)?;)*) => {
        /// Every kernel: (entry point = file name, WGSL source, read-only inputs, outputs).
        pub const SOURCES: [(&str, &str, u32, u32); [$(stringify!($name)),*].len()] = [$((
            stringify!($name),
            source!($name $(, $lib)?),
            $inputs,
            $outputs,
        )),*];

        /// Every kernel, by the name of its file.
        pub struct Kernels {
            $(pub $name: Kernel,)*
        }

        impl Kernels {
            fn compile(device: &wgpu::Device) -> Self {
                Self {
                    $($name: kernel(
                        device,
                        stringify!($name),
                        source!($name $(, $lib)?),
                        $inputs,
                        $outputs,
                        None $(.or(wide_constants(stringify!($lib))))?,
                    ),)*
                }
            }
        }
    };
}

kernels! {
    embed: 3 in, 1 out;
    rms_norm: 2 in, 1 out;
    add_rms_norm: 3 in, 2 out;
    quantize: 1 in, 2 out;
    qmatmul_q4_1: 4 in, 1 out;
    qmatmul_tiled: 4 in, 1 out;
    qmatmul_q8_0: 4 in, 1 out;
    qmatmul_q5: 4 in, 1 out;
    qmatmul_q8_16: 4 in, 1 out;
    qmatmul_f32: 2 in, 1 out;
    gated: 2 in, 1 out;
    scale: 1 in, 1 out;
    place: 1 in, 1 out;
    rope: 2 in, 1 out;
    attention: 3 in, 3 out;
    swiglu: 6 in, 1 out;
    add: 2 in, 1 out;
    add_scaled: 2 in, 1 out;
    project: 2 in, 1 out;
    argmax: 2 in, 1 out;
    attn: 5 in, 3 out, per_head;
    ffn_in: 6 in, 1 out, rows;
    qmatvec_add: 4 in, 1 out, rows;
    head: 4 in, 1 out, rows;
}

/// A compiled kernel and the layout of its one bind group.
pub struct Kernel {
    pub pipeline: wgpu::ComputePipeline,
    pub layout: wgpu::BindGroupLayout,
    /// For the kernels built on `shaders/lib/rows.wgsl`: what builds the pipeline for a real
    /// GPU, 256 invocations a workgroup (32 lanes a row, or a row each; `pipeline` takes a row
    /// per invocation, 64 a workgroup), on first use, so a CPU emulating a GPU (which never
    /// uses it) does not compile it.
    wide: Option<Wide>,
}

/// The pipeline constants of a real GPU's pipeline for each kind of `rows` kernel.
fn wide_constants(kind: &str) -> Option<&'static [(&'static str, f64)]> {
    match kind {
        "rows" => Some(&[("LANES", 32.0), ("WG", 256.0)]),
        "per_head" => Some(&[("WG", 256.0), ("QH", 1.0)]),
        _ => None,
    }
}

struct Wide {
    name: &'static str,
    constants: &'static [(&'static str, f64)],
    module: wgpu::ShaderModule,
    layout: wgpu::PipelineLayout,
    made: std::cell::OnceCell<wgpu::ComputePipeline>,
}

impl Kernel {
    /// The pipeline for a real GPU (compiled on first use); `None` for kernels without one.
    pub fn wide(&self, device: &wgpu::Device) -> Option<&wgpu::ComputePipeline> {
        let w = self.wide.as_ref()?;
        Some(
            w.made
                .get_or_init(|| pipeline(device, w.name, &w.layout, &w.module, w.constants)),
        )
    }
}

fn pipeline(
    device: &wgpu::Device,
    name: &str,
    layout: &wgpu::PipelineLayout,
    module: &wgpu::ShaderModule,
    constants: &[(&str, f64)],
) -> wgpu::ComputePipeline {
    device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some(name),
        layout: Some(layout),
        module,
        entry_point: Some(name),
        compilation_options: wgpu::PipelineCompilationOptions {
            constants,
            ..Default::default()
        },
        cache: None,
    })
}

fn storage(binding: u32, read_only: bool) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Storage { read_only },
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    }
}

fn kernel(
    device: &wgpu::Device,
    name: &'static str,
    source: &str,
    inputs: u32,
    outputs: u32,
    wide: Option<&'static [(&'static str, f64)]>,
) -> Kernel {
    let mut entries = vec![wgpu::BindGroupLayoutEntry {
        binding: 0,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Uniform,
            has_dynamic_offset: true,
            min_binding_size: None,
        },
        count: None,
    }];
    entries.extend((1..=inputs + outputs).map(|b| storage(b, b <= inputs)));
    let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
        label: Some(name),
        entries: &entries,
    });
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some(name),
        source: wgpu::ShaderSource::Wgsl(source.into()),
    });
    let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
        label: Some(name),
        bind_group_layouts: &[Some(&layout)],
        immediate_size: 0,
    });
    Kernel {
        pipeline: pipeline(device, name, &pipeline_layout, &module, &[]),
        layout,
        wide: wide.map(|constants| Wide {
            name,
            constants,
            module,
            layout: pipeline_layout,
            made: Default::default(),
        }),
    }
}

/// `attention.wgsl` for heads of `head_dim` values (it is written for 64; see its header):
/// `HD4 = head_dim / 4`, `WG = min(32, head_dim / 2, 2048 / head_dim)` invocations a head.
pub fn attention_source(head_dim: usize) -> String {
    let wg = 32.min(head_dim / 2).min(2048 / head_dim);
    let (_, source, _, _) = SOURCES
        .iter()
        .find(|(name, ..)| *name == "attention")
        .copied()
        .unwrap_or_default();
    source
        .replace(
            "const HD4: u32 = 16u;",
            &format!("const HD4: u32 = {}u;", head_dim / 4),
        )
        .replace("const WG: u32 = 32u;", &format!("const WG: u32 = {wg}u;"))
}

impl Kernels {
    /// Compiles every kernel (attention for heads of `head_dim` values); a shader or layout
    /// the adapter rejects is an error, not a panic.
    pub async fn new(device: &wgpu::Device, head_dim: usize) -> Result<Self> {
        let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let mut kernels = Self::compile(device);
        if head_dim != 64 {
            let (inputs, outputs) = (3, 3);
            let source = attention_source(head_dim);
            kernels.attention = kernel(device, "attention", &source, inputs, outputs, None);
        }
        if let Some(e) = scope.pop().await {
            return Err(Error::Gpu(format!(
                "a kernel failed to compile on this adapter: {}",
                crate::error::first_line(&e)
            )));
        }
        Ok(kernels)
    }
}
