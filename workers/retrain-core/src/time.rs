//! Conversions between the SDK's timestamps and chrono's.

use chrono::{DateTime, Utc};

pub fn from_smithy(t: &aws_smithy_types::DateTime) -> DateTime<Utc> {
    DateTime::from_timestamp(t.secs(), t.subsec_nanos()).unwrap_or_default()
}

pub fn to_smithy(t: DateTime<Utc>) -> aws_smithy_types::DateTime {
    aws_smithy_types::DateTime::from_secs_and_nanos(t.timestamp(), t.timestamp_subsec_nanos())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let t = DateTime::parse_from_rfc3339("2026-11-22T09:00:01.5Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(from_smithy(&to_smithy(t)), t);
    }
}
