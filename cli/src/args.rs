//! The command line.

use clap::{Args, Parser, Subcommand};

/// Operate the weekly retraining pipeline: start and follow runs, see what a run did and why,
/// redrive a failed run, approve or reject a model version.
///
/// AWS configuration as the AWS CLI reads it (AWS_PROFILE, AWS_REGION, credentials);
/// `--endpoint-url` points every call at another endpoint (the local emulator).
#[derive(Debug, Parser)]
#[command(name = "retrain", version)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct Global {
    /// The pipeline's state machine (the stack's `StateMachineArn` output).
    #[arg(long, env = "RETRAIN_STATE_MACHINE_ARN", global = true)]
    pub state_machine: Option<String>,
    /// The model package group of the versions (`approve`, `reject`).
    #[arg(
        long,
        env = "MODEL_PACKAGE_GROUP",
        default_value = "prophet-forecasting-models",
        global = true
    )]
    pub model_package_group: String,
    /// A named profile of the AWS configuration files.
    #[arg(long, global = true)]
    pub profile: Option<String>,
    /// The AWS region (else AWS_REGION or the profile's).
    #[arg(long, global = true)]
    pub region: Option<String>,
    /// Send every AWS call to this URL (e.g. the local emulator).
    #[arg(long, global = true)]
    pub endpoint_url: Option<String>,
    /// Print JSON for scripts instead of text.
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start a run (checked first with the pipeline's own input rules).
    Start(Start),
    /// What an execution did (default: the latest): state, MAPE and threshold, decision,
    /// serving model, alerts, error.
    Status {
        /// Execution name or ARN.
        execution: Option<String>,
    },
    /// One line per execution, newest first.
    Runs {
        /// How many.
        #[arg(long, default_value_t = 10)]
        last: i32,
    },
    /// Resume a failed, timed-out or stopped execution at the state it stopped in.
    Redrive {
        /// Execution name or ARN.
        execution: String,
    },
    /// Approve a model version: the approval rule starts a run that deploys it.
    Approve(Decide),
    /// Reject a model version.
    Reject(Decide),
    /// What the whole system costs a month (us-east-1 list prices, no free tier): the endpoint,
    /// its blue/green second fleet, training, the orchestration, CloudWatch, SNS, SQS and S3,
    /// for the template's parameters and the usage given (defaults: the seed's). No AWS call.
    Cost(Cost),
    /// Before the first run: whether the account holds what it needs (the image in ECR, a role
    /// SageMaker may assume, usable ticket files under bronze/, an endpoint the pipeline can
    /// update, Lambda concurrency, a confirmed alert subscription). Each failure says what to do.
    Doctor(Doctor),
}

#[derive(Debug, Args)]
pub struct Doctor {
    /// The stack's parameters, as `sam deploy --guided` saved them.
    #[arg(long, default_value = "samconfig.toml")]
    pub config: String,
    /// TrainingImageUri (else the config's).
    #[arg(long)]
    pub image: Option<String>,
    /// BucketName.
    #[arg(long)]
    pub bucket: Option<String>,
    /// SageMakerRoleArn (empty: the stack creates the role).
    #[arg(long)]
    pub role: Option<String>,
    /// EndpointName.
    #[arg(long)]
    pub endpoint: Option<String>,
    /// EndpointType (RealTime or Serverless).
    #[arg(long)]
    pub endpoint_type: Option<String>,
    /// The alert topic (ExistingTopicArn, or the stack's TopicArn output).
    #[arg(long)]
    pub topic_arn: Option<String>,
}

#[derive(Debug, Args)]
pub struct Cost {
    /// real-time (instances every hour) or serverless (per second of compute).
    #[arg(long, default_value = "real-time", value_parser = ["real-time", "serverless"])]
    pub endpoint_type: String,
    /// The template's EndpointInstanceType.
    #[arg(long, default_value = "ml.t2.medium")]
    pub endpoint_instance_type: String,
    /// The template's EndpointInstanceCount.
    #[arg(long, default_value_t = 1)]
    pub endpoint_instance_count: u32,
    /// Serverless memory (1024-6144 MB, in 1 GB steps).
    #[arg(long, default_value_t = 2048)]
    pub serverless_memory_mb: u32,
    /// Serverless compute seconds billed per forecast (cold starts amortised).
    #[arg(long, default_value_t = 1.0)]
    pub serverless_seconds: f64,
    /// The template's TrainingInstanceType.
    #[arg(long, default_value = "ml.m5.large")]
    pub training_instance_type: String,
    /// Minutes a training job bills.
    #[arg(long, default_value_t = 10.0)]
    pub training_minutes: f64,
    /// Managed spot training: the share of training seconds not billed (0.7 = 70 %); a run
    /// records its own (1 - BillableTimeInSeconds / TrainingTimeInSeconds).
    #[arg(long, default_value_t = 0.7)]
    pub spot_savings: f64,
    /// On-demand training (TrainingSpot=false): every training second billed.
    #[arg(long)]
    pub on_demand: bool,
    /// Without the CloudWatch dashboard (CreateDashboard=false).
    #[arg(long)]
    pub no_dashboard: bool,
    /// Runs a month (weekly: 52/12).
    #[arg(long, default_value_t = 52.0 / 12.0)]
    pub runs_per_month: f64,
    /// Forecasts asked of the endpoint a day.
    #[arg(long, default_value_t = 36.0)]
    pub invocations_per_day: f64,
    /// The documented table (docs/cost-and-performance.md): the first default, the original's, today's default, and serverless
    /// with spot training and no dashboard, under the same assumptions (markdown).
    #[arg(long)]
    pub compare: bool,
}

#[derive(Debug, Args)]
pub struct Start {
    /// Deploy only below this MAPE (percent) for this run.
    #[arg(long)]
    pub threshold: Option<f64>,
    /// Train even without new ticket files.
    #[arg(long)]
    pub force: bool,
    /// Seconds between status checks while training.
    #[arg(long)]
    pub poll_seconds: Option<u32>,
    /// Training instance type, e.g. ml.m5.xlarge.
    #[arg(long)]
    pub instance_type: Option<String>,
    #[arg(long)]
    pub instance_count: Option<i32>,
    #[arg(long)]
    pub volume_gb: Option<i32>,
    #[arg(long)]
    pub max_runtime_seconds: Option<i32>,
    /// Managed spot training for this run (`false`: on demand).
    #[arg(long)]
    pub spot: Option<bool>,
    /// Spot only: the job's limit, waiting for capacity included (>= the max runtime).
    #[arg(long)]
    pub max_wait_seconds: Option<i32>,
    /// The execution's name (default: manual-<UTC time>).
    #[arg(long)]
    pub name: Option<String>,
    /// Follow the run state by state; exit non-zero unless it succeeds.
    #[arg(long)]
    pub wait: bool,
    /// Seconds between looks while following.
    #[arg(long, default_value_t = 5, hide = true)]
    pub follow_seconds: u64,
}

#[derive(Debug, Args)]
pub struct Decide {
    /// Version number in the group, or the model package ARN.
    pub version: String,
    /// Why: recorded as the version's approval description.
    #[arg(long)]
    pub note: Option<String>,
}
