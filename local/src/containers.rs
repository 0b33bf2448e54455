//! The container runtime the proving ground runs images with (podman, with the project's own
//! settings: `tools/image/containers.conf`), and the images `tools/image.sh` builds.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::launcher::repo_root;

pub const RUNTIME: &str = "podman";
/// The Prophet example's image, as `make image` tags it.
pub const PROPHET_IMAGE: &str = "localhost/prophet-trainer:latest";

/// podman's settings for the project's images (runc, ulimits).
pub fn conf() -> PathBuf {
    repo_root().join("tools/image/containers.conf")
}

/// `image` exists in the runtime's store; else what to run to make it.
pub fn check_image(image: &str) -> Result<(), String> {
    let status = Command::new(RUNTIME)
        .args(["image", "exists", image])
        .env("CONTAINERS_CONF", conf())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|e| {
            format!("cannot run {RUNTIME} ({e}): install it (tools/image.sh does, with apt-get)")
        })?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "no image {image} on this machine: build it with `make image` (tools/image.sh)"
        ))
    }
}

/// A local image named on the command line: `prophet` is the Prophet example's.
pub fn resolve(name: &str) -> String {
    match name {
        "prophet" => PROPHET_IMAGE.to_string(),
        other => other.to_string(),
    }
}

/// The names of the containers (running or not) whose name holds `part`: the emulator names a
/// serving container `sm-endpoint-<port>-<endpoint>-<id>`, a training one
/// `sm-training-<port>-<job>-<id>` (`<port>`: the emulator's).
pub fn named(part: &str) -> Result<Vec<String>, String> {
    let out = Command::new(RUNTIME)
        .args(["ps", "-a", "--format", "{{.Names}}"])
        .env("CONTAINERS_CONF", conf())
        .output()
        .map_err(|e| format!("cannot run {RUNTIME}: {e}"))?;
    Ok(String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter(|n| n.contains(part))
        .map(str::to_string)
        .collect())
}
