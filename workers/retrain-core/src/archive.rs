//! Reading one top-level file (`metrics.json`, `predictions.csv`) out of a job's
//! `model.tar.gz`, streamed: the archive is read entry by entry in constant memory.

use std::io::Read;
use std::path::Path;

pub const METRICS_FILE: &str = "metrics.json";
/// A metrics document is a few hundred bytes; one over this is not a metrics document. The
/// same cap applies to the fixed `Model/metrics.json`.
pub const MAX_METRICS_BYTES: u64 = 64 * 1024;
/// The optional cross-validation predictions (`date,actual,forecast,fold`) the run report draws.
pub const PREDICTIONS_FILE: &str = "predictions.csv";
/// A year of daily predictions over a dozen folds is ~200 KB; past this the file is not read.
pub const MAX_PREDICTIONS_BYTES: u64 = 4 * 1024 * 1024;

/// The top-level `metrics.json` (also `./metrics.json`) of a model archive: `Ok(Some(bytes))`,
/// `Ok(None)` when the archive has none, `Err(reason)` when the archive cannot be read or its
/// metrics cannot be trusted: more than one `metrics.json` entry (tar extraction keeps the last,
/// a reader that stops early takes the first), an entry that is not a regular file (a symlink
/// or hard link reads as empty), or one over [`MAX_METRICS_BYTES`]. The whole archive is read,
/// entry by entry in constant memory, so a second entry after the first is found.
pub fn metrics_from_model_tar(reader: &mut dyn Read) -> Result<Option<Vec<u8>>, String> {
    file_from_model_tar(reader, METRICS_FILE, MAX_METRICS_BYTES)
}

/// The top-level file `name` of a model archive, with the same rules as
/// [`metrics_from_model_tar`] (one regular file, at most `max_bytes`).
pub fn file_from_model_tar(
    reader: &mut dyn Read,
    name: &str,
    max_bytes: u64,
) -> Result<Option<Vec<u8>>, String> {
    let gz = flate2::read::GzDecoder::new(reader);
    let mut archive = tar::Archive::new(gz);
    let entries = archive
        .entries()
        .map_err(|e| format!("not a tar.gz: {e}"))?;
    let mut found: Option<Vec<u8>> = None;
    let mut seen = 0u32;
    for entry in entries {
        let entry = entry.map_err(|e| format!("corrupt archive: {e}"))?;
        let path = entry.path().map_err(|e| format!("bad entry name: {e}"))?;
        let top_level = path
            .components()
            .filter(|c| !matches!(c, std::path::Component::CurDir))
            .collect::<Vec<_>>();
        if !(top_level.len() == 1 && Path::new(top_level[0].as_os_str()) == Path::new(name)) {
            continue;
        }
        seen += 1;
        if seen > 1 {
            return Err(format!(
                "the archive holds more than one {name} entry: which one counts is ambiguous (tar extraction keeps the last); write it once"
            ));
        }
        let kind = entry.header().entry_type();
        if !kind.is_file() {
            let target = entry
                .link_name()
                .ok()
                .flatten()
                .map(|t| format!(" to `{}`", t.display()))
                .unwrap_or_default();
            return Err(format!(
                "{name} in the archive is not a regular file ({}{target})",
                describe(kind)
            ));
        }
        let size = entry.size();
        if size > max_bytes {
            return Err(format!(
                "{name} in the archive is {size} bytes; at most {max_bytes} are read"
            ));
        }
        let mut bytes = Vec::with_capacity(size as usize);
        entry
            .take(max_bytes)
            .read_to_end(&mut bytes)
            .map_err(|e| format!("reading {name}: {e}"))?;
        found = Some(bytes);
    }
    Ok(found)
}

fn describe(kind: tar::EntryType) -> &'static str {
    if kind.is_symlink() {
        "a symbolic link"
    } else if kind.is_hard_link() {
        "a hard link"
    } else if kind.is_dir() {
        "a directory"
    } else {
        "a special file"
    }
}

/// One entry of an archive built in memory: name, kind, content, link target.
pub type RawEntry<'a> = (&'a str, tar::EntryType, &'a [u8], Option<&'a str>);

/// Build a tar.gz in memory with entries of any kind (regular files, links, directories):
/// tests build the archives a trainer could leave, the good and the bad.
pub fn build_tar(entries: &[RawEntry<'_>]) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut builder = tar::Builder::new(gz);
    for (name, kind, data, link) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(*kind);
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        if let Some(l) = link {
            header.set_link_name(l).expect("a valid link name");
        }
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

/// Build a model.tar.gz of regular files in memory (tests and the local trainer).
pub fn build_model_tar(files: &[(&str, &[u8])]) -> Vec<u8> {
    let entries: Vec<RawEntry<'_>> = files
        .iter()
        .map(|(name, data)| (*name, tar::EntryType::Regular, *data, None))
        .collect();
    build_tar(&entries)
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
    fn metrics_that_cannot_be_trusted_are_refused_with_the_reason() {
        use tar::EntryType::{Directory, Link, Regular, Symlink};
        let big = vec![b' '; MAX_METRICS_BYTES as usize + 1];
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (
                build_tar(&[
                    ("metrics.json", Regular, br#"{"mape": 5}"#, None),
                    ("model.joblib", Regular, b"m", None),
                    ("./metrics.json", Regular, br#"{"mape": 50}"#, None),
                ]),
                "more than one metrics.json",
            ),
            (
                build_tar(&[(
                    "metrics.json",
                    Symlink,
                    b"",
                    Some("/opt/ml/output/metrics.json"),
                )]),
                "a symbolic link to `/opt/ml/output/metrics.json`",
            ),
            (
                build_tar(&[("metrics.json", Link, b"", Some("model.joblib"))]),
                "a hard link",
            ),
            (
                build_tar(&[("metrics.json", Directory, b"", None)]),
                "a directory",
            ),
            (
                build_tar(&[("metrics.json", Regular, &big, None)]),
                "65537 bytes",
            ),
        ];
        for (archive, says) in cases {
            let e = metrics_from_model_tar(&mut &archive[..]).unwrap_err();
            assert!(e.contains(says), "{e}");
        }
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(metrics_from_model_tar(&mut &b"definitely not gzip"[..]).is_err());
    }
}
