//! The compute pipelines, one per `shaders/*.wgsl` file. Every kernel binds a uniform parameter
//! slot (dynamic offset) at binding 0, its inputs read-only after it, and its outputs last.

use crate::error::{Error, Result};

/// Every kernel: (entry point = file name, WGSL source, read-only inputs, outputs), the
/// inputs bound from 1 after the parameters, then the outputs.
pub const SOURCES: [(&str, &str, u32, u32); 13] = [
    ("embed", include_str!("shaders/embed.wgsl"), 3, 1),
    ("rms_norm", include_str!("shaders/rms_norm.wgsl"), 2, 1),
    (
        "add_rms_norm",
        include_str!("shaders/add_rms_norm.wgsl"),
        3,
        2,
    ),
    ("quantize", include_str!("shaders/quantize.wgsl"), 1, 2),
    (
        "qmatmul_q4_1",
        include_str!("shaders/qmatmul_q4_1.wgsl"),
        4,
        1,
    ),
    (
        "qmatmul_q8_0",
        include_str!("shaders/qmatmul_q8_0.wgsl"),
        4,
        1,
    ),
    ("rope", include_str!("shaders/rope.wgsl"), 3, 1),
    ("attention", include_str!("shaders/attention.wgsl"), 3, 1),
    ("silu_mul", include_str!("shaders/silu_mul.wgsl"), 2, 1),
    ("swiglu", include_str!("shaders/swiglu.wgsl"), 6, 1),
    ("add", include_str!("shaders/add.wgsl"), 2, 1),
    ("add_scaled", include_str!("shaders/add_scaled.wgsl"), 2, 1),
    ("project", include_str!("shaders/project.wgsl"), 2, 1),
];

/// A compiled kernel and the layout of its one bind group.
pub struct Kernel {
    pub pipeline: wgpu::ComputePipeline,
    pub layout: wgpu::BindGroupLayout,
}

/// Every kernel, by op.
pub struct Kernels {
    pub embed: Kernel,
    pub rms_norm: Kernel,
    pub add_rms_norm: Kernel,
    pub quantize: Kernel,
    pub q4_1: Kernel,
    pub q8_0: Kernel,
    pub rope: Kernel,
    pub attention: Kernel,
    pub silu_mul: Kernel,
    pub swiglu: Kernel,
    pub add: Kernel,
    pub add_scaled: Kernel,
    pub project: Kernel,
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

fn kernel(device: &wgpu::Device, name: &str, source: &str, inputs: u32, outputs: u32) -> Kernel {
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
    let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some(name),
        layout: Some(&pipeline_layout),
        module: &module,
        entry_point: Some(name),
        compilation_options: Default::default(),
        cache: None,
    });
    Kernel { pipeline, layout }
}

impl Kernels {
    /// Compiles every kernel; a shader or layout the adapter rejects is an error, not a panic.
    pub async fn new(device: &wgpu::Device) -> Result<Self> {
        let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let mut k = SOURCES
            .iter()
            .map(|(name, src, i, o)| kernel(device, name, src, *i, *o));
        let mut next = || {
            k.next()
                .ok_or_else(|| Error::Gpu("kernel list short".into()))
        };
        let kernels = Kernels {
            embed: next()?,
            rms_norm: next()?,
            add_rms_norm: next()?,
            quantize: next()?,
            q4_1: next()?,
            q8_0: next()?,
            rope: next()?,
            attention: next()?,
            silu_mul: next()?,
            swiglu: next()?,
            add: next()?,
            add_scaled: next()?,
            project: next()?,
        };
        if let Some(e) = scope.pop().await {
            return Err(Error::Gpu(format!(
                "a kernel failed to compile on this adapter: {}",
                crate::error::first_line(&e)
            )));
        }
        Ok(kernels)
    }
}
