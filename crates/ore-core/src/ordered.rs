//! [`InOrder`]: results of jobs run on the rayon pool, handed back in the
//! order the jobs were submitted, whatever order they finish in.

use std::collections::BTreeMap;
use std::sync::mpsc::{Receiver, Sender, TryRecvError, channel};

/// Places in an order of jobs, and the results that filled them.
pub struct InOrder<T> {
    sender: Sender<(u64, T)>,
    results: Receiver<(u64, T)>,
    /// Results that wait for an earlier one.
    finished: BTreeMap<u64, T>,
    /// Places handed out, and results handed back.
    submitted: u64,
    next: u64,
}

/// One place in an [`InOrder`]: the job that holds it sends its result
/// through it. Every ticket must be sent, or waiting for its place never
/// ends.
pub struct Ticket<T> {
    seq: u64,
    sender: Sender<(u64, T)>,
}

impl<T> std::fmt::Debug for Ticket<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ticket").field("seq", &self.seq).finish()
    }
}

impl<T> Ticket<T> {
    pub fn send(self, result: T) {
        // The receiver is gone only when its owner stopped early (an error).
        let _ = self.sender.send((self.seq, result));
    }
}

impl<T> std::fmt::Debug for InOrder<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InOrder")
            .field("submitted", &self.submitted)
            .field("next", &self.next)
            .finish_non_exhaustive()
    }
}

impl<T> Default for InOrder<T> {
    fn default() -> Self {
        let (sender, results) = channel();
        Self {
            sender,
            results,
            finished: BTreeMap::new(),
            submitted: 0,
            next: 0,
        }
    }
}

impl<T> InOrder<T> {
    /// Takes the next place, for a job about to be submitted.
    pub fn submit(&mut self) -> Ticket<T> {
        self.submitted += 1;
        Ticket {
            seq: self.submitted - 1,
            sender: self.sender.clone(),
        }
    }

    /// Places handed out whose results were not handed back yet.
    pub fn pending(&self) -> u64 {
        self.submitted - self.next
    }

    /// The oldest pending result, if it is in, or once it is when `wait`;
    /// `None` when nothing is pending (or, without `wait`, not in yet).
    ///
    /// While it waits on a thread of the pool, pending jobs (those waited
    /// for among them) run on it, so that a caller inside the pool does not
    /// block the threads it waits on.
    pub fn next(&mut self, wait: bool) -> Option<T> {
        if self.pending() == 0 {
            return None;
        }
        loop {
            if let Some(result) = self.finished.remove(&self.next) {
                self.next += 1;
                return Some(result);
            }
            let (seq, result) = match self.results.try_recv() {
                Ok(done) => done,
                Err(TryRecvError::Empty) if !wait => return None,
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => {
                    match rayon::yield_now() {
                        Some(rayon::Yield::Executed) => continue,
                        // Outside the pool, or nothing left to run here: the
                        // jobs still out are on other threads.
                        _ => self
                            .results
                            .recv()
                            .expect("this holds a sender, so the channel stays open"),
                    }
                }
            };
            self.finished.insert(seq, result);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_back_in_submission_order() {
        let mut order = InOrder::default();
        let tickets: Vec<Ticket<u32>> = (0..5).map(|_| order.submit()).collect();
        assert_eq!(order.pending(), 5);
        assert_eq!(order.next(false), None);
        for (i, ticket) in tickets.into_iter().enumerate().rev() {
            ticket.send(i as u32);
        }
        let got: Vec<u32> = std::iter::from_fn(|| order.next(false)).collect();
        assert_eq!(got, [0, 1, 2, 3, 4]);
        assert_eq!(order.next(true), None);
    }

    #[test]
    fn a_caller_inside_a_one_thread_pool_runs_the_jobs_it_waits_for() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .expect("pool");
        let got = pool.install(|| {
            let mut order = InOrder::default();
            for i in 0..4u32 {
                let ticket = order.submit();
                rayon::spawn(move || ticket.send(i * 10));
            }
            std::iter::from_fn(|| order.next(true)).collect::<Vec<_>>()
        });
        assert_eq!(got, [0, 10, 20, 30]);
    }
}
