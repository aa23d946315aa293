//! Phase timings on stderr (`TOKENLEDGER_TIMINGS`), and the process's
//! peak memory: what the benchmark reads to say where the time goes.

/// Phase timings on stderr when `TOKENLEDGER_TIMINGS` is set: what the
/// benchmark reads to say where the time goes.
pub struct Timings {
    start: std::time::Instant,
    last: std::time::Instant,
    /// CPU seconds used by the end of the last phase.
    last_cpu: f64,
    on: bool,
}

impl Timings {
    /// Start timing.
    pub fn start() -> Timings {
        let now = std::time::Instant::now();
        Timings {
            start: now,
            last: now,
            last_cpu: cpu_seconds().unwrap_or(0.0),
            on: std::env::var_os("TOKENLEDGER_TIMINGS").is_some(),
        }
    }

    /// The end of a phase.
    pub fn phase(&mut self, name: &str) {
        if self.on {
            let (now, cpu) = (std::time::Instant::now(), cpu_seconds());
            let wall = (now - self.last).as_secs_f64();
            let busy = cpu.map_or_else(String::new, |cpu| {
                format!(
                    ", CPU {:.0} %",
                    100.0 * (cpu - self.last_cpu) / wall.max(1e-9)
                )
            });
            crate::stderr_line!(
                "tokenledger: timing {name}: {wall:.3}s{busy} (total {:.3}s{})",
                (now - self.start).as_secs_f64(),
                peak_rss().map_or_else(String::new, |kib| format!(", peak RSS {} MiB", kib / 1024))
            );
            (self.last, self.last_cpu) = (now, cpu.unwrap_or(0.0));
        }
    }
}

/// The CPU time (user and system) the process has used, in seconds, from
/// Linux's `/proc/self/stat` (in ticks of 1/100 s).
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The fields after the command name, which is in parentheses.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i)?.parse::<f64>().ok();
    Some((ticks(11)? + ticks(12)?) / 100.0)
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
