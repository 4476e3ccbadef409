//! Threads that do bulk work in the background (the zone index's compaction, the report points'
//! layout) and must not take the cores from requests on a small machine.

/// How much nicer than the process background threads run by default: the scheduler gives a
/// runnable request thread about ten times their share of a contended core.
pub const NICE: i32 = 10;

/// The environment variable that sets another step (0 to 19; 0 runs background work at the
/// process's own priority, as before, for comparison).
pub const NICE_VAR: &str = "XUNCHA_BACKGROUND_NICE";

/// The step background threads lower their priority by: [`NICE_VAR`] when it holds 0 to 19,
/// else [`NICE`].
pub fn nice() -> i32 {
    static STEP: std::sync::OnceLock<i32> = std::sync::OnceLock::new();
    *STEP.get_or_init(|| {
        std::env::var(NICE_VAR)
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .filter(|n| (0..=19).contains(n))
            .unwrap_or(NICE)
    })
}

/// Spawns `f` on a named thread that first lowers its own scheduling priority by [`nice`].
/// Where the priority cannot be lowered the thread runs anyway, at normal priority.
pub fn spawn<F>(name: &str, f: F) -> std::io::Result<std::thread::JoinHandle<()>>
where
    F: FnOnce() + Send + 'static,
{
    std::thread::Builder::new()
        .name(name.to_string())
        .spawn(move || {
            lower_priority();
            f()
        })
}

/// Lowers the calling thread's priority (Linux: per-thread nice); a no-op elsewhere.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        use rustix::process::{getpriority_process, setpriority_process};
        // Per thread on Linux: a thread id names the thread alone. Relative to what the thread
        // inherited, so a server started under `nice` keeps its background work below itself.
        let step = nice();
        if step == 0 {
            return;
        }
        let tid = Some(rustix::thread::gettid());
        let lowered =
            getpriority_process(tid).and_then(|now| setpriority_process(tid, (now + step).min(19)));
        if let Err(e) = lowered {
            tracing::debug!("could not lower a background thread's priority: {e}");
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    #[test]
    fn a_background_thread_runs_niced_and_its_spawner_does_not() {
        let own = rustix::process::getpriority_process(Some(rustix::thread::gettid())).unwrap();
        let inner = super::spawn("niced", move || {
            let p = rustix::process::getpriority_process(Some(rustix::thread::gettid())).unwrap();
            assert_eq!(p, (own + super::nice()).min(19));
        })
        .unwrap()
        .join();
        assert!(
            inner.is_ok(),
            "the background thread saw the wrong priority"
        );
        let after = rustix::process::getpriority_process(Some(rustix::thread::gettid())).unwrap();
        assert_eq!(after, own, "the spawning thread's priority changed");
    }
}
