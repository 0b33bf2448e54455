//! Ticket CSVs: one row per ticket with a `created_date` column (header case and spaces vary).
//! Rows are streamed; memory grows with the number of distinct days, not with file size.

use std::collections::BTreeMap;
use std::io::Read;

use chrono::NaiveDate;

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

/// Count one CSV stream. Errors only when the file has no `created_date` column (or no header);
/// a row that cannot be read or dated is counted in `bad_rows`.
pub fn count_daily(reader: impl Read) -> Result<DailyCounts, String> {
    let mut csv = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(true)
        .from_reader(reader);
    let headers = csv
        .headers()
        .map_err(|e| format!("unreadable header: {e}"))?;
    let column = headers
        .iter()
        .position(|h| normalise_header(h) == DATE_COLUMN)
        .ok_or_else(|| {
            format!(
                "no `{DATE_COLUMN}` column (header: {})",
                headers.iter().collect::<Vec<_>>().join(",")
            )
        })?;
    let mut counts = DailyCounts::default();
    let mut record = csv::StringRecord::new();
    loop {
        match csv.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                if record.iter().all(|f| f.trim().is_empty()) {
                    continue;
                }
                match record.get(column).and_then(parse_day) {
                    Some(day) => {
                        counts.rows += 1;
                        *counts.per_day.entry(day).or_default() += 1;
                    }
                    None => counts.bad_rows += 1,
                }
            }
            // An I/O error ends the stream; a malformed row (e.g. bad UTF-8) is one bad row.
            Err(e) if e.is_io_error() => return Err(format!("read failed: {e}")),
            Err(_) => counts.bad_rows += 1,
        }
    }
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let c = count_daily(csv.as_bytes()).unwrap();
        assert_eq!(c.rows, 4);
        assert_eq!(c.bad_rows, 0);
        assert_eq!(c.per_day[&day("2026-11-02")], 2);
        assert_eq!(c.per_day[&day("2026-11-03")], 2);
        assert_eq!(c.mean_daily(), Some(2.0));
    }

    #[test]
    fn bad_rows_are_counted_not_fatal() {
        let csv = b"CREATED_DATE,x\n2026-11-02,a\nnot a date,b\n,c\n2026-13-45,d\n\xff\xfe,e\n2026-11-04,f\n";
        let c = count_daily(&csv[..]).unwrap();
        assert_eq!(c.rows, 2);
        assert_eq!(c.bad_rows, 4);
        assert_eq!(c.days(), 2);
    }

    #[test]
    fn a_file_without_the_column_is_an_error() {
        let e = count_daily("id,opened\n1,2026-11-02\n".as_bytes()).unwrap_err();
        assert!(e.contains("created_date"), "{e}");
        assert!(count_daily("".as_bytes()).is_err());
    }

    #[test]
    fn merging_adds_up() {
        let mut a = count_daily("created_date\n2026-11-02\n2026-11-02\n".as_bytes()).unwrap();
        a.merge(count_daily("created_date\n2026-11-02\n2026-11-05\nbad\n".as_bytes()).unwrap());
        assert_eq!(a.per_day[&day("2026-11-02")], 3);
        assert_eq!(a.rows, 4);
        assert_eq!(a.bad_rows, 1);
        assert_eq!(a.mean_daily(), Some(2.0));
        assert_eq!(DailyCounts::default().mean_daily(), None);
    }

    #[test]
    fn headers_normalise() {
        assert_eq!(normalise_header("\u{feff}Created Date"), "created_date");
        assert_eq!(normalise_header(" created-date "), "created_date");
        assert_eq!(normalise_header("CREATED_DATE"), "created_date");
    }
}
