//! A counting global allocator for the fuzz binary: live bytes and their peak per thread (so
//! targets fuzzed on parallel test threads do not see each other), and a hard cap on any one
//! request. A request over the cap (a header that claims 2^40 elements and is believed) saves
//! the input being run and aborts with a message: the process cannot unwind from an allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// No single allocation of a fuzzed input may ask for more than this.
pub const HARD_CAP: usize = 1 << 30;

pub struct Counting;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
    /// Set while saving a crash: allocations then pass straight to the system allocator.
    static BUSY: Cell<bool> = const { Cell::new(false) };
    /// The input under test and where to save it if it asks for too much.
    static CURRENT: Cell<(*const u8, usize, &'static str)> =
        const { Cell::new((std::ptr::null(), 0, "")) };
}

fn track(delta: isize) {
    let _ = LIVE.try_with(|live| {
        let now = live.get() + delta;
        live.set(now);
        let _ = PEAK.try_with(|p| p.set(p.get().max(now)));
    });
}

fn over_cap(size: usize) -> ! {
    let _ = BUSY.try_with(|b| b.set(true));
    let (ptr, len, path) = CURRENT
        .try_with(|c| c.get())
        .unwrap_or((std::ptr::null(), 0, ""));
    if !ptr.is_null() && !path.is_empty() {
        // SAFETY: the harness sets CURRENT to a slice that outlives the run it is set for.
        let input = unsafe { std::slice::from_raw_parts(ptr, len) };
        let _ = std::fs::write(path, input);
    }
    eprintln!("fuzz: one allocation of {size} bytes (cap {HARD_CAP}); input saved to {path}");
    if std::env::var_os("FUZZ_BACKTRACE").is_some() {
        eprintln!("{}", std::backtrace::Backtrace::force_capture());
    }
    std::process::abort()
}

/// A new allocation of `size`: checked against the cap and counted, unless the thread is inside
/// the counter's own bookkeeping.
fn admit(size: usize) {
    if BUSY.try_with(|b| b.get()).unwrap_or(true) {
        return;
    }
    if size > HARD_CAP {
        over_cap(size);
    }
    track(size as isize);
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        admit(layout.size());
        System.alloc(layout)
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        admit(layout.size());
        System.alloc_zeroed(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        track(-(layout.size() as isize));
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if !BUSY.try_with(|b| b.get()).unwrap_or(true) && new_size > HARD_CAP {
            over_cap(new_size);
        }
        track(new_size as isize - layout.size() as isize);
        System.realloc(ptr, layout, new_size)
    }
}

/// Marks `input` as the one under test (saved to `path` if it breaks the cap) and starts a
/// fresh peak; returns the live bytes now, for [`peak_since`].
pub fn begin(input: &[u8], path: &'static str) -> isize {
    CURRENT.with(|c| c.set((input.as_ptr(), input.len(), path)));
    let live = LIVE.with(|l| l.get());
    PEAK.with(|p| p.set(live));
    live
}

/// The most bytes this thread held above `start` since [`begin`]; clears the input.
pub fn peak_since(start: isize) -> usize {
    CURRENT.with(|c| c.set((std::ptr::null(), 0, "")));
    (PEAK.with(|p| p.get()) - start).max(0) as usize
}
