//! The process's allocator: mimalloc for queries, the system's (glibc's) for commands that
//! stream data through, chosen once when the command is known.
//!
//! Queries open a Parquet reader per day file and allocate small objects for each, and
//! glibc's malloc spent a third of the time of such scans in its own bookkeeping
//! (`perf record`, 730 day files). mimalloc is built without transparent huge pages (the
//! `no_thp` feature): with them, zeroing fresh 2 MB pages took half of the opening of a lake,
//! and peak RSS was twice as high, for no gain in hot queries.
//!
//! Ingest, and the rollup refresh that reads a lake a month at a time, are the other way
//! round. Ingest frees every batch once it is committed and allocates the next; mimalloc either kept the freed pages resident (peak RSS 390 MB for 1M runs) or,
//! told to give them back at once, faulted them in again, a quarter of the CPU time in the
//! kernel. glibc's malloc with at most [`STREAMING_ARENAS`] arenas reuses them: a 10M-run
//! page ingest took 15.1 to 16.0 s at 237 MB peak RSS, against 16.7 to 17.7 s at 303 to
//! 318 MB with mimalloc (three interleaved runs each, `/usr/bin/time botlake --no-rollups
//! ingest aa-pages ...` over `botlake sim pages --runs 10000000`). `botlake rollup` over
//! that lake: 199 to 204 MB with glibc's malloc, 281 to 296 MB with mimalloc, in the same
//! time (three interleaved runs each).
//!
//! Memory allocated before the switch (by the runtime, or while the arguments are parsed) is
//! freed by whichever allocator it came from: mimalloc knows its own pointers.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, Ordering};

use mimalloc::MiMalloc;

/// glibc arenas for streaming commands. Its default (eight per core) gave 330 MB of peak
/// RSS for the same 10M-run ingest; two arenas gave 226 MB but made threads wait on them.
const STREAMING_ARENAS: i32 = 4;

/// Whether new allocations go to the system's allocator.
static SYSTEM: AtomicBool = AtomicBool::new(false);

/// mimalloc, or the system's allocator after [`use_system_allocator`].
pub struct Switch;

/// Whether mimalloc allocated `ptr`.
#[expect(unsafe_code, reason = "mimalloc's C API")]
fn is_mimallocs(ptr: *mut u8) -> bool {
    // SAFETY: only looks the address up in mimalloc's page map; any address may be asked.
    unsafe { libmimalloc_sys::mi_is_in_heap_region(ptr.cast()) }
}

#[expect(unsafe_code, reason = "a global allocator is an unsafe trait")]
// SAFETY: every call goes to an allocator that upholds `GlobalAlloc`, and a block is always
// freed or grown by the allocator that allocated it.
unsafe impl GlobalAlloc for Switch {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract, passed on.
        unsafe {
            if SYSTEM.load(Ordering::Relaxed) {
                System.alloc(layout)
            } else {
                MiMalloc.alloc(layout)
            }
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract, passed on.
        unsafe {
            if SYSTEM.load(Ordering::Relaxed) {
                System.alloc_zeroed(layout)
            } else {
                MiMalloc.alloc_zeroed(layout)
            }
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract, passed on to the allocator `ptr` came from.
        unsafe {
            if is_mimallocs(ptr) {
                MiMalloc.dealloc(ptr, layout);
            } else {
                System.dealloc(ptr, layout);
            }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's contract, passed on to the allocator `ptr` came from.
        unsafe {
            if is_mimallocs(ptr) {
                MiMalloc.realloc(ptr, layout, new_size)
            } else {
                System.realloc(ptr, layout, new_size)
            }
        }
    }
}

/// Sends every allocation from now on to the system's allocator, limited to
/// [`STREAMING_ARENAS`] arenas where that is glibc.
#[expect(unsafe_code, reason = "glibc's mallopt")]
pub fn use_system_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: sets a malloc parameter; called before the threads that allocate start.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, STREAMING_ARENAS);
    }
    SYSTEM.store(true, Ordering::Relaxed);
}

/// Gives the memory freed so far back to the system, where the system's allocator is in use:
/// between an ingest and the rollup refresh after it, so that the refresh does not add its
/// own peak on top of the pages glibc keeps from the ingest.
#[expect(unsafe_code, reason = "glibc's malloc_trim")]
pub fn give_back_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if SYSTEM.load(Ordering::Relaxed) {
        // SAFETY: returns free pages of glibc's heaps to the system; safe at any time.
        unsafe {
            libc::malloc_trim(0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[expect(unsafe_code, reason = "calls the allocators directly")]
    fn blocks_are_freed_and_grown_by_the_allocator_they_came_from() {
        // Small, medium and huge blocks: mimalloc keeps each kind in its own way.
        for size in [24, 70_000, 64 << 20] {
            let layout = Layout::from_size_align(size, 16).unwrap();
            // SAFETY: non-zero layouts; every block is written within its size and freed
            // once, with the layout it has.
            unsafe {
                let mi = MiMalloc.alloc(layout);
                let sys = System.alloc(layout);
                assert!(!mi.is_null() && !sys.is_null());
                assert!(is_mimallocs(mi), "{size} bytes from mimalloc");
                assert!(!is_mimallocs(sys), "{size} bytes from the system");
                mi.write_bytes(7, size);
                sys.write_bytes(9, size);

                let mi = Switch.realloc(mi, layout, size * 2);
                let sys = Switch.realloc(sys, layout, size * 2);
                assert!(is_mimallocs(mi) && !is_mimallocs(sys), "{size} bytes grown");
                assert_eq!((*mi, *mi.add(size - 1)), (7, 7));
                assert_eq!((*sys, *sys.add(size - 1)), (9, 9));

                let grown = Layout::from_size_align(size * 2, 16).unwrap();
                Switch.dealloc(mi, grown);
                Switch.dealloc(sys, grown);
            }
        }
    }
}
