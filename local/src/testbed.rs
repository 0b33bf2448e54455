//! A whole local stack for a test: the emulator (training jobs run the reference trainer, or a
//! given command), the harness, the pipeline behind its local Step Functions, and helpers to seed
//! a week, run it and read back what the emulator holds.

use std::sync::Arc;

use asl_executor::Execution;
use retrain_core::aws::s3::get_json;
use retrain_core::{Config, Context};
use serde_json::{json, Value};

use crate::harness;
use crate::launcher::Emulator;
use crate::pipeline::{Faults, Pipeline};
use crate::proxy::Proxy;
use crate::report::{collect, Report};
use crate::scenario::Scenario;
use crate::seed::{prepare, Lake};

pub struct Testbed {
    pub emulator: Emulator,
    pub harness: Context,
    pub cfg: Config,
    pub faults: Arc<Faults>,
    pub pipeline: Pipeline,
    /// The harness's SDK configuration (an administrator of the emulator).
    pub sdk: aws_config::SdkConfig,
}

impl Testbed {
    /// Training jobs run `training_command`.
    pub async fn start(training_command: &str) -> Testbed {
        Self::start_with(training_command, false).await
    }

    /// [`Self::start`]; with `through_proxy`, the workers reach the emulator through a
    /// [`Proxy`] that a fault can take down ([`crate::faults::FaultClass::Unreachable`]).
    pub async fn start_with(training_command: &str, through_proxy: bool) -> Testbed {
        let serving = crate::launcher::serving_command(training_command);
        Self::start_all(training_command, &serving, through_proxy).await
    }

    /// Training jobs run `training_command`, endpoints serve with `serving_command`.
    pub async fn start_serving(training_command: &str, serving_command: &str) -> Testbed {
        Self::start_all(training_command, serving_command, false).await
    }

    /// Training jobs and endpoints run the local image `image` (`make image`), as SageMaker runs
    /// the template's image.
    pub async fn start_image(image: &str) -> Testbed {
        let emulator = Emulator::start_image(image).expect("emulator with the image");
        Self::around(emulator, false).await
    }

    async fn start_all(
        training_command: &str,
        serving_command: &str,
        through_proxy: bool,
    ) -> Testbed {
        let emulator = Emulator::start_serving(training_command, serving_command)
            .expect("emulator (run tools/setup.sh)");
        Self::around(emulator, through_proxy).await
    }

    async fn around(emulator: Emulator, through_proxy: bool) -> Testbed {
        let sdk = emulator.sdk_config(harness::HARNESS.name).await;
        let harness = harness::connect(&sdk).await.unwrap();
        let cfg = harness.cfg.clone();
        let faults = Arc::new(Faults::default());
        let proxy = if through_proxy {
            let target = emulator.url.trim_start_matches("http://").to_string();
            Some(
                Proxy::start(target)
                    .await
                    .expect("a local port for the proxy"),
            )
        } else {
            None
        };
        let workers_sdk = match &proxy {
            Some(p) => emulator.sdk_config_via(&p.url, harness::HARNESS.name).await,
            None => sdk.clone(),
        };
        let pipeline = Pipeline::new(&workers_sdk, &cfg, faults.clone(), None);
        pipeline.serve(&emulator).unwrap();
        faults.connect(&emulator.url, proxy, Arc::downgrade(&pipeline.sfn));
        Testbed {
            emulator,
            harness,
            cfg,
            faults,
            pipeline,
            sdk,
        }
    }

    pub async fn week(&self, scenario: Scenario, week: i64) -> Execution {
        self.prepare(scenario, week).await;
        self.run(scenario, week).await
    }

    pub async fn prepare(&self, scenario: Scenario, week: i64) {
        prepare(
            &Lake {
                ctx: &self.harness,
                sdk: &self.sdk,
            },
            scenario,
            week,
        )
        .await
        .unwrap();
    }

    pub async fn run(&self, scenario: Scenario, week: i64) -> Execution {
        self.pipeline
            .run(
                &format!("{}-week{week}", scenario.name()),
                json!({"poll_seconds": 1}),
            )
            .await
    }

    pub async fn report(&self) -> Report {
        collect(&self.harness, &self.emulator.state().unwrap())
            .await
            .unwrap()
    }

    pub async fn s3_json(&self, key: &str) -> Option<Value> {
        get_json(&self.harness.s3, &self.cfg.bucket, key)
            .await
            .unwrap()
    }

    /// The state of the stack's ServingModelDriftAlarm (`<endpoint>-serving-model-drift`).
    pub async fn serving_drift_alarm(&self) -> String {
        let alarm = retrain_core::aws::notify::describe_alarm(
            &self.harness.cw,
            &format!("{}-serving-model-drift", self.cfg.endpoint_name),
        )
        .await
        .expect("DescribeAlarms")
        .expect("the stack's ServingModelDriftAlarm");
        alarm.state_value().expect("a state").as_str().to_string()
    }

    /// A consumer's request through sagemaker-runtime: the endpoint's forecast of `horizon_days`
    /// from `start` (None: the model's today), checked against the serving contract; panics with
    /// the answer when it does not hold.
    pub async fn forecast(
        &self,
        horizon_days: u32,
        start: Option<chrono::NaiveDate>,
    ) -> Vec<retrain_core::serving::ForecastDay> {
        use retrain_core::serving::{check_answer, ForecastRequest};
        let req = ForecastRequest {
            horizon_days,
            start_date: start,
        };
        let body = serde_json::to_vec(&req).expect("serialises");
        let answer =
            retrain_core::aws::endpoint::invoke(&self.harness.smr, &self.cfg.endpoint_name, body)
                .await
                .expect("InvokeEndpoint")
                .expect("the model answers");
        check_answer(&req, chrono::Utc::now().date_naive(), &answer)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&answer)))
    }

    /// What a person does with a version the gate kept out: approve it in the registry (with
    /// `note`), and the run the approval rule starts (`execution`), which deploys it.
    pub async fn approve_pending(&self, execution: &str, note: &str) -> Execution {
        use aws_sdk_sagemaker::types::ModelApprovalStatus;
        use retrain_core::aws::registry::{list_versions, set_approval};
        let versions = list_versions(&self.harness.sm, &self.cfg.model_package_group)
            .await
            .unwrap();
        let pending = &versions
            .iter()
            .find(|v| v.version.status == "PendingManualApproval")
            .expect("a version waits for approval")
            .version;
        let (arn, number) = (pending.arn.clone(), pending.version.unwrap_or(1));
        set_approval(&self.harness.sm, &arn, ModelApprovalStatus::Approved, note)
            .await
            .unwrap();
        let event = retrain_core::events::approval_event(
            &self.cfg.model_package_group,
            number,
            &arn,
            "Approved",
        );
        self.pipeline.run(execution, event).await
    }
}
