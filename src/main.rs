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

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            if let Some(Exit(code)) = e.downcast_ref::<Exit>() {
                return ExitCode::from(*code);
            }
            // A closed pipe (`leadq list | head`) is the reader's choice, not an error.
            let broken_pipe = e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            });
            if broken_pipe {
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
