//! The file-system steps an output is put in place by: a directory swapped
//! with another in one step, a file renamed (or copied and renamed across
//! devices), a file written and synced, and whether a directory is a mount
//! point (which cannot be renamed).

use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Swap two directories in one step (Linux's `renameat2` with
/// `RENAME_EXCHANGE`, called as a system call, so the binary needs no
/// newer C library); elsewhere, or where the kernel or file system cannot
/// (an error), the caller renames in two steps.
pub(super) fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    #[cfg(all(
        target_os = "linux",
        target_env = "gnu",
        any(target_arch = "x86_64", target_arch = "aarch64")
    ))]
    {
        use std::ffi::CString;
        use std::os::raw::{c_char, c_int, c_long, c_uint};
        use std::os::unix::ffi::OsStrExt;
        #[cfg(target_arch = "x86_64")]
        const SYS_RENAMEAT2: c_long = 316;
        #[cfg(target_arch = "aarch64")]
        const SYS_RENAMEAT2: c_long = 276;
        const AT_FDCWD: c_int = -100;
        const RENAME_EXCHANGE: c_uint = 2;
        extern "C" {
            fn syscall(number: c_long, ...) -> c_long;
        }
        let a = CString::new(a.as_os_str().as_bytes())?;
        let b = CString::new(b.as_os_str().as_bytes())?;
        let (a, b): (*const c_char, *const c_char) = (a.as_ptr(), b.as_ptr());
        // SAFETY: both paths are NUL-terminated strings that live across
        // the call; the kernel reads them and touches no other memory.
        let done = unsafe { syscall(SYS_RENAMEAT2, AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE) };
        if done == 0 {
            return Ok(());
        }
        Err(std::io::Error::last_os_error())
    }
    #[cfg(not(all(
        target_os = "linux",
        target_env = "gnu",
        any(target_arch = "x86_64", target_arch = "aarch64")
    )))]
    {
        let _ = (a, b);
        Err(std::io::ErrorKind::Unsupported.into())
    }
}

/// Create the directory `dir` (never an entry already there) with what
/// the directory `like` has, where there is one, so a directory put in
/// its place keeps who may read it: its owner and group, as far as this
/// process may set them (the owner needs root, a group the runner is in),
/// then its permission bits (setgid, whose files take its group, and
/// sticky included), with the owner's read, write and search added so
/// the run can write its files.
pub(super) fn create_dir_like(dir: &Path, like: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir(dir)?;
    let old = match std::fs::symlink_metadata(like) {
        Ok(old) if old.is_dir() => old,
        _ => return Ok(()),
    };
    let new = std::fs::metadata(dir)?;
    if (new.uid(), new.gid()) != (old.uid(), old.gid())
        && std::os::unix::fs::chown(dir, Some(old.uid()), Some(old.gid())).is_err()
    {
        // Not permitted: the owner stays the runner; the group, if it may.
        let _ = std::os::unix::fs::chown(dir, None, Some(old.gid()));
    }
    let mode = old.mode() & 0o7777 | 0o700;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode))
}

/// Whether `dir` is a mount point (on another device than its parent), so
/// it cannot be renamed.
pub(super) fn is_mount_point(dir: &Path, parent: &Path) -> bool {
    match (std::fs::metadata(dir), std::fs::metadata(parent)) {
        (Ok(d), Ok(p)) => d.is_dir() && d.dev() != p.dev(),
        _ => false,
    }
}

/// `EBUSY`: renaming a mount point.
pub(super) const EBUSY: i32 = 16;

/// Move the file `from` to `to` atomically: a rename, or (across devices) a
/// synced copy written at `beside` (in `to`'s directory) renamed over it.
pub(super) fn place(from: &Path, to: &Path, beside: &Path) -> std::io::Result<()> {
    if std::fs::rename(from, to).is_ok() {
        return Ok(());
    }
    write_new_synced(beside, &std::fs::read(from)?)?;
    std::fs::rename(beside, to)
}

/// Write `bytes` to a new file at `path` and sync it.
pub(super) fn write_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = std::fs::File::create(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Write `bytes` to a file at `path` that must not exist yet, and sync it.
pub(super) fn write_new_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}
