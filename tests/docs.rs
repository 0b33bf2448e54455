//! The documentation holds together: README.md stays short (the details live in docs/), and every
//! relative link in README.md and docs/*.md reaches a file or directory that exists, and, when it
//! names an anchor, a heading of that file whose GitHub slug is the anchor.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// README.md's budget: what it is, try it, deploy, operate, test, the layout, links.
const README_MAX_LINES: usize = 250;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// README.md and every docs/*.md.
fn documents() -> Vec<PathBuf> {
    let mut files = vec![repo().join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(repo().join("docs"))
        .expect("docs/ exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    docs.sort();
    assert!(!docs.is_empty(), "docs/ holds no .md file");
    files.extend(docs);
    files
}

/// The lines outside fenced code blocks (``` or ~~~), with their 1-based numbers.
fn prose(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut fence: Option<&str> = None;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        match fence {
            Some(f) if trimmed.starts_with(f) => fence = None,
            Some(_) => {}
            None if trimmed.starts_with("```") => fence = Some("```"),
            None if trimmed.starts_with("~~~") => fence = Some("~~~"),
            None => out.push((i + 1, line)),
        }
    }
    out
}

/// A line without its inline code spans (`...`), which hold no links. A span may go on over a
/// line break within its paragraph: `in_code` carries it from line to line.
fn without_code_spans(line: &str, in_code: &mut bool) -> String {
    let mut out = String::new();
    for c in line.chars() {
        if c == '`' {
            *in_code = !*in_code;
        } else if !*in_code {
            out.push(c);
        }
    }
    out
}

/// GitHub's anchor for a heading: lowercase, spaces to '-', every character but alphanumerics,
/// '-' and '_' dropped.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// The anchors of a markdown file's headings; a repeated heading gets `-1`, `-2`, ... as on GitHub.
fn anchors(text: &str) -> HashSet<String> {
    let mut seen = HashSet::new();
    for (_, line) in prose(text) {
        let hashes = line.chars().take_while(|&c| c == '#').count();
        if !(1..=6).contains(&hashes) || !line[hashes..].starts_with(' ') {
            continue;
        }
        let title = line[hashes..].trim().trim_end_matches('#');
        let base = slug(title);
        let mut anchor = base.clone();
        let mut n = 0;
        while seen.contains(&anchor) {
            n += 1;
            anchor = format!("{base}-{n}");
        }
        seen.insert(anchor);
    }
    seen
}

/// Every link target `[text](target)` in the prose of a file, with its line.
fn links(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut in_code = false;
    for (n, line) in prose(text) {
        if line.trim().is_empty() {
            in_code = false; // a code span ends with its paragraph
        }
        let line = without_code_spans(line, &mut in_code);
        let mut rest = line.as_str();
        while let Some(i) = rest.find("](") {
            rest = &rest[i + 2..];
            let Some(end) = rest.find(')') else { break };
            // `[text](path "title")`: the target is the first word; `<path>` keeps its brackets off.
            let target = rest[..end].split_whitespace().next().unwrap_or_default();
            let target = target.trim_start_matches('<').trim_end_matches('>');
            out.push((n, target.to_string()));
            rest = &rest[end + 1..];
        }
    }
    out
}

/// What is wrong with the relative links of `file` (its text given), one line each.
fn broken_links(file: &Path, text: &str) -> Vec<String> {
    let mut broken = Vec::new();
    let dir = file.parent().unwrap();
    for (line, target) in links(text) {
        let at = format!("{}:{line}: ({target})", file.display());
        if target.is_empty() {
            broken.push(format!("{at}: an empty link"));
            continue;
        }
        let lower = target.to_ascii_lowercase();
        if lower.starts_with("http://")
            || lower.starts_with("https://")
            || lower.starts_with("mailto:")
        {
            continue;
        }
        let (path, anchor) = match target.split_once('#') {
            Some((p, a)) => (p, Some(a)),
            None => (target.as_str(), None),
        };
        // A pure `#anchor` is a heading of this same file.
        let resolved = if path.is_empty() {
            file.to_path_buf()
        } else {
            dir.join(path)
        };
        if !path.is_empty() && !resolved.exists() {
            broken.push(format!("{at}: {} does not exist", resolved.display()));
            continue;
        }
        if let Some(anchor) = anchor {
            if resolved.extension().is_none_or(|x| x != "md") {
                broken.push(format!("{at}: an anchor into a file that is not markdown"));
                continue;
            }
            let target_text = if path.is_empty() {
                text.to_string()
            } else {
                std::fs::read_to_string(&resolved).unwrap()
            };
            if !anchors(&target_text).contains(anchor) {
                broken.push(format!(
                    "{at}: {} has no heading whose anchor is #{anchor}",
                    resolved.display()
                ));
            }
        }
    }
    broken
}

#[test]
fn the_readme_is_at_most_250_lines() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let lines = readme.lines().count();
    assert!(
        lines <= README_MAX_LINES,
        "README.md has {lines} lines, over {README_MAX_LINES}: move the details into docs/"
    );
}

#[test]
fn every_relative_link_in_the_readme_and_docs_resolves() {
    let mut broken = Vec::new();
    let mut checked = 0;
    for file in documents() {
        let text = std::fs::read_to_string(&file).unwrap();
        checked += links(&text).len();
        broken.extend(broken_links(&file, &text));
    }
    assert!(
        checked >= 20,
        "only {checked} links found: is the parser blind?"
    );
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn the_readme_links_every_docs_file() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let targets: HashSet<String> = links(&readme)
        .into_iter()
        .map(|(_, t)| t.split('#').next().unwrap().to_string())
        .collect();
    for file in documents().into_iter().skip(1) {
        let name = format!("docs/{}", file.file_name().unwrap().to_string_lossy());
        assert!(targets.contains(&name), "README.md does not link {name}");
    }
}

#[test]
fn github_slugs() {
    assert_eq!(slug("The state machine"), "the-state-machine");
    assert_eq!(
        slug("Template scanners: parliament and checkov"),
        "template-scanners-parliament-and-checkov"
    );
    assert_eq!(
        slug("2. The SageMaker execution role"),
        "2-the-sagemaker-execution-role"
    );
    assert_eq!(slug("Operating with `retrain`"), "operating-with-retrain");
    assert_eq!(
        slug("One run at a time (single-flight)"),
        "one-run-at-a-time-single-flight"
    );
    assert_eq!(slug("snake_case stays"), "snake_case-stays");
}

/// The checker itself: a missing file, a missing anchor, and an anchor inside a code block are
/// reported; good links, external links and links in code are not.
#[test]
fn a_broken_link_or_anchor_is_reported() {
    let dir = std::env::temp_dir().join(format!("docs-links-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("docs")).unwrap();
    std::fs::write(
        dir.join("docs/topic.md"),
        "# Topic\n\n## A section: with punctuation\n\n```sh\n# not a heading\n```\n",
    )
    .unwrap();
    let readme = dir.join("README.md");
    let text = "# Title\n\n\
        [ok](docs/topic.md) [ok](docs/topic.md#a-section-with-punctuation) [ok](#title) [ok](docs)\n\
        [web](https://example.com/x) [mail](mailto:a@b.c) `[code](nowhere.md)`\n\
        [gone](docs/missing.md)\n\
        [no anchor](docs/topic.md#no-such-section)\n\
        [in a fence](docs/topic.md#not-a-heading)\n\
        [here](#nowhere)\n\
        ```\n[fenced](nowhere.md)\n```\n\
        a span `over a\nline break](nowhere.md)` then [gone too](missing.md)\n";
    let broken = broken_links(&readme, text);
    std::fs::remove_dir_all(&dir).unwrap();
    let lines: Vec<usize> = broken
        .iter()
        .map(|b| b.split(':').nth(1).unwrap().parse().unwrap())
        .collect();
    assert_eq!(lines, [5, 6, 7, 8, 13], "{broken:#?}");
    assert!(broken[0].contains("does not exist"), "{}", broken[0]);
    assert!(broken[1].contains("#no-such-section"), "{}", broken[1]);
}

/// The names under template.yaml's `Parameters:` (two-space indented keys, up to the next
/// top-level key).
fn template_parameters(template: &str) -> Vec<String> {
    let start = template
        .find("\nParameters:\n")
        .expect("a Parameters section")
        + 13;
    template[start..]
        .lines()
        .take_while(|l| l.is_empty() || l.starts_with(' ') || l.starts_with('#'))
        .filter(|l| l.starts_with("  ") && !l.starts_with("   ") && l.trim_end().ends_with(':'))
        .map(|l| l.trim().trim_end_matches(':').to_string())
        .collect()
}

#[test]
fn the_documented_parameters_are_the_templates() {
    let template = std::fs::read_to_string(repo().join("template.yaml")).unwrap();
    let doc = std::fs::read_to_string(repo().join("docs/configuration.md")).unwrap();
    let section = &doc[doc.find("## The stack's parameters").unwrap()..];
    let section = &section[..section[3..].find("\n## ").map_or(section.len(), |i| i + 3)];
    let params = template_parameters(&template);
    assert!(params.len() > 20, "{params:?}");
    let mut documented: Vec<String> = section
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next())
        .map(str::to_string)
        .collect();
    assert_eq!(
        documented, params,
        "docs/configuration.md's parameter table, in template.yaml's order"
    );
    documented.dedup();
    assert_eq!(documented.len(), params.len());
}
