//! The manual approval loop: a person approved a version in the registry. Deploy it unless
//! the pipeline approved it itself or it already serves.

use retrain_core::aws::endpoint::serving_model;
use retrain_core::aws::registry::describe_version;
use retrain_core::input::{RunRequest, APPROVED_BY_KEY, APPROVED_BY_PIPELINE};
use retrain_core::names::version_resource_name;
use retrain_core::payload::Action;
use retrain_core::{Context, Result, WorkerError};

pub async fn check(ctx: &Context, request: &RunRequest) -> Result<(Action, String)> {
    if let Some(reason) = &request.skip {
        return Ok((Action::Skip, reason.clone()));
    }
    let approval = request
        .approval
        .as_ref()
        .ok_or_else(|| WorkerError::invalid("detail.ModelPackageArn", "missing"))?;
    // The event may be old (a redrive, a delayed delivery): the registry is the truth.
    let v = describe_version(&ctx.sm, &approval.model_package_arn).await?;
    if v.status != "Approved" {
        return Ok((
            Action::Skip,
            format!("the version is now {}, not Approved", v.status),
        ));
    }
    if v.metadata.get(APPROVED_BY_KEY).map(String::as_str) == Some(APPROVED_BY_PIPELINE) {
        return Ok((
            Action::Skip,
            "the pipeline approved and deployed this version itself".into(),
        ));
    }
    let version = v.version.unwrap_or_default();
    let model = version_resource_name(&ctx.cfg.model_package_group, version, &v.model_data_url);
    let serving = serving_model(&ctx.sm, &ctx.cfg.endpoint_name).await?;
    if serving == model {
        return Ok((
            Action::Skip,
            format!("version {version} already serves as {model}"),
        ));
    }
    Ok((
        Action::DeployApproved,
        format!("version {version} approved manually; serving now: {serving}"),
    ))
}
