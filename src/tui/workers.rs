//! Worker threads: one loads views (a window of rows with the counts), one searches (where
//! the leads are: the server), one tells the server what this user is doing. Each drops jobs
//! that a newer one made stale.

use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread;

use super::app::send;
use super::msg::Msg;
use crate::domain::LeadId;
use crate::service::{Activity, LeadService, Query, Window};

/// What this user is doing on which lead, for the others.
type Doing = Option<(LeadId, Activity)>;

enum Load {
    View {
        generation: u64,
        query: Query,
        window: Window,
    },
    Sources,
}

/// A search to run where the leads are (the server): its text, over a view.
pub struct SearchJob {
    pub generation: u64,
    pub text: String,
    pub view: Query,
}

/// How many of a search's best matches come back: the rows a rep looks through.
pub const SEARCH_ROWS: usize = 200;

/// Where slow work runs: worker threads in the app, inline in tests.
pub trait Background {
    fn load(&self, generation: u64, query: Query, window: Window);
    fn sources(&self);
    fn search(&self, job: SearchJob);
    fn presence(&self, doing: Doing);
}

pub struct Workers {
    load: Sender<Load>,
    search: Sender<SearchJob>,
    presence: Sender<Doing>,
}

impl Workers {
    pub fn start(service: Arc<dyn LeadService + Send + Sync>, tx: Sender<Msg>) -> Workers {
        let (load, load_rx) = mpsc::channel();
        let (search, search_rx) = mpsc::channel();
        let (presence, presence_rx) = mpsc::channel();
        let loader_tx = tx.clone();
        let teller = Arc::clone(&service);
        let finder = Arc::clone(&service);
        thread::spawn(move || loader(service, load_rx, loader_tx));
        thread::spawn(move || searcher(&*finder, search_rx, tx));
        thread::spawn(move || tell_presence(&*teller, presence_rx));
        Workers {
            load,
            search,
            presence,
        }
    }
}

/// A server round trip per change of presence, off the loop: while the server is away it
/// waits for the reconnection, and a key must never wait for it. Only the newest matters.
fn tell_presence(service: &(dyn LeadService + Send + Sync), rx: Receiver<Doing>) {
    while let Ok(mut doing) = rx.recv() {
        while let Ok(newer) = rx.try_recv() {
            doing = newer;
        }
        service.set_presence(doing);
    }
}

impl Background for Workers {
    fn load(&self, generation: u64, query: Query, window: Window) {
        let _ = self.load.send(Load::View {
            generation,
            query,
            window,
        });
    }

    fn sources(&self) {
        let _ = self.load.send(Load::Sources);
    }

    fn search(&self, job: SearchJob) {
        let _ = self.search.send(job);
    }

    fn presence(&self, doing: Doing) {
        let _ = self.presence.send(doing);
    }
}

/// Runs the background work inline, sending its messages to `tx`: for tests and tools that
/// want every answer before the next step.
pub struct Inline<'a> {
    pub service: &'a dyn LeadService,
    pub tx: Sender<Msg>,
}

impl Background for Inline<'_> {
    fn load(&self, generation: u64, query: Query, window: Window) {
        load_view(self.service, &self.tx, generation, &query, window);
    }

    fn sources(&self) {
        if let Ok(s) = self.service.sources() {
            send(&self.tx, Msg::SourcesLoaded(s));
        }
    }

    fn search(&self, job: SearchJob) {
        run_search(self.service, &self.tx, job);
    }

    fn presence(&self, doing: Doing) {
        self.service.set_presence(doing);
    }
}

fn latest<T>(rx: &Receiver<T>, first: T, keep: impl Fn(&T) -> bool) -> Vec<T> {
    let mut jobs = vec![first];
    jobs.extend(rx.try_iter());
    // Of the view loads only the newest matters; other jobs all run.
    let newest_view = jobs.iter().rposition(&keep);
    jobs.into_iter()
        .enumerate()
        .filter(|(i, j)| !keep(j) || Some(*i) == newest_view)
        .map(|(_, j)| j)
        .collect()
}

fn loader(service: Arc<dyn LeadService + Send + Sync>, rx: Receiver<Load>, tx: Sender<Msg>) {
    while let Ok(first) = rx.recv() {
        for job in latest(&rx, first, |j| matches!(j, Load::View { .. })) {
            match job {
                Load::View {
                    generation,
                    query,
                    window,
                } => load_view(&*service, &tx, generation, &query, window),
                Load::Sources => match service.sources() {
                    Ok(s) => send(&tx, Msg::SourcesLoaded(s)),
                    Err(e) => send(&tx, Msg::Failed(e.to_string())),
                },
            }
        }
    }
}

/// Loads a window of a view (a page from the server: its rows and the view's total), then
/// the header's counts (kept by the store: no scan).
fn load_view(
    service: &dyn LeadService,
    tx: &Sender<Msg>,
    generation: u64,
    query: &Query,
    window: Window,
) {
    match service.page(query, window) {
        Ok(page) => {
            // A window read again after a delta comes without the counts: the deltas keep
            // them.
            let stats = page.stats;
            send(
                tx,
                Msg::ViewLoaded {
                    generation,
                    rows: page.rows,
                    offset: page.offset,
                    total: page.total,
                    generation_read: page.generation,
                    stats,
                },
            );
        }
        Err(e) => send(tx, Msg::LoadFailed(generation, e.to_string())),
    }
}

fn searcher(service: &(dyn LeadService + Send + Sync), rx: Receiver<SearchJob>, tx: Sender<Msg>) {
    while let Ok(mut job) = rx.recv() {
        // Only the newest query matters: drop the ones typed over.
        while let Ok(newer) = rx.try_recv() {
            job = newer;
        }
        run_search(service, &tx, job);
    }
}

fn run_search(service: &dyn LeadService, tx: &Sender<Msg>, job: SearchJob) {
    match service.search(&job.view, &job.text, SEARCH_ROWS) {
        Ok(found) => send(
            tx,
            Msg::SearchDone {
                generation: job.generation,
                found: Box::new(found),
            },
        ),
        Err(e) => send(tx, Msg::Failed(e.to_string())),
    }
}
