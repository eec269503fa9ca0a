//! The master key that seals private signing keys at rest.
//!
//! From `PORTVAKT_MASTER_KEY` (64 hex digits or base64url of 32 bytes) when set;
//! otherwise from `DATA/master.key`, created on first start with mode 0600.

use crate::error::CliError;
use portvakt_jose::MasterKey;
use std::io::Write;
use std::path::Path;

/// Load the master key, or create it when `may_create` (a new data directory). A
/// data directory whose database already holds sealed keys never gets a new one: that
/// key could open none of them.
pub fn load(data: &Path, may_create: bool) -> Result<(MasterKey, String), CliError> {
    if let Ok(v) = std::env::var("PORTVAKT_MASTER_KEY") {
        let key = MasterKey::parse(&v)
            .map_err(|e| CliError::Config(format!("PORTVAKT_MASTER_KEY: {e}")))?;
        return Ok((key, "PORTVAKT_MASTER_KEY".into()));
    }
    let path = data.join("master.key");
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                if let Ok(m) = std::fs::metadata(&path) {
                    if m.permissions().mode() & 0o077 != 0 {
                        return Err(CliError::Config(format!(
                            "{} is readable by other users (mode {:o}); run 'chmod 600 {}'",
                            path.display(),
                            m.permissions().mode() & 0o777,
                            path.display()
                        )));
                    }
                }
            }
            let key = MasterKey::parse(&text)
                .map_err(|e| CliError::Config(format!("{}: {e}", path.display())))?;
            Ok((key, path.display().to_string()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !may_create => {
            Err(CliError::Config(format!(
                "{} is missing, but the database beside it already holds signing keys sealed with a master key\nfix: put back the master key this data directory was made with (copy its master.key here with mode 0600, or set PORTVAKT_MASTER_KEY); a new key could open none of them",
                path.display()
            )))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut bytes = [0u8; 32];
            portvakt_jose::random_bytes(&mut bytes);
            let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            write_private(&path, hex.as_bytes())?;
            let key = MasterKey::from_bytes(&bytes).map_err(|e| CliError::Config(e.to_string()))?;
            Ok((key, path.display().to_string()))
        }
        Err(e) => Err(CliError::Io(format!("cannot read {}: {e}", path.display()))),
    }
}

/// Write a file readable only by its owner, atomically (temp file + rename), so a
/// crash never leaves a half-written credential.
pub fn write_private(path: &Path, content: &[u8]) -> Result<(), CliError> {
    let tmp = path.with_extension("tmp");
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let io = |e: std::io::Error| CliError::Io(format!("cannot write {}: {e}", path.display()));
    let mut f = opts.open(&tmp).map_err(io)?;
    f.write_all(content).map_err(io)?;
    f.sync_all().map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)?;
    Ok(())
}
