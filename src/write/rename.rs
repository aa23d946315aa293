//! The file-system steps an output is put in place by: a directory swapped
//! with another in one step, a file renamed (or copied and renamed across
//! devices), a file written and synced, and whether a directory is a mount
//! point (which cannot be renamed).

use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
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

/// A directory's owner, group and permission bits, which the directory
/// put in its place takes, so who may read it stays as it was.
#[derive(Clone, Copy, Debug)]
pub(super) struct Looks {
    uid: u32,
    gid: u32,
    mode: u32,
}

/// What the directory `like` looks like, where it is a directory (not a
/// link).
pub(super) fn looks_of(like: &Path) -> Option<Looks> {
    let meta = std::fs::symlink_metadata(like)
        .ok()
        .filter(|m| m.is_dir())?;
    Some(Looks {
        uid: meta.uid(),
        gid: meta.gid(),
        mode: meta.mode() & 0o7777,
    })
}

/// Create the directory `dir` (never an entry already there) for a run's
/// files, private to the runner (0700) while they are written; where it
/// will take the place of a directory that `looks` so, in its group (with
/// setgid, so the files take the group too) where the runner may set it.
/// [`give_looks`] gives it the rest once they are written.
pub(super) fn create_dir_for(dir: &Path, looks: Option<Looks>) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new().mode(0o700).create(dir)?;
    let Some(looks) = looks else {
        return Ok(());
    };
    let handle = open_dir(dir)?;
    let _ = std::os::unix::fs::fchown(&handle, None, Some(looks.gid));
    if looks.mode & SETGID != 0 && handle.metadata()?.gid() == looks.gid {
        let _ = handle.set_permissions(std::fs::Permissions::from_mode(0o700 | SETGID));
    }
    Ok(())
}

/// Give the directory `dir` (its files written), just before it is
/// renamed into place, the owner, group and permission bits of the one it
/// takes the place of (`looks`), as far as the runner may set them (a new
/// owner needs root, a group membership of it; setgid only with the
/// group; the owner's read, write and search added), or, taking the place
/// of none, the mode a new directory has
/// under the umask (a setgid parent's bit kept). Through the directory
/// itself, never a link put in its place.
pub(super) fn give_looks(dir: &Path, looks: Option<Looks>) -> std::io::Result<()> {
    let handle = open_dir(dir)?;
    let now = handle.metadata()?;
    let mode = match looks {
        Some(looks) => {
            if std::os::unix::fs::fchown(&handle, Some(looks.uid), Some(looks.gid)).is_err() {
                let _ = std::os::unix::fs::fchown(&handle, None, Some(looks.gid));
            }
            // The owner's read, write and search kept: a later run must be
            // able to remove this output's files when it replaces them.
            match handle.metadata()?.gid() == looks.gid {
                true => looks.mode | 0o700,
                false => (looks.mode | 0o700) & !SETGID,
            }
        }
        None => 0o777 & !umask() | now.mode() & SETGID,
    };
    let _ = handle.set_permissions(std::fs::Permissions::from_mode(mode));
    Ok(())
}

/// Make the directory `dir` the runner's alone again (its files are to be
/// moved out of it one by one after all: a bind mount, which cannot be
/// renamed over).
pub(super) fn make_private(dir: &Path) -> std::io::Result<()> {
    let handle = open_dir(dir)?;
    // SAFETY: geteuid has no preconditions.
    let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
    let _ = std::os::unix::fs::fchown(&handle, Some(uid), Some(gid));
    handle.set_permissions(std::fs::Permissions::from_mode(0o700))
}

/// The process's umask, read without changing it (Linux's
/// `/proc/self/status`); 022 where it cannot be read.
fn umask() -> u32 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let line = status.lines().find_map(|l| l.strip_prefix("Umask:"));
    line.and_then(|m| u32::from_str_radix(m.trim(), 8).ok())
        .unwrap_or(0o022)
}

const SETGID: u32 = 0o2000;

/// The directory `dir` itself, opened to be changed through (a link there
/// is refused).
fn open_dir(dir: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW)
        .open(dir)
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
    use std::os::unix::fs::OpenOptionsExt;
    if std::fs::rename(from, to).is_ok() {
        return Ok(());
    }
    // The run's own file, never what a link put in its place points to.
    let mut source = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(from)?;
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut source, &mut bytes)?;
    write_new_synced(beside, &bytes)?;
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
