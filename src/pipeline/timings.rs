//! Phase timings on stderr (`TOKENLEDGER_TIMINGS`), and the process's
//! peak memory: what the benchmark reads to say where the time goes.

/// Phase timings on stderr when `TOKENLEDGER_TIMINGS` is set: what the
/// benchmark reads to say where the time goes.
pub struct Timings {
    start: std::time::Instant,
    last: std::time::Instant,
    on: bool,
}

impl Timings {
    /// Start timing.
    pub fn start() -> Timings {
        let now = std::time::Instant::now();
        Timings {
            start: now,
            last: now,
            on: std::env::var_os("TOKENLEDGER_TIMINGS").is_some(),
        }
    }

    /// The end of a phase.
    pub fn phase(&mut self, name: &str) {
        if self.on {
            let now = std::time::Instant::now();
            eprintln!(
                "tokenledger: timing {name}: {:.3}s (total {:.3}s{})",
                (now - self.last).as_secs_f64(),
                (now - self.start).as_secs_f64(),
                peak_rss().map_or_else(String::new, |kib| format!(", peak RSS {} MiB", kib / 1024))
            );
            self.last = now;
        }
    }
}

/// The process's peak resident set so far, in KiB (Linux's `VmHWM`).
pub fn peak_rss() -> Option<u64> {
    proc_kib("/proc/self/status", "VmHWM")
}

/// A `field:  N kB` line's N in a Linux `/proc` file (`/proc/meminfo`'s
/// `MemTotal`); `None` where there is no such file or line.
pub fn proc_kib(file: &str, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(file).ok()?;
    let line = text.lines().find(|l| {
        l.strip_prefix(field)
            .is_some_and(|rest| rest.starts_with(':'))
    })?;
    line.split_whitespace().nth(1)?.parse().ok()
}
