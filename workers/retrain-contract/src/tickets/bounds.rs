//! Record and field bounds, enforced while reading so that memory stays flat whatever the file.
//!
//! The csv crate reads a record into a `ByteRecord` that doubles its field buffer (and its
//! buffer of field ends) until the whole record fits: a 100 MB file without a line break, or a
//! quote never closed, is one record, buffered whole (~700 MiB peak measured). [`Bounded`] sits
//! under the csv reader and refuses to hand out more bytes once the record being read, its
//! current line or its current field is over the bound; the csv reader only asks for more input
//! when it has consumed all it had, so no record it buffers is ever longer than the bound plus
//! one read (its 8 KiB buffer).
//!
//! The bounds:
//! - [`MAX_RECORD`], 1 MiB for a record (and a line): a ticket is one line of a few hundred
//!   bytes; 1 MiB is thousands of times that, yet bounds the record buffer to 2 MiB (it doubles)
//!   and, for the most hostile line (1 MiB of commas, a field each), the field ends to 16 MiB:
//!   a scan needs at most ~18 MiB whatever the file, well inside a 128 MB Lambda.
//! - [`MAX_FIELD`], 64 KiB for a field: a long description or e-mail body fits; a bigger
//!   field is an attachment, a log or an image pasted into a cell, not ticket data.
//!
//! Measured in the file's bytes (the quotes of a quoted field included). A file over a bound is
//! unusable as a whole: its records cannot be told apart with confidence.

use std::io::{self, Read};

/// The longest record, and the longest line, read: 1 MiB.
pub const MAX_RECORD: u64 = 1 << 20;
/// The longest field read: 64 KiB.
pub const MAX_FIELD: u64 = 64 << 10;

/// Which bound a read went over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Over {
    /// No line break in more than [`MAX_RECORD`] bytes.
    Line,
    /// A record (over several lines: quoted line breaks) longer than [`MAX_RECORD`].
    Record,
    /// No delimiter nor line break in more than [`MAX_FIELD`] bytes.
    Field,
}

/// A reader that stops with an error once a record, a line or a field is over its bound.
/// The scan tells it where each record starts ([`Bounded::record_starts_at`]); it finds line
/// breaks and delimiters by looking back from the end of each read, which stops at the last
/// one (a few bytes back in any real file).
pub(super) struct Bounded<R> {
    inner: R,
    /// Bytes handed out.
    read: u64,
    /// Where the record being read starts (a byte offset).
    record_start: u64,
    /// Bytes since the last `\r` or `\n`.
    since_break: u64,
    /// Bytes since the last `,`, `\r` or `\n`.
    since_delimiter: u64,
    /// The bound a read went over, once it has.
    pub(super) over: Option<Over>,
}

impl<R> Bounded<R> {
    pub(super) fn new(inner: R) -> Self {
        Bounded {
            inner,
            read: 0,
            record_start: 0,
            since_break: 0,
            since_delimiter: 0,
            over: None,
        }
    }

    /// The next record starts at `byte` (the csv reader's position after a record).
    pub(super) fn record_starts_at(&mut self, byte: u64) {
        self.record_start = byte;
    }
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // Asked for more: everything handed out so far has been consumed, so the record being
        // read holds exactly the bytes since its start.
        let over = if self.since_break > MAX_RECORD {
            Some(Over::Line)
        } else if self.read.saturating_sub(self.record_start) > MAX_RECORD {
            Some(Over::Record)
        } else if self.since_delimiter > MAX_FIELD {
            Some(Over::Field)
        } else {
            None
        };
        if let Some(over) = over {
            self.over = Some(over);
            return Err(io::Error::other(format!("{over:?} over its bound")));
        }
        let n = self.inner.read(buf)?;
        let chunk = &buf[..n];
        self.read += n as u64;
        self.since_break = match chunk.iter().rposition(|&b| b == b'\n' || b == b'\r') {
            Some(i) => (n - 1 - i) as u64,
            None => self.since_break + n as u64,
        };
        self.since_delimiter = match chunk
            .iter()
            .rposition(|&b| matches!(b, b',' | b'\n' | b'\r'))
        {
            Some(i) => (n - 1 - i) as u64,
            None => self.since_delimiter + n as u64,
        };
        Ok(n)
    }
}
