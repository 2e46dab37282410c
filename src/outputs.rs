//! The audit's files (`--junit`, `--html`, `--prometheus`) and the Nagios plugin mode, at the
//! binary's edge: every path is tried for writing before the audit runs, so an hour-long audit
//! cannot fail at its end for a missing directory; each file is written to a temporary file in
//! its own directory, synced and renamed over the target, so a reader (CI, node_exporter's
//! textfile collector, a browser) sees the old file or the new one, never half of one.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context as _, bail};
use xoauth::report::audit::{Audit, html, junit, nagios, prometheus};

use crate::cli::AuditOutputArgs;

type Renderer = fn(&Audit) -> String;

/// The files asked for, with their flag and renderer.
fn files(args: &AuditOutputArgs) -> Vec<(&'static str, &Path, Renderer)> {
    let all: [(&'static str, &Option<PathBuf>, Renderer); 3] = [
        ("--junit", &args.junit, junit::render),
        ("--html", &args.html, html::render),
        ("--prometheus", &args.prometheus, prometheus::render),
    ];
    all.into_iter()
        .filter_map(|(flag, path, render)| path.as_deref().map(|p| (flag, p, render)))
        .collect()
}

/// Before the audit: each output's directory exists and takes a new file (one is created and
/// removed), the path is not a directory, and no two flags name the same file.
pub fn preflight(args: &AuditOutputArgs) -> anyhow::Result<()> {
    let files = files(args);
    let real: Vec<PathBuf> = files.iter().map(|(_, path, _)| resolved(path)).collect();
    for (i, (flag, path, _)) in files.iter().enumerate() {
        if let Some(j) = real[..i].iter().position(|p| *p == real[i]) {
            bail!(
                "{} and {flag} name the same file {}",
                files[j].0,
                real[i].display()
            );
        }
        if path.is_dir() {
            bail!("{flag} {}: is a directory, not a file", path.display());
        }
        let dir = directory(path);
        let probe = TempFile::create(path).with_context(|| {
            format!(
                "{flag} {}: cannot create a file in {}",
                path.display(),
                dir.display()
            )
        })?;
        probe.discard();
    }
    Ok(())
}

/// Renders and writes every file asked for; the first that cannot be written is the error
/// (the others are still written: each is whole or absent).
pub fn write_audit_outputs(audit: &Audit, args: &AuditOutputArgs) -> anyhow::Result<()> {
    let mut first_error = None;
    for (flag, path, render) in files(args) {
        // Through a symbolic link, not over it: the link a monitoring setup points at stays.
        if let Err(e) = write_atomic(&resolved(path), render(audit).as_bytes()) {
            let e = anyhow::anyhow!("{flag} {}: cannot write it: {e}", path.display());
            first_error.get_or_insert(e);
        }
    }
    first_error.map_or(Ok(()), Err)
}

/// `--nagios`: the status line alone on standard output, and the plugin's exit code.
pub fn nagios_exit(audit: &Audit) -> ExitCode {
    let (line, state) = nagios::status(audit, xoauth::token::now());
    println!("{line}");
    ExitCode::from(state.code())
}

/// `--nagios` when nothing could be checked: `XOAUTH UNKNOWN - why`, exit 3.
pub fn nagios_unknown(message: &str) -> ExitCode {
    println!("{}", nagios::unknown(message));
    ExitCode::from(nagios::State::Unknown.code())
}

/// Writes `bytes` to `path` whole or not at all.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut tmp = TempFile::create(path)?;
    tmp.file.write_all(bytes)?;
    tmp.file.sync_all()?;
    tmp.persist(path)
}

/// The file a path really names: `./x`, `dir/../x`, an absolute path and a symbolic link to
/// it are one file, so two flags cannot overwrite each other's report unnoticed.
fn resolved(path: &Path) -> PathBuf {
    if let Ok(real) = fs::canonicalize(path) {
        return real;
    }
    match (fs::canonicalize(directory(path)), path.file_name()) {
        (Ok(dir), Some(name)) => dir.join(name),
        _ => path.to_path_buf(),
    }
}

fn directory(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// A new file beside the target, removed when dropped unless renamed over it.
struct TempFile {
    file: File,
    path: PathBuf,
    keep: bool,
}

impl TempFile {
    fn create(target: &Path) -> io::Result<TempFile> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "output".into());
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default();
        let path = directory(target).join(format!(
            ".{name}.{}-{}-{nanos}.tmp",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)?;
        Ok(TempFile {
            file,
            path,
            keep: false,
        })
    }

    fn persist(mut self, target: &Path) -> io::Result<()> {
        fs::rename(&self.path, target)?;
        self.keep = true;
        // The rename itself survives a crash only once the directory is synced; not every
        // platform can open a directory, so this is best effort.
        if let Ok(dir) = File::open(directory(target)) {
            let _ = dir.sync_all();
        }
        Ok(())
    }

    fn discard(self) {}
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.keep {
            let _ = fs::remove_file(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leftovers(dir: &Path) -> Vec<String> {
        fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp"))
            .collect()
    }

    #[test]
    fn a_file_is_replaced_whole_and_no_temporary_file_stays() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("audit.prom");
        fs::write(&target, "old\n").unwrap();
        write_atomic(&target, b"new\n").unwrap();
        assert_eq!(fs::read_to_string(&target).unwrap(), "new\n");
        assert!(leftovers(dir.path()).is_empty());
    }

    #[test]
    fn a_failed_write_leaves_the_old_file_and_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        // The target is a non-empty directory: the rename fails after the data is written.
        let target = dir.path().join("report.xml");
        fs::create_dir(&target).unwrap();
        fs::write(target.join("keep"), "x").unwrap();
        assert!(write_atomic(&target, b"<x/>").is_err());
        assert!(target.join("keep").exists());
        assert!(leftovers(dir.path()).is_empty());
        // A missing directory: nothing created anywhere.
        let missing = dir.path().join("no-such-dir").join("a.html");
        assert!(write_atomic(&missing, b"x").is_err());
        assert!(!missing.exists());
    }

    #[test]
    fn preflight_refuses_what_cannot_be_written_and_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let ok = AuditOutputArgs {
            junit: Some(dir.path().join("j.xml")),
            html: Some(dir.path().join("a.html")),
            prometheus: Some(dir.path().join("x.prom")),
            nagios: false,
        };
        preflight(&ok).unwrap();
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);

        let missing = AuditOutputArgs {
            html: Some(dir.path().join("nope").join("a.html")),
            ..AuditOutputArgs::default()
        };
        let e = format!("{:#}", preflight(&missing).unwrap_err());
        assert!(e.starts_with("--html ") && e.contains("nope"), "{e}");

        let is_dir = AuditOutputArgs {
            junit: Some(dir.path().to_path_buf()),
            ..AuditOutputArgs::default()
        };
        let e = format!("{:#}", preflight(&is_dir).unwrap_err());
        assert!(e.contains("is a directory"), "{e}");

        let same = AuditOutputArgs {
            junit: Some(dir.path().join("x")),
            prometheus: Some(dir.path().join("x")),
            ..AuditOutputArgs::default()
        };
        let e = format!("{:#}", preflight(&same).unwrap_err());
        assert!(
            e.contains("--junit and --prometheus name the same file"),
            "{e}"
        );
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    /// `./x`, `sub/../x`, an absolute path and a symbolic link are the same file, whichever
    /// way it is spelt, whether or not it exists yet.
    #[cfg(unix)]
    #[test]
    fn one_file_spelt_two_ways_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("sub")).unwrap();
        let x = dir.path().join("x.out");
        let spellings = [
            dir.path().join("sub").join("..").join("x.out"),
            dir.path().join(".").join("x.out"),
        ];
        for other in &spellings {
            let args = AuditOutputArgs {
                html: Some(x.clone()),
                junit: Some(other.clone()),
                ..AuditOutputArgs::default()
            };
            let e = format!("{:#}", preflight(&args).unwrap_err());
            assert!(e.contains("--junit and --html name the same file"), "{e}");
        }
        fs::write(&x, "old").unwrap();
        std::os::unix::fs::symlink(&x, dir.path().join("link.out")).unwrap();
        let args = AuditOutputArgs {
            html: Some(x.clone()),
            prometheus: Some(dir.path().join("link.out")),
            ..AuditOutputArgs::default()
        };
        let e = format!("{:#}", preflight(&args).unwrap_err());
        assert!(
            e.contains("--html and --prometheus name the same file"),
            "{e}"
        );
    }

    /// A report written to a symbolic link replaces the file it points at; the link stays.
    #[cfg(unix)]
    #[test]
    fn a_symbolic_link_is_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("real.prom");
        let link = dir.path().join("link.prom");
        fs::write(&target, "old").unwrap();
        std::os::unix::fs::symlink(&target, &link).unwrap();
        write_atomic(&resolved(&link), b"new").unwrap();
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read_to_string(&target).unwrap(), "new");
    }
}
