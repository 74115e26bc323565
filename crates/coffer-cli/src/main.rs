//! The `coffer` binary.
//!
//! - `coffer server`: serve the AWS APIs (see [`server`]).
//! - `coffer audit verify`: check the audit trail offline (see [`audit`]).
//! - `coffer admin ...`: coffer's own administrative calls to a server (see [`admin`]).

mod admin;
mod audit;
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
    /// Work with the audit trail.
    Audit(audit::AuditArgs),
    /// Administer a running server (rotation functions, rotation state).
    Admin(admin::AdminArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Server(args) => server::main(args).map(|()| true),
        Command::Audit(args) => audit::main(args),
        Command::Admin(args) => admin::main(args),
    };
    match result {
        Ok(true) => std::process::ExitCode::SUCCESS,
        Ok(false) => std::process::ExitCode::FAILURE,
        Err(e) => {
            #[allow(clippy::print_stderr)] // the last word to a user whose server did not start
            {
                eprintln!("coffer: {e:#}");
            }
            std::process::ExitCode::FAILURE
        }
    }
}
