//! Ticket CSVs: one row per ticket with a `created_date` column (header case and spaces vary).
//! Rows are streamed; memory grows with the number of distinct days, not with file size.

use std::collections::BTreeMap;
use std::io::Read;

use chrono::{DateTime, Duration, NaiveDate, Utc};

use crate::excerpt::quote;

mod bounds;
mod encoding;

use bounds::{Bounded, Over};
pub use bounds::{MAX_FIELD, MAX_RECORD};

pub const DATE_COLUMN: &str = "created_date";

/// Tickets per day over one or more files.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DailyCounts {
    pub per_day: BTreeMap<NaiveDate, u64>,
    pub rows: u64,
    pub bad_rows: u64,
}

impl DailyCounts {
    pub fn merge(&mut self, other: DailyCounts) {
        for (day, n) in other.per_day {
            *self.per_day.entry(day).or_default() += n;
        }
        self.rows += other.rows;
        self.bad_rows += other.bad_rows;
    }

    pub fn days(&self) -> u64 {
        self.per_day.len() as u64
    }

    /// Mean tickets per day over the days that have tickets.
    pub fn mean_daily(&self) -> Option<f64> {
        let counted: u64 = self.per_day.values().sum();
        (!self.per_day.is_empty()).then(|| counted as f64 / self.per_day.len() as f64)
    }
}

/// `" Created Date "` → `"created_date"`.
pub fn normalise_header(h: &str) -> String {
    h.trim()
        .trim_start_matches('\u{feff}')
        .trim()
        .to_ascii_lowercase()
        .split(|c: char| c.is_whitespace() || c == '-')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("_")
}

/// A date or date-time: `2026-11-02`, `2026-11-02 14:03:11`, `2026-11-02T14:03:11Z`,
/// `11/02/2026`, `11/02/2026 14:03`.
pub fn parse_day(field: &str) -> Option<NaiveDate> {
    let f = field.trim();
    let head = f.split([' ', 'T']).next()?;
    NaiveDate::parse_from_str(head, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(head, "%m/%d/%Y"))
        .ok()
}

/// The days a ticket may plausibly be dated: from the configured earliest day to one day past
/// the clock (clock skew between the ticket system and AWS). A run fixes it once (StartTraining)
/// and carries it in its payload (`run.data.window`).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DateWindow {
    pub earliest: NaiveDate,
    pub latest: NaiveDate,
}

impl DateWindow {
    pub fn at(earliest: NaiveDate, now: DateTime<Utc>) -> Self {
        DateWindow {
            earliest,
            latest: (now + Duration::days(1)).date_naive(),
        }
    }

    /// Why `day` is outside the window, None when inside.
    fn refuses(&self, day: NaiveDate) -> Option<String> {
        if day < self.earliest {
            Some(format!(
                "dated {day}, before the earliest plausible day {} (EARLIEST_TICKET_DATE)",
                self.earliest
            ))
        } else if day > self.latest {
            Some(format!(
                "dated {day}, after the latest plausible day {} (a day past the clock)",
                self.latest
            ))
        } else {
            None
        }
    }
}

/// One file's scan: its usable rows per day, its bad rows and the first one's line and reason.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FileScan {
    pub counts: DailyCounts,
    /// Of `counts.bad_rows`: rows with a readable date outside the window.
    pub out_of_window: u64,
    /// The first bad row: its line number (1 is the header) and why.
    pub first_bad: Option<(u64, String)>,
    /// The header as read (an excerpt).
    pub header: String,
    /// The order of day and month the file's `NN/NN/YYYY` dates were read in; None when it has
    /// none. Decided from all its rows: day first when some row can only be (its first number
    /// over 12), month first when some row can only be; both is an unusable file.
    pub date_order: Option<DateOrder>,
    /// Every slash date of the file reads either way (both numbers 12 or less, e.g.
    /// `01/12/2024`) and some differ by the order: it was taken as [`DEFAULT_DATE_ORDER`]
    /// (month first) without evidence. Worth a warning: if the export is day first, its days
    /// are counted on the wrong dates (see [`FileScan::date_warning`]).
    pub ambiguous_dates: bool,
}

impl FileScan {
    /// Why the file holds nothing to train on, when it holds no usable row.
    pub fn unusable(&self) -> Option<String> {
        if self.counts.rows > 0 {
            return None;
        }
        Some(match &self.first_bad {
            None => format!("header only, no ticket rows (header: {})", self.header),
            Some((line, why)) => format!(
                "no usable row: {} bad rows, the first at line {line}: {why} (header: {})",
                self.counts.bad_rows, self.header
            ),
        })
    }

    /// A warning when the file's day-month order was a guess ([`FileScan::ambiguous_dates`]).
    pub fn date_warning(&self) -> Option<String> {
        (self.ambiguous_dates).then(|| {
            format!(
                "every slash date reads either way (e.g. 01/12 as 12 January or 1 December): \
                 taken as {}, as US exports write them; if this export is {}, its tickets are \
                 counted on the wrong days: re-export with YYYY-MM-DD dates",
                DEFAULT_DATE_ORDER.pattern(),
                DateOrder::DayFirst.pattern()
            )
        })
    }

    fn bad(&mut self, line: u64, why: impl FnOnce() -> String) {
        self.counts.bad_rows += 1;
        if self.first_bad.is_none() {
            self.first_bad = Some((line, why()));
        }
    }
}

/// Why the read stopped, when it went over a bound ([`bounds`]); `start` is the line the
/// record being read starts on.
fn over_bound<R: Read>(csv: &csv::Reader<Bounded<R>>, start: u64) -> Option<String> {
    let line = csv.position().line();
    Some(match csv.get_ref().over? {
        Over::Line => format!(
            "line {line} is longer than 1 MiB (a file without line breaks? a one-line dump, or \
             line endings this reader does not know): a ticket CSV holds one ticket per line"
        ),
        Over::Record => format!(
            "the record starting at line {start} is longer than 1 MiB, over {} lines (a quote \
             never closed?)",
            line.saturating_sub(start) + 1
        ),
        Over::Field => format!(
            "line {line} holds a field longer than 64 KiB (an attachment, a log or an image \
             pasted into a cell?)"
        ),
    })
}

/// A field of `record` longer than [`MAX_FIELD`], as a reason naming `line`: a quoted field
/// with delimiters inside, which [`Bounded`] cannot tell from several fields.
fn long_field(record: &csv::ByteRecord, line: u64) -> Option<String> {
    if (record.as_slice().len() as u64) <= MAX_FIELD {
        return None;
    }
    let (i, f) = record
        .iter()
        .enumerate()
        .find(|(_, f)| f.len() as u64 > MAX_FIELD)?;
    Some(format!(
        "line {line}: field {} is {} KiB, longer than 64 KiB (an attachment, a log or an image \
         pasted into a cell?)",
        i + 1,
        f.len() >> 10
    ))
}

/// Count one CSV stream, keeping rows dated inside `window`. `Err` says why the file is not a
/// ticket CSV at all (empty, binary, UTF-16, UTF-32 or Windows-1252 text, no header, no
/// `created_date` column, a record or a field over its bound ([`MAX_RECORD`], [`MAX_FIELD`]),
/// slash dates in both day-month orders, a read error); a row that cannot be read or
/// dated, or is dated outside the window, is a bad row. Memory stays flat: it grows with the
/// number of distinct days, and a record is never buffered past its bound.
pub fn count_daily(reader: impl Read, window: DateWindow) -> Result<FileScan, String> {
    let (reader, sniffed) = sniff(reader)?;
    let mut csv = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(true)
        .from_reader(Bounded::new(reader));
    let (header, column, utf8_header) = read_header(&mut csv, &sniffed)?;
    let mut rows = Rows {
        scan: FileScan {
            header,
            ..Default::default()
        },
        column,
        window,
        utf8_seen: sniffed.utf8_bom || utf8_header,
        text_like: sniffed.text_like,
        latin1: None,
        run: None,
        run_field: Vec::with_capacity(32),
        slash: SlashDates::default(),
    };
    let mut record = csv::ByteRecord::new();
    loop {
        let line = csv.position().line();
        match csv.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let next = csv.position().byte();
                csv.get_mut().record_starts_at(next);
                let line = record.position().map(|p| p.line()).unwrap_or(line);
                rows.record(&record, line)?;
            }
            // An I/O error ends the stream; a malformed row (e.g. bad UTF-8) is one bad row.
            Err(e) if e.is_io_error() => {
                let start = record.position().map(|p| p.line()).unwrap_or(line);
                return Err(over_bound(&csv, start).unwrap_or_else(|| format!("read failed: {e}")));
            }
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(line);
                rows.scan.bad(line, || format!("unreadable row: {e}"));
            }
        }
    }
    rows.finish()
}

/// What the first bytes of a file say before it is read as CSV.
struct Sniffed {
    /// It starts with UTF-8's byte-order mark: evidence of UTF-8.
    utf8_bom: bool,
    /// No control bytes other than white space: text, not binary.
    text_like: bool,
}

/// The first bytes read ahead (a wide encoding is refused from them), and the whole stream
/// again to read on.
fn sniff(mut reader: impl Read) -> Result<(impl Read, Sniffed), String> {
    let mut prefix = Vec::with_capacity(encoding::SNIFF);
    (&mut reader)
        .take(encoding::SNIFF as u64)
        .read_to_end(&mut prefix)
        .map_err(|e| format!("read failed: {e}"))?;
    if let Some(why) = encoding::wide(&prefix) {
        return Err(why);
    }
    let sniffed = Sniffed {
        utf8_bom: prefix.starts_with(encoding::UTF8_BOM),
        text_like: !prefix
            .iter()
            .any(|&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0c)),
    };
    Ok((std::io::Cursor::new(prefix).chain(reader), sniffed))
}

/// The header: quoted for reasons, the index of the date column, and whether it holds non-ASCII
/// UTF-8 (evidence of UTF-8). `Err`: no header, binary, Windows-1252 text, no date column.
fn read_header<R: Read>(
    csv: &mut csv::Reader<Bounded<R>>,
    sniffed: &Sniffed,
) -> Result<(String, usize, bool), String> {
    let raw_header = match csv.byte_headers().cloned() {
        Ok(h) => h,
        Err(e) => {
            return Err(over_bound(csv, 1).unwrap_or_else(|| format!("unreadable header: {e}")))
        }
    };
    if let Some(why) = long_field(&raw_header, 1) {
        return Err(why);
    }
    let start = csv.position().byte();
    csv.get_mut().record_starts_at(start);
    if raw_header.is_empty()
        || raw_header
            .iter()
            .all(|f| f.iter().all(u8::is_ascii_whitespace))
    {
        return Err("empty: no header and no rows".into());
    }
    if raw_header.iter().any(|f| f.contains(&0)) {
        return Err("binary, not a CSV text file (NUL bytes in the first line)".into());
    }
    let mut utf8 = false;
    if !raw_header.as_slice().is_ascii() {
        if raw_header.iter().all(|f| std::str::from_utf8(f).is_ok()) {
            utf8 = true;
        } else if sniffed.text_like && encoding::latin1_record(&raw_header) {
            let text = quote(&encoding::decode_cp1252(&raw_header));
            return Err(encoding::latin1_refusal(1, &text));
        }
    }
    let headers = csv
        .headers()
        .map_err(|e| format!("binary or not UTF-8 text (the header is not UTF-8: {e})"))?
        .clone();
    let header = quote(&headers.iter().collect::<Vec<_>>().join(","));
    let column = headers
        .iter()
        .position(|h| normalise_header(h) == DATE_COLUMN)
        .ok_or_else(|| format!("no `{DATE_COLUMN}` column (header: {header})"))?;
    Ok((header, column, utf8))
}

/// The rows of one file as they stream by. Per row, only what must be: the record's bytes (no
/// String per field), UTF-8 checked only when the record is not all ASCII, the date read by hand
/// in the form nearly every export writes, and consecutive rows of one day counted together
/// before they reach the map: a row whose date field is byte for byte the run's is that day
/// without being read again.
struct Rows {
    scan: FileScan,
    column: usize,
    window: DateWindow,
    /// Evidence of UTF-8 (a mark, a non-ASCII UTF-8 row) against that of Windows-1252 (the
    /// first row that is not UTF-8 but reads as Windows-1252 text).
    utf8_seen: bool,
    text_like: bool,
    latin1: Option<(u64, String)>,
    /// The run of consecutive rows whose date field is byte for byte `run_field`, all inside
    /// the window (both readings of a slash date that reads either way): counted when it ends.
    run: Option<(Dated, u64)>,
    run_field: Vec<u8>,
    slash: SlashDates,
}

impl Rows {
    /// One record at `line`: `Err` when it refuses the whole file (a field over its bound).
    fn record(&mut self, record: &csv::ByteRecord, line: u64) -> Result<(), String> {
        // The fields' bytes end to end: all blank exactly when every field is.
        let bytes = record.as_slice();
        if bytes.trim_ascii().is_empty() {
            return Ok(());
        }
        if let Some(why) = long_field(record, line) {
            return Err(why);
        }
        if !bytes.is_ascii() {
            if let Some(i) = record.iter().position(|f| std::str::from_utf8(f).is_err()) {
                if self.latin1.is_none() && encoding::latin1_record(record) {
                    self.latin1 = Some((line, encoding::decode_cp1252(record)));
                }
                self.scan.bad(line, || {
                    format!("unreadable row: field {} is not UTF-8", i + 1)
                });
                return Ok(());
            }
            self.utf8_seen = true;
        }
        let field = record.get(self.column).unwrap_or_default();
        if let Some((_, n)) = &mut self.run {
            if field == self.run_field.as_slice() {
                *n += 1;
                return Ok(());
            }
        }
        if let Some(dated) = self.dated_in_window(field, line) {
            self.run_field.clear();
            self.run_field.extend_from_slice(field);
            match &mut self.run {
                Some((d, n)) if *d == dated => *n += 1,
                _ => {
                    if let Some((d, n)) = self.run.replace((dated, 1)) {
                        d.count(n, &mut self.scan.counts, &mut self.slash.either);
                    }
                }
            }
        }
        Ok(())
    }

    /// The row's day (or both readings of a slash date that reads either way) when it is
    /// inside the window; otherwise the row is counted bad (or, at a window's edge, each
    /// reading takes it on its own) and None.
    fn dated_in_window(&mut self, field: &[u8], line: u64) -> Option<Dated> {
        let dated = match iso_day(field) {
            Some(day) => Some(Dated::One(day)),
            None => std::str::from_utf8(field)
                .ok()
                .and_then(|f| self.slash.read(f, line)),
        };
        match dated {
            None => {
                self.scan.bad(line, || {
                    format!(
                        "no readable `{DATE_COLUMN}`: {}",
                        quote(&String::from_utf8_lossy(field))
                    )
                });
                None
            }
            Some(Dated::One(day)) => match self.window.refuses(day) {
                Some(why) => {
                    self.scan.out_of_window += 1;
                    self.scan.bad(line, || why);
                    None
                }
                None => dated,
            },
            Some(Dated::Either(days)) => {
                let refused = days.map(|d| self.window.refuses(d));
                if refused.iter().any(Option::is_some) {
                    // Rare (a window's edge): each reading takes the row on its own.
                    for ((reading, day), why) in self.slash.either.iter_mut().zip(days).zip(refused)
                    {
                        reading.take(day, 1, why.map(|why| (line, why)));
                    }
                    None
                } else {
                    dated
                }
            }
        }
    }

    /// The counts, once the last run is in and the file's date order is decided; `Err` for a
    /// Windows-1252 file or dates in both orders.
    fn finish(mut self) -> Result<FileScan, String> {
        if let Some((d, n)) = self.run.take() {
            d.count(n, &mut self.scan.counts, &mut self.slash.either);
        }
        if let (Some((line, text)), false, true) = (&self.latin1, self.utf8_seen, self.text_like) {
            return Err(encoding::latin1_refusal(*line, &quote(text)));
        }
        self.slash.decide(&mut self.scan)?;
        Ok(self.scan)
    }
}

/// The order of day and month in a file's `NN/NN/YYYY` dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateOrder {
    /// `MM/DD/YYYY` (US exports).
    MonthFirst,
    /// `DD/MM/YYYY` (most of the rest of the world).
    DayFirst,
}

impl DateOrder {
    pub fn pattern(self) -> &'static str {
        match self {
            DateOrder::MonthFirst => "MM/DD/YYYY",
            DateOrder::DayFirst => "DD/MM/YYYY",
        }
    }
}

/// The order a file whose slash dates all read either way is taken in: month first, as
/// `parse_day` reads them (US exports), reported by [`FileScan::ambiguous_dates`].
pub const DEFAULT_DATE_ORDER: DateOrder = DateOrder::MonthFirst;

/// A row's day: one, or two when its slash date reads either way (`[month first, day first]`).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Dated {
    One(NaiveDate),
    Either([NaiveDate; 2]),
}

impl Dated {
    /// `n` rows of this day, all inside the window.
    fn count(self, n: u64, counts: &mut DailyCounts, either: &mut [Reading; 2]) {
        match self {
            Dated::One(day) => {
                *counts.per_day.entry(day).or_default() += n;
                counts.rows += n;
            }
            Dated::Either(days) => {
                for (reading, day) in either.iter_mut().zip(days) {
                    reading.take(day, n, None);
                }
            }
        }
    }
}

/// What the rows whose slash date reads either way count in one reading.
#[derive(Debug, Default)]
struct Reading {
    per_day: BTreeMap<NaiveDate, u64>,
    rows: u64,
    out_of_window: u64,
    first_bad: Option<(u64, String)>,
}

impl Reading {
    /// `n` rows of `day`, or one refused by the window (its line and why).
    fn take(&mut self, day: NaiveDate, n: u64, refused: Option<(u64, String)>) {
        match refused {
            None => {
                *self.per_day.entry(day).or_default() += n;
                self.rows += n;
            }
            Some(bad) => {
                self.out_of_window += 1;
                self.first_bad.get_or_insert(bad);
            }
        }
    }
}

/// A file's slash dates, read both ways while streaming (a stream cannot be read twice): the
/// first row that can only be day first (its first number over 12), the first that can only
/// be month first, and the rows that read either way counted in both readings (two maps of
/// days: memory still grows with distinct days only). The order is decided at the end.
#[derive(Debug, Default)]
struct SlashDates {
    day_first_only: Option<(u64, String)>,
    month_first_only: Option<(u64, String)>,
    /// Any row with a slash date that reads as a day.
    seen: bool,
    /// `[month first, day first]`.
    either: [Reading; 2],
}

impl SlashDates {
    /// A field that is not `YYYY-MM-DD`: a slash date (noting which orders it can be), or
    /// what `parse_day` reads.
    fn read(&mut self, field: &str, line: u64) -> Option<Dated> {
        let Some((a, b, year)) = slash_numbers(field) else {
            return if field.contains('/') {
                None
            } else {
                parse_day(field).map(Dated::One)
            };
        };
        let month_first = NaiveDate::from_ymd_opt(year, a, b);
        let day_first = NaiveDate::from_ymd_opt(year, b, a);
        let note = |first: &mut Option<(u64, String)>| {
            first.get_or_insert_with(|| (line, quote(field.trim())));
        };
        let dated = match (a, b) {
            (1..=12, 1..=12) if a == b => month_first.map(Dated::One),
            (1..=12, 1..=12) => Some(Dated::Either([month_first?, day_first?])),
            (13..=31, 1..=12) => {
                note(&mut self.day_first_only);
                day_first.map(Dated::One)
            }
            (1..=12, 13..=31) => {
                note(&mut self.month_first_only);
                month_first.map(Dated::One)
            }
            _ => None,
        };
        self.seen |= dated.is_some();
        dated
    }

    /// The file's order, into `scan` with the rows that read either way counted in it; `Err`
    /// when some rows can only be day first and others only month first.
    fn decide(self, scan: &mut FileScan) -> Result<(), String> {
        let order = match (&self.day_first_only, &self.month_first_only) {
            (Some((d_line, d)), Some((m_line, m))) => {
                return Err(format!(
                    "dates in both orders: line {d_line} {d} can only be day first (DD/MM/YYYY), \
                     line {m_line} {m} only month first (MM/DD/YYYY): re-export with one date \
                     format, ideally YYYY-MM-DD"
                ))
            }
            (Some(_), None) => DateOrder::DayFirst,
            (None, Some(_)) => DateOrder::MonthFirst,
            (None, None) => {
                let [month_first, day_first] = &self.either;
                scan.ambiguous_dates = month_first.rows
                    + month_first.out_of_window
                    + day_first.rows
                    + day_first.out_of_window
                    > 0;
                DEFAULT_DATE_ORDER
            }
        };
        let any = self.seen || self.day_first_only.is_some() || self.month_first_only.is_some();
        scan.date_order = any.then_some(order);
        let [month_first, day_first] = self.either;
        let reading = match order {
            DateOrder::MonthFirst => month_first,
            DateOrder::DayFirst => day_first,
        };
        for (day, n) in reading.per_day {
            *scan.counts.per_day.entry(day).or_default() += n;
        }
        scan.counts.rows += reading.rows;
        scan.counts.bad_rows += reading.out_of_window;
        scan.out_of_window += reading.out_of_window;
        if let Some(bad) = reading.first_bad {
            if scan
                .first_bad
                .as_ref()
                .is_none_or(|(line, _)| *line > bad.0)
            {
                scan.first_bad = Some(bad);
            }
        }
        Ok(())
    }
}

/// `a/b/YYYY` at the start of a field (one or two digits, one or two digits, four digits),
/// then its end, a space or a `T`: the numbers, in the order written.
fn slash_numbers(field: &str) -> Option<(u32, u32, i32)> {
    let f = field.trim();
    let head = f.split([' ', 'T']).next()?;
    let mut parts = head.split('/');
    let mut number = |max_digits: usize, min_digits: usize| {
        let p = parts.next()?;
        (p.len() >= min_digits && p.len() <= max_digits && p.bytes().all(|b| b.is_ascii_digit()))
            .then(|| p.parse::<u32>().ok())
            .flatten()
    };
    let (a, b, y) = (number(2, 1)?, number(2, 1)?, number(4, 4)?);
    parts.next().is_none().then_some((a, b, y as i32))
}

/// `YYYY-MM-DD` at the start of a field, then its end, a space or a `T`: the form nearly every
/// export writes, read without a format parser. Anything else is None, and `parse_day` decides
/// (it reads the same dates the same way, and the other forms).
fn iso_day(field: &[u8]) -> Option<NaiveDate> {
    let f = field.trim_ascii();
    let head = f.get(..10)?;
    if head[4] != b'-' || head[7] != b'-' || f.get(10).is_some_and(|c| !matches!(c, b' ' | b'T')) {
        return None;
    }
    let number = |digits: &[u8]| {
        digits.iter().try_fold(0u32, |n, &b| {
            b.is_ascii_digit().then(|| n * 10 + u32::from(b - b'0'))
        })
    };
    let (y, m, d) = (
        number(&head[..4])?,
        number(&head[5..7])?,
        number(&head[8..])?,
    );
    NaiveDate::from_ymd_opt(y as i32, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2000-01-01 to 2026-11-28 (the clock at 2026-11-27).
    fn window() -> DateWindow {
        DateWindow::at(
            day("2000-01-01"),
            DateTime::parse_from_rfc3339("2026-11-27T12:00:00Z")
                .unwrap()
                .with_timezone(&Utc),
        )
    }

    fn count(text: &[u8]) -> Result<DailyCounts, String> {
        count_daily(text, window()).map(|s| s.counts)
    }

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn counts_rows_per_day_with_any_header_style() {
        let csv = "ticket_id, Created Date ,priority\n\
                   1,2026-11-02 08:00:00,high\n\
                   2,2026-11-02T09:10:00Z,low\n\
                   3,11/03/2026,low\n\
                   \n\
                   4,2026-11-03,low\n";
        let c = count(csv.as_bytes()).unwrap();
        assert_eq!(c.rows, 4);
        assert_eq!(c.bad_rows, 0);
        assert_eq!(c.per_day[&day("2026-11-02")], 2);
        assert_eq!(c.per_day[&day("2026-11-03")], 2);
        assert_eq!(c.mean_daily(), Some(2.0));
    }

    #[test]
    fn bad_rows_are_counted_not_fatal() {
        let csv = b"CREATED_DATE,x\n2026-11-02,a\nnot a date,b\n,c\n2026-13-45,d\n\xff\xfe,e\n2026-11-04,f\n";
        let c = count(&csv[..]).unwrap();
        assert_eq!(c.rows, 2);
        assert_eq!(c.bad_rows, 4);
        assert_eq!(c.days(), 2);
    }

    #[test]
    fn a_file_without_the_column_is_an_error() {
        let e = count(b"id,opened\n1,2026-11-02\n").unwrap_err();
        assert!(e.contains("created_date"), "{e}");
        assert!(count(b"").is_err());
    }

    #[test]
    fn merging_adds_up() {
        let mut a = count(b"created_date\n2026-11-02\n2026-11-02\n").unwrap();
        a.merge(count(b"created_date\n2026-11-02\n2026-11-05\nbad\n").unwrap());
        assert_eq!(a.per_day[&day("2026-11-02")], 3);
        assert_eq!(a.rows, 4);
        assert_eq!(a.bad_rows, 1);
        assert_eq!(a.mean_daily(), Some(2.0));
        assert_eq!(DailyCounts::default().mean_daily(), None);
    }

    /// Every kind of file a new week can bring, and what the scan makes of it: refused as a
    /// whole (the reason), or counted with its usable rows, bad rows and the first bad line.
    #[test]
    fn ticket_files_table() {
        // (case, file, Err substring | (rows, bad rows, first bad line, unusable reason substring))
        type Expect = Result<(u64, u64, Option<u64>, Option<&'static str>), &'static str>;
        let cases: Vec<(&str, Vec<u8>, Expect)> = vec![
            (
                "good",
                b"created_date\n2026-11-02\n2026-11-03\n".to_vec(),
                Ok((2, 0, None, None)),
            ),
            ("empty", b"".to_vec(), Err("empty")),
            ("blank lines", b"\n\n  \n".to_vec(), Err("empty")),
            (
                "header only",
                b"ticket_id,Created Date\n".to_vec(),
                Ok((0, 0, None, Some("header only"))),
            ),
            (
                "no created_date",
                b"id,opened_at\n1,2026-11-02\n".to_vec(),
                Err("no `created_date` column (header: `id,opened_at`)"),
            ),
            (
                "binary",
                b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec(),
                Err("binary"),
            ),
            (
                "gzip by mistake",
                vec![0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03],
                Err("binary"),
            ),
            (
                "only bad dates",
                b"created_date\nsoon\nn/a\n".to_vec(),
                Ok((
                    0,
                    2,
                    Some(2),
                    Some("the first at line 2: no readable `created_date`: `soon`"),
                )),
            ),
            (
                "decades ahead",
                b"created_date\n2026-11-02\n2061-03-01\n".to_vec(),
                Ok((1, 1, Some(3), None)),
            ),
            (
                "only future",
                b"created_date\n2061-03-01\n".to_vec(),
                Ok((
                    0,
                    1,
                    Some(2),
                    Some("after the latest plausible day 2026-11-28"),
                )),
            ),
            (
                "epoch default",
                b"created_date\n1970-01-01\n2026-11-02\n".to_vec(),
                Ok((1, 1, Some(2), None)),
            ),
            (
                "a day of clock skew",
                b"created_date\n2026-11-28T23:59:00Z\n".to_vec(),
                Ok((1, 0, None, None)),
            ),
            (
                "bad UTF-8 row",
                b"created_date,x\n2026-11-02,\xff\n2026-11-02,a\n".to_vec(),
                Ok((1, 1, Some(2), None)),
            ),
        ];
        for (name, file, expect) in cases {
            let got = count_daily(&file[..], window());
            match (got, expect) {
                (Err(e), Err(says)) => assert!(e.contains(says), "{name}: {e}"),
                (Ok(s), Ok((rows, bad, first, unusable))) => {
                    assert_eq!(s.counts.rows, rows, "{name}");
                    assert_eq!(s.counts.bad_rows, bad, "{name}");
                    assert_eq!(s.first_bad.as_ref().map(|f| f.0), first, "{name}");
                    match (s.unusable(), unusable) {
                        (None, None) => {}
                        (Some(r), Some(says)) => assert!(r.contains(says), "{name}: {r}"),
                        (got, want) => panic!("{name}: unusable {got:?}, expected {want:?}"),
                    }
                }
                (got, want) => panic!("{name}: got {got:?}, expected {want:?}"),
            }
        }
    }

    #[test]
    fn the_fast_date_reads_what_parse_day_reads() {
        for field in [
            "2026-11-02",
            " 2026-11-02 ",
            "2026-11-02 08:00:00",
            "2026-11-02T09:10:00Z",
            "2026-02-29",
            "2024-02-29",
            "2026-13-45",
            "2026-1-05",
            "2026-11-02x",
            "11/03/2026",
            "+2026-11-02",
            "２０２６-11-02",
            "",
        ] {
            let fast = iso_day(field.as_bytes());
            assert!(
                fast.is_none() || fast == parse_day(field),
                "{field}: {fast:?} vs {:?}",
                parse_day(field)
            );
        }
        assert_eq!(iso_day(b"2026-11-02T09:10:00Z"), Some(day("2026-11-02")));
        assert_eq!(iso_day(b"2026-02-29"), None, "not a day");
        assert_eq!(iso_day(b"11/03/2026"), None, "parse_day's to read");
    }

    #[test]
    fn consecutive_and_interleaved_days_count_the_same() {
        let csv = "created_date\n2026-11-02\n2026-11-02\n2026-11-03\n2026-11-02\n11/03/2026\n2026-11-03\n";
        let c = count(csv.as_bytes()).unwrap();
        assert_eq!(c.per_day[&day("2026-11-02")], 3);
        assert_eq!(c.per_day[&day("2026-11-03")], 3);
        assert_eq!(c.rows, 6);
    }

    /// What the scan's shortcuts (the ASCII check, a repeated date field taken as the run's day)
    /// must never change: the counts of reading every row in full, with `parse_day` alone.
    #[test]
    fn the_shortcuts_count_what_reading_every_row_counts() {
        let rows: [&[u8]; 14] = [
            b"1,2026-11-02,mail",
            b"2,2026-11-02,mail",
            b"3,2061-01-01,mail",
            b"4,2061-01-01,mail",
            b"5,2026-11-02,caf\xc3\xa9",
            b"6,2026-11-02,\xff",
            b"7,2026-11-02 ,mail",
            b"8,\"2026-11-03\",\"a, b\"",
            b"9,2026-11-03,mail",
            b" , ,",
            b"10,11/03/2026,mail",
            b"11,11/03/2026,mail",
            b"12,soon,mail",
            b"13,2026-11-02T10:00:00Z,mail",
        ];
        let mut file = b"id,created_date,channel\n".to_vec();
        // Every row after every other, so each shortcut meets each kind of neighbour.
        for a in rows {
            for b in rows {
                for r in [a, b] {
                    file.extend_from_slice(r);
                    file.push(b'\n');
                }
            }
        }
        let mut want = DailyCounts::default();
        let mut first_bad = None;
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(&file[..]);
        for record in reader.byte_records() {
            let record = record.unwrap();
            if record.iter().all(|f| f.trim_ascii().is_empty()) {
                continue;
            }
            let day = record
                .iter()
                .map(std::str::from_utf8)
                .collect::<Result<Vec<_>, _>>()
                .ok()
                .and_then(|fields| parse_day(fields[1]))
                .filter(|d| window().refuses(*d).is_none());
            match day {
                Some(d) => {
                    *want.per_day.entry(d).or_default() += 1;
                    want.rows += 1;
                }
                None => {
                    want.bad_rows += 1;
                    first_bad = first_bad.or(record.position().map(|p| p.line()));
                }
            }
        }
        let got = count_daily(&file[..], window()).unwrap();
        assert_eq!(got.counts, want);
        assert_eq!(got.first_bad.map(|(line, _)| line), first_bad);
        assert!(first_bad.is_some());
        assert!(want.rows > 100 && want.bad_rows > 100, "{want:?}");
        assert_eq!(got.out_of_window, 2 * 2 * 14);
    }

    /// A reader that counts the bytes the scan pulled from it.
    struct Pulled<'a>(&'a [u8], std::rc::Rc<std::cell::Cell<usize>>);

    impl Read for Pulled<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.0.read(buf)?;
            self.1.set(self.1.get() + n);
            Ok(n)
        }
    }

    /// The scan's result and how many bytes it pulled before it ended.
    fn pulled(file: &[u8]) -> (Result<FileScan, String>, usize) {
        let n = std::rc::Rc::new(std::cell::Cell::new(0));
        let got = count_daily(Pulled(file, n.clone()), window());
        (got, n.get())
    }

    /// Stopped at the bound, not at the end of the file: what it buffered is at most the bound
    /// and one read of the csv reader.
    const STOPPED_BY: usize = MAX_RECORD as usize + 64 * 1024;

    #[test]
    fn a_file_without_line_breaks_is_refused_at_the_record_bound() {
        // A one-line dump: 20 MB of rows with the line breaks lost.
        let mut file = b"created_date,x\n".to_vec();
        while file.len() < 20_000_000 {
            file.extend_from_slice(b"2026-11-02,mail ");
        }
        let (got, n) = pulled(&file);
        let e = got.unwrap_err();
        assert!(
            e.starts_with("line 2 is longer than 1 MiB (a file without line breaks?"),
            "{e}"
        );
        assert!(n < STOPPED_BY, "{n}");
        // The header line itself, a field each: still the line bound, named line 1.
        let one_line: Vec<u8> = file[15..]
            .iter()
            .map(|&b| if b == b' ' { b',' } else { b })
            .collect();
        let (got, n) = pulled(&one_line);
        let e = got.unwrap_err();
        assert!(e.starts_with("line 1 is longer than 1 MiB"), "{e}");
        assert!(n < STOPPED_BY, "{n}");
    }

    #[test]
    fn a_huge_field_is_refused_at_the_field_bound() {
        // One ticket with a 5 MB field (a pasted attachment), then good rows.
        let mut file = b"created_date,body\n2026-11-02,a\n2026-11-02,".to_vec();
        file.extend(std::iter::repeat_n(b'x', 5_000_000));
        file.extend_from_slice(b"\n2026-11-03,b\n");
        let (got, pulled) = pulled(&file);
        let e = got.unwrap_err();
        assert!(
            e.starts_with("line 3 holds a field longer than 64 KiB"),
            "{e}"
        );
        assert!(pulled < MAX_FIELD as usize + 64 * 1024, "{pulled}");
        // Quoted, with delimiters and line breaks inside: the field is measured once read.
        let mut file = b"created_date,body\n2026-11-02,\"".to_vec();
        for _ in 0..2_000 {
            file.extend_from_slice(b"a line of the body, with a comma and then more words\n");
        }
        file.extend_from_slice(b"\"\n2026-11-03,b\n");
        let e = count_daily(&file[..], window()).unwrap_err();
        assert!(
            e.starts_with("line 2: field 2 is 103 KiB, longer than 64 KiB"),
            "{e}"
        );
    }

    #[test]
    fn a_quote_never_closed_is_refused_at_the_record_bound() {
        let mut file = b"created_date,body\n2026-11-02,a\n2026-11-02,\"oops\n".to_vec();
        while file.len() < 5_000_000 {
            file.extend_from_slice(b"2026-11-02,a row swallowed by the open quote\n");
        }
        let (got, pulled) = pulled(&file);
        let e = got.unwrap_err();
        assert!(
            e.starts_with("the record starting at line 3 is longer than 1 MiB, over"),
            "{e}"
        );
        assert!(e.contains("a quote never closed?"), "{e}");
        assert!(pulled < STOPPED_BY, "{pulled}");
    }

    #[test]
    fn big_files_of_short_lines_are_within_the_bounds() {
        // 3 MB each: `\n`, `\r\n` and old-Mac `\r` line endings, and a long but allowed field.
        for end in [&b"\n"[..], b"\r\n", b"\r"] {
            let mut file = b"created_date,body".to_vec();
            file.extend_from_slice(end);
            let mut rows = 0;
            while file.len() < 3_000_000 {
                file.extend_from_slice(b"2026-11-02,");
                file.extend(std::iter::repeat_n(
                    b'x',
                    if rows == 7 { 60_000 } else { 40 },
                ));
                file.extend_from_slice(end);
                rows += 1;
            }
            let scan = count_daily(&file[..], window()).unwrap();
            assert_eq!(scan.counts.rows, rows, "{end:?}");
            assert_eq!(scan.counts.bad_rows, 0, "{end:?}");
        }
    }

    fn scan(text: &str) -> Result<FileScan, String> {
        count_daily(text.as_bytes(), window())
    }

    #[test]
    fn a_day_first_file_is_read_day_first_all_through() {
        // One row that can only be day first decides the file: 01/11 is 1 November, not 11 January.
        let s = scan(
            "created_date\n01/11/2026\n02/11/2026 08:00\n02/11/2026\n13/11/2026\n2026-11-02\n",
        )
        .unwrap();
        assert_eq!(s.date_order, Some(DateOrder::DayFirst));
        assert!(!s.ambiguous_dates);
        assert_eq!(s.date_warning(), None);
        assert_eq!(s.counts.bad_rows, 0);
        assert_eq!(s.counts.rows, 5);
        assert_eq!(s.counts.per_day[&day("2026-11-01")], 1);
        assert_eq!(s.counts.per_day[&day("2026-11-02")], 3);
        assert_eq!(s.counts.per_day[&day("2026-11-13")], 1);
        // The deciding row last or first, the same counts.
        let t = scan(
            "created_date\n13/11/2026\n2026-11-02\n02/11/2026\n01/11/2026\n02/11/2026 08:00\n",
        )
        .unwrap();
        assert_eq!(t.counts, s.counts);
    }

    #[test]
    fn a_month_first_file_is_read_month_first() {
        let s = scan("created_date\n11/01/2026\n11/13/2026\n11/02/2026\n").unwrap();
        assert_eq!(s.date_order, Some(DateOrder::MonthFirst));
        assert!(!s.ambiguous_dates);
        assert_eq!(s.counts.per_day[&day("2026-11-01")], 1);
        assert_eq!(s.counts.per_day[&day("2026-11-02")], 1);
        assert_eq!(s.counts.per_day[&day("2026-11-13")], 1);
    }

    #[test]
    fn dates_in_both_orders_are_refused() {
        let e = scan("created_date\n01/11/2026\n13/11/2026\n11/02/2026\n11/14/2026\n").unwrap_err();
        assert!(
            e.starts_with(
                "dates in both orders: line 3 `13/11/2026` can only be day first (DD/MM/YYYY), \
                 line 5 `11/14/2026` only month first (MM/DD/YYYY)"
            ),
            "{e}"
        );
    }

    #[test]
    fn dates_that_read_either_way_default_to_month_first_and_say_so() {
        let s = scan("created_date\n01/12/2024\n02/11/2024\n02/11/2024\n").unwrap();
        assert_eq!(s.date_order, Some(DEFAULT_DATE_ORDER));
        assert_eq!(DEFAULT_DATE_ORDER, DateOrder::MonthFirst);
        assert!(s.ambiguous_dates);
        assert!(s.date_warning().unwrap().contains("taken as MM/DD/YYYY"));
        assert_eq!(s.counts.per_day[&day("2024-01-12")], 1);
        assert_eq!(s.counts.per_day[&day("2024-02-11")], 2);
        // The same either way (05/05) is no ambiguity; ISO dates have no order at all.
        let same = scan("created_date\n05/05/2024\n").unwrap();
        assert_eq!(
            (same.date_order, same.ambiguous_dates),
            (Some(DateOrder::MonthFirst), false)
        );
        let iso = scan("created_date\n2024-05-06\n").unwrap();
        assert_eq!((iso.date_order, iso.ambiguous_dates), (None, false));
        // Not a day in either order, or not a slash date this scan reads: bad rows, no order.
        let bad = scan("created_date\n13/13/2024\n11/03/26\n1/2/3/2024\n").unwrap();
        assert_eq!((bad.counts.bad_rows, bad.date_order), (3, None));
    }

    #[test]
    fn the_window_applies_to_the_reading_chosen() {
        // The clock is at 2026-11-27: 01/12/2026 is 12 January read month first, 1 December
        // (too late) read day first.
        let s = scan("created_date\n28/11/2026\n01/12/2026\n01/12/2026\n").unwrap();
        assert_eq!(s.date_order, Some(DateOrder::DayFirst));
        assert_eq!(
            (s.counts.rows, s.counts.bad_rows, s.out_of_window),
            (1, 2, 2)
        );
        let (line, why) = s.first_bad.unwrap();
        assert_eq!(line, 3);
        assert!(why.contains("dated 2026-12-01, after"), "{why}");
        let m = scan("created_date\n11/28/2026\n01/12/2026\n01/12/2026\nsoon\n").unwrap();
        assert_eq!(m.date_order, Some(DateOrder::MonthFirst));
        assert_eq!(
            (m.counts.rows, m.counts.bad_rows, m.out_of_window),
            (3, 1, 0)
        );
        assert_eq!(m.counts.per_day[&day("2026-01-12")], 2);
        assert_eq!(m.first_bad.unwrap().0, 5);
    }

    #[test]
    fn utf16_and_utf32_exports_are_named() {
        let text = "Created Date,Subject\r\n2026-11-02,Caf\u{e9}\r\n2026-11-03,ok\r\n";
        let le: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let be: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
        let le32: Vec<u8> = text
            .chars()
            .flat_map(|c| (c as u32).to_le_bytes())
            .collect();
        for (name, file, says) in [
            (
                "UTF-16 LE",
                [&b"\xff\xfe"[..], &le].concat(),
                "saved as UTF-16 LE (Excel 'Unicode Text' / PowerShell): re-export as CSV UTF-8",
            ),
            (
                "UTF-16 BE",
                [&b"\xfe\xff"[..], &be].concat(),
                "saved as UTF-16 BE: re-export as CSV UTF-8",
            ),
            (
                "UTF-16 LE, no mark",
                le.clone(),
                "saved as UTF-16 LE without a byte-order mark (Excel 'Unicode Text' / PowerShell): \
                 re-export as CSV UTF-8",
            ),
            (
                "UTF-16 BE, no mark",
                be.clone(),
                "saved as UTF-16 BE without a byte-order mark: re-export as CSV UTF-8",
            ),
            (
                "UTF-32 LE",
                [&b"\xff\xfe\0\0"[..], &le32].concat(),
                "saved as UTF-32 LE: re-export as CSV UTF-8",
            ),
        ] {
            assert_eq!(count_daily(&file[..], window()).unwrap_err(), says, "{name}");
        }
        // UTF-8 with a byte-order mark is UTF-8.
        let bom = [&b"\xef\xbb\xbf"[..], text.as_bytes()].concat();
        let s = count_daily(&bom[..], window()).unwrap();
        assert_eq!((s.counts.rows, s.counts.bad_rows), (2, 0));
    }

    #[test]
    fn windows_1252_exports_are_named() {
        let file = b"created_date,subject\n2026-11-02,plain\n2026-11-02,caf\xe9 cr\xe8me\n\
                     2026-11-03,\x93quoted\x94\n";
        let e = count_daily(&file[..], window()).unwrap_err();
        assert_eq!(
            e,
            "saved as Windows-1252 / Latin-1 (Excel 'CSV (Comma delimited)' on Windows), not \
             UTF-8: line 3 reads `2026-11-02,caf\u{e9} cr\u{e8}me` in it: re-export as CSV UTF-8"
        );
        // In the header, refused at once.
        let e = count_daily(
            &b"created_date,pri\xe9rit\xe9\n2026-11-02,a\n"[..],
            window(),
        )
        .unwrap_err();
        assert!(
            e.contains("line 1 reads `created_date,pri\u{e9}rit\u{e9}`"),
            "{e}"
        );
        // A UTF-8 file (a UTF-8 row, or the mark) with a stray row: that row is bad, no more.
        for file in [
            &b"created_date,subject\n2026-11-02,caf\xc3\xa9\n2026-11-02,caf\xe9\n"[..],
            b"\xef\xbb\xbfcreated_date,subject\n2026-11-02,ok\n2026-11-02,caf\xe9\n",
        ] {
            let s = count_daily(file, window()).unwrap();
            assert_eq!((s.counts.rows, s.counts.bad_rows), (1, 1));
        }
        // Stray bytes that are not text are bad rows, as before.
        let s = count_daily(
            &b"created_date,x\n2026-11-02,\xff\xfe\n2026-11-02,a\n"[..],
            window(),
        )
        .unwrap();
        assert_eq!((s.counts.rows, s.counts.bad_rows), (1, 1));
        assert!(encoding::latin1_field(b"Stra\xdfe"));
        assert!(encoding::latin1_field(b"\x805"));
        assert!(!encoding::latin1_field(b"\xff"));
        assert!(
            !encoding::latin1_field(b"a\x81b"),
            "undefined in Windows-1252"
        );
        assert!(!encoding::latin1_field(b"x\xe9\xe9\xe9y"), "three in a row");
    }

    #[test]
    fn headers_normalise() {
        assert_eq!(normalise_header("\u{feff}Created Date"), "created_date");
        assert_eq!(normalise_header(" created-date "), "created_date");
        assert_eq!(normalise_header("CREATED_DATE"), "created_date");
    }
}
