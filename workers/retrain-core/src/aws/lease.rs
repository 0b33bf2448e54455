//! The single-flight lease in S3 (see [`crate::single_flight::Lease`]): read with its ETag,
//! written only under a condition, so that of any set of runs exactly one holds it.

use aws_sdk_s3::primitives::ByteStream;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use chrono::{DateTime, Utc};
use tracing::info;

use crate::aws::executions::describe_execution;
use crate::aws::Context;
use crate::error::{aws_error, Result, WorkerError};
use crate::single_flight::{lease_step, Lease, LeaseStep};

/// Where the lease lives in the lake's bucket.
pub const LEASE_KEY: &str = "locks/single-flight.json";

/// Conditional writes that lose a race are re-read this many times before the run gives up
/// (`AwsTransient`: the state's Retry tries again).
const ATTEMPTS: usize = 5;

/// The lease and its ETag, if there is one.
async fn read(ctx: &Context) -> Result<Option<(Lease, String)>> {
    let bucket = &ctx.cfg.bucket;
    let out = match ctx
        .s3
        .get_object()
        .bucket(bucket)
        .key(LEASE_KEY)
        .send()
        .await
    {
        Ok(out) => out,
        Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => return Ok(None),
        Err(e) => return Err(aws_error("GetObject", e)),
    };
    let etag = out.e_tag().unwrap_or_default().to_string();
    let bytes = out
        .body
        .collect()
        .await
        .map_err(|e| WorkerError::AwsTransient {
            operation: "GetObject".into(),
            message: format!("reading s3://{bucket}/{LEASE_KEY}: {e}"),
        })?
        .into_bytes();
    let lease = serde_json::from_slice(&bytes)
        .map_err(|e| WorkerError::bad_data(format!("s3://{bucket}/{LEASE_KEY}"), e.to_string()))?;
    Ok(Some((lease, etag)))
}

/// Write `lease` if there is none (`etag` None: `If-None-Match: *`) or if it is still the one
/// read (`If-Match`). False: another run wrote first (412 PreconditionFailed) or is writing now
/// (409 ConditionalRequestConflict).
async fn write(ctx: &Context, lease: &Lease, etag: Option<&str>) -> Result<bool> {
    let body = serde_json::to_vec_pretty(lease).expect("the lease serialises");
    let put = ctx
        .s3
        .put_object()
        .bucket(&ctx.cfg.bucket)
        .key(LEASE_KEY)
        .content_type("application/json")
        .body(ByteStream::from(body));
    let put = match etag {
        None => put.if_none_match("*"),
        Some(etag) => put.if_match(etag),
    };
    match put.send().await {
        Ok(_) => Ok(true),
        Err(e)
            if matches!(
                e.code(),
                Some("PreconditionFailed" | "ConditionalRequestConflict")
            ) =>
        {
            Ok(false)
        }
        Err(e) => Err(aws_error("PutObject", e)),
    }
}

/// Take the lease for execution `me` (ARN) named `name`, or keep it when `me` holds it already.
/// `Ok(None)`: this run holds it. `Ok(Some(other))`: running execution `other` holds it.
pub async fn acquire(
    ctx: &Context,
    me: &str,
    name: &str,
    now: DateTime<Utc>,
) -> Result<Option<String>> {
    let mine = Lease {
        holder: me.to_string(),
        execution: name.to_string(),
        taken_at: now,
    };
    for _ in 0..ATTEMPTS {
        let current = read(ctx).await?;
        let lease = current.as_ref().map(|(l, _)| l);
        let mut step = lease_step(lease, me, None);
        if let (LeaseStep::Held { .. }, Some(l)) = (&step, lease) {
            let running = describe_execution(&ctx.sfn, &l.holder)
                .await?
                .is_some_and(|e| e.running);
            step = lease_step(lease, me, Some(running));
        }
        let written = match step {
            LeaseStep::Mine => return Ok(None),
            LeaseStep::Held { execution } => return Ok(Some(execution)),
            LeaseStep::Take => write(ctx, &mine, None).await?,
            LeaseStep::TakeOver => {
                let etag = current.as_ref().map(|(_, e)| e.as_str());
                write(ctx, &mine, etag).await?
            }
        };
        if written {
            info!(execution = %name, "single-flight lease taken");
            return Ok(None);
        }
    }
    Err(WorkerError::AwsTransient {
        operation: "PutObject".into(),
        message: format!("the single-flight lease s3://{}/{LEASE_KEY} changed under {ATTEMPTS} attempts in a row", ctx.cfg.bucket),
    })
}
