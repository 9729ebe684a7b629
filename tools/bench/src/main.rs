//! `bench`: measures the functions and the Python baseline, prints the table and writes
//! `<out>/report.md` and `<out>/report.json`. Run by `make bench`, which builds what it needs.

use std::process::ExitCode;

use clap::Parser;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    let options = bench::run::Options::parse();
    match bench::run::run(options).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("bench: error: {error}");
            ExitCode::FAILURE
        }
    }
}
