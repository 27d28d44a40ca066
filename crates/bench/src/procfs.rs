//! What Linux's `/proc` says about a process: CPU time used, and resident memory.

use std::time::Duration;

/// `/proc` counts CPU time in USER_HZ ticks, which the kernel ABI fixes at 100 a second.
const TICKS_PER_SECOND: u64 = 100;

/// User plus system CPU time the process has used so far, over all its threads.
pub fn cpu_time(pid: Option<u32>) -> Result<Duration, String> {
    let path = stat_path(pid, "stat");
    let stat =
        std::fs::read_to_string(&path).map_err(|error| format!("cannot read {path}: {error}"))?;
    parse_cpu_ticks(&stat)
        .map(|ticks| Duration::from_millis(ticks * (1000 / TICKS_PER_SECOND)))
        .ok_or_else(|| format!("cannot read the CPU times in {path}"))
}

/// The process's resident set size (`VmRSS`), in bytes.
pub fn resident_bytes(pid: u32) -> Result<u64, String> {
    let path = stat_path(Some(pid), "status");
    let status =
        std::fs::read_to_string(&path).map_err(|error| format!("cannot read {path}: {error}"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().strip_suffix("kB"))
        .and_then(|kib| kib.trim().parse::<u64>().ok())
        .map(|kib| kib * 1024)
        .ok_or_else(|| format!("no VmRSS in {path}"))
}

fn stat_path(pid: Option<u32>, file: &str) -> String {
    match pid {
        Some(pid) => format!("/proc/{pid}/{file}"),
        None => format!("/proc/self/{file}"),
    }
}

/// `utime + stime` from a `/proc/<pid>/stat` line. The command name (field 2) may hold spaces
/// and parentheses, so fields are counted from the last `)`: state is field 3, utime field 14.
fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    let after_name = stat.get(stat.rfind(')')? + 1..)?;
    let mut fields = after_name.split_ascii_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some(user + system)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_ticks_survive_odd_command_names() {
        let stat = "4242 (tokio (x) 1) S 1 4242 4242 0 -1 4194560 1500 0 0 0 730 95 0 0 20 0 3 0";
        assert_eq!(parse_cpu_ticks(stat), Some(825));
    }

    #[test]
    fn reads_this_process() {
        cpu_time(None).unwrap();
        assert!(resident_bytes(std::process::id()).unwrap() > 0);
    }
}
