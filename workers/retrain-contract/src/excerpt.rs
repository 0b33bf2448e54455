//! Short quotes of long values. An error names the value that does not fit, but a cause that
//! copies a megabyte of input would be refused by SNS (256 KiB) and by Step Functions (32,768
//! characters of cause): errors quote an excerpt and say how large the value was.

/// Values up to this many characters are quoted whole.
pub const QUOTE_CHARS: usize = 64;
/// The longest reason an error keeps; longer ones are clipped with their size.
pub const REASON_CHARS: usize = 480;
/// The longest message a Lambda error (Diagnostic) carries.
pub const MESSAGE_CHARS: usize = 1024;

/// `` `value` `` when short; otherwise its first characters and its size:
/// `` `AAAA…` (1048576 bytes) ``. Control characters are escaped so a quote stays on one line.
pub fn quote(value: &str) -> String {
    let escaped = |s: &str| s.escape_debug().to_string();
    if value.chars().count() <= QUOTE_CHARS {
        format!("`{}`", escaped(value))
    } else {
        let head: String = value.chars().take(QUOTE_CHARS - 16).collect();
        format!("`{}…` ({} bytes)", escaped(&head), value.len())
    }
}

/// [`quote`] of a JSON value's compact text.
pub fn quote_json(value: &serde_json::Value) -> String {
    quote(&value.to_string())
}

/// `text` when it has at most `max` characters; otherwise its head and how much was cut.
pub fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let marker = format!("… ({} bytes in all)", text.len());
    let keep = max.saturating_sub(marker.chars().count());
    let head: String = text.chars().take(keep).collect();
    format!("{head}{marker}")
}

/// At most `max` bytes of `text`, cut at a character boundary, with a marker when cut.
pub fn clip_bytes(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let marker = format!("\n… (cut: {} bytes in all)", text.len());
    let mut end = max.saturating_sub(marker.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{marker}", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_values_are_quoted_whole() {
        assert_eq!(quote("ml.m5.large"), "`ml.m5.large`");
        assert_eq!(quote("a\nb"), "`a\\nb`");
    }

    #[test]
    fn long_values_are_an_excerpt_with_their_size() {
        let big = "x".repeat(1 << 20);
        let q = quote(&big);
        assert!(q.len() < 80, "{q}");
        assert!(q.ends_with("(1048576 bytes)"), "{q}");
        let multibyte = "é".repeat(100);
        assert!(quote(&multibyte).contains("(200 bytes)"));
    }

    #[test]
    fn clipping_keeps_the_head_and_says_how_much() {
        assert_eq!(clip("short", 10), "short");
        let c = clip(&"y".repeat(5000), 100);
        assert_eq!(c.chars().count(), 100);
        assert!(c.ends_with("(5000 bytes in all)"), "{c}");
        let b = clip_bytes(&"ü".repeat(1000), 101);
        assert!(b.len() <= 101, "{}", b.len());
        assert!(b.contains("2000 bytes in all"));
        assert_eq!(clip_bytes("fits", 4), "fits");
    }
}
