use clap::Parser;
use retrain::{ops, run, sdk_config, Cli, CliError};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let sdk = sdk_config(&cli.global).await;
    let ops = ops(&cli, &sdk);
    match run(&cli, &ops, &mut std::io::stdout()).await {
        Ok(true) => std::process::ExitCode::SUCCESS,
        Ok(false) => std::process::ExitCode::from(1),
        Err(e @ CliError::Invalid { .. }) => {
            eprintln!("retrain: {e}");
            std::process::ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("retrain: {e}");
            std::process::ExitCode::from(1)
        }
    }
}
