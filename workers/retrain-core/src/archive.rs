//! Reading one top-level file (`metrics.json`, `predictions.csv`) out of a job's
//! `model.tar.gz`, streamed: the archive is read entry by entry in constant memory.

use std::io::Read;

use retrain_contract::archive_names::{entry_path, EntryKind, TopLevelFile};

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
/// [`metrics_from_model_tar`] (one regular file, at most `max_bytes`). Entry names are read raw
/// and judged as GNU tar and Python's tarfile extract them
/// ([`retrain_contract::archive_names::TopLevelFile`]): `/metrics.json`, `./metrics.json` and
/// `a/../metrics.json` are all the top-level file, so what the gate judges is what serves.
pub fn file_from_model_tar(
    reader: &mut dyn Read,
    name: &'static str,
    max_bytes: u64,
) -> Result<Option<Vec<u8>>, String> {
    let gz = flate2::read::GzDecoder::new(reader);
    let mut archive = tar::Archive::new(gz);
    let entries = archive
        .entries()
        .map_err(|e| format!("not a tar.gz: {e}"))?;
    let mut rule = TopLevelFile::new(name);
    let mut found: Option<Vec<u8>> = None;
    for entry in entries {
        let entry = entry.map_err(|e| format!("corrupt archive: {e}"))?;
        // The name as the header holds it (`path()` would already have cleaned it up).
        let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let kind = entry.header().entry_type();
        match rule.see(&raw, entry_kind(kind)) {
            Ok(false) => continue,
            Ok(true) => {}
            Err(reason) => {
                let is_it = entry_path(&raw).is_ok_and(|p| p == name);
                return Err(if is_it && !kind.is_file() && found.is_none() {
                    not_a_file(&entry, name, kind)
                } else {
                    reason
                });
            }
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

fn entry_kind(kind: tar::EntryType) -> EntryKind {
    if kind.is_file() {
        EntryKind::File
    } else if kind.is_dir() {
        EntryKind::Directory
    } else if kind.is_symlink() {
        EntryKind::Symlink
    } else if kind.is_hard_link() {
        EntryKind::HardLink
    } else {
        EntryKind::Other
    }
}

/// Why the entry for `name` is refused, naming a link's target.
fn not_a_file<R: Read>(entry: &tar::Entry<R>, name: &str, kind: tar::EntryType) -> String {
    let target = entry
        .link_name()
        .ok()
        .flatten()
        .map(|t| format!(" to `{}`", t.display()))
        .unwrap_or_default();
    format!(
        "{name} in the archive is not a regular file ({}{target})",
        describe(kind)
    )
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

/// A tar.gz of regular files whose entries carry exactly these names, byte for byte (`tar`'s
/// builder would clean up `/metrics.json` or `a/../b`): what a careless or hostile trainer can
/// write, for tests.
pub fn build_tar_with_raw_names(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut builder = tar::Builder::new(gz);
    for (name, data) in entries {
        let mut header = tar::Header::new_gnu();
        let raw = &mut header.as_gnu_mut().expect("a GNU header").name;
        raw[..name.len()].copy_from_slice(name.as_bytes());
        header.set_entry_type(tar::EntryType::Regular);
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder.append(&header, *data).expect("in-memory tar");
    }
    builder
        .into_inner()
        .and_then(|gz| gz.finish())
        .expect("in-memory tar")
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

    fn hostile_archives() -> Vec<(&'static str, Vec<u8>)> {
        vec![
            (
                "metrics.json then /metrics.json",
                build_tar_with_raw_names(&[
                    ("metrics.json", br#"{"mape": 5}"#),
                    ("/metrics.json", br#"{"mape": 50}"#),
                ]),
            ),
            (
                "/metrics.json alone",
                build_tar_with_raw_names(&[("/metrics.json", br#"{"mape": 7}"#)]),
            ),
            (
                "a/../metrics.json",
                build_tar_with_raw_names(&[("a/../metrics.json", br#"{"mape": 8}"#)]),
            ),
            (
                ".//metrics.json then ./metrics.json",
                build_tar_with_raw_names(&[
                    (".//metrics.json", br#"{"mape": 5}"#),
                    ("./metrics.json", br#"{"mape": 50}"#),
                ]),
            ),
            (
                "../metrics.json",
                build_tar_with_raw_names(&[("../metrics.json", br#"{"mape": 5}"#)]),
            ),
        ]
    }

    #[test]
    fn entry_names_are_judged_as_extractors_write_them() {
        let judged: Vec<_> = hostile_archives()
            .into_iter()
            .map(|(what, tar)| (what, metrics_from_model_tar(&mut &tar[..])))
            .collect();
        let err = |i: usize| judged[i].1.clone().unwrap_err();
        assert!(err(0).contains("more than one metrics.json"), "{}", err(0));
        assert_eq!(judged[1].1, Ok(Some(br#"{"mape": 7}"#.to_vec())));
        assert!(err(2).contains("`..`"), "{}", err(2));
        assert!(err(3).contains("more than one metrics.json"), "{}", err(3));
        assert!(err(4).contains(".."), "{}", err(4));
    }

    /// The same archives through GNU tar, as SageMaker hosting unpacks model.tar.gz: whatever
    /// the reader accepts is exactly what GNU tar leaves as the top-level metrics.json.
    #[test]
    fn what_the_gate_reads_is_what_gnu_tar_extracts() {
        let gnu = std::process::Command::new("tar").arg("--version").output();
        let Ok(out) = gnu else {
            panic!("GNU tar is needed for this test (Debian: the tar package)")
        };
        assert!(String::from_utf8_lossy(&out.stdout).contains("GNU tar"));
        for (what, tar) in hostile_archives() {
            let dir = std::env::temp_dir().join(format!(
                "gnu-tar-{}-{}",
                std::process::id(),
                what.replace(['/', ' ', '.'], "_")
            ));
            std::fs::create_dir_all(&dir).unwrap();
            let file = dir.join("model.tar.gz");
            std::fs::write(&file, &tar).unwrap();
            let out_dir = dir.join("model");
            std::fs::create_dir_all(&out_dir).unwrap();
            // Exit status 2 when it skips a member (`..`): what it extracted still serves.
            let _ = std::process::Command::new("tar")
                .arg("-xzf")
                .arg(&file)
                .arg("-C")
                .arg(&out_dir)
                .output()
                .unwrap();
            let extracted = std::fs::read(out_dir.join("metrics.json")).ok();
            match metrics_from_model_tar(&mut &tar[..]) {
                Ok(read) => assert_eq!(read, extracted, "{what}: the gate and GNU tar disagree"),
                Err(reason) => assert!(!reason.is_empty(), "{what}"),
            }
            std::fs::remove_dir_all(&dir).unwrap();
        }
    }
}
