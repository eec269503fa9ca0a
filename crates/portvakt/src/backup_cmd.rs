//! `portvakt backup` and `portvakt restore`: one file that holds a data directory's
//! databases as of one moment, taken while the server runs, and its way back into a
//! new data directory.
//!
//! The file is a tar archive (readable with `tar tf`) of `backup.json` (what it holds,
//! with a SHA-256 of each database), `portvakt.db` (the directory: tenants, users,
//! applications, keys sealed with the master key, refresh tokens and sessions as
//! hashes, policies, the audit log) and, unless `--no-signin-log`, `signins.db` (the
//! sign-in log). Each database is copied as of one commit (`portvakt_store::backup`);
//! the sign-in log's copy is taken right after the directory's. It never holds the
//! master key nor `admin.json`: the master key is kept apart, and a server started on
//! a restored directory writes a new admin credential.

use crate::error::CliError;
use crate::master_key::write_private;
use crate::Target;
use portvakt_store::backup::{self as db_backup, Database, DIRECTORY_FILE, SIGNIN_LOG_FILE};
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// What `backup.json` says; `format` names the file kind.
const FORMAT: &str = "portvakt-backup";
/// The archive layout this build writes and reads.
const FORMAT_VERSION: u32 = 1;
/// The manifest's name in the archive.
const MANIFEST: &str = "backup.json";

/// `portvakt backup`
#[derive(clap::Args, Debug)]
pub struct BackupArgs {
    /// The backup file to write (it must not exist).
    file: PathBuf,
    /// Leave the sign-in log out (it can be much larger than the directory).
    #[arg(long)]
    no_signin_log: bool,
}

/// `portvakt restore`
#[derive(clap::Args, Debug)]
pub struct RestoreArgs {
    /// The backup file.
    file: PathBuf,
    /// Copy this master key file into the new data directory (mode 0600) after
    /// checking that it opens the restored keys. Without it, start the server with
    /// PORTVAKT_MASTER_KEY, or put the key there yourself.
    #[arg(long)]
    master_key_file: Option<PathBuf>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Manifest {
    format: String,
    format_version: u32,
    /// RFC 3339, UTC.
    created_date_time: String,
    portvakt_version: String,
    databases: Vec<DatabaseEntry>,
    /// A reminder for whoever opens the archive by hand.
    master_key: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DatabaseEntry {
    file: String,
    schema_version: i64,
    bytes: u64,
    /// Lower-case hex.
    sha256: String,
}

fn io(what: impl std::fmt::Display) -> impl FnOnce(std::io::Error) -> CliError {
    move |e| CliError::Io(format!("{what}: {e}"))
}

/// SHA-256 (hex) and length of a file, read in 1 MiB pieces.
fn digest_file(path: &Path) -> Result<(String, u64), CliError> {
    let mut f = std::fs::File::open(path).map_err(io(path.display()))?;
    let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    let mut buf = vec![0u8; 1 << 20];
    let mut n = 0u64;
    loop {
        let k = f.read(&mut buf).map_err(io(path.display()))?;
        if k == 0 {
            break;
        }
        ctx.update(&buf[..k]);
        n += k as u64;
    }
    let hex = ctx
        .finish()
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok((hex, n))
}

/// A directory beside `target` for work in progress, removed when dropped: nothing
/// half made is ever left under the final name.
struct Staging(PathBuf);

impl Staging {
    fn beside(target: &Path, what: &str) -> Result<Self, CliError> {
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "portvakt".into());
        let parent = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        // What a run killed before it could clean up (kill -9, a power cut) left
        // beside the same target: removed when its process is gone, so work in
        // progress never piles up, and a run still going is left alone.
        let prefix = format!(".{name}.{what}-");
        if let Ok(entries) = std::fs::read_dir(&parent) {
            for e in entries.flatten() {
                let file = e.file_name();
                let Some(pid) = file
                    .to_str()
                    .and_then(|f| f.strip_prefix(&prefix))
                    .and_then(|p| p.parse::<u32>().ok())
                else {
                    continue;
                };
                if pid != std::process::id() && !process_alive(pid) {
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
        }
        let dir = parent.join(format!("{prefix}{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut b = std::fs::DirBuilder::new();
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            b.mode(0o700);
        }
        b.create(&dir).map_err(io(format!(
            "cannot create {} (beside {})",
            dir.display(),
            target.display()
        )))?;
        Ok(Self(dir))
    }
}

/// Whether a process with this id runs (Linux: its /proc entry). Elsewhere every
/// process counts as running, so nothing of another run is ever removed.
fn process_alive(pid: u32) -> bool {
    if cfg!(target_os = "linux") {
        Path::new(&format!("/proc/{pid}")).exists()
    } else {
        true
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn sync_dir(dir: &Path) {
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

/// `portvakt backup --data DIR FILE`
pub fn backup(args: BackupArgs, target: &Target) -> Result<(), CliError> {
    let started = Instant::now();
    let data = target.data_dir();
    let directory_db = data.join(DIRECTORY_FILE);
    if !directory_db.is_file() {
        return Err(CliError::Config(format!(
            "there is no Portvakt database at {}\nfix: point --data (or PORTVAKT_DATA) at the server's data directory; a server on PostgreSQL (--database-url) keeps its data in the database: back that up with pg_dump",
            directory_db.display()
        )));
    }
    if args.file.exists() {
        return Err(CliError::Config(format!(
            "{} exists; a backup never overwrites a file\nfix: choose a new file name",
            args.file.display()
        )));
    }
    let staging = Staging::beside(&args.file, "partial")?;
    let mut wanted = vec![Database::Directory];
    let log_db = data.join(SIGNIN_LOG_FILE);
    if !args.no_signin_log && log_db.is_file() {
        wanted.push(Database::SignInLog);
    }
    let mut databases = Vec::new();
    for which in wanted {
        let name = which.file_name();
        let copy = staging.0.join(name);
        let schema_version = db_backup::copy_database(&data.join(name), &copy)
            .map_err(|e| CliError::Io(format!("cannot copy {}: {e}", data.join(name).display())))?;
        let (sha256, bytes) = digest_file(&copy)?;
        databases.push(DatabaseEntry {
            file: name.into(),
            schema_version,
            bytes,
            sha256,
        });
    }
    let manifest = Manifest {
        format: FORMAT.into(),
        format_version: FORMAT_VERSION,
        created_date_time: portvakt_server::access::graph_time(
            portvakt_core::Clock::now(&portvakt_core::SystemClock),
        ),
        portvakt_version: env!("CARGO_PKG_VERSION").into(),
        databases,
        master_key: "not included: start a restored server with the master key of the original data directory (PORTVAKT_MASTER_KEY or its master.key)".into(),
    };
    let manifest_json = serde_json::to_vec_pretty(&manifest)
        .map_err(|e| CliError::Io(format!("cannot write the manifest: {e}")))?;

    // The archive is written beside its final name, synced, then renamed into place.
    let archive = staging.0.join("archive.tar");
    write_archive(&archive, &manifest_json, &staging.0, &manifest.databases)?;
    std::fs::rename(&archive, &args.file).map_err(io(format!(
        "cannot move the backup to {}",
        args.file.display()
    )))?;
    if let Some(p) = args.file.parent() {
        sync_dir(if p.as_os_str().is_empty() {
            Path::new(".")
        } else {
            p
        });
    }
    drop(staging);

    if target.json {
        println!("{}", serde_json::to_string(&manifest).unwrap_or_default());
    } else {
        println!(
            "backup written to {} in {} ms",
            args.file.display(),
            started.elapsed().as_millis()
        );
        for d in &manifest.databases {
            println!(
                "  {:<12} schema {:>2}  {:>12} bytes  sha256 {}",
                d.file, d.schema_version, d.bytes, d.sha256
            );
        }
        println!("It holds password hashes and sealed keys: keep it private (it is written with mode 0600).");
        println!("It does not hold the master key: keep that apart; a restored server needs it to open its signing keys.");
    }
    Ok(())
}

fn write_archive(
    path: &Path,
    manifest: &[u8],
    dir: &Path,
    databases: &[DatabaseEntry],
) -> Result<(), CliError> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let file = opts.open(path).map_err(io(path.display()))?;
    let mut tar = tar::Builder::new(file);
    let mut header = tar::Header::new_gnu();
    header.set_size(manifest.len() as u64);
    header.set_mode(0o600);
    header.set_mtime(
        u64::try_from(portvakt_core::Clock::now(&portvakt_core::SystemClock)).unwrap_or(0),
    );
    header.set_cksum();
    let write = |e: std::io::Error| CliError::Io(format!("cannot write {}: {e}", path.display()));
    tar.append_data(&mut header, MANIFEST, manifest)
        .map_err(write)?;
    for d in databases {
        tar.append_path_with_name(dir.join(&d.file), &d.file)
            .map_err(write)?;
    }
    let mut file = tar.into_inner().map_err(write)?;
    file.flush().map_err(write)?;
    file.sync_all().map_err(write)?;
    Ok(())
}

/// `portvakt restore FILE --data NEWDIR`
pub async fn restore(args: RestoreArgs, target: &Target) -> Result<(), CliError> {
    let started = Instant::now();
    let dest = target.data_dir();
    if dest.exists() {
        let empty = std::fs::read_dir(&dest)
            .map_err(io(dest.display()))?
            .next()
            .is_none();
        if !empty {
            return Err(CliError::Config(format!(
                "{} is not empty; restore never overwrites a data directory\nfix: restore into a new directory (--data NEWDIR), then point the server at it",
                dest.display()
            )));
        }
    }
    let staging = Staging::beside(&dest, "restoring")?;
    let manifest = unpack(&args.file, &staging.0)?;
    let damaged = |what: String| {
        CliError::Config(format!(
            "{} is damaged or not a complete Portvakt backup: {what}; nothing was restored",
            args.file.display()
        ))
    };
    if !manifest.databases.iter().any(|d| d.file == DIRECTORY_FILE) {
        return Err(damaged(format!("it holds no {DIRECTORY_FILE}")));
    }
    let mut versions = Vec::new();
    for d in &manifest.databases {
        let which = match d.file.as_str() {
            DIRECTORY_FILE => Database::Directory,
            SIGNIN_LOG_FILE => Database::SignInLog,
            other => {
                return Err(damaged(format!(
                    "the manifest names an unknown file {other:?}"
                )))
            }
        };
        let path = staging.0.join(&d.file);
        if !path.is_file() {
            return Err(damaged(format!("{} is missing from the archive", d.file)));
        }
        let (sha256, bytes) = digest_file(&path)?;
        if sha256 != d.sha256 || bytes != d.bytes {
            return Err(damaged(format!(
                "{} does not match the checksum recorded when the backup was made",
                d.file
            )));
        }
        let v = db_backup::check_copy(&path, which).map_err(|e| damaged(e.to_string()))?;
        versions.push((d.file.clone(), v));
    }

    // The master key: given as a file, or in the environment. When we have one, it
    // must open the restored keys before anything is put in place.
    let key_text = match &args.master_key_file {
        Some(f) => Some(std::fs::read_to_string(f).map_err(io(format!(
            "cannot read the master key file {}",
            f.display()
        )))?),
        None => std::env::var("PORTVAKT_MASTER_KEY").ok(),
    };
    let mut key_checked = false;
    // The manifest served its purpose; a data directory does not hold one.
    let _ = std::fs::remove_file(staging.0.join(MANIFEST));
    if let Some(text) = &key_text {
        let master = portvakt_jose::MasterKey::parse(text)
            .map_err(|e| CliError::Config(format!("the master key: {e}")))?;
        let store = portvakt_store::SqliteStore::open(&staging.0.join(DIRECTORY_FILE))
            .await
            .map_err(|e| damaged(format!("cannot open the restored database: {e}")))?;
        let now = portvakt_core::Clock::now(&portvakt_core::SystemClock);
        portvakt_server::bootstrap::check_master_key(&store, &master, now)
            .await
            .map_err(|e| {
                CliError::Config(format!(
                    "{e}\nfix: give the master key of the data directory the backup was made from; nothing was restored"
                ))
            })?;
        drop(store);
        key_checked = true;
        if args.master_key_file.is_some() {
            write_private(&staging.0.join("master.key"), text.trim().as_bytes())?;
        }
    }

    if dest.exists() {
        std::fs::remove_dir(&dest).map_err(io(dest.display()))?;
    }
    std::fs::rename(&staging.0, &dest).map_err(io(format!(
        "cannot move the restored files to {}",
        dest.display()
    )))?;
    if let Some(p) = dest.parent() {
        sync_dir(p);
    }
    drop(staging);

    if target.json {
        println!(
            "{}",
            serde_json::json!({"restoredTo": dest.display().to_string(), "backup": manifest, "masterKeyChecked": key_checked})
        );
        return Ok(());
    }
    println!(
        "restored {} (made {} by Portvakt {}) into {} in {} ms",
        args.file.display(),
        manifest.created_date_time,
        manifest.portvakt_version,
        dest.display(),
        started.elapsed().as_millis()
    );
    for (file, v) in &versions {
        println!("  {file:<12} schema {v}");
    }
    if !manifest.databases.iter().any(|d| d.file == SIGNIN_LOG_FILE) {
        println!("  (the backup holds no sign-in log: the server starts an empty one)");
    }
    match (key_checked, args.master_key_file.is_some()) {
        (true, true) => println!("The master key opens the restored signing keys; it was copied to {}/master.key.", dest.display()),
        (true, false) => println!("PORTVAKT_MASTER_KEY opens the restored signing keys: start the server with it set."),
        _ => println!("No master key was given: start the server with PORTVAKT_MASTER_KEY, or copy the original master.key into {} (mode 0600); without it the server refuses to start.", dest.display()),
    }
    println!(
        "Start it: portvakt serve --data {}  (it writes a new admin.json: the backup holds no admin credential)",
        dest.display()
    );
    Ok(())
}

/// Unpack the archive into `dir`, accepting only the files a backup holds (no paths,
/// links or devices: an archive cannot write outside `dir`), and read its manifest.
fn unpack(file: &Path, dir: &Path) -> Result<Manifest, CliError> {
    let f = std::fs::File::open(file).map_err(io(format!("cannot open {}", file.display())))?;
    let not_backup = |what: String| {
        CliError::Config(format!(
            "{} is not a Portvakt backup: {what}; nothing was restored",
            file.display()
        ))
    };
    let mut archive = tar::Archive::new(f);
    let mut seen: Vec<String> = Vec::new();
    for entry in archive
        .entries()
        .map_err(|e| not_backup(format!("not a tar archive ({e})")))?
    {
        let mut entry = entry.map_err(|e| not_backup(format!("unreadable archive ({e})")))?;
        let name = entry
            .path()
            .map_err(|e| not_backup(format!("unreadable entry name ({e})")))?
            .to_string_lossy()
            .into_owned();
        let known = [MANIFEST, DIRECTORY_FILE, SIGNIN_LOG_FILE].contains(&name.as_str());
        if !known || !entry.header().entry_type().is_file() || seen.contains(&name) {
            return Err(not_backup(format!("unexpected entry {name:?}")));
        }
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let path = dir.join(&name);
        let mut out = opts.open(&path).map_err(io(path.display()))?;
        std::io::copy(&mut entry, &mut out)
            .map_err(|e| not_backup(format!("{name} is cut short ({e})")))?;
        out.sync_all().map_err(io(path.display()))?;
        seen.push(name);
    }
    let text = std::fs::read(dir.join(MANIFEST))
        .map_err(|_| not_backup(format!("it has no {MANIFEST}")))?;
    let manifest: Manifest = serde_json::from_slice(&text)
        .map_err(|e| not_backup(format!("{MANIFEST} is invalid ({e})")))?;
    if manifest.format != FORMAT {
        return Err(not_backup(format!(
            "{MANIFEST} says format {:?}",
            manifest.format
        )));
    }
    if manifest.format_version > FORMAT_VERSION {
        return Err(CliError::Config(format!(
            "{} was made by a newer Portvakt ({}, backup format {}); restore it with that release or a newer one",
            file.display(),
            manifest.portvakt_version,
            manifest.format_version
        )));
    }
    Ok(manifest)
}
