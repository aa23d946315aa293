//! Inputs that are not regular files, named explicitly: a named pipe is
//! read once its writer comes (and says so meanwhile), a device refused.

use std::path::Path;

use crate::error::{Error, Result};

/// Say so before opening a named pipe (one made with `mkfifo`, not a
/// shell's `/dev/stdin`), whose open waits for a writer: a run that seems
/// to hang says what it waits for. Refuse a device (`/dev/zero`,
/// `/dev/urandom`) but `/dev/null`: an endless input no export is, read
/// until memory runs out.
pub fn check(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let Ok(kind) = std::fs::metadata(path).map(|m| m.file_type()) else {
            return Ok(());
        };
        let system = path.starts_with("/dev") || path.starts_with("/proc");
        if kind.is_fifo() && !system {
            let shown = crate::terminal::escape(&path.display().to_string()).into_owned();
            crate::stderr_line!(
                "tokenledger: note: {shown} is a named pipe: waiting for its writer"
            );
        }
        // /dev/null is a device but an empty input (a config of no keys).
        let null = path
            .canonicalize()
            .is_ok_and(|p| p == Path::new("/dev/null"));
        if (kind.is_char_device() || kind.is_block_device()) && !null {
            return Err(Error::fatal(format!(
                "{}: a device, not a file: give an export's file (or `-` for standard input)",
                path.display()
            )));
        }
    }
    Ok(())
}
