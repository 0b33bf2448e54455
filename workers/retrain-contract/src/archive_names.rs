//! Entry names of a job's `model.tar.gz` as the extractors see them, and the rule that picks
//! the archive's one top-level `metrics.json`.
//!
//! Two extractors matter: GNU tar (SageMaker hosting unpacks `model.tar.gz` with it into
//! `/opt/ml/model`) and Python's `tarfile` (what a trainer or a person checking an archive
//! uses). The gate must judge the file that will be served, so a name is read the way they
//! write it to disk, not byte for byte:
//!
//! - leading `/` are stripped (GNU tar: "Removing leading `/' from member names");
//! - empty components (`a//b`) and `.` components (`./metrics.json`) are dropped;
//! - `a/../b` resolves to `b` (Python's `tarfile` writes it there); a `..` that climbs above
//!   the model directory (`../x`, `a/../../x`) is refused. GNU tar (since 1.29) skips *any*
//!   member with a `..` component ("Member name contains '..'") and exits with status 2, so
//!   the two extractors disagree on such a member: [`TopLevelFile`] refuses an archive that
//!   holds one, whatever it resolves to;
//! - a backslash is refused. GNU tar on Linux treats `\` as an ordinary character (`.\metrics.json`
//!   is a file of that name, not `metrics.json`), Windows tools and `tarfile` on Windows treat it
//!   as a separator. The name is ambiguous, so it does not get to choose: it is refused rather
//!   than read either way.

/// What an archive entry is, from its tar header (the caller maps `tar::EntryType` onto it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// A regular file (also the old-style `\0` and contiguous file types).
    File,
    Directory,
    Symlink,
    HardLink,
    /// A device, FIFO, or any other type.
    Other,
}

impl EntryKind {
    fn describe(self) -> &'static str {
        match self {
            Self::File => "a regular file",
            Self::Directory => "a directory",
            Self::Symlink => "a symbolic link",
            Self::HardLink => "a hard link",
            Self::Other => "a special file",
        }
    }
}

/// The metrics document's name at the top of a model archive.
pub const METRICS_FILE: &str = "metrics.json";

/// What a name that resolves to the model directory itself (`./`, `a/..`) normalises to: the
/// `./` entry `tar -C dir .` writes first is legitimate and names no file.
pub const ROOT: &str = ".";

/// The path an entry named `raw` is extracted to, relative to the model directory, with `/`
/// separators and no `.`, `..` or empty components (see the module's rules); [`ROOT`] for the
/// directory itself. `Err(reason)` for an empty name, a name with a backslash or a NUL, and a
/// name whose `..` climbs above the model directory.
pub fn entry_path(raw: &str) -> Result<String, String> {
    if raw.is_empty() {
        return Err("empty entry name".into());
    }
    if raw.contains('\\') {
        return Err(format!(
            "entry name `{}` holds a backslash: GNU tar reads it as a character, Windows tools as a separator; refused as ambiguous",
            raw.escape_debug()
        ));
    }
    if raw.contains('\0') {
        return Err(format!(
            "entry name `{}` holds a NUL character",
            raw.escape_debug()
        ));
    }
    let mut parts: Vec<&str> = Vec::new();
    for component in raw.split('/') {
        match component {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(format!(
                        "entry `{}` would land outside the model directory (`..` above its root)",
                        raw.escape_debug()
                    ));
                }
            }
            c => parts.push(c),
        }
    }
    if parts.is_empty() {
        return Ok(ROOT.to_string());
    }
    Ok(parts.join("/"))
}

/// True when `raw` has a `..` component (GNU tar skips such a member; `tarfile` resolves it).
pub fn has_parent_component(raw: &str) -> bool {
    raw.split('/').any(|c| c == "..")
}

/// The rule for one top-level file of an archive (`metrics.json`), applied entry by entry so a
/// streamed reader can follow it: see each entry in order with [`TopLevelFile::see`]; it answers
/// whether this entry is the file to read, or why the archive cannot be trusted.
///
/// The archive is refused when an entry's name is refused by [`entry_path`] (empty, backslash,
/// climbing out), when an entry has a `..` component (the extractors disagree on it), when two
/// entries normalise to the file (GNU tar extracts the last over the first: what serves would
/// differ from what the gate judged), and when the entry that normalises to it is not a regular
/// file. The whole archive must be seen: a duplicate may come after the first.
#[derive(Debug, Clone)]
pub struct TopLevelFile {
    name: &'static str,
    index: usize,
    found: Option<(usize, String)>,
}

impl TopLevelFile {
    pub fn new(name: &'static str) -> Self {
        Self {
            name,
            index: 0,
            found: None,
        }
    }

    /// The next entry of the archive: `Ok(true)` when it is the file (read its content),
    /// `Ok(false)` when it is some other entry, `Err(reason)` when the archive is refused.
    pub fn see(&mut self, raw: &str, kind: EntryKind) -> Result<bool, String> {
        let index = self.index;
        self.index += 1;
        let path = entry_path(raw)?;
        if has_parent_component(raw) {
            return Err(format!(
                "entry `{}` holds a `..` component: GNU tar skips it (\"Member name contains '..'\") while Python's tarfile extracts it to `{path}`; write plain names",
                raw.escape_debug()
            ));
        }
        if path != self.name {
            return Ok(false);
        }
        if let Some((_, first)) = &self.found {
            return Err(format!(
                "the archive holds more than one {} entry (`{}` and `{}`): tar extraction keeps the last, so which one counts is ambiguous; write it once",
                self.name,
                first.escape_debug(),
                raw.escape_debug()
            ));
        }
        if kind != EntryKind::File {
            return Err(format!(
                "{} in the archive is not a regular file ({})",
                self.name,
                kind.describe()
            ));
        }
        self.found = Some((index, raw.to_string()));
        Ok(true)
    }

    /// After the last entry: the index (in the order seen) of the file's entry, if any.
    pub fn finish(self) -> Option<usize> {
        self.found.map(|(i, _)| i)
    }
}

/// The archive rule over a whole list of `(raw name, kind)` entries: the index of the one entry
/// that is the top-level `name`, `Ok(None)` when there is none, `Err(reason)` as
/// [`TopLevelFile`] says.
pub fn top_level_entry(
    entries: &[(&str, EntryKind)],
    name: &'static str,
) -> Result<Option<usize>, String> {
    let mut rule = TopLevelFile::new(name);
    for (raw, kind) in entries {
        rule.see(raw, *kind)?;
    }
    Ok(rule.finish())
}

/// [`top_level_entry`] for `metrics.json`.
pub fn metrics_entry(entries: &[(&str, EntryKind)]) -> Result<Option<usize>, String> {
    top_level_entry(entries, METRICS_FILE)
}

#[cfg(test)]
mod tests {
    use super::EntryKind::{Directory, File, HardLink, Symlink};
    use super::*;

    #[test]
    fn names_normalise_as_extractors_write_them() {
        for (raw, want) in [
            ("/metrics.json", "metrics.json"),
            ("///metrics.json", "metrics.json"),
            ("./metrics.json", "metrics.json"),
            ("././metrics.json", "metrics.json"),
            ("a/../metrics.json", "metrics.json"),
            ("a//b", "a/b"),
            ("a/./b/", "a/b"),
            ("code/inference.py", "code/inference.py"),
            ("./", ROOT),
            ("a/..", ROOT),
        ] {
            assert_eq!(entry_path(raw).as_deref(), Ok(want), "{raw}");
        }
    }

    #[test]
    fn names_that_escape_or_are_empty_or_ambiguous_are_refused() {
        for (raw, says) in [
            ("../evil", "outside the model directory"),
            ("a/../../evil", "outside the model directory"),
            ("/../evil", "outside the model directory"),
            ("", "empty"),
            (".\\metrics.json", "backslash"),
            ("a\\..\\metrics.json", "backslash"),
            ("metrics.json\0x", "NUL"),
        ] {
            let e = entry_path(raw).unwrap_err();
            assert!(e.contains(says), "{raw}: {e}");
        }
    }

    #[test]
    fn the_one_top_level_metrics_is_found_under_any_spelling() {
        for spelling in [
            "metrics.json",
            "./metrics.json",
            "/metrics.json",
            ".//metrics.json",
        ] {
            let entries = [("./", Directory), ("model.joblib", File), (spelling, File)];
            assert_eq!(metrics_entry(&entries), Ok(Some(2)), "{spelling}");
        }
        let nested = [("old/metrics.json", File), ("metrics.json.bak", File)];
        assert_eq!(metrics_entry(&nested), Ok(None));
    }

    #[test]
    fn two_spellings_of_metrics_are_a_duplicate() {
        for (first, second) in [
            ("metrics.json", "./metrics.json"),
            ("/metrics.json", "metrics.json"),
            ("./metrics.json", "//metrics.json"),
        ] {
            let entries = [(first, File), ("model.joblib", File), (second, File)];
            let e = metrics_entry(&entries).unwrap_err();
            assert!(e.contains("more than one metrics.json"), "{e}");
            assert!(e.contains(first) && e.contains(second), "{e}");
        }
    }

    #[test]
    fn archives_the_extractors_disagree_on_are_refused() {
        for (entries, says) in [
            (vec![("a/../metrics.json", File)], "GNU tar skips it"),
            (
                vec![("metrics.json", File), ("x/../y", File)],
                "`..` component",
            ),
            (
                vec![(".\\metrics.json", File), ("metrics.json", File)],
                "backslash",
            ),
            (
                vec![("../metrics.json", File)],
                "outside the model directory",
            ),
            (vec![("metrics.json", Symlink)], "a symbolic link"),
            (vec![("./metrics.json", HardLink)], "a hard link"),
            (vec![("metrics.json/", Directory)], "a directory"),
        ] {
            let e = metrics_entry(&entries).unwrap_err();
            assert!(e.contains(says), "{entries:?}: {e}");
        }
    }

    #[test]
    fn the_streamed_rule_says_which_entry_to_read() {
        let mut rule = TopLevelFile::new(METRICS_FILE);
        assert_eq!(rule.see("model.joblib", File), Ok(false));
        assert_eq!(rule.see("./metrics.json", File), Ok(true));
        assert_eq!(rule.see("code/metrics.json", File), Ok(false));
        assert_eq!(rule.finish(), Some(1));
    }
}
