//! The `coffer` binary.
//!
//! - `coffer server`: serve the AWS APIs (see [`server`]).
//! - `coffer audit verify`: check the audit trail offline (see [`audit`]).
//! - `coffer admin ...`: coffer's own administrative calls to a server: accounts, rotation
//!   functions (see [`admin`]).
//! - `coffer breakglass ...`: break-glass access with a two-person rule (see [`breakglass`]).
//! - `coffer bench`: a load generator (see [`bench`]).
//! - `coffer migrate`: SQLite to PostgreSQL (see [`migrate`]).
//! - `coffer backup`, `coffer restore`: online encrypted backups, offline restores (see
//!   [`backup`]).
//! - `coffer advise`: Secrets Manager or Parameter Store, costs and pitfalls (see [`advise`]).
//! - `coffer csi-provider`: the Secrets Store CSI Driver provider plugin (see [`csi`]).
//! - `coffer health`: a server's `/health`, as an exit status (see [`health`]).
//! - `coffer agent`, `coffer sync`, `coffer resolve`, `coffer run`: the client side (see
//!   [`client`]), for coffer or AWS alike.

mod admin;
mod advise;
mod audit;
mod backup;
mod bench;
mod breakglass;
mod client;
mod csi;
mod health;
mod migrate;
mod peers;
mod server;

use clap::{Parser, Subcommand};

/// mimalloc rather than the system allocator: a request allocates and frees many small objects
/// (JSON values, strings, futures), and glibc's malloc and free were a fifth of the server's CPU
/// in the GetSecretValue profile (docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    /// Administer a running server (accounts, rotation functions, rotation state).
    Admin(admin::AdminArgs),
    /// Break-glass access: request, approve (a second person), credentials, revoke, report.
    Breakglass(breakglass::BreakGlassArgs),
    /// Local caching endpoint compatible with AWS's Parameters and Secrets Lambda extension and
    /// Secrets Manager Agent (GET /secretsmanager/get, /systemsmanager/parameters/get).
    Agent(client::AgentArgs),
    /// Write secrets and parameters to files from a Secrets Store CSI objects list, and keep
    /// them up to date.
    Sync(client::SyncArgs),
    /// Replace CloudFormation {{resolve:...}} references in a template.
    Resolve(client::ResolveArgs),
    /// Run a command with its secrets in a private directory (and, if asked, its environment).
    Run(client::RunArgs),
    /// Load-test an endpoint (coffer, AWS or another AWS-compatible one).
    Bench(bench::BenchArgs),
    /// Copy a whole deployment from SQLite into PostgreSQL, and verify the copy.
    Migrate(migrate::MigrateArgs),
    /// Back up a running server: a consistent snapshot, encrypted, written to --out.
    Backup(backup::BackupArgs),
    /// Restore a backup into an empty store (offline), verifying counts and the audit chain.
    Restore(backup::RestoreArgs),
    /// Advise on the inventory: Secrets Manager or Parameter Store, AWS costs, pitfalls.
    Advise(advise::AdviseArgs),
    /// Serve the Secrets Store CSI Driver's provider API on a unix socket (Kubernetes).
    CsiProvider(csi::CsiArgs),
    /// Ask a server's GET /health: exit 0 if it answers 200 (the container health check).
    Health(health::HealthArgs),
}

/// A command's verdict as an exit status.
fn exit_code(ok: bool) -> u8 {
    if ok { 0 } else { 1 }
}

fn main() -> std::process::ExitCode {
    // The one TLS crypto provider of the process, installed once, before anything connects:
    // aws-lc-rs (reqwest's and sqlx's rustls use the process-wide default; coffer-client
    // passes it explicitly).
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Server(args) => server::main(args).map(|()| 0),
        Command::Audit(args) => audit::main(args).map(exit_code),
        Command::Admin(args) => admin::main(args).map(exit_code),
        Command::Breakglass(args) => breakglass::main(args).map(exit_code),
        Command::Agent(args) => client::agent_main(args),
        Command::Sync(args) => client::sync_main(args),
        Command::Resolve(args) => client::resolve_main(args),
        Command::Run(args) => client::run_main(args),
        Command::Bench(args) => bench::main(args),
        Command::Migrate(args) => migrate::main(args),
        Command::Backup(args) => backup::backup_main(args),
        Command::Restore(args) => backup::restore_main(args),
        Command::CsiProvider(args) => csi::main(args),
        Command::Advise(args) => advise::main(args),
        Command::Health(args) => health::main(args),
    };
    match result {
        Ok(code) => std::process::ExitCode::from(code),
        Err(e) => {
            #[allow(clippy::print_stderr)] // the last word to a user whose command failed
            {
                eprintln!("coffer: {e:#}");
            }
            std::process::ExitCode::FAILURE
        }
    }
}
