//! The `coffer` binary.
//!
//! - `coffer server`: serve the AWS APIs (see [`server`]).

mod server;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "coffer",
    version,
    about = "Self-hosted AWS Secrets Manager, Parameter Store and KMS"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server.
    Server(server::ServerArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Server(args) => server::main(args),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            #[allow(clippy::print_stderr)] // the last word to a user whose server did not start
            {
                eprintln!("coffer: {e:#}");
            }
            std::process::ExitCode::FAILURE
        }
    }
}
