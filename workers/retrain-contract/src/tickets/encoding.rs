//! Text encodings other than UTF-8, named in the refusal so that whoever exports the file knows
//! what to change: UTF-16 (Excel's "Unicode Text", PowerShell's `Out-File`/`Export-Csv` of old)
//! and UTF-32 by their byte-order marks, UTF-16 without one by its NUL bytes, and Windows-1252 /
//! Latin-1 (Excel's "CSV (Comma delimited)" on Windows) by bytes that are not UTF-8 but read as
//! accented letters. UTF-8 with a byte-order mark is UTF-8.

/// What to do, the same for every encoding.
const FIX: &str = "re-export as CSV UTF-8";

/// How many bytes of the file's start are looked at for UTF-16 and UTF-32.
pub(super) const SNIFF: usize = 4096;

/// The UTF-8 byte-order mark.
pub(super) const UTF8_BOM: &[u8] = b"\xef\xbb\xbf";

/// Why a file starting with `prefix` is refused, when it is UTF-16 or UTF-32.
pub(super) fn wide(prefix: &[u8]) -> Option<String> {
    let named = |encoding: &str, how: &str| Some(format!("saved as {encoding}{how}: {FIX}"));
    const EXCEL: &str = " (Excel 'Unicode Text' / PowerShell)";
    if prefix.starts_with(b"\xff\xfe\0\0") {
        return named("UTF-32 LE", "");
    }
    if prefix.starts_with(b"\0\0\xfe\xff") {
        return named("UTF-32 BE", "");
    }
    if prefix.starts_with(b"\xff\xfe") {
        return named("UTF-16 LE", EXCEL);
    }
    if prefix.starts_with(b"\xfe\xff") {
        return named("UTF-16 BE", "");
    }
    // Without a mark: text of mostly ASCII characters in UTF-16 has a NUL in every other byte
    // (the odd ones little-endian, the even ones big-endian) and hardly any in the others.
    if !prefix.contains(&0) {
        return None;
    }
    let pairs = prefix.len() / 2;
    if pairs < 2 {
        return None;
    }
    let nul_share =
        |at: usize| prefix.chunks_exact(2).filter(|p| p[at] == 0).count() as f64 / pairs as f64;
    let (even, odd) = (nul_share(0), nul_share(1));
    if odd >= 0.6 && even <= 0.1 {
        named(
            "UTF-16 LE",
            " without a byte-order mark (Excel 'Unicode Text' / PowerShell)",
        )
    } else if even >= 0.6 && odd <= 0.1 {
        named("UTF-16 BE", " without a byte-order mark")
    } else {
        None
    }
}

/// Windows-1252's characters for 0x80-0x9F (0 where undefined); 0xA0-0xFF are Latin-1's.
const CP1252_HIGH: [char; 32] = [
    '€', '\0', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\0', 'Ž', '\0', '\0', '‘',
    '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\0', 'ž', 'Ÿ',
];

fn cp1252(b: u8) -> Option<char> {
    match b {
        0x80..=0x9f => Some(CP1252_HIGH[usize::from(b - 0x80)]).filter(|c| *c != '\0'),
        _ => Some(char::from(b)),
    }
}

/// A field that is not UTF-8 reads as Windows-1252 text: every byte over 0x7F is one of its
/// characters, and every run of them (at most two long: accented letters, curly quotes) stands
/// next to an ASCII letter or digit, as in `caf\xe9`, `Stra\xdfe`, `\x93ok\x94`, `\x805`. Stray
/// bytes (`\xff`, `\xff\xfe`, binary) do not.
pub(super) fn latin1_field(field: &[u8]) -> bool {
    let mut i = 0;
    let mut any = false;
    while i < field.len() {
        if field[i] < 0x80 {
            i += 1;
            continue;
        }
        let start = i;
        while i < field.len() && field[i] >= 0x80 {
            if cp1252(field[i]).is_none() {
                return false;
            }
            i += 1;
        }
        let beside = |j: Option<usize>| {
            j.and_then(|j| field.get(j))
                .is_some_and(u8::is_ascii_alphanumeric)
        };
        if i - start > 2 || !(beside(start.checked_sub(1)) || beside(Some(i))) {
            return false;
        }
        any = true;
    }
    any
}

/// A record that is not UTF-8 reads as Windows-1252 text: each field that is not UTF-8 does.
pub(super) fn latin1_record(record: &csv::ByteRecord) -> bool {
    record
        .iter()
        .all(|f| std::str::from_utf8(f).is_ok() || latin1_field(f))
}

/// `record` decoded as Windows-1252, its fields joined by commas.
pub(super) fn decode_cp1252(record: &csv::ByteRecord) -> String {
    record
        .iter()
        .map(|f| {
            f.iter()
                .map(|&b| cp1252(b).unwrap_or('\u{fffd}'))
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// The refusal of a Windows-1252 file, `line` reading `text` in it.
pub(super) fn latin1_refusal(line: u64, text: &str) -> String {
    format!(
        "saved as Windows-1252 / Latin-1 (Excel 'CSV (Comma delimited)' on Windows), not UTF-8: \
         line {line} reads {text} in it: {FIX}"
    )
}
