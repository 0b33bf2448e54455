//! The AWS emulator (moto server + `local/emulator/emulator.py`) as a child process on a free port of
//! 127.0.0.1: started by whoever needs it, stopped (with its training processes) when dropped.
//!
//! IAM is on: the emulator authorizes every request against the caller's policy in template.yaml
//! (`local/emulator/authorize.py`), read with the local run's parameters
//! ([`harness::template_parameters`]). Whoever calls names itself by its access key id: a worker
//! by its name ([`identity`]), the harness as `local-harness` (an administrator), a training job
//! as the SageMaker execution role. `EMULATOR_TEMPLATE` in the environment points it at another
//! template (e.g. a copy with a policy fixed, to see the next denial).

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::containers;
use crate::harness;

pub struct Emulator {
    child: Child,
    pub url: String,
    pub log: PathBuf,
}

/// The repository's root (this crate is `local/` in it): the venvs and `target/` live there.
pub fn repo_root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl Emulator {
    /// Start the emulator; training jobs run `training_command`, endpoints serve with
    /// [`serving_command`] of it. Fails with a clear message when the emulator's venv is missing
    /// (run tools/setup.sh) or it does not answer.
    pub fn start(training_command: &str) -> Result<Self, String> {
        Self::start_serving(training_command, &serving_command(training_command))
    }

    /// [`Self::start`] with endpoints served by `serving_command` (run with the model unpacked in
    /// `SM_MODEL_DIR`, to serve on `SAGEMAKER_BIND_TO_PORT`).
    pub fn start_serving(training_command: &str, serving_command: &str) -> Result<Self, String> {
        Self::start_all(training_command, serving_command, None)
    }

    /// Training jobs and endpoints run `image` (a local podman image, e.g. the Prophet example's
    /// from `make image`) as SageMaker runs the template's image: `IMAGE train`, `IMAGE serve`.
    /// The seeded earlier model keeps its own image URI, unmapped: it serves with the reference
    /// trainer's server, as before.
    pub fn start_image(image: &str) -> Result<Self, String> {
        let trainer = reference_trainer()
            .ok_or("the reference trainer is not built: cargo build --workspace --bins")?;
        let trainer = trainer.display().to_string();
        Self::start_all(&trainer, &serving_command(&trainer), Some(image))
    }

    fn start_all(
        training_command: &str,
        serving_command: &str,
        image: Option<&str>,
    ) -> Result<Self, String> {
        let root = repo_root();
        let python = root.join(".venv-emulator/bin/python");
        if !python.exists() {
            return Err(format!(
                "{} is missing: run tools/setup.sh first",
                python.display()
            ));
        }
        let template = std::env::var_os("EMULATOR_TEMPLATE")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join("template.yaml"));
        let parameters = harness::template_parameters(&harness::local_config(harness::TOPIC_ARN));
        let port = free_port().map_err(|e| format!("no free port: {e}"))?;
        let log_dir = root.join("target/local-run");
        std::fs::create_dir_all(&log_dir).map_err(|e| e.to_string())?;
        let log = log_dir.join(format!("emulator-{port}.log"));
        let out = std::fs::File::create(&log).map_err(|e| e.to_string())?;
        let err = out.try_clone().map_err(|e| e.to_string())?;
        let mut command = Command::new(python);
        if let Some(image) = image {
            containers::check_image(image)?;
            command
                .env("EMULATOR_CONTAINER_RUNTIME", containers::RUNTIME)
                .env("CONTAINERS_CONF", containers::conf())
                .env("EMULATOR_IMAGES", images(image));
        }
        let child = command
            .arg(root.join("local/emulator/emulator.py"))
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env("EMULATOR_TRAINING_COMMAND", training_command)
            .env(
                "EMULATOR_SERVING_COMMAND",
                with_seeded_model(serving_command),
            )
            .env("EMULATOR_ENDPOINT_DELAY", "1")
            // Longer than the runs' 1 s poll: CheckStatus's canary asks the baking model.
            .env("EMULATOR_BAKE_SECONDS", "4")
            .env("EMULATOR_TEMPLATE", &template)
            .env("EMULATOR_TEMPLATE_PARAMETERS", parameters.to_string())
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            // Its own process group: stopping it stops the training jobs it started.
            .process_group(0)
            .spawn()
            .map_err(|e| format!("cannot start the emulator: {e}"))?;
        let emulator = Emulator {
            child,
            url: format!("http://127.0.0.1:{port}"),
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() && emulator.get("/moto-api/").is_ok()
            {
                return Ok(emulator);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(format!(
            "the emulator did not answer within 30 s; see {}",
            emulator.log.display()
        ))
    }

    fn get(&self, path: &str) -> Result<String, String> {
        let mut body = String::new();
        ureq::get(&format!("{}{path}", self.url))
            .call()
            .map_err(|e| e.to_string())?
            .into_body()
            .into_reader()
            .read_to_string(&mut body)
            .map_err(|e| e.to_string())?;
        Ok(body)
    }

    /// Forward the Step Functions API (`X-Amz-Target: AWSStepFunctions.*`), once a request passes
    /// the emulator's IAM and parameter checks, to the local Step Functions at `url`.
    pub fn route_stepfunctions(&self, url: &str) -> Result<(), String> {
        ureq::post(&format!("{}/_emulator/stepfunctions", self.url))
            .header("Content-Type", "application/json")
            .send(serde_json::json!({ "url": url }).to_string())
            .map_err(|e| format!("the emulator refused the Step Functions route: {e}"))?;
        Ok(())
    }

    /// Every SNS message and CloudWatch datum so far (`GET /_emulator/state`).
    pub fn state(&self) -> Result<Value, String> {
        serde_json::from_str(&self.get("/_emulator/state")?).map_err(|e| e.to_string())
    }

    /// The SDK configuration that talks to this emulator as `access_key` (a worker's name, or
    /// [`harness::HARNESS`]'s for the harness).
    pub async fn sdk_config(&self, access_key: &str) -> aws_config::SdkConfig {
        self.sdk_config_via(&self.url, access_key).await
    }

    /// [`Self::sdk_config`] with the calls sent to `url` (a proxy in front of this emulator).
    pub async fn sdk_config_via(&self, url: &str, access_key: &str) -> aws_config::SdkConfig {
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(url)
            .region(aws_config::Region::new("us-east-1"))
            .load()
            .await;
        identity(&sdk, access_key)
    }

    pub fn stop(&mut self) {
        // SIGTERM to the whole group (the server and any training process), then reap.
        let pgid = self.child.id() as i32;
        let _ = Command::new("kill")
            .args(["-TERM", "--", &format!("-{pgid}")])
            .status();
        // Its containers stop with their own grace period (EMULATOR_STOP_GRACE, 5 s), in parallel.
        let deadline = Instant::now() + Duration::from_secs(12);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{pgid}")])
            .status();
        let _ = self.child.wait();
    }
}

/// `EMULATOR_IMAGES`: the run's image URI (the template's `TrainingImageUri`) runs `image`.
fn images(image: &str) -> String {
    let mut map = serde_json::Map::new();
    map.insert(harness::LOCAL_IMAGE.to_string(), image.into());
    Value::Object(map).to_string()
}

/// How endpoints serve a trainer's models: `SERVING_COMMAND` from the environment (`make demo
/// SERVING_COMMAND=...`); else the trainer's own server, as SageMaker runs one image as
/// `IMAGE train` and `IMAGE serve`: the reference trainer with `serve`, a `train.py` with the
/// `serve.py` beside it (the Prophet example); else the reference trainer's.
pub fn serving_command(training_command: &str) -> String {
    if let Some(c) = std::env::var("SERVING_COMMAND")
        .ok()
        .filter(|c| !c.trim().is_empty())
    {
        return c;
    }
    if training_command.ends_with("reference-trainer") {
        return format!("{training_command} serve");
    }
    if let Some(at) = training_command.rfind("train.py") {
        let mut c = training_command.to_string();
        c.replace_range(at..at + "train.py".len(), "serve.py");
        return c;
    }
    match reference_trainer() {
        Some(p) => format!("{} serve", p.display()),
        None => format!("{training_command} serve"),
    }
}

/// The reference trainer built beside this program (target/debug, or its parent for tests).
fn reference_trainer() -> Option<PathBuf> {
    std::env::current_exe().ok().and_then(|exe| {
        exe.ancestors()
            .skip(1)
            .take(2)
            .map(|d| d.join("reference-trainer"))
            .find(|p| p.exists())
    })
}

/// The serving command the emulator runs: `serving_command` for the run's models; the
/// reference trainer's server for the seeded lake's earlier model (a reference model, marked
/// by [`crate::seed::SEEDED_MARKER`] in its archive), whatever the trainer.
fn with_seeded_model(serving_command: &str) -> String {
    match reference_trainer() {
        Some(r) if !serving_command.contains("reference-trainer") => format!(
            "if [ -e \"$SM_MODEL_DIR/{marker}\" ]; then exec {r} serve; else {serving_command}; fi",
            marker = crate::seed::SEEDED_MARKER,
            r = r.display()
        ),
        _ => serving_command.to_string(),
    }
}

/// `sdk` calling with static credentials whose access key id is `access_key`: the emulator maps
/// the key to that caller's IAM policy.
pub fn identity(sdk: &aws_config::SdkConfig, access_key: &str) -> aws_config::SdkConfig {
    sdk.to_builder()
        .credentials_provider(aws_sdk_s3::config::SharedCredentialsProvider::new(
            aws_sdk_s3::config::Credentials::new(access_key, "secret", None, None, "local"),
        ))
        .build()
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trainer_serves_as_its_image_would() {
        if std::env::var_os("SERVING_COMMAND").is_some() {
            return; // the operator's choice wins; nothing to derive
        }
        assert_eq!(
            serving_command("/x/target/debug/reference-trainer"),
            "/x/target/debug/reference-trainer serve"
        );
        assert_eq!(
            serving_command("cd /w && .venv-prophet/bin/python examples/prophet-trainer/train.py"),
            "cd /w && .venv-prophet/bin/python examples/prophet-trainer/serve.py"
        );
        let seeded = with_seeded_model("python serve.py");
        if let Some(r) = reference_trainer() {
            assert_eq!(
                seeded,
                format!(
                    "if [ -e \"$SM_MODEL_DIR/seeded-earlier-model\" ]; then exec {} serve; \
                     else python serve.py; fi",
                    r.display()
                )
            );
        }
    }
}
