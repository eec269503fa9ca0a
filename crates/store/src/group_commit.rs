//! Group commit: concurrent small writes share one transaction.
//!
//! A refresh-token rotation is one `INSERT`, but committing it alone costs more than
//! the statement: the WAL frames of every page it touched, the file locks, and every
//! ~1,000 pages a checkpoint with an `fsync`. Rotations arriving together touch mostly
//! the same pages, so committing them together writes those pages once.
//!
//! No thread of its own: the first writer to arrive becomes the leader, yields once to
//! the runtime so that the requests already running can add their writes, then runs
//! the whole batch on the writer connection in one `BEGIN IMMEDIATE … COMMIT` and
//! hands every writer its own result. Later arrivals form the next batch. A leader
//! whose request is dropped while it yields still runs the batch (from `Drop`), so no
//! write is ever left waiting without a leader.
//!
//! Each job is one statement (or several that need no atomicity beyond the batch's):
//! a job's failure rolls back only its statement (SQLite's `ABORT` resolution) and is
//! that job's own error. An error that ends the transaction itself (disk full, I/O) or
//! a failed `COMMIT` fails every job of the batch: nothing of it was stored.

use crate::conns::Conns;
use crate::{Result, StoreError};
use rusqlite::{Connection, Transaction, TransactionBehavior};
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

/// Hands a job's result to its waiting writer once the batch's fate is known.
type Deliver = Box<dyn FnOnce(std::result::Result<(), &StoreError>) + Send>;
/// One queued write: runs its statement on the connection (or, given the error that
/// ended its batch before its turn, does not), and returns how to deliver the outcome.
type Job = Box<dyn FnOnce(std::result::Result<&Connection, &StoreError>) -> Deliver + Send>;

/// The queue of writes waiting for the next commit.
#[derive(Default)]
pub(crate) struct GroupCommit {
    pending: Mutex<Pending>,
    /// Transactions run so far (tests read it to see writes share them).
    commits: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for GroupCommit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupCommit").finish_non_exhaustive()
    }
}

#[derive(Default)]
struct Pending {
    jobs: Vec<Job>,
    /// Whether a leader has claimed the jobs queued so far.
    led: bool,
}

impl GroupCommit {
    /// Run `f` on the writer inside the next group transaction and return its result
    /// once that transaction has committed.
    pub(crate) async fn write<T: Send + 'static>(
        conns: &Arc<Conns>,
        group: &Arc<GroupCommit>,
        f: impl FnOnce(&Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let (tx, rx) = oneshot::channel::<Result<T>>();
        let job: Job = Box::new(move |c| {
            let out = match c {
                Ok(c) => f(c),
                Err(e) => Err(StoreError::Unavailable(format!(
                    "the write was not run: {e}"
                ))),
            };
            Box::new(move |committed| {
                let _ = tx.send(match committed {
                    Ok(()) => out,
                    Err(e) => Err(StoreError::Unavailable(format!(
                        "the write was not committed: {e}"
                    ))),
                });
            })
        });
        let lead = {
            let mut p = lock(&group.pending);
            p.jobs.push(job);
            !std::mem::replace(&mut p.led, true)
        };
        if lead {
            let flush = Flush { conns, group };
            tokio::task::yield_now().await;
            drop(flush);
        }
        rx.await.unwrap_or_else(|_| {
            Err(StoreError::Unavailable(
                "the write batch was abandoned (a panic while it ran)".into(),
            ))
        })
    }

    /// Group transactions run so far.
    #[cfg(test)]
    pub(crate) fn commits(&self) -> u64 {
        self.commits.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Take the queued jobs and run them in one transaction.
    fn flush(&self, conns: &Conns) {
        let jobs = {
            let mut p = lock(&self.pending);
            p.led = false;
            std::mem::take(&mut p.jobs)
        };
        if jobs.is_empty() {
            return;
        }
        self.commits
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let _ = conns.write(|c| {
            run_batch(c, jobs);
            Ok(())
        });
    }
}

/// Runs the batch when the leader's wait ends, or when its request is dropped.
struct Flush<'a> {
    conns: &'a Arc<Conns>,
    group: &'a Arc<GroupCommit>,
}

impl Drop for Flush<'_> {
    fn drop(&mut self) {
        self.group.flush(self.conns);
    }
}

fn run_batch(c: &Connection, jobs: Vec<Job>) {
    // A rusqlite transaction, so that a panic in a job rolls the batch back (its Drop)
    // instead of leaving the writer inside an open transaction.
    let tx = match Transaction::new_unchecked(c, TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(e) => {
            let e = StoreError::from(e);
            tracing::error!(error = %e, writes = jobs.len(), "a group commit could not begin");
            for job in jobs {
                job(Err(&e))(Err(&e));
            }
            return;
        }
    };
    let mut delivers = Vec::with_capacity(jobs.len());
    let mut jobs = jobs.into_iter();
    let mut broken = None;
    for job in jobs.by_ref() {
        delivers.push(job(Ok(&tx)));
        if tx.is_autocommit() {
            // The statement's error ended the whole transaction (SQLITE_FULL, I/O):
            // what ran before it is rolled back.
            broken = Some(StoreError::Unavailable(
                "the transaction was rolled back by a storage error".into(),
            ));
            break;
        }
    }
    let outcome = match broken {
        Some(e) => Err(e),
        // A failed COMMIT rolls back when the transaction is dropped.
        None => tx.commit().map_err(StoreError::from),
    };
    if let Err(e) = &outcome {
        tracing::error!(error = %e, writes = delivers.len(), "a group commit failed; none of its writes was stored");
        for job in jobs {
            delivers.push(job(Err(e)));
        }
    }
    for d in delivers {
        d(outcome.as_ref().map(|_| ()));
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conns::{exec, one};

    fn file_db() -> (std::path::PathBuf, Arc<Conns>) {
        let dir = std::env::temp_dir().join(format!("pv-gc-{}", portvakt_jose::random_id(8)));
        std::fs::create_dir_all(&dir).expect("dir");
        let conns = Conns::open(&dir.join("db.sqlite")).expect("open");
        conns
            .write(|c| exec(c, "CREATE TABLE t (x INTEGER)", []))
            .expect("table");
        (dir, Arc::new(conns))
    }

    fn rows(conns: &Conns) -> i64 {
        conns
            .read(|c| one(c, "SELECT COUNT(*) FROM t", [], |r| Ok(r.get(0)?)))
            .expect("read")
            .expect("row")
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_panicking_write_rolls_its_batch_back_and_the_next_batch_commits() {
        let (dir, conns) = file_db();
        let group = Arc::new(GroupCommit::default());
        let insert = |c: &Connection| exec(c, "INSERT INTO t VALUES (1)", []);
        // One batch: a write, then one that panics.
        let a = {
            let (conns, group) = (conns.clone(), group.clone());
            tokio::spawn(async move { GroupCommit::write(&conns, &group, insert).await })
        };
        let b = {
            let (conns, group) = (conns.clone(), group.clone());
            tokio::spawn(async move {
                GroupCommit::write(&conns, &group, |_: &Connection| -> Result<()> {
                    panic!("a bug in a write")
                })
                .await
            })
        };
        // The leader (a) ran the batch and the panic unwound through it.
        assert!(a.await.is_err(), "the leader's task panicked");
        assert!(
            b.await.expect("b").is_err(),
            "the write that panicked reports an error"
        );
        assert_eq!(rows(&conns), 0, "the batch was rolled back");
        // The writer is not left inside that transaction: the next write commits and
        // is visible to a reader connection.
        GroupCommit::write(&conns, &group, insert)
            .await
            .expect("write");
        assert_eq!(rows(&conns), 1);
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }
}
