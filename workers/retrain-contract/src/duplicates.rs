//! Ticket files under `bronze/` that are copies of another: by content (ETag and size, from the
//! listing alone) and by ticket ids (a file whose ids all appear in another file), and what the
//! run does about them.
//!
//! The users' trainer reads every file under `bronze/`: a copy doubles its tickets in the
//! training data whatever this pipeline counts, so leaving the copy out of our own count would
//! hide the problem, not fix it. The run skips training and alerts, naming both files
//! ([`decide`]); once the copy is removed the next run trains.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::Hash;

use crate::messages;

/// `copy` holds the same tickets as `of`, which is kept as the original.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct Duplicate {
    pub copy: String,
    pub of: String,
}

/// An S3 ETag as listed (`"9b2c..."`, with its quotes) without the quotes, or None when it says
/// nothing (empty).
fn etag_key(etag: &str) -> Option<String> {
    let e = etag.trim().trim_matches('"');
    (!e.is_empty()).then(|| e.to_ascii_lowercase())
}

/// Files with the same content: the same ETag (or content hash) and the same size. In each
/// group the first key in sorted order is the original and every other key a copy of it; the
/// answer is sorted by `copy`. `files` is `(key, etag_or_hash, size)`, the whole listing of
/// `bronze/` (a new file may copy an old one).
///
/// What an equal ETag proves, and its limits:
/// - a single-part upload's ETag is the MD5 of the content: equal ETag and size is equal content
///   (MD5 collisions can be made on purpose; this is a check against mistakes, not attacks);
/// - a multipart ETag (`<md5 of the parts' md5s>-N`) depends on the part size: the same string
///   still means the same content uploaded with the same part size, but the same content
///   uploaded with another part size (or once single-part) has another ETag and is **missed**;
/// - objects encrypted with SSE-KMS or SSE-C have ETags that are not an MD5 of the content:
///   their copies are missed.
///
/// So the limits are missed copies, never a false one. A caller with a full-object checksum
/// (`x-amz-checksum-sha256`, or a hash it computed) passes that instead, prefixed with its kind
/// (`sha256:...`) so hashes of different kinds never compare equal. Empty files (size 0) are
/// left out: they all look alike and add no tickets. A file with no ETag is left out.
pub fn duplicate_files<K: AsRef<str>, E: AsRef<str>>(files: &[(K, E, u64)]) -> Vec<Duplicate> {
    let mut groups: HashMap<(String, u64), Vec<&str>> = HashMap::new();
    for (key, etag, size) in files {
        if *size == 0 {
            continue;
        }
        if let Some(e) = etag_key(etag.as_ref()) {
            groups.entry((e, *size)).or_default().push(key.as_ref());
        }
    }
    let mut out = Vec::new();
    for mut keys in groups.into_values() {
        keys.sort_unstable();
        keys.dedup();
        let original = keys[0];
        out.extend(keys[1..].iter().map(|copy| Duplicate {
            copy: copy.to_string(),
            of: original.to_string(),
        }));
    }
    out.sort();
    out
}

/// The most ticket ids a caller holds for [`repeated_id_files`]: a week of new files is a few
/// thousand tickets; at 2 million ids (as 8-byte hashes, ~16 MB with the set's overhead, or
/// ~100 MB as short strings) the caller stops collecting and reports the check as not done
/// rather than run out of memory. The caller collects the ids of the new files and of the files
/// they are compared with (e.g. the previous week's), not of the whole lake.
pub const MAX_TRACKED_IDS: usize = 2_000_000;

/// Files whose ticket ids (the first column) all appear in one other file: the copy is the
/// file whose ids are a subset of another's; when two files hold exactly the same ids, the
/// later key in sorted order is the copy. A file with no ids is never a copy. Each copy is
/// reported once, against the first (sorted) file that holds all of its ids; sorted by `copy`.
///
/// The cost is bounded by the ids held (the caller stops at [`MAX_TRACKED_IDS`]): an index from
/// id to the files holding it, then for each file only the files holding its first id are
/// tried. `T` can be the id itself or a 64-bit hash of it (a collision can only make a file look
/// like a copy when all its ids collide).
pub fn repeated_id_files<K: AsRef<str>, T: Eq + Hash>(files: &[(K, HashSet<T>)]) -> Vec<Duplicate> {
    let mut order: Vec<usize> = (0..files.len()).collect();
    order.sort_by(|&a, &b| files[a].0.as_ref().cmp(files[b].0.as_ref()));
    // id → the files (positions in `order`) that hold it.
    let mut holders: HashMap<&T, Vec<usize>> = HashMap::new();
    for (pos, &i) in order.iter().enumerate() {
        for id in &files[i].1 {
            holders.entry(id).or_default().push(pos);
        }
    }
    let mut copies: BTreeMap<String, String> = BTreeMap::new();
    for (pos, &i) in order.iter().enumerate() {
        let (key, ids) = (&files[i].0, &files[i].1);
        let Some(first) = ids.iter().next() else {
            continue;
        };
        let of = holders[first].iter().copied().find(|&other| {
            let other_ids = &files[order[other]].1;
            other != pos
                && ids.iter().all(|id| other_ids.contains(id))
                // Equal sets: only the later key is the copy.
                && (other_ids.len() > ids.len() || other < pos)
        });
        if let Some(other) = of {
            copies.insert(
                key.as_ref().to_string(),
                files[order[other]].0.as_ref().to_string(),
            );
        }
    }
    copies
        .into_iter()
        .map(|(copy, of)| Duplicate { copy, of })
        .collect()
}

/// What the run does about the copies it found: `None` when there are none (train as usual),
/// `Some(alert)` when there are: training is skipped (the users' trainer reads all of
/// `bronze/`, so it would train on doubled tickets; excluding the copy from our count alone
/// would not change what it reads) and the alert names each copy and its original.
pub fn decide(duplicates: &[Duplicate]) -> Option<DuplicateAlert> {
    (!duplicates.is_empty()).then(|| DuplicateAlert {
        subject: messages::SUBJECT_DATA_DUPLICATED,
        body: messages::data_duplicated(duplicates),
    })
}

/// The alert a run with copies sends as it ends skipped.
#[derive(Debug, Clone, PartialEq)]
pub struct DuplicateAlert {
    pub subject: &'static str,
    pub body: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dup(copy: &str, of: &str) -> Duplicate {
        Duplicate {
            copy: copy.into(),
            of: of.into(),
        }
    }

    #[test]
    fn same_etag_and_size_is_a_copy_of_the_first_key() {
        let files = [
            (
                "bronze/2026-11-14.csv",
                "\"9b2cf535f27731c974343645a3985328\"",
                5120,
            ),
            (
                "bronze/2026-11-14 (1).csv",
                "\"9B2CF535F27731C974343645A3985328\"",
                5120,
            ),
            (
                "bronze/copy/2026-11-14.csv",
                "9b2cf535f27731c974343645a3985328",
                5120,
            ),
            (
                "bronze/2026-11-15.csv",
                "\"0cc175b9c0f1b6a831c399e269772661\"",
                5120,
            ),
            // Same ETag, other size: not the same content.
            ("bronze/odd.csv", "\"0cc175b9c0f1b6a831c399e269772661\"", 99),
            // Multipart: the same string is the same content.
            (
                "bronze/big-a.csv",
                "\"d41d8cd98f00b204e9800998ecf8427e-3\"",
                20_000_000,
            ),
            (
                "bronze/big-b.csv",
                "\"d41d8cd98f00b204e9800998ecf8427e-3\"",
                20_000_000,
            ),
            // Empty files and files without an ETag are never copies.
            (
                "bronze/empty-1.csv",
                "\"d41d8cd98f00b204e9800998ecf8427e\"",
                0,
            ),
            (
                "bronze/empty-2.csv",
                "\"d41d8cd98f00b204e9800998ecf8427e\"",
                0,
            ),
            ("bronze/no-etag-1.csv", "", 10),
            ("bronze/no-etag-2.csv", "\"\"", 10),
        ];
        assert_eq!(
            duplicate_files(&files),
            vec![
                dup("bronze/2026-11-14.csv", "bronze/2026-11-14 (1).csv"),
                dup("bronze/big-b.csv", "bronze/big-a.csv"),
                dup("bronze/copy/2026-11-14.csv", "bronze/2026-11-14 (1).csv"),
            ]
        );
        let none: [(&str, &str, u64); 0] = [];
        assert_eq!(duplicate_files(&none), vec![]);
    }

    fn ids(v: &[&'static str]) -> HashSet<&'static str> {
        v.iter().copied().collect()
    }

    #[test]
    fn a_file_whose_ids_all_repeat_another_is_a_copy() {
        let files = vec![
            ("bronze/week.csv", ids(&["T1", "T2", "T3", "T4"])),
            ("bronze/monday.csv", ids(&["T1", "T2"])),
            ("bronze/a.csv", ids(&["T9", "T8"])),
            ("bronze/b.csv", ids(&["T8", "T9"])),
            ("bronze/new.csv", ids(&["T4", "T5"])),
            ("bronze/empty.csv", ids(&[])),
        ];
        assert_eq!(
            repeated_id_files(&files),
            vec![
                dup("bronze/b.csv", "bronze/a.csv"),
                dup("bronze/monday.csv", "bronze/week.csv"),
            ]
        );
    }

    #[test]
    fn copies_skip_training_with_an_alert_naming_both_files() {
        assert_eq!(decide(&[]), None);
        let alert = decide(&[dup("bronze/2026-11-14 (1).csv", "bronze/2026-11-14.csv")]).unwrap();
        assert_eq!(alert.subject, "Ticket Data Duplicated - Retraining Skipped");
        assert!(
            alert
                .body
                .contains("- bronze/2026-11-14 (1).csv is a copy of bronze/2026-11-14.csv"),
            "{}",
            alert.body
        );
        assert!(alert.body.contains("not retrained"), "{}", alert.body);
    }
}
