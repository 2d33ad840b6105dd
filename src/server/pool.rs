//! Worker threads that own the store connections. Handlers never touch a
//! `Store` (it is `Send`, not `Sync`, and blocking): they send a job and
//! await its result.
//!
//! A worker takes one job, then whatever else is already queued (up to
//! `batch_max`), and runs them all in one [`Store::batch`]: on SQLite one
//! transaction and one fsync for the lot, which is what turns a few
//! thousand durable validations a second into tens of thousands. Results
//! are released only after the batch commits, so a client never hears
//! "accepted" for a decision that was not made durable.
//!
//! The queue is bounded: past `queue_depth` waiting jobs a new one is
//! refused at once ([`PoolError::Overloaded`]), unrun, so overload shows
//! as an answer the client can act on instead of growing latency and memory.

use std::sync::Arc;
use std::thread::JoinHandle;

use tokio::sync::oneshot;

use crate::service::Service;
use crate::store::StoreError;

/// What a job hands back to its worker: called with the batch's commit
/// result, it delivers the job's own result (or the commit's failure).
type Finish = Box<dyn FnOnce(Result<(), Arc<StoreError>>) + Send>;
type Job = Box<dyn FnOnce(&Service) -> Finish + Send>;

/// How a pool groups jobs into transactions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Batching {
    /// Each job as its own transactions (jobs that are slow outside the
    /// database, such as password hashing, must not hold a batch open).
    Off,
    /// Up to this many queued jobs per [`Store::batch`].
    UpTo(usize),
}

/// Jobs a worker may have waiting when the pool's depth is not given.
/// Batching: two batches (the one being drained while one commits), so a
/// saturated worker still fills whole batches. One job at a time: enough
/// to absorb a burst of a few dozen clients per worker.
pub fn default_queue_depth(workers: usize, batching: Batching) -> usize {
    let per_worker = match batching {
        Batching::Off => 64,
        Batching::UpTo(max) => 2 * max,
    };
    workers.max(1) * per_worker
}

/// Why a job produced no result.
#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the database did not commit: {0}")]
    Commit(Arc<StoreError>),
    #[error("the store worker stopped")]
    WorkerGone,
    #[error("the store queue is full")]
    Overloaded,
}

/// A fixed set of worker threads, each with its own [`Service`].
pub struct Pool {
    sender: Option<crossbeam_channel::Sender<Job>>,
    workers: Vec<JoinHandle<()>>,
}

impl Pool {
    /// Opens `workers` verifiers with `open` (so a bad URL or key fails
    /// here, at startup, not at the first request) and starts a thread for
    /// each; at most `queue_depth` jobs wait for them.
    pub fn start(
        name: &str,
        workers: usize,
        batching: Batching,
        queue_depth: usize,
        open: impl Fn() -> Result<Service, StoreError>,
    ) -> Result<Pool, StoreError> {
        let (sender, receiver) = crossbeam_channel::bounded::<Job>(queue_depth.max(1));
        let verifiers = (0..workers.max(1))
            .map(|_| open())
            .collect::<Result<Vec<_>, _>>()?;
        let workers = verifiers
            .into_iter()
            .enumerate()
            .map(|(i, verifier)| {
                let receiver = receiver.clone();
                std::thread::Builder::new()
                    .name(format!("{name}-{i}"))
                    .spawn(move || work(&verifier, &receiver, batching))
                    .map_err(|e| StoreError::Corrupt(format!("cannot start a worker thread: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Pool {
            sender: Some(sender),
            workers,
        })
    }

    /// Runs `f` on a worker and returns its result once its batch has
    /// committed; [`PoolError::Overloaded`] at once, `f` unrun, if the
    /// queue is full.
    pub async fn run<T, F>(&self, f: F) -> Result<T, PoolError>
    where
        T: Send + 'static,
        F: FnOnce(&Service) -> Result<T, StoreError> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel::<Result<T, PoolError>>();
        let job: Job = Box::new(move |verifier| {
            let result = f(verifier);
            Box::new(move |committed| {
                let delivered = match committed {
                    Ok(()) => result.map_err(PoolError::Store),
                    Err(e) => Err(PoolError::Commit(e)),
                };
                // The client may have gone away; its answer is not needed.
                let _ = tx.send(delivered);
            })
        });
        self.sender
            .as_ref()
            .ok_or(PoolError::WorkerGone)?
            .try_send(job)
            .map_err(|e| match e {
                crossbeam_channel::TrySendError::Full(_) => PoolError::Overloaded,
                crossbeam_channel::TrySendError::Disconnected(_) => PoolError::WorkerGone,
            })?;
        rx.await.unwrap_or(Err(PoolError::WorkerGone))
    }
}

/// Dropping the pool lets the workers finish what is queued, then joins
/// them.
impl Drop for Pool {
    fn drop(&mut self) {
        self.sender = None;
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
    }
}

fn work(verifier: &Service, jobs: &crossbeam_channel::Receiver<Job>, batching: Batching) {
    while let Ok(first) = jobs.recv() {
        match batching {
            Batching::Off => first(verifier)(Ok(())),
            Batching::UpTo(max) => {
                let mut queued = vec![first];
                while queued.len() < max {
                    match jobs.try_recv() {
                        Ok(job) => queued.push(job),
                        Err(_) => break,
                    }
                }
                let mut finishers: Vec<Finish> = Vec::with_capacity(queued.len());
                // If the batch cannot even begin, the jobs are dropped
                // unrun and their callers see `WorkerGone`-like errors.
                let committed = verifier.batch(|_| {
                    for job in queued {
                        finishers.push(job(verifier));
                    }
                });
                let committed = committed.map_err(Arc::new);
                if let Err(e) = &committed {
                    tracing::error!(error = %e, jobs = finishers.len(), "batch failed");
                }
                for finish in finishers {
                    finish(committed.clone());
                }
            }
        }
    }
}
