//! The version hand-off: readers pin an immutable version, writers publish a new one
//! atomically, and what an old version alone referenced is reclaimed only once no reader
//! pins it (or any version before it).
//!
//! A [`VersionSet`] holds the current version and a queue of retired ones, each retired
//! version carrying the garbage its replacement dropped (for the engine: the keys of blocks
//! no newer version uses). Pins are counted per version and only the current version can be
//! pinned, so a retired version's count only falls. [`VersionSet::reclaim`] releases
//! garbage front to back and stops at the first retired version still pinned: garbage
//! retired at step `n` may also be read through versions before `n`, and those are ahead in
//! the queue.
//!
//! Pinning and publishing run their callback under the set's lock, which is how the engine
//! pairs a version with the RocksDB snapshot that matches it: a reader takes its snapshot
//! while pinning, and a writer commits its batch while publishing, so no reader sees the new
//! blocks with the old delta or the other way round.
//!
//! With the `loom` feature the synchronization comes from `loom` and the unit tests
//! `version::loom_tests` explore every interleaving of pin, publish, read and reclaim.

use std::collections::VecDeque;

#[cfg(feature = "loom")]
use loom::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};
#[cfg(not(feature = "loom"))]
use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

#[cfg(feature = "loom")]
struct Lock<T>(loom::sync::Mutex<T>);
#[cfg(feature = "loom")]
impl<T> Lock<T> {
    fn new(value: T) -> Self {
        Self(loom::sync::Mutex::new(value))
    }
    fn lock(&self) -> loom::sync::MutexGuard<'_, T> {
        // A poisoned lock only follows a panic, which loom reports itself.
        match self.0.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}

#[cfg(not(feature = "loom"))]
struct Lock<T>(parking_lot::Mutex<T>);
#[cfg(not(feature = "loom"))]
impl<T> Lock<T> {
    fn new(value: T) -> Self {
        Self(parking_lot::Mutex::new(value))
    }
    fn lock(&self) -> parking_lot::MutexGuard<'_, T> {
        self.0.lock()
    }
}

struct Entry<T> {
    value: T,
    pins: AtomicUsize,
}

struct Inner<T, G> {
    current: Arc<Entry<T>>,
    /// Retired versions, oldest first, each with the garbage its successor dropped.
    retired: VecDeque<(Arc<Entry<T>>, Vec<G>)>,
}

/// The current version of something readers share, and the versions still pinned.
pub(crate) struct VersionSet<T, G> {
    inner: Lock<Inner<T, G>>,
}

/// A reader's hold on one version; the version stays readable while the pin lives.
pub(crate) struct Pin<T> {
    entry: Arc<Entry<T>>,
}

impl<T> std::ops::Deref for Pin<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.entry.value
    }
}

impl<T> Drop for Pin<T> {
    fn drop(&mut self) {
        self.entry.pins.fetch_sub(1, Ordering::Release);
    }
}

impl<T, G> VersionSet<T, G> {
    /// A set whose current version is `value`.
    pub(crate) fn new(value: T) -> Self {
        Self {
            inner: Lock::new(Inner {
                current: Arc::new(Entry {
                    value,
                    pins: AtomicUsize::new(0),
                }),
                retired: VecDeque::new(),
            }),
        }
    }

    /// Pins the current version and runs `with` while it is still current.
    pub(crate) fn pin_with<R>(&self, with: impl FnOnce(&T) -> R) -> (Pin<T>, R) {
        let inner = self.inner.lock();
        let entry = Arc::clone(&inner.current);
        entry.pins.fetch_add(1, Ordering::Relaxed);
        let result = with(&entry.value);
        drop(inner);
        (Pin { entry }, result)
    }

    /// Pins the current version.
    pub(crate) fn pin(&self) -> Pin<T> {
        self.pin_with(|_| ()).0
    }

    /// Builds the next version from the current one and makes it current, unless `make`
    /// fails. `make` runs under the set's lock (no reader pins in between) and returns the
    /// new version and the garbage the old one leaves behind.
    pub(crate) fn publish<E>(
        &self,
        make: impl FnOnce(&T) -> Result<(T, Vec<G>), E>,
    ) -> Result<(), E> {
        let mut inner = self.inner.lock();
        let (value, garbage) = make(&inner.current.value)?;
        let next = Arc::new(Entry {
            value,
            pins: AtomicUsize::new(0),
        });
        let old = std::mem::replace(&mut inner.current, next);
        inner.retired.push_back((old, garbage));
        Ok(())
    }

    /// Takes the garbage no pinned version can reach any more.
    pub(crate) fn reclaim(&self) -> Vec<G> {
        let mut inner = self.inner.lock();
        let mut released = Vec::new();
        while let Some((entry, _)) = inner.retired.front() {
            if entry.pins.load(Ordering::Acquire) != 0 {
                break;
            }
            if let Some((_, garbage)) = inner.retired.pop_front() {
                released.extend(garbage);
            }
        }
        released
    }

    /// Retired versions not reclaimed yet.
    #[cfg(test)]
    pub(crate) fn retired(&self) -> usize {
        self.inner.lock().retired.len()
    }
}

#[cfg(all(test, not(feature = "loom")))]
mod tests {
    use super::*;

    #[test]
    fn garbage_waits_for_every_earlier_pin() {
        let set: VersionSet<u32, &str> = VersionSet::new(0);
        let first = set.pin();
        set.publish(|_| Ok::<_, ()>((1, vec!["a"]))).unwrap();
        let second = set.pin();
        set.publish(|_| Ok::<_, ()>((2, vec!["b"]))).unwrap();
        assert_eq!((*first, *second, *set.pin()), (0, 1, 2));
        // Version 1 is unpinned first, but version 0 still pins "a" and everything after.
        drop(second);
        assert!(set.reclaim().is_empty());
        drop(first);
        assert_eq!(set.reclaim(), vec!["a", "b"]);
        assert_eq!(set.retired(), 0);
    }

    #[test]
    fn a_failed_publish_changes_nothing() {
        let set: VersionSet<u32, &str> = VersionSet::new(7);
        assert_eq!(set.publish(|_| Err::<(u32, Vec<&str>), _>("no")), Err("no"));
        assert_eq!(*set.pin(), 7);
        assert_eq!(set.retired(), 0);
    }
}

#[cfg(all(test, feature = "loom"))]
mod loom_tests {
    use super::*;
    use loom::sync::Mutex;
    use loom::thread;

    /// A version is the list of blocks it reads; reclaimed blocks are deleted.
    type Blocks = Vec<u32>;

    fn read(version: &Blocks, deleted: &Mutex<Vec<u32>>) {
        let deleted = deleted.lock().unwrap();
        for block in version {
            assert!(
                !deleted.contains(block),
                "block {block} was reclaimed while a reader pinned a version using it"
            );
        }
    }

    /// Explores every interleaving with up to three preemptions (loom's usual bound: bugs
    /// needing more are rare, and the full space of three threads does not finish).
    fn model(test: impl Fn() + Sync + Send + 'static) {
        let mut builder = loom::model::Builder::new();
        builder.preemption_bound = Some(3);
        builder.check(test);
    }

    fn reclaim(set: &VersionSet<Blocks, u32>, deleted: &Mutex<Vec<u32>>) {
        let garbage = set.reclaim();
        deleted.lock().unwrap().extend(garbage);
    }

    #[test]
    fn readers_never_see_reclaimed_blocks() {
        model(|| {
            let set = Arc::new(VersionSet::<Blocks, u32>::new(vec![1, 2]));
            let deleted = Arc::new(Mutex::new(Vec::new()));

            let reader = {
                let (set, deleted) = (Arc::clone(&set), Arc::clone(&deleted));
                thread::spawn(move || {
                    let pin = set.pin();
                    read(&pin, &deleted);
                    thread::yield_now();
                    read(&pin, &deleted);
                })
            };
            let writer = {
                let (set, deleted) = (Arc::clone(&set), Arc::clone(&deleted));
                thread::spawn(move || {
                    // Compaction replaces block 2 with 3, then a re-layout replaces both.
                    set.publish(|_| Ok::<_, ()>((vec![1, 3], vec![2]))).unwrap();
                    reclaim(&set, &deleted);
                    set.publish(|_| Ok::<_, ()>((vec![4], vec![1, 3]))).unwrap();
                    reclaim(&set, &deleted);
                })
            };
            reader.join().unwrap();
            writer.join().unwrap();
            // Once every reader is gone, everything retired is reclaimed.
            reclaim(&set, &deleted);
            assert_eq!(set.retired(), 0);
            let mut deleted = deleted.lock().unwrap().clone();
            deleted.sort_unstable();
            assert_eq!(deleted, vec![1, 2, 3]);
            read(&set.pin(), &Mutex::new(deleted));
        });
    }

    #[test]
    fn two_readers_and_a_concurrent_reclaimer() {
        model(|| {
            let set = Arc::new(VersionSet::<Blocks, u32>::new(vec![1]));
            let deleted = Arc::new(Mutex::new(Vec::new()));
            let mut threads = Vec::new();
            for _ in 0..2 {
                let (set, deleted) = (Arc::clone(&set), Arc::clone(&deleted));
                threads.push(thread::spawn(move || {
                    let pin = set.pin();
                    read(&pin, &deleted);
                }));
            }
            {
                let (set, deleted) = (Arc::clone(&set), Arc::clone(&deleted));
                threads.push(thread::spawn(move || {
                    set.publish(|_| Ok::<_, ()>((vec![2], vec![1]))).unwrap();
                    reclaim(&set, &deleted);
                }));
            }
            for thread in threads {
                thread.join().unwrap();
            }
            reclaim(&set, &deleted);
            assert_eq!(set.retired(), 0);
            assert_eq!(*deleted.lock().unwrap(), vec![1]);
        });
    }
}
