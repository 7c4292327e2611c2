use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use leadq::cli::{Cli, Exit, Usage, run};

/// sled allocates and frees a node per page it touches: opening a 100k-lead store builds a
/// page table of ~130k entries, and an import churns through millions of node versions. With
/// mimalloc a `list` takes about a third less CPU (far fewer page faults) and an import about a
/// quarter less than with the system allocator (benches/README.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc keeps freed pages for reuse; this returns them.
fn release_memory() {
    // SAFETY: mi_collect takes no pointers and may be called from any thread at any time.
    unsafe { libmimalloc_sys::mi_collect(true) }
}

fn main() -> ExitCode {
    let _ = leadq::RELEASE_MEMORY.set(release_memory);
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            if let Some(Exit(code)) = e.downcast_ref::<Exit>() {
                return ExitCode::from(*code);
            }
            // A closed pipe (`leadq list | head`) is the reader's choice, not an error.
            if e.chain().any(broken_pipe) {
                return ExitCode::SUCCESS;
            }
            // Not eprintln!: after a hang-up stderr is gone, and a failed eprintln! panics.
            let _ = writeln!(std::io::stderr(), "leadq: {e:#}");
            if e.chain().any(|c| c.downcast_ref::<Usage>().is_some()) {
                return ExitCode::from(2);
            }
            ExitCode::from(1)
        }
    }
}

/// Whether an error is a write to a closed pipe, as std, csv or serde_json report it.
fn broken_pipe(e: &(dyn std::error::Error + 'static)) -> bool {
    let pipe = |k: std::io::ErrorKind| k == std::io::ErrorKind::BrokenPipe;
    if let Some(io) = e.downcast_ref::<std::io::Error>() {
        return pipe(io.kind());
    }
    if let Some(csv) = e.downcast_ref::<csv::Error>()
        && let csv::ErrorKind::Io(io) = csv.kind()
    {
        return pipe(io.kind());
    }
    e.downcast_ref::<serde_json::Error>()
        .and_then(serde_json::Error::io_error_kind)
        .is_some_and(pipe)
}
