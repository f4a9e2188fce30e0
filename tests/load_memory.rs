//! Memory while a model loads (issue 16: at most 1.3× the file). A counting allocator sees
//! every heap byte this process holds: the peak while `Session::open` reads the file in pieces
//! and repacks it, and what stays once it is loaded. The page's wasm memory is this plus the
//! allocator's slack (BENCHMARKS.md gives both). One test: the counter is the whole process's.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering::Relaxed};

mod common;

struct Counting;
static LIVE: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);

fn grow(by: isize) {
    let now = LIVE.fetch_add(by, Relaxed) + by;
    PEAK.fetch_max(now, Relaxed);
}

// SAFETY: every call is passed on to the system allocator unchanged; only sizes are counted.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        grow(l.size() as isize);
        System.alloc(l)
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        grow(-(l.size() as isize));
        System.dealloc(p, l)
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, size: usize) -> *mut u8 {
        grow(size as isize - l.size() as isize);
        System.realloc(p, l, size)
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

/// Loads `path`, returning (peak, held after load, held after a 40-token prompt) in bytes
/// above what the process held before.
fn measure(path: &std::path::Path) -> (f64, f64, f64) {
    let base = LIVE.load(Relaxed);
    PEAK.store(base, Relaxed);
    let mut s = limbic::Session::open(path).expect("load");
    let (peak, held) = (PEAK.load(Relaxed) - base, LIVE.load(Relaxed) - base);
    let ids = s
        .encode_prompt(&"The lighthouse keeper counted the ships. ".repeat(8))
        .expect("ids");
    s.run(&ids[..40]).expect("forward");
    let read = LIVE.load(Relaxed) - base;
    drop(s);
    (peak as f64, held as f64, read as f64)
}

#[test]
fn loading_holds_at_most_the_file_and_a_little_more() {
    for path in [common::model_path(), common::gemma_path()] {
        let file = std::fs::metadata(&path).expect("size").len() as f64;
        let (peak, held, read) = measure(&path);
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("?");
        eprintln!(
            "{name}: peak {:.2}x the file, held {:.2}x, after a 40-token prompt {:.2}x",
            peak / file,
            held / file,
            read / file
        );
        assert!(
            peak <= 1.2 * file,
            "{name}: peak {peak} bytes for a {file}-byte file"
        );
        // No key/value cache is held before the model reads text; reading makes one.
        assert!(
            held <= 1.1 * file,
            "{name}: {held} bytes held for a {file}-byte file"
        );
        assert!(read > held, "{name}: reading text made no cache");
    }
}
