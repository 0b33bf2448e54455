//! Reading `metrics.json` out of a job's `model.tar.gz`, streamed: the archive is read entry by
//! entry and reading stops at the metrics file.

use std::io::Read;
use std::path::Path;

pub const METRICS_FILE: &str = "metrics.json";
/// metrics.json is a few hundred bytes; anything far larger is not it.
const MAX_METRICS_BYTES: u64 = 1 << 20;

/// The bytes of the top-level `metrics.json` (also `./metrics.json`), None when absent.
pub fn metrics_from_model_tar(reader: &mut dyn Read) -> Result<Option<Vec<u8>>, String> {
    let gz = flate2::read::GzDecoder::new(reader);
    let mut archive = tar::Archive::new(gz);
    let entries = archive
        .entries()
        .map_err(|e| format!("not a tar.gz: {e}"))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("corrupt archive: {e}"))?;
        let path = entry.path().map_err(|e| format!("bad entry name: {e}"))?;
        let top_level = path
            .components()
            .filter(|c| !matches!(c, std::path::Component::CurDir))
            .collect::<Vec<_>>();
        if top_level.len() == 1 && Path::new(top_level[0].as_os_str()) == Path::new(METRICS_FILE) {
            let mut bytes = Vec::new();
            entry
                .take(MAX_METRICS_BYTES)
                .read_to_end(&mut bytes)
                .map_err(|e| format!("reading {METRICS_FILE}: {e}"))?;
            return Ok(Some(bytes));
        }
    }
    Ok(None)
}

/// Build a model.tar.gz in memory (tests and the local trainer).
pub fn build_model_tar(files: &[(&str, &[u8])]) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut builder = tar::Builder::new(gz);
    for (name, data) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder
            .append_data(&mut header, name, *data)
            .expect("in-memory tar");
    }
    builder
        .into_inner()
        .and_then(|gz| gz.finish())
        .expect("in-memory gzip")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_metrics_at_top_level() {
        let tar = build_model_tar(&[
            ("model.joblib", &[0u8; 4096]),
            ("./metrics.json", b"{\"mape\": 9.5}"),
        ]);
        let got = metrics_from_model_tar(&mut &tar[..]).unwrap();
        assert_eq!(got.as_deref(), Some(&b"{\"mape\": 9.5}"[..]));
    }

    #[test]
    fn nested_or_missing_metrics_is_none() {
        let tar = build_model_tar(&[("model.joblib", b"x"), ("old/metrics.json", b"{}")]);
        assert_eq!(metrics_from_model_tar(&mut &tar[..]).unwrap(), None);
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(metrics_from_model_tar(&mut &b"definitely not gzip"[..]).is_err());
    }
}
